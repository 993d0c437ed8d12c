"""A PostgreSQL server for development and tests, run from local binaries (no Docker).

Two uses:

* ``make run`` calls the CLI, which starts (or reuses) a persistent cluster in the
  project and prints the URL of the ``verification_record`` database on stdout::

      python -m devtools.devdb ensure --data-dir .data/postgres --port 54329
      python -m devtools.devdb stop --data-dir .data/postgres

* The test suite uses :func:`temporary_cluster`, a non-durable cluster in a fresh
  temporary directory that is deleted again by ``stop()``.

Every cluster listens only on 127.0.0.1, uses trust authentication for the
``postgres`` superuser (acceptable for a loopback-only throwaway server), puts its
Unix socket and its log file (``server.log``) inside the data directory, and
remembers its port in ``devdb.port`` in the data directory so that a later start
reuses the same port.

Running as root
---------------
``initdb`` and ``postgres`` refuse to run as root, so when the effective uid is 0
every server-side binary is run as the ``postgres`` system user through
``runuser -u postgres --`` and data directories are owned by that user.  That user
must be able to reach the data directory, which is not a given for a project
checked out under e.g. ``/tmp/tmp.abc123`` (``mktemp -d`` makes it mode 700, owned
by root).  In that case the real cluster lives in
``/var/tmp/verification-record-<first 12 hex digits of sha256(resolved data dir)>``
(owned by ``postgres``, mode 700) and the requested data directory becomes a
symlink to it.  Note that ``/var/tmp`` may be cleaned by the OS (systemd-tmpfiles
ages out entries after 30 days), which for a dev database only means starting over.

When not running as root, the binaries simply run as the current user.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import hashlib
import logging
import os
import pwd
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

__all__ = [
    "ClusterError",
    "LocalCluster",
    "PostgresNotFound",
    "as_server_user",
    "docker_engine_available",
    "find_bindir",
    "free_port",
    "server_env",
    "server_owned_temporary_dir",
    "temporary_cluster",
    "temporary_replica",
]

log = logging.getLogger(__name__)

_SERVER_USER = "postgres"
_PORT_FILE = "devdb.port"
_LOG_FILE = "server.log"
_SYMLINK_TARGET_ROOT = Path("/var/tmp")
_SYMLINK_TARGET_PREFIX = "verification-record-"
# sun_path is 108 bytes on Linux and 104 on macOS, including the terminating NUL.
_MAX_SOCKET_PATH = 103
_START_TIMEOUT_S = 60
_NEEDED_BINARIES = ("initdb", "pg_ctl", "postgres")


class PostgresNotFound(RuntimeError):
    """PostgreSQL server binaries (or, as root, the ``postgres`` user) are missing.

    The message says what to install on this platform.
    """


class ClusterError(RuntimeError):
    """initdb, starting or stopping a cluster failed; the message includes the output."""


def _install_hint() -> str:
    if sys.platform == "darwin":
        return (
            "Install it with `brew install postgresql@15` "
            "(it is keg-only: also run `brew link postgresql@15` or put "
            "$(brew --prefix postgresql@15)/bin on PATH)."
        )
    return (
        "Install the server package: `apt-get install postgresql` on Debian/Ubuntu, "
        "`dnf install postgresql-server` on Fedora/RHEL, `apk add postgresql` on Alpine."
    )


def _has_server_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in _NEEDED_BINARIES)


def _version_key(version: str) -> tuple[int, ...]:
    # Versions are "15", "16" or historically "9.6"; sort numerically.
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (-1,)


def find_bindir() -> Path:
    """Return the directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Looks, in order, at the newest ``/usr/lib/postgresql/*/bin`` (Debian/Ubuntu
    layout) that has the server binaries, ``pg_config --bindir``, the directory of
    ``initdb`` on PATH (symlinks resolved), and Homebrew's keg-only
    ``postgresql@*`` prefixes.  Raises :class:`PostgresNotFound` with install
    instructions when none has the server binaries.
    """
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: _version_key(p.parent.name),
        reverse=True,
    )
    for bindir in debian:
        if _has_server_binaries(bindir):
            return bindir

    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        # On Debian pg_config may come from libpq-dev and report /usr/bin, which has
        # no server binaries, hence the check.
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out and _has_server_binaries(Path(out)):
                return Path(out)

    initdb = shutil.which("initdb")
    if initdb is not None:
        # Resolve so that a lone symlink (e.g. /usr/local/bin/initdb) leads to the
        # real bindir, which also holds pg_ctl and postgres.
        bindir = Path(initdb).resolve().parent
        if _has_server_binaries(bindir):
            return bindir

    for prefix in ("/opt/homebrew/opt", "/usr/local/opt"):
        kegs = sorted(
            Path(prefix).glob("postgresql@*/bin"),
            key=lambda p: _version_key(p.parent.name.partition("@")[2]),
            reverse=True,
        )
        for bindir in kegs:
            if _has_server_binaries(bindir):
                return bindir

    raise PostgresNotFound(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found in "
        "/usr/lib/postgresql/*/bin, `pg_config --bindir`, or on PATH. " + _install_hint()
    )


