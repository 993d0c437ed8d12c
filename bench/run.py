"""The benchmark, from an empty machine to one table (see bench/__init__.py).

Steps: a database (its own PostgreSQL, or a fresh database on BENCH_DATABASE_URL), the
real migrations, the corpus, API keys, request files; then the two ceilings, each at
the concurrencies the endpoints use; then the service with every feature on: a
pre-flight request per endpoint, a warm-up, one measured wrk run per endpoint and a
soak that samples every worker's memory. Figures for each run: wrk's requests a second
and latency percentiles, the server's status counts (its own metrics, before and after),
error lines in its log, and the CPU time of the server's and the database's process
trees per request (/proc, before and after).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from bench import corpus, procs, relevance, workload
from bench.workload import ENDPOINTS, Endpoint, Workload

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).with_name("wrk") / "requests.lua"
DEFAULT_OUTPUT = ROOT / "artifacts" / "bench" / "results.json"
# A limit no single benchmark client reaches: one wrk process sends everything from one
# address with one key per role, some hundred times the defaults (600 and 6000 a minute).
# The limiter still counts every request, syncs with PostgreSQL and sends its headers.
BENCH_RATE_LIMIT = 100_000_000
# The runs measured again on a second server with --compare's settings: the reads that
# memory answers (MEMORY_ANSWERS) or the caches change.
COMPARED_RUNS = ("get_statement", "list_statements", "document_record", "badge_200", "badge_304")
WEBHOOK_URL = "https://hooks.example.org/verification-record"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---- options ---------------------------------------------------------------------------------


@dataclass
class Options:
    smoke: bool
    duration: int
    warmup: int
    soak: int
    statements: int
    workers: int
    threads: int
    server_url: str | None
    keep_database: bool
    output: Path
    profile: set[str]
    only: set[str] | None
    # Settings of a second server that runs COMPARED_RUNS again, for an A/B in one run.
    compare: dict[str, str]


def parse_options(argv: list[str] | None) -> Options:
    env = os.environ
    smoke_default = env.get("BENCH_SMOKE", "").strip().lower() in ("1", "true", "yes")
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the service against its framework and database ceilings.",
    )
    parser.add_argument(
        "--smoke",
        action=argparse.BooleanOptionalAction,
        default=smoke_default,
        help="a few seconds in all, on a small corpus: checks the harness, not the speed "
        "(BENCH_SMOKE=1)",
    )
    parser.add_argument("--duration", type=int, help="seconds per run (BENCH_DURATION, 10)")
    parser.add_argument("--warmup", type=int, help="seconds of warm-up per endpoint (2)")
    parser.add_argument("--soak", type=int, help="seconds of the soak (BENCH_SOAK_SECONDS, 60)")
    parser.add_argument(
        "--statements", type=int, help="corpus size in statements (BENCH_STATEMENTS, 100000)"
    )
    parser.add_argument("--workers", type=int, help="server workers (BENCH_WORKERS, 2)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument(
        "--server-url",
        default=env.get("BENCH_DATABASE_URL") or None,
        help="a PostgreSQL server on which to create the benchmark's database "
        "(BENCH_DATABASE_URL); default: start a PostgreSQL of its own",
    )
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="with --server-url: keep the loaded database and reuse it next time",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(env.get("BENCH_OUTPUT") or DEFAULT_OUTPUT),
        help="where to write the JSON results (BENCH_OUTPUT)",
    )
    parser.add_argument(
        "--profile",
        default=env.get("BENCH_PROFILE", ""),
        help="comma-separated endpoints to profile with py-spy during their run (BENCH_PROFILE)",
    )
    parser.add_argument(
        "--only", default=env.get("BENCH_ONLY", ""), help="comma-separated endpoints to run"
    )
    parser.add_argument(
        "--compare",
        default=env.get("BENCH_COMPARE", "MEMORY_ANSWERS=false"),
        help="NAME=VALUE settings (comma-separated) of a second server that runs "
        f"{', '.join(COMPARED_RUNS)} again after the others, for an A/B in the same run "
        "(BENCH_COMPARE; default MEMORY_ANSWERS=false; empty: none)",
    )
    args = parser.parse_args(argv)
    smoke = args.smoke
    compare: dict[str, str] = {}
    for setting in (part.strip() for part in args.compare.split(",")):
        if not setting:
            continue
        name, equals, value = setting.partition("=")
        if not equals or not name.strip():
            parser.error(f"--compare takes NAME=VALUE settings, got {setting!r}")
        compare[name.strip()] = value.strip()

    def pick(value: int | None, name: str, full: int, small: int) -> int:
        if value is not None:
            return value
        if name in env and env[name].strip():
            return int(env[name])
        return small if smoke else full

    names = {endpoint.name for endpoint in ENDPOINTS}
    profile = {p.strip() for p in args.profile.split(",") if p.strip()}
    only = {p.strip() for p in args.only.split(",") if p.strip()} or None
    for unknown in (profile | (only or set())) - names:
        parser.error(f"unknown endpoint {unknown!r}; one of {', '.join(sorted(names))}")
    if args.keep_database and not args.server_url:
        parser.error("--keep-database needs --server-url (BENCH_DATABASE_URL)")
    return Options(
        smoke=smoke,
        duration=pick(args.duration, "BENCH_DURATION", 10, 1),
        warmup=pick(args.warmup, "BENCH_WARMUP", 2, 1),
        soak=pick(args.soak, "BENCH_SOAK_SECONDS", 60, 2),
        statements=pick(args.statements, "BENCH_STATEMENTS", 100_000, 2_000),
        workers=pick(args.workers, "BENCH_WORKERS", 2, 2),
        threads=args.threads,
        server_url=args.server_url,
        keep_database=args.keep_database,
        output=args.output,
        profile=profile,
        only=only,
        compare=compare,
    )


# ---- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A server subprocess (the service or a ceiling) with its output in a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [*args, "--port", str(self.port)]
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, ready_path: str, timeout: float = 60.0) -> None:
        log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, *self.args],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")
            try:
                return httpx.get(self.url + ready_path, timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        if not procs.wait_for(ready, timeout):
            raise RuntimeError(f"{self.name} did not answer in {timeout} s:\n{self.tail()}")

    def workers(self) -> list[int]:
        """The worker processes (granian's main process spawns them)."""
        return [pid for pid in procs.tree(self.pid) if pid != self.pid]

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(5)

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


# ---- wrk -------------------------------------------------------------------------------------


@dataclass
class Cpu:
    """CPU seconds of the server's and the database's process trees at one moment."""

    server: float
    server_system: float
    database: float | None

    @classmethod
    def now(cls, server_pids: list[int], database_root: int | None) -> Cpu:
        database = None
        if database_root is not None:
            database = sum(procs.cpu_seconds(procs.tree(database_root)))
        user, system = procs.cpu_seconds(server_pids)
        return cls(user + system, system, database)


def run_wrk(
    url: str, requests_file: Path, connections: int, duration: int, threads: int
) -> dict[str, Any]:
    """One wrk run; wrk's summary as the Lua script prints it."""
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        str(requests_file),
        uuid.uuid4().hex[:12],
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)
    for output_line in done.stdout.splitlines():
        if output_line.startswith("WRK_JSON "):
            result: dict[str, Any] = json.loads(output_line.removeprefix("WRK_JSON "))
            return result
    raise RuntimeError(f"wrk printed no result ({done.returncode}):\n{done.stdout}{done.stderr}")


