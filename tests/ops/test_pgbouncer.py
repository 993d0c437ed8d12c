"""Behind PgBouncer 1.18 in transaction mode, configured as Debian ships it but for
`pool_mode` and the `[databases]` line (devtools/pgbouncer.py), and the start-up check
of the session settings the service relies on (service/kit/db.py).

The behaviour tests that matter also run through the same PgBouncer (the tests marked
`also_behind_pgbouncer`, tests/conftest.py): CRUD, Idempotency-Key, publishing and
verification, badges, the change feed, rate limits, the webhook outbox. Here: what
PgBouncer itself changes, a live `serve` with two workers through it, and every way
start-up refuses a database that lacks a setting.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from devtools.pgbouncer import PgBouncer
from service.app import create_app
from service.kit.db import check_session, create_pool
from service.kit.errors import DatabaseSettingsError
from service.settings import Settings
from tests import keys
from tests.helpers import BASE_URL, create_person, create_statement, database_environment
from tests.ops.support import LiveServer

pytestmark = pytest.mark.asyncio

# Startup parameters the pool sent before: PgBouncer refuses a connection with any.
REFUSED = ("statement_timeout", "idle_in_transaction_session_timeout", "jit")
THROUGH_PGBOUNCER = pytest.mark.parametrize("database_route", ["pgbouncer"], indirect=True)


def dbname(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?")[0]


async def alter_database(db: asyncpg.Connection, clause: str) -> None:
    """`ALTER DATABASE <the test's database> <clause>`."""
    quoted = clause.replace("'", "''")
    await db.execute(
        f"DO $$ BEGIN EXECUTE format('ALTER DATABASE %I {quoted}', current_database()); END $$"
    )


def settings_error_in(error: BaseException | None) -> DatabaseSettingsError | None:
    """The DatabaseSettingsError in what a failed start raised (Litestar's lifespan may
    wrap it in an exception group)."""
    if error is None or isinstance(error, DatabaseSettingsError):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            if found := settings_error_in(inner):
                return found
    return settings_error_in(error.__cause__)


async def failed_start(settings: Settings) -> DatabaseSettingsError:
    with pytest.raises(BaseException) as raised:  # unwrapped below
        async with AsyncTestClient(app=create_app(settings)):
            pass
    found = settings_error_in(raised.value)
    assert found is not None, repr(raised.value)
    return found


@asynccontextmanager
async def running(
    settings: Settings, key: str | None = None
) -> AsyncIterator[tuple[Litestar, httpx.AsyncClient]]:
    """The app, started in this event loop (so that the test may reach its pools), and
    a client of it, anonymous unless given an API key."""
    app = create_app(settings)
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=BASE_URL,
            headers=keys.bearer(key) if key else {},
        ) as http,
    ):
        yield app, http


# ---- what a stock PgBouncer changes -----------------------------------------------------------


@THROUGH_PGBOUNCER
async def test_pgbouncer_refuses_the_startup_parameters_the_pool_used_to_send(settings):
    for name in REFUSED:
        with pytest.raises(asyncpg.ProtocolViolationError, match="unsupported startup parameter"):
            await asyncpg.connect(settings.database_url, server_settings={name: "0"})
    # What the pool sends now (TimeZone, application_name) PgBouncer passes on.
    pool = await create_pool(settings)
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT current_setting('TimeZone')") == "UTC"
    finally:
        await pool.close()


@THROUGH_PGBOUNCER
async def test_every_transaction_through_pgbouncer_has_the_settings_the_service_needs(settings):
    """Whichever server connection a transaction lands on, TimeZone (restored by
    PgBouncer) and the database's settings hold; several server connections serve."""
    pool = await create_pool(msgspec.structs.replace(settings, db_pool_max_size=8))

    async def one_transaction() -> asyncpg.Record:
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT pg_backend_pid() AS backend, current_setting('TimeZone') AS zone,"
                " current_setting('statement_timeout') AS statement_timeout,"
                " current_setting('idle_in_transaction_session_timeout') AS idle,"
                " current_setting('jit') AS jit, pg_sleep(0.02)::text"
            )
            assert row is not None
            return row

    try:
        rows = await asyncio.gather(*(one_transaction() for _ in range(32)))
    finally:
        await pool.close()
    assert {(r["zone"], r["statement_timeout"], r["idle"], r["jit"]) for r in rows} == {
        ("UTC", "5s", "1min", "off")
    }
    assert len({r["backend"] for r in rows}) > 1