def docker_engine_available() -> bool:
    """True only if the ``docker`` client exists and ``docker info`` succeeds within ~5 s.

    A client without a reachable engine (common in CI sandboxes) yields False.
    """
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        result = subprocess.run(
            [docker, "info"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def _is_root() -> bool:
    return os.geteuid() == 0


def _server_user() -> pwd.struct_passwd:
    """The account to run server binaries as when we are root (checks runuser too)."""
    try:
        user = pwd.getpwnam(_SERVER_USER)
    except KeyError:
        raise PostgresNotFound(
            "Running as root, but there is no `postgres` system user to run initdb/postgres "
            "as (they refuse to run as root). Installing the distribution's PostgreSQL "
            "server package creates it (`apt-get install postgresql` on Debian/Ubuntu); "
            "or run as a non-root user."
        ) from None
    if shutil.which("runuser") is None:
        raise PostgresNotFound(
            "Running as root needs `runuser` (util-linux) to run PostgreSQL as the "
            "postgres user: `apt-get install util-linux`, or run as a non-root user."
        )
    return user


def as_server_user(args: list[str]) -> list[str]:
    """The command line that runs `args` as the ``postgres`` user when we are root (the
    server's tools refuse root, and PgBouncer should not run as root either)."""
    if _is_root():
        _server_user()
        return ["runuser", "-u", _SERVER_USER, "--", *args]
    return args


def server_env() -> dict[str, str]:
    """The environment for the server's tools (and PgBouncer)."""
    # PG* variables (PGDATA, PGPORT, PGOPTIONS, ...) would silently change what
    # initdb/pg_ctl/postgres do; LC_ALL=C keeps their messages in English so that
    # log matching below works.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _run_server_tool(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    cmd = as_server_user(args)
    log.debug("running %s", cmd)
    # cwd=/ because the caller's cwd may not be readable by the postgres user, and
    # stdout is captured so the CLI's stdout carries nothing but the URL.
    return subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=server_env(),
        cwd="/",
        timeout=timeout,
        check=False,
    )


def _server_user_can_traverse(directory: Path) -> bool:
    # access(2) as the postgres user covers every ancestor, ACLs and mount options,
    # which is hard to emulate faithfully from root.
    result = subprocess.run(
        ["runuser", "-u", _SERVER_USER, "--", "test", "-x", str(directory)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd="/",
        check=False,
    )
    return result.returncode == 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # After a container restart a stale postmaster.pid may name a pid that now
    # belongs to something else; where /proc exists, check it is a postgres.
    cmdline = Path(f"/proc/{pid}/cmdline")
    with contextlib.suppress(OSError):
        return b"postgres" in cmdline.read_bytes()
    return True


class _PidFile:
    """The parts of postmaster.pid we use (format documented in pidfile.h)."""

    def __init__(self, pid: int, port: int, status: str) -> None:
        self.pid = pid
        self.port = port
        self.status = status

    @classmethod
    def read(cls, pgdata: Path) -> _PidFile | None:
        try:
            lines = (pgdata / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        # Line 8 (status) exists since PostgreSQL 10; assume ready when absent.
        status = lines[7].strip() if len(lines) > 7 else "ready"
        return cls(pid, port, status)


def _quote_socket_dir(path: Path) -> str:
    # unix_socket_directories is a comma-separated list; double quotes protect
    # commas and spaces in the path.
    return '"' + str(path).replace('"', '""') + '"'


class LocalCluster:
    """A PostgreSQL cluster in a data directory, run from local binaries.

    ``start()`` creates the cluster on first use (UTF8, locale C, trust auth,
    superuser ``postgres``) and starts it listening only on 127.0.0.1, or reuses a
    server that is already running on ``data_dir``.  ``stop()`` does a fast
    shutdown and is a no-op when nothing runs.  The instance is also a context
    manager (start on enter, stop on exit).

    ``port=None`` reuses the port recorded in the data directory, else picks a free
    loopback port.  An explicit port is used for a fresh start; if a server is
    already running on the data directory, its port wins (``url`` reflects it).

    ``durable=False`` turns off fsync, synchronous_commit and full_page_writes:
    much faster, but a crash may corrupt the cluster, so use it only for throwaway
    (test) clusters.  It is applied per start, not baked into the data directory.

    See the module docstring for how data directories are handled when running as
    root.  Starting the same data directory from two processes at the same moment
    is tolerated (the loser reuses the winner's server), but two concurrent first
    ``initdb`` runs are not guarded against.
    """

    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = True) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.durable = durable
        self._port_was_picked = False
        if port is None:
            port = self._recorded_port()
        if port is None:
            port = free_port()
            self._port_was_picked = True
        self._port = port

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1 (final once ``start()`` has returned)."""
        return self._port

    @property
    def url(self) -> str:
        """URL of the ``postgres`` database as the ``postgres`` superuser (no password)."""
        return self.url_for("postgres")

    def url_for(self, dbname: str) -> str:
        """URL of database ``dbname`` on this cluster (the database is not created)."""
        return f"postgresql://postgres@127.0.0.1:{self._port}/{quote(dbname, safe='')}"

    # -- start -----------------------------------------------------------------

    def start(self) -> None:
        """Create the cluster if needed and start it, or reuse a running server.

        Blocks until the server accepts connections.  Raises
        :class:`PostgresNotFound` if binaries (or, as root, the postgres user) are
        missing and :class:`ClusterError` if initdb or the server fails.
        """
        bindir = find_bindir()
        pgdata = self._prepare_data_dir()

        port = self._wait_for_running_server(pgdata)
        if port is not None:
            log.info("reusing PostgreSQL already running on %s (port %d)", pgdata, port)
            self._adopt_port(pgdata, port)
            return

        if not (pgdata / "PG_VERSION").exists():
            self._initdb(bindir, pgdata)

        attempts = 3 if self._port_was_picked else 1
        for attempt in range(1, attempts + 1):
            ok, output = self._pg_ctl_start(bindir, pgdata)
            if ok:
                log.info("started PostgreSQL on %s (port %d)", pgdata, self._port)
                self._adopt_port(pgdata, self._port)
                return
            # Someone else may have started this data directory at the same moment.
            port = self._wait_for_running_server(pgdata)
            if port is not None:
                self._adopt_port(pgdata, port)
                return
            # A port picked by probing can be taken before postgres binds it.
            if attempt < attempts and "already in use" in output:
                self._port = free_port()
                continue
            raise ClusterError(f"PostgreSQL failed to start on {pgdata}:\n{output}")

    def _recorded_port(self) -> int | None:
        try:
            return int((self.data_dir / _PORT_FILE).read_text().strip())
        except (OSError, ValueError):
            return None

    def _adopt_port(self, pgdata: Path, port: int) -> None:
        if port != self._port:
            log.warning("server on %s listens on port %d, not %d", pgdata, port, self._port)
        self._port = port
        self._port_was_picked = False
        (pgdata / _PORT_FILE).write_text(f"{port}\n")

    def _prepare_data_dir(self) -> Path:
        """Make the data directory usable by the server user; return its real path."""
        if not _is_root():
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            return self.data_dir.resolve()

        user = _server_user()
        if self.data_dir.is_symlink():
            real = self.data_dir.resolve()
            self._make_server_owned_dir(real, user)
            return real

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if _server_user_can_traverse(self.data_dir.parent):
            self.data_dir.mkdir(mode=0o700, exist_ok=True)
            self._make_server_owned_dir(self.data_dir, user)
            return self.data_dir.resolve()

        digest = hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:12]
        real = _SYMLINK_TARGET_ROOT / f"{_SYMLINK_TARGET_PREFIX}{digest}"
        if self.data_dir.exists():
            if any(self.data_dir.iterdir()):
                raise ClusterError(
                    f"{self.data_dir} is not empty, but the {_SERVER_USER} user cannot reach "
                    f"its parent directory; move it aside or make the parent traversable "
                    f"(chmod o+x)."
                )
            self.data_dir.rmdir()
        self._make_server_owned_dir(real, user)
        self.data_dir.symlink_to(real, target_is_directory=True)
        log.info(
            "%s is not reachable by the %s user; cluster lives in %s (symlinked)",
            self.data_dir.parent,
            _SERVER_USER,
            real,
        )
        return real

    @staticmethod
    def _make_server_owned_dir(path: Path, user: pwd.struct_passwd) -> None:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(path)
        # The symlink target lives in world-writable /var/tmp under a predictable
        # name: refuse anything another user could have planted there.
        if not stat.S_ISDIR(st.st_mode) or st.st_uid not in (0, user.pw_uid):
            raise ClusterError(
                f"{path} exists but is not a directory owned by root or {_SERVER_USER}; "
                "refusing to use it"
            )
        if st.st_uid == user.pw_uid:
            return
        if (path / "PG_VERSION").exists():
            raise ClusterError(
                f"{path} holds a cluster not owned by {_SERVER_USER}; it cannot be started "
                f"as root. Remove it or `chown -R {_SERVER_USER}: {path}`."
            )
        os.chown(path, user.pw_uid, user.pw_gid)
        path.chmod(0o700)

    def _wait_for_running_server(self, pgdata: Path) -> int | None:
        """Port of a live server on ``pgdata`` once it is ready, or None if none runs."""
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            info = _PidFile.read(pgdata)
            if info is None or not _pid_alive(info.pid):
                return None
            if info.status in ("ready", "standby"):
                return info.port
            # "starting" or "stopping": wait to see which way it goes.
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"server on {pgdata} stuck in state {info.status!r} (pid {info.pid})"
                )
            time.sleep(0.1)

    def _initdb(self, bindir: Path, pgdata: Path) -> None:
        log.info("initialising PostgreSQL cluster in %s", pgdata)
        args = [
            str(bindir / "initdb"),
            "-D",
            str(pgdata),
            "--encoding=UTF8",
            "--locale=C",
            "--auth=trust",
            "--username=postgres",
        ]
        if not self.durable:
            args.append("--no-sync")
        result = _run_server_tool(args, timeout=300)
        log.debug("initdb output:\n%s", result.stdout)
        if result.returncode != 0:
            raise ClusterError(f"initdb failed for {pgdata}:\n{result.stdout}")

    def _server_options(self, pgdata: Path) -> list[str]:
        socket_path = pgdata / f".s.PGSQL.{self._port}"
        if len(str(socket_path)) <= _MAX_SOCKET_PATH:
            socket_dirs = _quote_socket_dir(pgdata)
        else:
            # The path does not fit in sun_path; postgres would refuse to start, and
            # everything here connects over TCP anyway.
            log.info("data directory path too long for a Unix socket; TCP only")
            socket_dirs = ""
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self._port),
            "unix_socket_directories": socket_dirs,
            "max_connections": "200",
            "shared_buffers": "128MB",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        options: list[str] = []
        for name, value in settings.items():
            options += ["-c", f"{name}={value}"]
        return options

    def _pg_ctl_start(self, bindir: Path, pgdata: Path) -> tuple[bool, str]:
        logfile = pgdata / _LOG_FILE
        try:
            log_offset = logfile.stat().st_size
        except OSError:
            log_offset = 0
        # pg_ctl hands -o to /bin/sh, hence shell quoting of each argument.
        options = " ".join(shlex.quote(arg) for arg in self._server_options(pgdata))
        result = _run_server_tool(
            [
                str(bindir / "pg_ctl"),
                "start",
                "-D",
                str(pgdata),
                "-l",
                str(logfile),
                "-w",
                "-t",
                str(_START_TIMEOUT_S),
                "-o",
                options,
            ],
            timeout=_START_TIMEOUT_S + 30,
        )
        if result.returncode == 0:
            return True, result.stdout
        try:
            with logfile.open("rb") as f:
                f.seek(log_offset)
                server_log = f.read().decode(errors="replace")
        except OSError:
            server_log = ""
        return False, f"{result.stdout}\n--- {logfile} ---\n{server_log}"

    # -- stop ------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the server with a fast shutdown (waits); quiet if it is not running."""
        self._stop("fast")

    def crash(self) -> None:
        """Stop the server the way a crash would (immediate shutdown: no checkpoint, the
        next ``start()`` runs crash recovery); the data directory is kept, even for a
        temporary cluster. Only a ``durable`` cluster keeps every acknowledged commit."""
        self._stop("immediate")

    def _stop(self, mode: str) -> None:
        pgdata = self.data_dir.resolve()
        info = _PidFile.read(pgdata)
        if info is None or not _pid_alive(info.pid):
            return
        result = _run_server_tool(
            [str(find_bindir() / "pg_ctl"), "stop", "-D", str(pgdata), "-m", mode, "-w"],
            timeout=_START_TIMEOUT_S + 30,
        )
        if result.returncode != 0 and _PidFile.read(pgdata) is not None:
            raise ClusterError(f"pg_ctl stop failed for {pgdata}:\n{result.stdout}")
        log.info("stopped PostgreSQL on %s", pgdata)

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

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.data_dir)!r}, port={self._port})"


