"""The command line: `python -m service COMMAND` (or `verification-record COMMAND`).

Every command reads DATABASE_URL (a postgresql:// URL).
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import shutil
import sys
import tempfile
from typing import Any

from service.settings import Settings, SettingsError


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"configuration error: {exc}")


def _check_database(settings: Settings) -> None:
    """Before any worker starts: a reachable database without the session settings the
    service relies on stops the command with the message that says how to fix it (each
    worker would fail on it anyway, in a traceback). An unreachable one does not: the
    service starts and answers /health/ready with 503 until it can connect, and checks
    every connection it opens."""
    import asyncpg

    from service.kit.db import verify_database
    from service.kit.errors import DatabaseSettingsError

    try:
        asyncio.run(verify_database(settings))
    except DatabaseSettingsError as exc:
        sys.exit(f"database error: {exc}")
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        print(f"warning: the database is unreachable for now ({exc!r})", file=sys.stderr)


def migrate(_: argparse.Namespace) -> None:
    from service.commands import migrate as migrations

    migrations.upgrade(_settings().database_url)
    print("database is at the newest schema", file=sys.stderr)


def load_example(_: argparse.Namespace) -> None:
    from service.commands import example

    created = asyncio.run(example.load_into(_settings().database_url))
    print(f"founding example loaded ({created} records created)", file=sys.stderr)


def serve(args: argparse.Namespace) -> None:
    from service.web import shutdown

    settings = _settings()  # fail here, with a clear message, not in every worker
    _check_database(settings)
    print(
        f"serving the API at http://{args.host}:{args.port}/v1 "
        f"(interactive docs: http://{args.host}:{args.port}/schema)",
        file=sys.stderr,
    )
    # Both before any worker starts: the workers inherit them (service/web/metrics.py,
    # service/web/shutdown.py).
    metrics_dir = _prepare_metrics_dir(args.workers)
    shutdown.ignore_drain_signal()
    server = granian_server(
        "service.app:create_app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level,
    )
    if (drain := settings.shutdown_drain_seconds) > 0:
        # After granian has installed its own signal handlers, before the workers start.
        server.on_startup(lambda: shutdown.install_drain(server.signal_handler_interrupt, drain))
    try:
        server.serve()
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def granian_server(target: str, *, host: str, port: int, workers: int, log_level: str) -> Any:
    """The granian server that `serve` runs, for the app factory `target`
    ("module:function"). The benchmark serves its ceilings (bench/ceilings.py) through
    this too, so that they are measured under exactly the same server settings.
    (Returned as Any: granian picks its server class at import time, by platform.)"""
    from granian import Granian
    from granian.constants import Interfaces

    from service.web import logs, shutdown

    return Granian(
        target,
        factory=True,
        address=host,
        port=port,
        workers=workers,
        interface=Interfaces.ASGI,
        # The app writes one JSON line per request itself (service/web/telemetry.py), and
        # granian applies this logging configuration in every process.
        log_access=False,
        log_dictconfig=logs.logging_config(log_level),
        workers_kill_timeout=shutdown.WORKER_STOP_TIMEOUT_SECONDS,
    )


def _prepare_metrics_dir(workers: int) -> str | None:
    """With several workers, metrics are shared through PROMETHEUS_MULTIPROC_DIR. An
    operator's directory is emptied of the previous run's files (as prometheus_client
    asks); otherwise a temporary one is made, and returned to be deleted at exit."""
    if existing := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.makedirs(existing, exist_ok=True)
        for stale in glob.glob(os.path.join(existing, "*.db")):
            os.remove(stale)
        return None
    if workers <= 1:
        return None
    created = tempfile.mkdtemp(prefix="vr-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = created
    return created


def worker(_: argparse.Namespace) -> None:
    import logging.config

    from service.integrations.webhooks.worker import run_worker
    from service.web.logs import logging_config

    settings = _settings()
    _check_database(settings)
    logging.config.dictConfig(logging_config(settings.log_level))
    print("delivering webhooks (Ctrl-C or SIGTERM stops)", file=sys.stderr)
    asyncio.run(run_worker(settings))


def create_api_key(args: argparse.Namespace) -> None:
    import asyncpg

    from service.integrations.api_keys.service import create_key
    from service.web.auth import Scope

    try:
        scopes = [Scope(scope.strip()) for scope in args.scopes.split(",") if scope.strip()]
    except ValueError:
        scopes = []
    if not scopes:
        sys.exit("--scopes must be read, write or admin (admin implies write implies read)")
    database_url = _settings().database_url

    async def create() -> str:
        conn = await asyncpg.connect(database_url)
        try:
            key = await create_key(conn, args.name, scopes)
        finally:
            await conn.close()
        print(f"created API key {key.prefix} {key.scopes} named {key.name!r}", file=sys.stderr)
        return key.secret

    # The secret alone on the last line of standard output, for scripts.
    print(asyncio.run(create()))


def openapi(args: argparse.Namespace) -> None:
    from service.commands.openapi import render_schema

    text = render_schema()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
        print(f"wrote {args.output}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the database to the newest schema").set_defaults(
        run=migrate
    )
    serve_parser = commands.add_parser("serve", help="serve the API")
    serve_parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve_parser.add_argument("--workers", type=int, default=1)
    serve_parser.set_defaults(run=serve)
    commands.add_parser(
        "worker", help="deliver webhooks (serve runs one too, unless WEBHOOK_WORKER=false)"
    ).set_defaults(run=worker)
    commands.add_parser("load-example", help="load the founding example (idempotent)").set_defaults(
        run=load_example
    )
    key_parser = commands.add_parser(
        "create-api-key", help="print a new API key's secret (the bootstrap for the first admin)"
    )
    key_parser.add_argument("--name", required=True)
    key_parser.add_argument(
        "--scopes", required=True, help="read, write or admin (admin implies write implies read)"
    )
    key_parser.set_defaults(run=create_api_key)
    openapi_parser = commands.add_parser("openapi", help="write the OpenAPI 3.1 schema as JSON")
    openapi_parser.add_argument("--output", default="-", help="file to write, or - for stdout")
    openapi_parser.set_defaults(run=openapi)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
