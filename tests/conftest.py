"""Database fixtures: a real PostgreSQL, the real migrations, a fresh database per test.

Where the server comes from, in order: TEST_DATABASE_URL (a server where we may create
databases); testcontainers when a Docker engine answers; otherwise a throwaway cluster
from local PostgreSQL binaries in a temporary folder. The migrations run once into a
template database; each test gets its own copy of it (CREATE DATABASE ... TEMPLATE),
which takes a few tens of milliseconds and isolates tests completely, including the
ones that commit from many connections at once.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from service import devdb, migrate
from service.app import create_app
from service.settings import Settings
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


@pytest.fixture
async def database_url(server_url: str, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    name = f"vr_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
        yield _with_database(server_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_base_url="http://testserver.local")


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