class _TemporaryCluster(LocalCluster):
    """A LocalCluster whose directory is deleted by ``stop()`` (and at interpreter exit)."""

    def start(self) -> None:
        # Registered before starting so an interrupted start is cleaned up too.
        atexit.register(self._cleanup)
        super().start()

    def stop(self) -> None:
        """Stop the server and delete the data directory."""
        atexit.unregister(self._cleanup)
        try:
            super().stop()
        except ClusterError:
            # The directory is about to go; don't leave an orphan server behind.
            self._stop("immediate")
        # As root we can delete the postgres-owned files as well.
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def _cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()


def temporary_cluster(*, durable: bool = False) -> LocalCluster:
    """A cluster in a fresh temporary directory (not started yet), non-durable unless
    asked (a test that crashes the server and counts acknowledged commits needs
    ``durable=True``).

    ``stop()`` also deletes the directory, and an atexit hook stops and deletes it
    if the process exits without calling ``stop()``.  Meant for tests: each call
    costs an initdb (about a second).
    """
    return _TemporaryCluster(server_owned_temporary_dir(), durable=durable)


def server_owned_temporary_dir(prefix: str = "devdb-") -> Path:
    """A fresh temporary directory that the server's user owns and can reach (see
    the module: as root, that is the ``postgres`` user)."""
    if not _is_root():
        return Path(tempfile.mkdtemp(prefix=prefix))
    user = _server_user()
    base: str | None = None
    # $TMPDIR may sit under a directory the postgres user cannot traverse.
    if not _server_user_can_traverse(Path(tempfile.gettempdir())):
        base = str(_SYMLINK_TARGET_ROOT)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    os.chown(path, user.pw_uid, user.pw_gid)
    return path


