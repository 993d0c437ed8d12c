"""`make bench` in smoke mode: the harness works end to end, in seconds.

A small corpus, one-second runs: every endpoint and the three ceilings are measured,
served requests and answered them all as expected. Timings are not asserted (CI machines are
shared and noisy; the figures come from `make bench` on a quiet machine). The 100k → 1M
comparison is checked on made-up results.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import run
from bench.workload import ENDPOINTS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
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

    assert set(results["ceilings"]) == {"framework", "asyncpg", "write"}
    assert set(results["ceilings"]["write"]) == set(results["ceilings"]["framework"])
    ceilings = [
        m for by_connections in results["ceilings"].values() for m in by_connections.values()
    ]
    assert {m["connections"] for m in ceilings} == {64, 16}
    measured = {m["name"]: m for m in results["endpoints"]}
    assert set(measured) == {endpoint.name for endpoint in ENDPOINTS}
    soak = results["soak"]["measurement"]
    # The A/B in the same run: the cached reads again on a server without memory answers.
    assert results["compared"]["settings"] == {"MEMORY_ANSWERS": "false"}
    compared = {m["name"]: m for m in results["compared"]["endpoints"]}
    assert set(compared) == set(run.COMPARED_RUNS)

    for m in [*ceilings, *measured.values(), *compared.values(), soak]:
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
        assert measured[endpoint.name]["ratio_write"] is not None
        # Every target of issue #11 is judged, PASS or MISS.
        if endpoint.target.describe():
            assert measured[endpoint.name]["target_met"] in (True, False), endpoint.name
    assert measured["post_statement"]["target"] == ">=0.5x wr"
    assert soak["target_met"] in (True, False) and "p99<=60ms" in soak["target"]
    # The smoke corpus is no size to compare 100k with 1M on; it is kept by size all the same.
    assert "scaling" not in results
    assert json.loads((tmp_path / "results-2000.json").read_text()) == results
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
    assert "write ceiling" in done.stdout
    assert "x wr" in done.stdout
    assert "PASS" in done.stdout or "MISS" in done.stdout
    assert "soak" in done.stdout
    assert "A/B: A as above, B with MEMORY_ANSWERS=false" in done.stdout


def test_the_p99_of_100k_and_1m_statements_are_compared_when_both_runs_are_kept(
    tmp_path: Path,
) -> None:
    """The 1M corpus takes most of an hour to load: the comparison is checked on made-up
    results, kept as a run on the other size would have kept them."""

    def results(p99: dict[str, float]) -> dict[str, object]:
        return {
            "meta": {"smoke": False, "started_at": "2026-12-05T08:00:00+00:00"},
            "endpoints": [
                {"name": name, "title": name.upper(), "rps": 100.0, "latency_ms": {"p99": value}}
                for name, value in p99.items()
            ],
        }

    options = run.parse_options(["--statements", "1000000", "--output", str(tmp_path / "r.json")])
    assert run.corpus_scaling(options, results({"get_statement": 20.0})) is None  # no 100k run
    kept = results({"get_statement": 10.0, "list_statements": 40.0, "document_record": 30.0})
    (tmp_path / "r-100000.json").write_text(json.dumps(kept))
    now = results({"get_statement": 20.0, "list_statements": 50.0, "search": 99.0})
    scaling = run.corpus_scaling(options, now)
    assert scaling is not None
    assert scaling["runs"] == {
        "get_statement": {
            "title": "GET_STATEMENT",
            "p99_ms": {"100000": 10.0, "1000000": 20.0},
            "rps": {"100000": 100.0, "1000000": 100.0},
            "factor": 2.0,
            "met": False,
        },
        "list_statements": {
            "title": "LIST_STATEMENTS",
            "p99_ms": {"100000": 40.0, "1000000": 50.0},
            "rps": {"100000": 100.0, "1000000": 100.0},
            "factor": 1.25,
            "met": True,
        },
    }
    printed = run.scaling_table(scaling)
    assert "MISS" in printed and "PASS" in printed
    assert run.by_size(options) == tmp_path / "r-1000000.json"