# Greedy up to the last brace: route templates have braces of their own ({id:uuid}).
_SAMPLE = re.compile(r"^vr_http_requests_total\{(?P<labels>.*)\}\s+(?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def request_counts(url: str) -> dict[tuple[str, str], float]:
    """(route, status) -> requests answered, from the service's /metrics."""
    counts: dict[tuple[str, str], float] = {}
    text = httpx.get(f"{url}/metrics", timeout=10).text
    for metric_line in text.splitlines():
        if match := _SAMPLE.match(metric_line):
            labels = dict(_LABEL.findall(match["labels"]))
            key = (labels.get("route", ""), labels.get("status", ""))
            counts[key] = counts.get(key, 0) + float(match["value"])
    return counts


def error_lines(log_path: Path, offset: int) -> tuple[int, int, list[str]]:
    """Error lines the server logged after `offset`; returns (new offset, count, first few)."""
    with log_path.open("rb") as file:
        file.seek(offset)
        data = file.read()
    found = [
        text
        for text in data.decode(errors="replace").splitlines()
        if '"level":"error"' in text or "Traceback" in text
    ]
    return offset + len(data), len(found), found[:3]


@dataclass
class Measurement:
    """One measured run."""

    name: str
    title: str
    kind: str  # "ceiling", "endpoint" or "soak"
    connections: int
    duration_s: int
    requests: int
    rps: float
    latency_ms: dict[str, float]
    socket_errors: int
    wrk_status_errors: int
    bytes_per_request: float
    server_cpu_us_per_request: float
    # The kernel's share of the server's CPU time (system calls: sockets, log writes).
    server_cpu_system_percent: float
    db_cpu_us_per_request: float | None
    statuses: dict[str, int] = field(default_factory=dict)
    # Requests the server counted on the endpoint's route (its metrics).
    counted: int | None = None
    unexpected: int = 0
    logged_errors: int = 0
    ratio_framework: float | None = None
    ratio_asyncpg: float | None = None
    ratio_write: float | None = None
    target: str = ""
    target_met: bool | None = None
    profiled: bool = False
    notes: list[str] = field(default_factory=list)


def measure(
    name: str,
    title: str,
    kind: str,
    server: Server,
    requests_file: Path,
    connections: int,
    options: Options,
    database_root: int | None,
    *,
    duration: int | None = None,
) -> Measurement:
    duration = duration or options.duration
    pids = procs.tree(server.pid)
    before = Cpu.now(pids, database_root)
    result = run_wrk(server.url, requests_file, connections, duration, options.threads)
    after = Cpu.now(pids, database_root)
    requests = int(result["requests"])
    seconds = result["duration_us"] / 1e6
    errors = result["errors"]
    latency = result["latency_us"]
    per_request = 1e6 / max(requests, 1)
    return Measurement(
        name=name,
        title=title,
        kind=kind,
        connections=connections,
        duration_s=duration,
        requests=requests,
        rps=round(requests / seconds, 1) if seconds else 0.0,
        latency_ms={key: round(value / 1000, 2) for key, value in latency.items()},
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        wrk_status_errors=errors["status"],
        bytes_per_request=round(result["bytes"] / max(requests, 1), 1),
        server_cpu_us_per_request=round((after.server - before.server) * per_request, 1),
        server_cpu_system_percent=round(
            (after.server_system - before.server_system)
            / max(after.server - before.server, 1e-9)
            * 100,
            1,
        ),
        db_cpu_us_per_request=(
            round((after.database - before.database) * per_request, 1)
            if after.database is not None and before.database is not None
            else None
        ),
    )


# ---- the database ------------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextlib.contextmanager
def database(options: Options) -> Iterator[tuple[str, int | None, bool]]:
    """(URL of an empty or reusable database, the postmaster's pid if known, reused?)."""
    if options.server_url is None:
        from devtools import devdb

        cluster = devdb.temporary_cluster(durable=True)
        log("starting PostgreSQL (its own cluster, fsync on, as in production)")
        cluster.start()
        try:
            asyncio.run(_create_database(cluster.url, "verification_record_bench"))
            yield (
                cluster.url_for("verification_record_bench"),
                asyncio.run(_postmaster(cluster.url)),
                False,
            )
        finally:
            cluster.stop()
        return
    name = (
        f"vr_bench_{options.statements}"
        if options.keep_database
        else f"vr_bench_{uuid.uuid4().hex[:10]}"
    )
    reused = asyncio.run(_create_database(options.server_url, name, reuse=options.keep_database))
    try:
        yield (
            _with_database(options.server_url, name),
            asyncio.run(_postmaster(options.server_url)),
            reused,
        )
    finally:
        if not options.keep_database:
            asyncio.run(_drop_database(options.server_url, name))


async def _create_database(server_url: str, name: str, *, reuse: bool = False) -> bool:
    admin = await asyncpg.connect(server_url)
    try:
        if reuse and await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return True
        await admin.execute(f'CREATE DATABASE "{name}"')
        return False
    finally:
        await admin.close()


async def _postmaster(server_url: str) -> int | None:
    """The server's pid when it runs on this machine (its CPU time is then measured)."""
    conn = await asyncpg.connect(server_url)
    try:
        return procs.postmaster_pid(await conn.fetchval("SELECT pg_backend_pid()"))
    finally:
        await conn.close()


async def _drop_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@dataclass
class Prepared:
    loaded: dict[str, Any]
    workload: Workload
    read_key: str
    write_key: str


async def prepare(url: str, options: Options, directory: Path, reused: bool) -> Prepared:
    from service.integrations.api_keys.service import create_key
    from service.web.auth import Scope

    # The loading statements run for many seconds: longer than the statement_timeout that
    # migration 0010 sets on the database for requests (this session only).
    conn = await asyncpg.connect(url, server_settings={"statement_timeout": "0"})
    try:
        if reused and await conn.fetchval("SELECT count(*) FROM statements"):
            log("reusing the loaded corpus (--keep-database)")
            loaded: dict[str, Any] = {"reused": True}
        else:
            size = corpus.Size.for_statements(options.statements)
            log(
                f"loading the corpus: {size.statements} statements, {size.documents} documents, "
                f"{size.people} people, {size.organizations} organizations"
            )
            loaded = asdict(await corpus.load(conn, size))
            log(f"corpus loaded in {loaded['seconds']} s")
        read_key = (await create_key(conn, "bench-partner", [Scope.READ])).secret
        write_key = (await create_key(conn, "bench-editor", [Scope.WRITE])).secret
        # The outbox gets a delivery for every statement created: the POST run writes
        # it in the request's transaction, as it would in production.
        await conn.execute(
            """INSERT INTO webhooks (url, events, secret)
               SELECT $1, ARRAY['statement.created'], $2
               WHERE NOT EXISTS (SELECT 1 FROM webhooks WHERE url = $1 AND deleted_at IS NULL)""",
            WEBHOOK_URL,
            "whsec_" + secrets.token_urlsafe(32).replace("-", "A").replace("_", "B"),
        )
        prepared = await workload.prepare(conn, directory, read_key, write_key)
    finally:
        await conn.close()
    return Prepared(loaded=loaded, workload=prepared, read_key=read_key, write_key=write_key)


# ---- the runs --------------------------------------------------------------------------------


def measure_ceilings(
    options: Options, url: str, prepared: Prepared, directory: Path, database_root: int | None
) -> dict[str, dict[int, Measurement]]:
    statement_ids = [
        line.split("\t")[1].rsplit("/", 1)[1]
        for line in prepared.workload.files["get_statement"].read_text().splitlines()
    ]
    files = {
        "framework": workload.write_lines(
            directory / "ceiling_framework.txt", [workload.line("GET", "/ceiling", {})]
        ),
        "asyncpg": workload.write_lines(
            directory / "ceiling_asyncpg.txt",
            [workload.line("GET", f"/statements/{id}", {}) for id in statement_ids],
        ),
    }
    ready = {"framework": "/ceiling", "asyncpg": f"/statements/{statement_ids[0]}", "write": "/"}
    names = ["framework", "asyncpg"]
    if "post_statement" in {e.name for e in selected(options)}:
        # The POST run's own bodies, sent to the raw asyncpg writer.
        files["write"] = workload.write_lines(
            directory / "ceiling_write.txt",
            [
                text.replace("\t/v1/statements\t", "\t/statements\t", 1)
                for text in prepared.workload.files["post_statement"].read_text().splitlines()
            ],
        )
        names.append("write")
    connections = sorted({e.connections for e in selected(options)})
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    results: dict[str, dict[int, Measurement]] = {}
    for name in names:
        server = Server(
            f"{name} ceiling",
            ["-m", "bench.ceilings", name, "--workers", str(options.workers)],
            env,
            directory / f"ceiling_{name}.log",
        )
        log(f"{name} ceiling: starting ({options.workers} workers)")
        server.start(ready[name])
        try:
            run_wrk(server.url, files[name], 64, options.warmup, options.threads)
            results[name] = {}
            for count in connections:
                m = measure(
                    f"{name}_ceiling",
                    f"{name} ceiling",
                    "ceiling",
                    server,
                    files[name],
                    count,
                    options,
                    database_root,
                )
                results[name][count] = m
                log(f"{name} ceiling at {count} connections: {m.rps:.0f} req/s")
        finally:
            server.stop()
    return results


def selected(options: Options) -> list[Endpoint]:
    return [e for e in ENDPOINTS if options.only is None or e.name in options.only]


def service_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        {
            "DATABASE_URL": url,
            "LOG_LEVEL": "info",
            "RATE_LIMIT_KEY": str(BENCH_RATE_LIMIT),
            "RATE_LIMIT_ANONYMOUS": str(BENCH_RATE_LIMIT),
            # Deliveries are made by dedicated `python -m service worker` processes here;
            # the outbox rows are still written in every POST's transaction.
            "WEBHOOK_WORKER": "false",
        }
    )
    for name in ("DB_POOL_MAX_SIZE", "DB_STATEMENT_CACHE_SIZE", "PUBLIC_BASE_URL"):
        env.pop(name, None)
    return env


