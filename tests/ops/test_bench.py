"""`make bench` in smoke mode: the harness works end to end, in seconds.

A small corpus, one-second runs: every endpoint and both ceilings are measured, served
requests and answered them all as expected. Timings are not asserted (CI machines are
shared and noisy; the figures come from `make bench` on a quiet machine).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.workload import ENDPOINTS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
)


def test_the_benchmark_smoke_measures_every_endpoint_without_errors(
    server_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--smoke",
            "--statements",
            "2000",
            "--server-url",
            server_url,
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(output.read_text())

    assert set(results["ceilings"]) == {"framework", "asyncpg"}
    ceilings = [
        m for by_connections in results["ceilings"].values() for m in by_connections.values()
    ]
    assert {m["connections"] for m in ceilings} == {64, 16}
    measured = {m["name"]: m for m in results["endpoints"]}
    assert set(measured) == {endpoint.name for endpoint in ENDPOINTS}
    soak = results["soak"]["measurement"]

    for m in [*ceilings, *measured.values(), soak]:
        assert m["requests"] > 0, m
        assert m["socket_errors"] == 0, m
        assert m["wrk_status_errors"] == 0, m
        assert m["unexpected"] == 0, m
        assert m["logged_errors"] == 0, m
    for endpoint in ENDPOINTS:
        # The server's own metrics saw every request wrk counted, on the right route.
        assert measured[endpoint.name]["counted"] >= measured[endpoint.name]["requests"]
        statuses = measured[endpoint.name]["statuses"]
        assert {int(s) for s in statuses} <= endpoint.expected, (endpoint.name, statuses)
        assert measured[endpoint.name]["ratio_framework"] is not None
    assert measured["badge_304"]["statuses"].get("304", 0) > 0
    assert measured["post_statement"]["statuses"].get("201", 0) > 0
    assert results["preflight"]["get_statement"]["ratelimit_limit"]
    assert len(results["soak"]["workers"]) == 2
    assert all(w["peak_mib"] for w in results["soak"]["workers"])

    # The table names every run.
    for endpoint in ENDPOINTS:
        assert endpoint.title in done.stdout
    assert "framework ceiling" in done.stdout
    assert "asyncpg ceiling" in done.stdout
    assert "soak" in done.stdout