@THROUGH_PGBOUNCER
async def test_the_server_cancels_a_runaway_query_through_pgbouncer(settings, db):
    await alter_database(db, "SET statement_timeout = '300ms'")
    pool = await create_pool(msgspec.structs.replace(settings, db_statement_timeout_ms=300))
    try:
        async with pool.acquire() as conn:
            started = time.monotonic()
            with pytest.raises(asyncpg.QueryCanceledError):
                await conn.execute("SELECT pg_sleep(3)")
            # The server's 300 ms, not the client's own bound a second later.
            assert time.monotonic() - started < 1.2
    finally:
        await pool.close()


@THROUGH_PGBOUNCER
async def test_with_the_statement_cache_on_pgbouncer_1_18_loses_prepared_statements(
    settings, caplog
):
    """Why DB_STATEMENT_CACHE_SIZE=0 behind PgBouncer 1.18: a statement the pool prepared
    on one server connection is gone when the next transaction gets another. The
    service answers 503 and its log says which setting to change."""
    caplog.set_level(logging.ERROR, logger="service.errors")
    cached = msgspec.structs.replace(settings, db_statement_cache_size=100, db_pool_max_size=1)
    async with running(cached) as (_, http):
        assert (await http.get("/v1/organizations")).status_code == 200
        async with holding_the_server_that_prepared("FROM organizations", settings):
            response = await http.get("/v1/organizations")
    assert response.status_code == 503, response.text
    assert "not configured as the service needs" in response.json()["detail"]
    assert "DB_STATEMENT_CACHE_SIZE=0" in caplog.text

    async with running(settings) as (_, http):  # the cache off, as the fixture has it
        assert (await http.get("/v1/organizations")).status_code == 200
        async with holding_some_server(settings):
            assert (await http.get("/v1/organizations")).status_code == 200


@asynccontextmanager
async def holding_the_server_that_prepared(text: str, settings: Settings) -> AsyncIterator[None]:
    """Open transactions through PgBouncer, each holding a server connection, until one
    holds the server on which the app prepared a statement containing `text`: the app's
    next transaction then runs on another server connection."""
    holders: list[asyncpg.Connection] = []
    try:
        for _ in range(8):
            holder = await asyncpg.connect(settings.database_url, statement_cache_size=0)
            holders.append(holder)
            await holder.execute("BEGIN")
            if await holder.fetchval(
                "SELECT count(*) FROM pg_prepared_statements WHERE strpos(statement, $1) > 0",
                text,
            ):
                yield
                return
        raise AssertionError(f"no server connection holds a statement with {text!r}")
    finally:
        for holder in holders:
            await holder.close()


@asynccontextmanager
async def holding_some_server(settings: Settings) -> AsyncIterator[None]:
    holder = await asyncpg.connect(settings.database_url, statement_cache_size=0)
    try:
        await holder.execute("BEGIN")
        yield
    finally:
        await holder.close()


@pytest.mark.also_behind_pgbouncer
async def test_times_are_utc_in_a_database_whose_own_time_zone_is_not(settings, db):
    """TimeZone is the one startup parameter the pool still sends; PgBouncer restores it
    on whichever server connection a transaction gets, so SQL that writes timestamps
    into JSON writes them in UTC."""
    await alter_database(db, "SET timezone = 'America/New_York'")
    async with running(settings, keys.ADMIN) as (_, http):
        statement = await create_statement(http, said_at="2020-01-06T12:00:00Z")
        for _ in range(3):
            read = (await http.get(f"/v1/statements/{statement['id']}")).json()
            assert read["said_at"] == "2020-01-06T12:00:00Z"
            assert read["created_at"].endswith("Z")