def preflight(server: Server, files: dict[str, Path]) -> dict[str, Any]:
    """One request per endpoint: the expected status and the headers that show auth,
    rate limits, ETags and request ids at work. Raises on a surprise."""
    checks: dict[str, Any] = {}
    for endpoint in ENDPOINTS:
        if endpoint.name not in files:
            continue
        method, target, headers, body = workload.first_request(files[endpoint.name])
        response = httpx.request(
            method, server.url + target, headers=headers, content=body or None, timeout=30
        )
        if response.status_code not in endpoint.expected:
            raise RuntimeError(
                f"pre-flight {endpoint.name}: {method} {target} answered "
                f"{response.status_code}: {response.text[:500]}"
            )
        wanted = ["x-request-id", "ratelimit-limit", "ratelimit-remaining"]
        if endpoint.name in ("get_statement", "badge_200", "badge_304"):
            wanted.append("etag")
        missing = [h for h in wanted if h not in response.headers]
        if missing:
            raise RuntimeError(f"pre-flight {endpoint.name}: missing headers {missing}")
        checks[endpoint.name] = {
            "status": response.status_code,
            "bytes": len(response.content),
            "ratelimit_limit": response.headers["ratelimit-limit"],
        }
    return checks


async def _badge_etags(url: str, paths: list[str]) -> dict[str, str]:
    etags: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for start in range(0, len(paths), 32):
            batch = paths[start : start + 32]
            responses = await asyncio.gather(*(client.get(p) for p in batch))
            for path, response in zip(batch, responses, strict=True):
                if response.status_code != 200:
                    raise RuntimeError(f"badge {path} answered {response.status_code}")
                etags[path] = response.headers["etag"]
    return etags


