"""Database fixtures: a real PostgreSQL, the real migrations, a fresh database per test.

Where the server comes from, in order: TEST_DATABASE_URL (a server where we may create
databases); testcontainers when a Docker engine answers; otherwise a throwaway cluster
from local PostgreSQL binaries in a temporary folder. The migrations run once into a
template database; each test gets its own copy of it (CREATE DATABASE ... TEMPLATE),
which isolates tests completely, including the ones that commit from many connections
at once. A copy takes a few hundred milliseconds, so copies are made ahead of need and
dropped behind, in a thread of their own (`Databases`): PostgreSQL copies on one core
while the tests run on the other, and no test waits for it.

A test marked `also_behind_pgbouncer` runs twice: as it is, and with the app's
DATABASE_URL through a PgBouncer in transaction mode in front of the same server
(`pgbouncer`; devtools/pgbouncer.py), DATABASE_LISTEN_URL straight at PostgreSQL and
the prepared-statement cache off, as docs/scaling.md says to run it behind PgBouncer
1.18. Whatever the test builds from `settings` (its apps, pools, workers) goes through
PgBouncer; `db` and `database_url` stay direct.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psycopg
import pytest
from litestar.testing import AsyncTestClient

from devtools import devdb
from devtools.pgbouncer import PgBouncer, PgBouncerNotFound, find_pgbouncer
from service.app import create_app
from service.commands import migrate
from service.settings import Settings
from service.web.logs import JsonFormatter
from tests import keys


def _with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A URL of a PostgreSQL server on which the tests may create databases."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
    elif devdb.docker_engine_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15-alpine", driver=None) as container:
            yield container.get_connection_url()
    else:
        cluster = devdb.temporary_cluster()
        cluster.start()
        try:
            yield cluster.url
        finally:
            cluster.stop()


@pytest.fixture(scope="session")
async def template_database(server_url: str) -> AsyncIterator[str]:
    """A database migrated to head with the real migrations; tests copy it."""
    name = f"vr_template_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = _with_database(server_url, name)
        migrate.upgrade(url)
        template = await asyncpg.connect(url)
        try:
            await keys.install(template)
        finally:
            await template.close()
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


COPY_DATABASE_SETTINGS = """DO $$ DECLARE setting text; BEGIN
    FOR setting IN SELECT unnest(s.setconfig) FROM pg_db_role_setting s
        JOIN pg_database d ON d.oid = s.setdatabase
        WHERE d.datname = '{template}' AND s.setrole = 0
    LOOP
        EXECUTE format('ALTER DATABASE %I SET %s = %L', '{copy}',
                       split_part(setting, '=', 1), substr(setting, strpos(setting, '=') + 1));
    END LOOP;