# ---- a live server through PgBouncer ---------------------------------------------------------


@THROUGH_PGBOUNCER
async def test_a_live_server_with_two_workers_works_through_pgbouncer(
    database_url, database_settings, pgbouncer: PgBouncer, db
):
    """`serve --workers 2` with DATABASE_URL at PgBouncer and DATABASE_LISTEN_URL at
    PostgreSQL: writes with replays, typo-tolerant search, publishing and its badge,
    the change feed, the export, the outbox, rate limits, readiness; no 5xx."""
    live = LiveServer(
        database_url,
        workers=2,
        WEBHOOK_ALLOW_PRIVATE="true",
        **database_environment(database_settings),
    )
    await asyncio.to_thread(live.start)
    try:
        async with httpx.AsyncClient(
            base_url=live.url, headers=keys.bearer(keys.ADMIN), timeout=10
        ) as admin:
            await exercise_the_api(admin, db)
            assert (await admin.get("/health/ready")).status_code == 200
    finally:
        await asyncio.to_thread(live.stop)
    statuses = [line["status"] for line in live.log_lines() if "status" in line]
    assert statuses and all(status < 500 for status in statuses), live.output()
    # The app's connections really went through PgBouncer.
    assert f"login attempt: db={dbname(database_url)} " in pgbouncer.log()