def profile_workers(
    server: Server, name: str, duration: int, directory: Path
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    started = []
    for number, pid in enumerate(server.workers(), start=1):
        output = directory / f"profile-{name}-worker{number}.txt"
        process = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(duration),
                "--rate",
                "250",
                "--format",
                "raw",
                "--function",
                "--nonblocking",
                "--gil",
                "--output",
                str(output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append((process, output))
    return started


def summarize_profile(paths: list[Path], top: int = 25) -> dict[str, Any]:
    """Collapsed stacks (py-spy raw) -> the functions with the most samples, on top of
    the stack (self) and anywhere in it (total)."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for path in paths:
        if not path.exists():
            continue
        for stack_line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = stack_line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            samples += count
            frames = [_short(frame) for frame in stack.split(";")]
            own[frames[-1]] = own.get(frames[-1], 0) + count
            for frame in set(frames):
                total[frame] = total.get(frame, 0) + count

    def ranked(counts: dict[str, int]) -> list[tuple[str, float]]:
        best = sorted(counts.items(), key=lambda item: -item[1])[:top]
        return [(frame, round(count / max(samples, 1) * 100, 1)) for frame, count in best]

    # Leave out the frames under every request (the process's start, the event loop).
    base = max(total.values(), default=0) * 0.9
    inner = {frame: count for frame, count in total.items() if count < base}
    return {"samples": samples, "self_percent": ranked(own), "total_percent": ranked(inner)}


def _short(frame: str) -> str:
    """`function (path/to/site-packages/package/module.py:12)` -> `function (package/module.py)`."""
    match = re.match(r"^(?P<function>.*) \((?P<file>[^:]*)(:\d+)?\)$", frame)
    if not match:
        return frame
    file = match["file"]
    for marker in ("site-packages/", "/work/main/", str(ROOT) + "/", "lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{match['function']} ({file})"


def measure_service(
    options: Options,
    url: str,
    prepared: Prepared,
    directory: Path,
    database_root: int | None,
    *,
    settings: dict[str, str] | None = None,
    names: tuple[str, ...] | None = None,
    soak: bool = True,
) -> tuple[list[Measurement], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Start the service (with `settings` added to its environment), measure the
    selected endpoints (only `names` among them, if given), then the soak."""
    log_path = directory / ("service.log" if settings is None else "service-compared.log")
    server = Server(
        "service",
        ["-m", "service", "serve", "--workers", str(options.workers)],
        {**service_env(url), **(settings or {})},
        log_path,
    )
    log(
        f"service: starting ({options.workers} workers, LOG_LEVEL=info, rate limits on"
        + "".join(f", {name}={value}" for name, value in (settings or {}).items())
        + ")"
    )
    server.start("/health/ready")
    files = dict(prepared.workload.files)
    results: list[Measurement] = []
    soaked: dict[str, Any] = {}
    profiles: dict[str, Any] = {}
    try:
        etags = asyncio.run(_badge_etags(server.url, prepared.workload.badge_paths))
        files["badge_304"] = workload.badge_304_file(prepared.workload, etags)
        checks = preflight(server, files)
        endpoints = [e for e in selected(options) if names is None or e.name in names]
        log(f"service: warming up ({options.warmup} s per endpoint)")
        for endpoint in endpoints:
            run_wrk(
                server.url,
                files[endpoint.name],
                endpoint.connections,
                options.warmup,
                options.threads,
            )
        time.sleep(1.2)
        offset = log_path.stat().st_size
        for endpoint in endpoints:
            before = request_counts(server.url)
            profilers = []
            if endpoint.name in options.profile and settings is None:
                profilers = profile_workers(server, endpoint.name, options.duration, directory)
            m = measure(
                endpoint.name,
                endpoint.title,
                "endpoint",
                server,
                files[endpoint.name],
                endpoint.connections,
                options,
                database_root,
            )
            for process, _ in profilers:
                process.wait(60)
            if profilers:
                m.profiled = True
                kept = []
                options.output.parent.mkdir(parents=True, exist_ok=True)
                for _, path in profilers:
                    if path.exists():
                        kept.append(Path(shutil.copy(path, options.output.parent / path.name)))
                profiles[endpoint.name] = {
                    **summarize_profile(kept),
                    "files": [str(k) for k in kept],
                }
            after = settled_counts(server.url, before, endpoint, m.requests)
            m.statuses, m.unexpected, m.counted = _status_diff(before, after, endpoint)
            if m.counted < m.requests:
                m.notes.append(f"only {m.counted} requests counted on {endpoint.route}")
            offset, m.logged_errors, samples = error_lines(log_path, offset)
            m.notes.extend(samples)
            results.append(m)
            log(
                f"{endpoint.name}: {m.rps:.0f} req/s, p50 {m.latency_ms['p50']} ms, "
                f"p99 {m.latency_ms['p99']} ms, unexpected {m.unexpected}"
            )
        if soak:
            soaked = run_soak(options, server, prepared, database_root, log_path, offset)
    finally:
        code = server.stop()
        if code not in (0, None):
            log(f"service exited with {code}:\n{server.tail()}")
    return results, soaked, checks, profiles


def settled_counts(
    url: str,
    before: dict[tuple[str, str], float],
    endpoint: Endpoint | None,
    requests: int,
    timeout: float = 3.0,
) -> dict[tuple[str, str], float]:
    """The metrics once they count every request wrk saw answered: each worker
    publishes its counts about once a second (service/web/metrics.py)."""
    deadline = time.monotonic() + timeout
    while True:
        after = request_counts(url)
        statuses, _, counted = _status_diff(before, after, endpoint)
        total = counted if endpoint is not None else sum(statuses.values())
        if total >= requests or time.monotonic() >= deadline:
            return after
        time.sleep(0.2)


def _status_diff(
    before: dict[tuple[str, str], float],
    after: dict[tuple[str, str], float],
    endpoint: Endpoint | None,
) -> tuple[dict[str, int], int, int]:
    """Status counts between two scrapes (the scrapes themselves left out), how many of
    them were not the endpoint's expected status, and how many hit its route."""
    statuses: dict[str, int] = {}
    unexpected = route_hits = 0
    for (route, status), value in after.items():
        if route == "/metrics":
            continue
        count = int(value - before.get((route, status), 0))
        if count <= 0:
            continue
        statuses[status] = statuses.get(status, 0) + count
        if endpoint is None:
            if not (status.startswith("2") or status == "304"):
                unexpected += count
            continue
        if route == endpoint.route:
            route_hits += count
        if int(status) not in endpoint.expected:
            unexpected += count
    return statuses, unexpected, route_hits


def run_soak(
    options: Options,
    server: Server,
    prepared: Prepared,
    database_root: int | None,
    log_path: Path,
    offset: int,
) -> dict[str, Any]:
    path = workload.soak_file(prepared.workload)
    log(f"soak: {options.soak} s of the mixed workload at 64 connections")
    before = request_counts(server.url)
    with procs.RssSampler(server.workers()) as sampler:
        m = measure(
            "soak",
            f"soak, mixed, {options.soak} s",
            "soak",
            server,
            path,
            64,
            options,
            database_root,
            duration=options.soak,
        )
    after = settled_counts(server.url, before, None, m.requests)
    m.statuses, m.unexpected, _ = _status_diff(before, after, None)
    _, m.logged_errors, samples = error_lines(log_path, offset)
    m.notes.extend(samples)
    workers = [series.summary() for series in sampler.series]
    growth: list[float] = [w["growth_percent"] for w in workers if "growth_percent" in w]
    m.target = f"p99<={workload.SOAK_P99_MS:g}ms, RSS flat (<10% growth)"
    m.target_met = bool(growth) and max(growth) < 10 and m.latency_ms["p99"] <= workload.SOAK_P99_MS
    log(f"soak: {m.rps:.0f} req/s, non-2xx/304 {m.unexpected}, workers {workers}")
    return {"measurement": m, "workers": workers, "mix": workload.SOAK_MIX}


# ---- the report ------------------------------------------------------------------------------


def ratios(m: Measurement, ceilings: dict[str, dict[int, Measurement]]) -> None:
    """`m` against each ceiling measured at its concurrency."""
    for name, attribute in (
        ("framework", "ratio_framework"),
        ("asyncpg", "ratio_asyncpg"),
        ("write", "ratio_write"),
    ):
        ceiling = ceilings.get(name, {}).get(m.connections)
        if ceiling and ceiling.rps:
            setattr(m, attribute, round(m.rps / ceiling.rps, 3))


def judge(m: Measurement, endpoint: Endpoint, ceilings: dict[str, dict[int, Measurement]]) -> None:
    ratios(m, ceilings)
    target = endpoint.target
    m.target = target.describe()
    verdicts = []
    if target.framework_ratio is not None and m.ratio_framework is not None:
        verdicts.append(m.ratio_framework >= target.framework_ratio)
    if target.write_ratio is not None and m.ratio_write is not None:
        verdicts.append(m.ratio_write >= target.write_ratio)
    if target.p99_ms is not None:
        verdicts.append(m.latency_ms["p99"] <= target.p99_ms)
    m.target_met = all(verdicts) if verdicts else None


def table(
    ceilings: dict[str, dict[int, Measurement]],
    endpoints: list[Measurement],
    soak: Measurement | None,
) -> str:
    header = (
        f"{'run':<36} {'conn':>4} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'bad':>4} "
        f"{'srv us/req':>10} {'sys%':>4} {'db us/req':>9} {'x fw':>6} {'x pg':>6} {'x wr':>6}"
        "  target"
    )
    rows = [header, "-" * len(header)]

    def row(m: Measurement) -> str:
        bad = m.unexpected + m.socket_errors + (m.wrk_status_errors if m.kind == "ceiling" else 0)
        db = "-" if m.db_cpu_us_per_request is None else f"{m.db_cpu_us_per_request:.0f}"
        fw = "-" if m.ratio_framework is None else f"{m.ratio_framework:.2f}"
        pg = "-" if m.ratio_asyncpg is None else f"{m.ratio_asyncpg:.2f}"
        wr = "-" if m.ratio_write is None else f"{m.ratio_write:.2f}"
        mark = {True: "PASS", False: "MISS", None: ""}[m.target_met]
        target = f"{m.target} {mark}".strip() + (" (profiled)" if m.profiled else "")
        return (
            f"{m.title:<36} {m.connections:>4} {m.rps:>8.0f} {m.latency_ms['p50']:>7.2f} "
            f"{m.latency_ms['p99']:>7.2f} {bad:>4} {m.server_cpu_us_per_request:>10.0f} "
            f"{m.server_cpu_system_percent:>4.0f} {db:>9} {fw:>6} {pg:>6} {wr:>6}  {target}"
        )

    for by_connections in ceilings.values():
        for m in by_connections.values():
            rows.append(row(m))
    rows.append("")
    rows.extend(row(m) for m in endpoints)
    if soak is not None:
        rows.append("")
        rows.append(row(soak))
    return "\n".join(rows)


def comparison_table(
    settings: dict[str, str], endpoints: list[Measurement], compared: list[Measurement]
) -> str:
    """Each compared run as measured above (A) and on the server with `settings` (B)."""
    named = ", ".join(f"{name}={value}" for name, value in settings.items())
    header = (
        f"{'A/B: A as above, B with ' + named:<52} {'A req/s':>8} {'B req/s':>8} {'A/B':>5} "
        f"{'A srv us':>8} {'B srv us':>8} {'A p99':>7} {'B p99':>7}"
    )
    rows = ["", header, "-" * len(header)]
    measured = {m.name: m for m in endpoints}
    for b in compared:
        a = measured.get(b.name)
        if a is None:
            continue
        ratio = f"{a.rps / b.rps:.2f}" if b.rps else "-"
        rows.append(
            f"{b.title:<52} {a.rps:>8.0f} {b.rps:>8.0f} {ratio:>5} "
            f"{a.server_cpu_us_per_request:>8.0f} {b.server_cpu_us_per_request:>8.0f} "
            f"{a.latency_ms['p99']:>7.2f} {b.latency_ms['p99']:>7.2f}"
        )
    return "\n".join(rows)


def git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True)
    return done.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (make bench does it)", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    directory = Path(tempfile.mkdtemp(prefix="vr-bench-"))
    try:
        with database(options) as (url, database_root, reused):
            # A kept database too: it may have been loaded by older code.
            from service.commands import migrate

            log("migrating the database")
            migrate.upgrade(url)
            prepared = asyncio.run(prepare(url, options, directory, reused))
            ceilings = measure_ceilings(options, url, prepared, directory, database_root)
            endpoints, soak, checks, profiles = measure_service(
                options, url, prepared, directory, database_root
            )
            compared: list[Measurement] = []
            if options.compare:
                compared, _, _, _ = measure_service(
                    options,
                    url,
                    prepared,
                    directory,
                    database_root,
                    settings=options.compare,
                    names=COMPARED_RUNS,
                    soak=False,
                )
            # After the runs: the labelled items it adds are not in the timed corpus.
            scored = (
                asyncio.run(score_relevance(url, prepared))
                if any(e.name == "search" for e in selected(options))
                else None
            )
        for m in [*endpoints, *compared]:
            judge(m, workload.BY_NAME[m.name], ceilings)
        soak_measurement: Measurement | None = soak.get("measurement")
        if soak_measurement is not None:
            ratios(soak_measurement, ceilings)
        results = {
            "meta": {
                "started_at": started.isoformat(timespec="seconds"),
                "seconds": round((datetime.now(UTC) - started).total_seconds()),
                "git": git_commit(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average_before": [round(v, 2) for v in load_before],
                "smoke": options.smoke,
                "duration_s": options.duration,
                "warmup_s": options.warmup,
                "soak_s": options.soak,
                "workers": options.workers,
                "wrk_threads": options.threads,
                "database": "own cluster (fsync on)"
                if options.server_url is None
                else "given server",
                "settings": {
                    "LOG_LEVEL": "info",
                    "RATE_LIMIT_KEY": BENCH_RATE_LIMIT,
                    "RATE_LIMIT_ANONYMOUS": BENCH_RATE_LIMIT,
                    "WEBHOOK_WORKER": False,
                },
                "notes": [
                    "Rate limits are on (counted, synced through PostgreSQL, headers sent) "
                    f"with RATE_LIMIT_KEY and RATE_LIMIT_ANONYMOUS at {BENCH_RATE_LIMIT} a "
                    "minute: wrk sends everything from one address with one key per role.",
                    "Reads use a `read` key (a partner), badges are anonymous, POSTs use a "
                    "`write` key with a new Idempotency-Key each; an active webhook makes each "
                    "POST write an outbox delivery; WEBHOOK_WORKER=false leaves the sending "
                    "to dedicated workers.",
                    "wrk runs on the same machine as the server and PostgreSQL.",
                ],
            },
            "corpus": prepared.loaded,
            "workload": prepared.workload.stats,
            "preflight": checks,
            "ceilings": {
                name: {str(c): asdict(m) for c, m in by.items()} for name, by in ceilings.items()
            },
            "endpoints": [asdict(m) for m in endpoints],
            "soak": {
                **{k: v for k, v in soak.items() if k != "measurement"},
                "measurement": asdict(soak_measurement) if soak_measurement else None,
            },
            "profiles": profiles,
            "relevance": asdict(scored) if scored else None,
            "compared": {
                "settings": options.compare,
                "endpoints": [asdict(m) for m in compared],
            },
        }
        report = table(ceilings, endpoints, soak_measurement)
        scaling = corpus_scaling(options, results)
        if scaling:
            results["scaling"] = scaling
        options.output.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(results, indent=2) + "\n"
        options.output.write_text(text, encoding="utf-8")
        # Kept per corpus size too, so that a run on another size can be compared with it.
        by_size(options).write_text(text, encoding="utf-8")
        print(_heading(options, prepared, started))
        print(report)
        if scaling:
            print(scaling_table(scaling))
        if compared:
            print(comparison_table(options.compare, endpoints, compared))
        if scored:
            print(
                f"search relevance (bench/relevance.py's labelled set in this corpus): "
                f"MRR {scored.mrr:.3f} over {scored.queries} queries"
                + "".join(f"\n  {miss}" for miss in scored.misses)
            )
        if soak:
            print(
                "soak workers' RSS (MiB, start/peak/end): "
                + "; ".join(
                    f"{w['start_mib']}/{w['peak_mib']}/{w['end_mib']}" for w in soak["workers"]
                )
            )
        for name, summary in profiles.items():
            print(f"\nprofile of {name} ({summary['samples']} samples), most time on top:")
            for frame, share in summary["self_percent"][:15]:
                print(f"  {share:5.1f}%  {frame}")
        print(f"\nresults: {options.output}")
        failures = [
            m
            for m in [*endpoints, *compared, *([soak_measurement] if soak_measurement else [])]
            if m.requests == 0 or m.unexpected or m.socket_errors or m.logged_errors
        ]
        for m in failures:
            print(
                f"FAILED {m.name}: requests {m.requests}, unexpected statuses {m.unexpected}, "
                f"socket errors {m.socket_errors}, error log lines {m.logged_errors} {m.notes}",
                file=sys.stderr,
            )
        return 1 if failures else 0
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# ---- corpus sizes ------------------------------------------------------------------------------

# The runs whose p99 must hold as the corpus grows from 100k statements to 1M (issue #11).
SCALING_RUNS = ("get_statement", "list_statements", "document_record")
SCALING_SIZES = (100_000, 1_000_000)
SCALING_GOAL = 1.5


def by_size(options: Options, statements: int | None = None) -> Path:
    """Where the results of a run on a corpus of `statements` are kept: beside
    `--output`, e.g. results-1000000.json."""
    size = options.statements if statements is None else statements
    output = options.output
    return output.with_name(f"{output.stem}-{size}{output.suffix}")


def corpus_scaling(options: Options, results: dict[str, Any]) -> dict[str, Any] | None:
    """How GET, list and record p99 change from the 100k corpus to the 1M one, when
    this run is on one of them and a kept run on the other exists (smoke runs aside)."""
    if options.smoke or options.statements not in SCALING_SIZES:
        return None
    small, large = SCALING_SIZES
    other = large if options.statements == small else small
    path = by_size(options, other)
    if not path.exists():
        return None
    kept = json.loads(path.read_text(encoding="utf-8"))
    if kept.get("meta", {}).get("smoke"):
        return None
    runs: dict[int, dict[str, dict[str, Any]]] = {small: {}, large: {}}
    runs[options.statements] = {m["name"]: m for m in results["endpoints"]}
    runs[other] = {m["name"]: m for m in kept.get("endpoints", [])}
    compared = {}
    for name in SCALING_RUNS:
        before, after = runs[small].get(name), runs[large].get(name)
        if before is None or after is None:
            continue
        p99_small, p99_large = before["latency_ms"]["p99"], after["latency_ms"]["p99"]
        factor = round(p99_large / p99_small, 2) if p99_small else None
        compared[name] = {
            "title": before["title"],
            "p99_ms": {str(small): p99_small, str(large): p99_large},
            "rps": {str(small): before["rps"], str(large): after["rps"]},
            "factor": factor,
            "met": factor is not None and factor < SCALING_GOAL,
        }
    if not compared:
        return None
    return {
        "goal": f"p99 at {large} statements < {SCALING_GOAL}x that at {small}",
        "other_run": {"file": str(path), "started_at": kept.get("meta", {}).get("started_at")},
        "runs": compared,
    }


def scaling_table(scaling: dict[str, Any]) -> str:
    small, large = (str(size) for size in SCALING_SIZES)
    rows = [
        "",
        f"corpus {small} -> {large} statements ({scaling['goal']}; the other run: "
        f"{scaling['other_run']['started_at']})",
        f"{'run':<36} {'p99 ms ' + small:>14} {'p99 ms ' + large:>16} {'x':>6}  goal",
    ]
    for run in scaling["runs"].values():
        factor = "-" if run["factor"] is None else f"{run['factor']:.2f}"
        rows.append(
            f"{run['title']:<36} {run['p99_ms'][small]:>14.2f} {run['p99_ms'][large]:>16.2f} "
            f"{factor:>6}  <{SCALING_GOAL:g}x {'PASS' if run['met'] else 'MISS'}"
        )
    return "\n".join(rows)


async def score_relevance(url: str, prepared: Prepared) -> relevance.Relevance:
    """The labelled relevance set's MRR among the corpus: its items are created, then
    searched for, through the app in this process (the server has stopped)."""
    from litestar.testing import AsyncTestClient

    from service.app import create_app
    from service.settings import Settings

    settings = Settings(database_url=url, webhook_worker=False, rate_limit_key=BENCH_RATE_LIMIT)
    async with AsyncTestClient(app=create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {prepared.write_key}"
        items = await relevance.create_record(client)
        client.headers["Authorization"] = f"Bearer {prepared.read_key}"
        return await relevance.measure(client, items)


def _heading(options: Options, prepared: Prepared, started: datetime) -> str:
    rows = prepared.loaded.get("rows", {})
    corpus_line = (
        f"corpus: {rows.get('statements')} statements, {rows.get('documents')} documents, "
        f"{rows.get('people')} people, {rows.get('organizations')} organizations, "
        f"{rows.get('relations')} relations, {rows.get('assessments_published')} published "
        f"assessments ({rows.get('assessments_draft')} drafts), loaded in "
        f"{prepared.loaded.get('seconds')} s"
        if rows
        else "corpus: reused"
    )
    search = prepared.workload.stats.get("search", {})
    return "\n".join(
        [
            "",
            f"Verification Record benchmark, {started:%Y-%m-%d %H:%M} UTC"
            f"{' (SMOKE: harness check, not a measurement)' if options.smoke else ''}",
            f"{options.workers} workers, wrk {options.threads} threads, {options.duration} s a run"
            f" after {options.warmup} s of warm-up; {os.cpu_count()} CPUs shared by wrk, "
            "server and PostgreSQL",
            corpus_line,
            f"search: median {search.get('median_hits')} hits a query "
            f"({search.get('median_hit_share_percent')} % of published statements and documents)",
            f"rate limits on, at {BENCH_RATE_LIMIT}/min per key and per address (one wrk client)",
            "bad = responses other than the expected status (200, 201, 304) + socket errors; "
            "us/req = CPU microseconds per request; x fw / x pg / x wr = ratio to the "
            "framework / asyncpg / write ceiling at the same concurrency; target: issue #11's",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