def temporary_replica(primary: LocalCluster) -> LocalCluster:
    """A streaming replica of the running ``primary`` in a fresh temporary directory,
    on a port of its own (not started yet; ``stop()`` deletes it, as for
    :func:`temporary_cluster`).

    Made with ``pg_basebackup -R`` as the superuser ``postgres``, which the trust
    authentication of these clusters lets in for replication over 127.0.0.1 (initdb's
    default pg_hba.conf has the entry; ``wal_level=replica`` and ``max_wal_senders``
    are PostgreSQL's defaults since 10). Once started it is a hot standby: read-only,
    replaying the primary's WAL (``pg_wal_replay_pause()`` holds the replay).
    """
    data_dir = server_owned_temporary_dir()
    args = [
        str(find_bindir() / "pg_basebackup"),
        "--pgdata",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(primary.port),
        "--username",
        "postgres",
        "--write-recovery-conf",
        # An immediate checkpoint: the default, spread one can take minutes.
        "--checkpoint=fast",
        "--wal-method=stream",
    ]
    if not primary.durable:
        args.append("--no-sync")
    result = _run_server_tool(args, timeout=300)
    if result.returncode != 0:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise ClusterError(f"pg_basebackup of {primary} failed:\n{result.stdout}")
    # The copy holds the primary's recorded port and log; the replica needs its own.
    for copied in (_PORT_FILE, _LOG_FILE):
        (data_dir / copied).unlink(missing_ok=True)
    return _TemporaryCluster(data_dir, free_port(), durable=primary.durable)