async def exercise_the_api(admin: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    hook = await admin.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["*"]}
    )
    assert hook.status_code == 201, hook.text

    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"name": "Mark Esper", "aliases": ["Dr. Esper"]}
    first = await admin.post("/v1/people", json=body, headers=key)
    again = await admin.post("/v1/people", json=body, headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert await db.fetchval("SELECT count(*) FROM people") == 1

    found = await admin.get("/v1/people", params={"q": "esprr"})
    assert [p["name"] for p in found.json()["items"]] == ["Mark Esper"]

    statement = await create_statement(admin, speaker_id=first.json()["id"])
    badge_url = f"/v1/badges/statements/{statement['id']}.json"
    assert (await admin.get(badge_url)).json()["message"] == "Unverified"
    draft = await admin.post(
        "/v1/assessments",
        json={
            "subject": {"type": "statement", "id": statement["id"]},
            "verdict": "false",
            "headline": "It was decided",
        },
    )
    assert draft.status_code == 201, draft.text
    published = await admin.post(f"/v1/assessments/{draft.json()['id']}/publish")
    assert published.status_code == 200, published.text
    verification = (await admin.get(f"/v1/statements/{statement['id']}")).json()["verification"]
    assert verification["verdict"] == "false"
    # Whichever worker answers: each dropped its badge on the NOTIFY (listened to
    # straight from PostgreSQL).
    for _ in range(6):
        badge = await admin.get(badge_url)
        assert badge.json()["message"] == verification["label"], badge.text

    changes = await admin.get("/v1/changes", params={"limit": 100})
    assert changes.status_code == 200, changes.text
    actions = [(c["type"], c["action"]) for c in changes.json()["items"]]
    assert ("statement", "created") in actions and ("assessment", "published") in actions

    export = await admin.get("/v1/export")
    assert export.status_code == 200, export.text
    exported = [msgspec.json.decode(line) for line in export.text.splitlines()]
    assert statement["id"] in {item["id"] for item in exported}

    # The outbox: a delivery row for every change since the subscription.
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") >= 4

    limited = await admin.get("/v1/organizations")
    assert int(limited.headers["RateLimit-Remaining"]) < int(limited.headers["RateLimit-Limit"])
    person = await create_person(admin, name="Lloyd Austin")
    assert person["name"] == "Lloyd Austin"


# ---- the start-up check ------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_start_up_fails_when_the_database_lacks_a_setting(settings, db, database_url):
    await alter_database(db, "SET jit = on")
    await alter_database(db, "RESET idle_in_transaction_session_timeout")
    message = str(await failed_start(settings))
    name = dbname(database_url)
    assert f"database {name} lacks session settings the service relies on" in message
    assert "- jit is on, needs off" in message
    assert "- idle_in_transaction_session_timeout is 0ms, needs '60s'" in message
    assert f'ALTER DATABASE "{name}" SET jit = off;' in message
    assert f"ALTER DATABASE \"{name}\" SET idle_in_transaction_session_timeout = '60s';" in message
    assert "statement_timeout is" not in message and "TimeZone" not in message


async def test_the_statements_the_message_names_fix_it(settings, db):
    await alter_database(db, "RESET jit")
    await alter_database(db, "RESET statement_timeout")
    message = str(await failed_start(settings))
    fixes = [line.strip() for line in message.splitlines() if line.startswith("  ALTER DATABASE")]
    assert len(fixes) == 2, message
    for statement in fixes:
        await db.execute(statement)
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/health/ready")).status_code == 200


async def test_the_statement_timeout_must_be_what_db_statement_timeout_ms_says(settings):
    error = await failed_start(msgspec.structs.replace(settings, db_statement_timeout_ms=1234))
    assert "- statement_timeout is 5000ms, needs '1234ms'" in str(error)
    assert "DB_STATEMENT_TIMEOUT_MS (1234)" in str(error)


async def test_a_session_in_another_time_zone_is_refused(settings, database_url):
    conn = await asyncpg.connect(database_url, server_settings={"timezone": "Europe/Berlin"})
    try:
        with pytest.raises(DatabaseSettingsError, match="- TimeZone is Europe/Berlin, needs 'UTC'"):
            await check_session(conn, settings)
        await conn.execute("SET timezone = 'UTC'")
        await check_session(conn, settings)
    finally:
        await conn.close()


async def test_serve_refuses_to_start_and_says_what_to_run(database_url, db):
    await alter_database(db, "RESET statement_timeout")
    live = LiveServer(database_url)
    with pytest.raises(AssertionError, match="serve exited early") as raised:
        await asyncio.to_thread(live.start)
    output = str(raised.value)
    assert "database error: database" in output
    assert f"ALTER DATABASE \"{dbname(database_url)}\" SET statement_timeout = '5000ms';" in output
    assert "Traceback" not in output
    assert live.process is not None and live.process.returncode != 0


async def test_a_setting_lost_while_running_turns_requests_into_503s_that_say_why(
    settings, db, caplog
):
    caplog.set_level(logging.ERROR)
    # Anonymous: a key's lookup would need a connection before the probe could answer.
    async with running(settings) as (app, http):
        assert (await http.get("/v1/organizations")).status_code == 200
        await alter_database(db, "SET jit = on")
        # New connections (as after a restart of PgBouncer or the database) get it.
        await app.state.pool.expire_connections()
        response = await http.get("/v1/organizations")
        assert response.status_code == 503, response.text
        assert "not configured as the service needs" in response.json()["detail"]
        ready = await http.get("/health/ready")
        assert ready.status_code == 503
        assert "lacks session settings" in ready.json()["detail"]
    assert "jit is on, needs off" in caplog.text


async def test_an_unreachable_database_does_not_stop_start_up(settings, caplog):
    """The check waits for the database instead: the service starts, /health/ready says
    503, and each connection is checked once it can be made."""
    caplog.set_level(logging.WARNING, logger="service.db")
    unreachable = msgspec.structs.replace(
        settings,
        database_url="postgresql://postgres@127.0.0.1:9/nowhere",
        db_acquire_timeout_seconds=0.5,
    )
    async with AsyncTestClient(app=create_app(unreachable)) as client:
        assert (await client.get("/health/ready")).status_code == 503
    assert "unreachable at start-up" in caplog.text
