"""The migrations upgrade, downgrade all the way, and upgrade again to the same schema."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from service.commands import migrate

SCHEMA_SHAPE = """
SELECT
  (SELECT coalesce(json_agg(t ORDER BY t), '[]') FROM (
      SELECT table_name || '.' || column_name || ':' || data_type AS t
      FROM information_schema.columns WHERE table_schema = 'public') c),
  (SELECT coalesce(json_agg(indexname ORDER BY indexname), '[]') FROM pg_indexes
      WHERE schemaname = 'public'),
  (SELECT coalesce(json_agg(tgname ORDER BY tgname), '[]') FROM pg_trigger WHERE NOT tgisinternal),
  (SELECT coalesce(json_agg(typname ORDER BY typname), '[]') FROM pg_type t
      JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' AND t.typtype = 'e'),
  (SELECT coalesce(json_agg(proname ORDER BY proname), '[]') FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public' AND p.prokind = 'f' AND NOT EXISTS (
          SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e'))
"""

# The database's own settings (migration 0010), as "name=value" strings.
DATABASE_SETTINGS = """
SELECT coalesce((SELECT s.setconfig FROM pg_db_role_setting s
                 JOIN pg_database d ON d.oid = s.setdatabase
                 WHERE d.datname = current_database() AND s.setrole = 0), '{}')
"""


async def test_upgrade_downgrade_upgrade(server_url):
    name = f"vr_migrations_{uuid.uuid4().hex[:8]}"
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        migrate.upgrade(url)
        conn = await asyncpg.connect(url)
        try:
            first = await conn.fetchrow(SCHEMA_SHAPE)
            assert "statements.text:text" in first[0]
            assert "events_append_only" in first[2]
            assert sorted(await conn.fetchval(DATABASE_SETTINGS)) == [
                "idle_in_transaction_session_timeout=60s",
                "jit=off",
                "statement_timeout=5s",
            ]

            migrate.downgrade(url, "base")
            empty = await conn.fetchrow(SCHEMA_SHAPE)
            # Only Alembic's own bookkeeping table may remain.
            assert empty[0] == '["alembic_version.version_num:character varying"]'
            assert empty[2] == "[]" and empty[3] == "[]" and empty[4] == "[]"
            assert await conn.fetchval(DATABASE_SETTINGS) == []

            migrate.upgrade(url)
            assert await conn.fetchrow(SCHEMA_SHAPE) == first
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_migrations_are_not_cut_short_by_the_request_timeout(server_url):
    """The database's statement_timeout (migration 0010) is for requests: a migration
    that rewrites a big table runs longer. Here the timeout is 1 ms, less than any
    migration's statements take."""
    name = f"vr_migrations_{uuid.uuid4().hex[:8]}"
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.execute(f"ALTER DATABASE \"{name}\" SET statement_timeout = '1ms'")
    try:
        migrate.upgrade(url)
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT to_regclass('statements_search_pairs')")
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_each_revision_downgrades_to_its_parent(server_url):
    """Step down one revision at a time, so every downgrade() is exercised on its own."""
    name = f"vr_migrations_{uuid.uuid4().hex[:8]}"
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        migrate.upgrade(url)
        conn = await asyncpg.connect(url)
        try:
            head = await conn.fetchval("SELECT version_num FROM alembic_version")
            seen = [head]
            while (
                current := await conn.fetchval("SELECT version_num FROM alembic_version")
            ) is not None:
                migrate.downgrade(url, "-1")
                after = await conn.fetchval("SELECT version_num FROM alembic_version")
                assert after != current
                if after is None:
                    break
                seen.append(after)
            assert seen[-1] == "0001"
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