# -- CLI ---------------------------------------------------------------------


async def _ensure_database(cluster: LocalCluster, dbname: str) -> None:
    # Imported here: only the CLI needs it, and tests import this module early.
    import asyncpg

    conn = await asyncpg.connect(cluster.url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", dbname)
        if exists:
            return
        ident = '"' + dbname.replace('"', '""') + '"'
        try:
            await conn.execute(f"CREATE DATABASE {ident}")
            log.info("created database %s", dbname)
        except asyncpg.DuplicateDatabaseError:
            pass  # created concurrently by another `ensure`
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: ``ensure`` prints the database URL on stdout; ``stop`` stops."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools.devdb",
        description="Run a local PostgreSQL for development (no Docker needed).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ensure = sub.add_parser(
        "ensure", help="start or reuse the cluster, create the database, print its URL"
    )
    ensure.add_argument("--data-dir", type=Path, default=Path(".data/postgres"))
    ensure.add_argument("--port", type=int, default=None)
    ensure.add_argument("--dbname", default="verification_record")
    stop = sub.add_parser("stop", help="stop the cluster if it is running")
    stop.add_argument("--data-dir", type=Path, default=Path(".data/postgres"))
    args = parser.parse_args(argv)

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="devdb: %(message)s")
    try:
        if args.command == "ensure":
            cluster = LocalCluster(args.data_dir, args.port)
            cluster.start()
            asyncio.run(_ensure_database(cluster, args.dbname))
            print(cluster.url_for(args.dbname))
        else:
            LocalCluster(args.data_dir).stop()
    except (PostgresNotFound, ClusterError) as exc:
        print(f"devdb: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