END $$"""


class Databases:
    """Fresh copies of the template, made ahead of need and dropped behind.

    One thread with one connection does every CREATE DATABASE and DROP DATABASE, in the
    order asked: `take()` hands out a copy made while earlier tests ran and orders the
    next one; `give_back()` orders the drop. The tests only wait when they use copies
    faster than the server makes them.
    """

    AHEAD = 2  # copies kept ready

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url = server_url
        self.template = template
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-databases")
        self._conn: psycopg.Connection | None = None  # used by that thread only
        self._ready: deque[Future[str]] = deque()
        self._pending: list[Future[None]] = []

    def _execute(self, sql: str) -> None:
        if self._conn is None:
            self._conn = psycopg.connect(self.server_url, autocommit=True)
        self._conn.execute(sql)  # type: ignore[arg-type]

    def _create(self) -> str:
        name = f"vr_test_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        # A copy does not carry the template's own settings (ALTER DATABASE ... SET, of
        # migration 0010), which the app checks at start-up: copy them over.
        self._execute(COPY_DATABASE_SETTINGS.format(template=self.template, copy=name))
        return name

    def _drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def take(self, *, quiet: bool = False) -> str:
        """The name of a fresh copy of the template, which no one else gets.

        `quiet`: return only once nothing is being created or dropped any more, and
        order nothing new until the next `take()`. A running CREATE or DROP DATABASE is
        a transaction in progress on the server, and the change feed lists nothing
        newer than the oldest one (in any database), by design."""
        if not self._ready or not quiet:
            while len(self._ready) <= self.AHEAD:
                self._ready.append(self._thread.submit(self._create))
        name = await asyncio.wrap_future(self._ready.popleft())
        if quiet:  # the one thread works in order: this runs once all before it ran
            await asyncio.wrap_future(self._thread.submit(lambda: None))
        return name

    def give_back(self, name: str) -> None:
        """Drop the copy (in the background)."""
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._thread.submit(self._drop, name))

    def close(self) -> None:
        """Drop the copies nobody took, wait for every drop, and let go of the server."""
        for future in self._ready:
            name = future.result()
            self._pending.append(self._thread.submit(self._drop, name))
        for future in self._pending:
            future.result()
        self._thread.submit(lambda: self._conn and self._conn.close()).result()
        self._thread.shutdown()


@pytest.fixture(scope="session")
def databases(server_url: str, template_database: str) -> Iterator[Databases]:
    factory = Databases(server_url, template_database)
    try:
        yield factory
    finally:
        factory.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "quiet_server: no database is created or dropped on the server while the test "
        "runs (the change feed waits for every older transaction on the server)",
    )
    config.addinivalue_line(
        "markers",
        "also_behind_pgbouncer: run the test a second time with the app's database "
        "through PgBouncer in transaction mode (the `settings` it builds on)",
    )


ROUTES = ("direct", "pgbouncer")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("also_behind_pgbouncer"):
        metafunc.parametrize("database_route", ROUTES, indirect=True)


@pytest.fixture
def database_route(request: pytest.FixtureRequest) -> str:
    """How the app reaches its database: `direct`, or `pgbouncer` for the second run of
    a test marked `also_behind_pgbouncer`."""
    return str(getattr(request, "param", "direct"))


@pytest.fixture(scope="session")
def pgbouncer(server_url: str) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of the tests' server, for every database on
    it (started once, when a test first needs it)."""
    try:
        find_pgbouncer()
    except PgBouncerNotFound as exc:
        pytest.skip(str(exc))
    with PgBouncer(server_url) as bouncer:
        yield bouncer


@pytest.fixture
async def database_url(
    request: pytest.FixtureRequest, server_url: str, databases: Databases
) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    name = await databases.take(quiet=request.node.get_closest_marker("quiet_server") is not None)
    try:
        yield _with_database(server_url, name)
    finally:
        databases.give_back(name)


@pytest.fixture
def database_settings(
    request: pytest.FixtureRequest, database_url: str, database_route: str
) -> dict[str, Any]:
    """The database settings of the test's app: the test's database directly, or
    through PgBouncer (see the module), as `Settings` fields."""
    if database_route == "direct":
        return {"database_url": database_url}
    bouncer: PgBouncer = request.getfixturevalue("pgbouncer")
    return {
        "database_url": bouncer.url_for(urlsplit(database_url).path.lstrip("/")),
        # LISTEN is session state: the listener needs PostgreSQL itself.
        "database_listen_url": database_url,
        # PgBouncer 1.18 has no max_prepared_statements.
        "db_statement_cache_size": 0,
    }


@pytest.fixture
def settings(database_settings: dict[str, Any]) -> Settings:
    """The defaults, but no webhook delivery worker in the app: it would poll the
    database from every test's app for deliveries that only the webhook tests make
    (those run workers of their own, or turn it back on)."""
    return Settings(
        **database_settings, public_base_url="http://testserver.local", webhook_worker=False
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """A client with an admin key: the newsroom's view, allowed everything."""
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        test_client.headers.update(keys.bearer(keys.ADMIN))
        yield test_client


@pytest.fixture
async def anonymous_client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """A client without a key: the public's view."""
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the test's database, for asserting what SQL guarantees."""
    connection = await asyncpg.connect(database_url, server_settings={"timezone": "UTC"})
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What the service logs during the test, as the JSON lines `serve` writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("service")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
