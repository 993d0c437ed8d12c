"""Tests for devtools.devdb: local PostgreSQL clusters from local binaries."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from devtools.devdb import LocalCluster, PostgresNotFound, find_bindir, temporary_cluster

try:
    find_bindir()
except PostgresNotFound as exc:  # pragma: no cover - depends on the machine
    pytest.skip(str(exc), allow_module_level=True)


async def _query(url: str) -> tuple[int, str, str]:
    conn = await asyncpg.connect(url)
    try:
        one = await conn.fetchval("SELECT 1")
        fsync = await conn.fetchval("SHOW fsync")
        listen = await conn.fetchval("SHOW listen_addresses")
        return one, fsync, listen
    finally:
        await conn.close()


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().splitlines()[0])


def test_temporary_cluster_serves_queries_and_is_deleted_on_stop() -> None:
    cluster = temporary_cluster()
    data_dir = cluster.data_dir
    try:
        cluster.start()
        one, fsync, listen = asyncio.run(_query(cluster.url))
        assert one == 1
        assert fsync == "off"
        assert listen == "127.0.0.1"
        assert cluster.url == f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
    finally:
        cluster.stop()
    assert not data_dir.exists()


def test_second_start_on_same_data_dir_reuses_running_server() -> None:
    owner = temporary_cluster()
    try:
        owner.start()
        pid = _postmaster_pid(owner.data_dir)

        again = LocalCluster(owner.data_dir, durable=False)
        assert again.port == owner.port  # read back from the data dir before starting
        again.start()
        assert again.port == owner.port
        assert _postmaster_pid(owner.data_dir) == pid
        assert asyncio.run(_query(again.url_for("postgres")))[0] == 1

        again.stop()
        assert not (owner.data_dir / "postmaster.pid").exists()
        again.stop()  # quiet when not running
    finally:
        owner.stop()
    assert not owner.data_dir.exists()
