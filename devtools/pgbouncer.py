"""A throwaway PgBouncer in transaction mode in front of a PostgreSQL server, for tests.

Its configuration is the Debian package's default file (``/etc/pgbouncer/pgbouncer.ini``
of pgbouncer 1.18: ``listen_addr``, ``listen_port``, ``unix_socket_dir``, ``logfile``,
``pidfile``, ``auth_type = md5``, ``auth_file``) with only what the service needs
changed: ``pool_mode = transaction`` and one ``[databases]`` line, plus the paths and
the port of this run (:func:`render_config`; README, "Behind PgBouncer", shows it).
Every other setting is PgBouncer's default: no ``ignore_startup_parameters``, no
``max_prepared_statements`` (1.18 has none), no ``track_extra_parameters``.

The ``[databases]`` line is PgBouncer's fallback ``*``: any database name a client asks
for is served from the server, so one PgBouncer serves each test's own database.
Clients authenticate with md5 against ``userlist.txt``, which names the server's user
with the server's password (or a made-up one for a server that trusts loopback
connections, as the tests' own does): PgBouncer logs in to the server with it.

As root it runs as the ``postgres`` user (``runuser``, as the tests' PostgreSQL does,
``devtools/devdb.py``), its configuration, socket, pid and log files in a temporary
directory that user owns; it listens on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from devtools import devdb

__all__ = ["PgBouncer", "PgBouncerNotFound", "find_pgbouncer", "render_config"]

# A client password for servers that ask for none (trust on loopback).
_MADE_UP_PASSWORD = "pgbouncer-test"
_START_TIMEOUT_S = 20.0


class PgBouncerNotFound(RuntimeError):
    """No pgbouncer binary; the message says what to install."""


def find_pgbouncer() -> str:
    """The pgbouncer binary: on PATH, else Debian's /usr/sbin (not on a user's PATH)."""
    for candidate in (shutil.which("pgbouncer"), "/usr/sbin/pgbouncer"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise PgBouncerNotFound(
        "pgbouncer is not installed: `apt-get install pgbouncer` on Debian/Ubuntu "
        "(`make test` installs it as root: scripts/ensure-test-tools)"
    )


def render_config(*, server_host: str, server_port: int, port: int, directory: Path) -> str:
    """The pgbouncer.ini of a run: Debian's defaults, transaction pooling, one database
    line (the fallback `*`), and this run's port and files."""
    return f"""\
[databases]
* = host={server_host} port={server_port}

[pgbouncer]
pool_mode = transaction
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir = {directory}
logfile = {directory / "pgbouncer.log"}
pidfile = {directory / "pgbouncer.pid"}
auth_type = md5
auth_file = {directory / "userlist.txt"}
"""


class PgBouncer:
    """PgBouncer in front of the server at `server_url` (start() / stop(), or `with`)."""

    def __init__(self, server_url: str) -> None:
        parts = urlsplit(server_url)
        if not parts.hostname or not parts.port:
            raise ValueError(f"need a host and a port in the server URL, got {server_url!r}")
        self._server = parts
        self.user = unquote(parts.username or "postgres")
        self.password = unquote(parts.password or "") or _MADE_UP_PASSWORD
        self.port = devdb.free_port()
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def url_for(self, dbname: str) -> str:
        """A URL of database `dbname` through PgBouncer."""
        auth = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return urlunsplit(
            self._server._replace(netloc=f"{auth}@127.0.0.1:{self.port}", path=f"/{dbname}")
        )

    def start(self) -> None:
        binary = find_pgbouncer()
        self.directory = devdb.server_owned_temporary_dir("pgbouncer-")
        host = self._server.hostname
        assert host is not None and self._server.port is not None
        files = {
            "pgbouncer.ini": render_config(
                server_host=host,
                server_port=self._server.port,
                port=self.port,
                directory=self.directory,
            ),
            "userlist.txt": f'"{self.user}" "{self.password}"\n',
        }
        owner = self.directory.stat()
        for name, text in files.items():
            path = self.directory / name
            path.write_text(text)
            path.chmod(0o600)
            os.chown(path, owner.st_uid, owner.st_gid)
        self.process = subprocess.Popen(
            devdb.as_server_user([binary, str(self.directory / "pgbouncer.ini")]),
            cwd="/",
            env=devdb.server_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own process group, so that stop() reaches pgbouncer behind runuser.
            start_new_session=True,
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise RuntimeError(f"pgbouncer did not start:\n{log}")
            time.sleep(0.05)

    def _listening(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            return True
        return False

    def log(self) -> str:
        """What PgBouncer logged so far."""
        if self.directory is None:
            return ""
        with contextlib.suppress(OSError):
            return (self.directory / "pgbouncer.log").read_text(errors="replace")
        return ""

    def stop(self) -> None:
        """Stop it (SIGTERM: PgBouncer's immediate shutdown) and delete its directory."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
