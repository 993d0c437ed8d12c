"""The settings of operations: parsing, and the app working with them."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.kit.db import create_pool
from service.settings import Settings, SettingsError

URL = "postgresql://localhost/vr"


def test_operations_settings_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": URL,
            "DATABASE_LISTEN_URL": "postgresql://db.internal/vr",
            "DB_STATEMENT_CACHE_SIZE": "0",
            "SHUTDOWN_DRAIN_SECONDS": "2.5",
            "LOG_LEVEL": "WARNING",
        }
    )
    assert settings.database_listen_url == "postgresql://db.internal/vr"
    assert settings.db_statement_cache_size == 0
    assert settings.shutdown_drain_seconds == 2.5
    assert settings.log_level == "warning"

    defaults = Settings.from_env({"DATABASE_URL": URL})
    assert defaults.db_statement_cache_size == 100
    assert defaults.shutdown_drain_seconds == 0
    assert defaults.log_level == "info"
    assert defaults.database_listen_url is None

    for name, bad in (
        ("DB_STATEMENT_CACHE_SIZE", "-1"),
        ("SHUTDOWN_DRAIN_SECONDS", "soon"),
        ("SHUTDOWN_DRAIN_SECONDS", "-1"),
        ("LOG_LEVEL", "loud"),
        ("DATABASE_LISTEN_URL", "mysql://db/vr"),
    ):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({"DATABASE_URL": URL, name: bad})


async def test_the_statement_cache_can_be_turned_off(database_url: str) -> None:
    """DB_STATEMENT_CACHE_SIZE=0, as behind an old PgBouncer in transaction mode: no
    named prepared statement outlives its query, and the app works."""
    for size, expected in ((100, 1), (0, 0)):
        settings = Settings(
            database_url=database_url,
            public_base_url="http://testserver.local",
            db_statement_cache_size=size,
            webhook_worker=False,
        )
        pool = await create_pool(settings)
        try:
            async with pool.acquire() as conn:
                for _ in range(2):
                    assert await conn.fetchval("SELECT $1::int + 1", 1) == 2
                kept = await conn.fetchval(
                    "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%$1::int + 1'"
                )
                assert kept == expected, size
        finally:
            await pool.close()
        async with AsyncTestClient(app=create_app(settings)) as client:
            for _ in range(2):
                response = await client.get("/v1/organizations")
                assert response.status_code == 200, response.text
