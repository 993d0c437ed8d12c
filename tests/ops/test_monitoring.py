"""What Prometheus and Grafana are given: `/metrics` passes `promtool check metrics`
without a warning (one worker and several); the alerting rules in deploy/prometheus/
pass `promtool check rules` and their unit tests; a real Prometheus, configured like
deploy/prometheus/prometheus.yml, scrapes a live server and evaluates every rule and
every query of the Grafana dashboard without an error; and the rules, their tests and
the dashboard name only metrics that `/metrics` exposes, so none of them can drift from
the code.

promtool and prometheus come from Debian's `prometheus` package, which `make test`
installs (scripts/ensure-test-tools).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests import keys
from tests.conftest import Databases, _with_database
from tests.helpers import MISSING_ID
from tests.ops.support import ROOT, LiveServer, eventually, free_port

PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERT_TESTS = PROMETHEUS_DIR / "alerts.test.yml"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "verification-record.json"

JOB = "verification-record"  # the scrape job of prometheus.yml, which the rules name
# Series that Prometheus adds to every scrape itself, not found in /metrics.
PROMETHEUS_OWN = frozenset({"up"})
# What the dashboard's variables stand for when its queries run here (`instance`: All).
DASHBOARD_VARIABLES = {"__rate_interval": "30s", "job": JOB, "instance": ".*"}


def installed(tool: str) -> str:
    path = shutil.which(tool)
    assert path is not None, (
        f"{tool} is not installed: `make test` installs Debian's prometheus package when "
        "run as root (scripts/ensure-test-tools); else `apt-get install prometheus`"
    )
    return path


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [installed("promtool"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROMETHEUS_DIR,
        check=False,
    )


# What the expressions are made of besides metric names.
_STRING = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`""")
_MATCHERS = re.compile(r"\{[^}]*\}")
_WINDOW = re.compile(r"\[[^\]]*\]")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
    | {"and", "or", "unless", "atan2", "inf", "nan"}
)
# An identifier not inside a number (`1e3`) or a duration (`5m`), and what follows it.
_IDENTIFIER = re.compile(r"(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: not its functions, aggregations,
    keywords, label names, label values, numbers or durations."""
    text = _STRING.sub('""', expr)
    for part in (_MATCHERS, _WINDOW, _LABEL_LIST):
        text = part.sub(" ", text)
    return {
        match[1]
        for match in _IDENTIFIER.finditer(text)
        if match[2] is None and match[1].lower() not in _KEYWORDS
    }


def exposed_names(exposition: str) -> set[str]:
    """The series names an exposition has samples of (`_total`, `_bucket` included)."""
    return {
        sample.name
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(ALERTS.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_queries() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def with_variables(expr: str) -> str:
    """A dashboard query as Grafana sends it (`$job`, `${job}`, `$__rate_interval`)."""
    return re.sub(r"\$\{?(\w+)\}?", lambda match: DASHBOARD_VARIABLES[match[1]], expr)


async def exercise(server: LiveServer) -> None:
    """A few requests of several kinds: reads, a write, a 404 on a route and one on no
    route, so that every family of /metrics has samples."""
    async with httpx.AsyncClient(base_url=server.url, headers=keys.bearer(keys.ADMIN)) as http:
        created = await http.post("/v1/organizations", json={"name": "Reuters"})
        assert created.status_code == 201, created.text
        one = await http.get(f"/v1/organizations/{created.json()['id']}")
        assert one.status_code == 200, one.text
        assert (await http.get("/v1/organizations")).status_code == 200
        assert (await http.get(f"/v1/organizations/{MISSING_ID}")).status_code == 404
        assert (await http.get("/no/such/path")).status_code == 404
        assert (await http.get("/health/ready")).status_code == 200


async def scrape_with_the_write(server: LiveServer) -> str:
    """/metrics once it counts the write of `exercise` (with several workers, each
    publishes its counts about once a second)."""
    scraped = ""

    async def counted() -> bool:
        nonlocal scraped
        async with httpx.AsyncClient(base_url=server.url) as http:
            response = await http.get("/metrics")
        assert response.status_code == 200, response.text
        scraped = response.text
        return 'route="/v1/organizations",status="201"' in scraped

    await eventually(counted)
    return scraped


@pytest.fixture(scope="module")
async def live_server(server_url: str, databases: Databases) -> AsyncIterator[LiveServer]:
    """One server for the module's tests, after `exercise`."""
    name = await databases.take()
    server = LiveServer(_with_database(server_url, name))
    try:
        await asyncio.to_thread(server.start)
        await exercise(server)
        yield server
    finally:
        server.stop()
        databases.give_back(name)


@pytest.fixture(scope="module")
async def exposition(live_server: LiveServer) -> str:
    return await scrape_with_the_write(live_server)


def assert_promtool_accepts(exposition: str) -> None:
    families = list(text_string_to_metric_families(exposition))
    # The lint only sees what is there: every family must have samples.
    assert [family.name for family in families if not family.samples] == []
    assert {
        "vr_http_requests",
        "vr_http_request_duration_seconds",
        "vr_db_pool_connections",
        "vr_db_pool_max_connections",
        "vr_db_replica_fallbacks",
        "vr_webhook_outbox_up",
        "vr_webhook_outbox_backlog",
        "vr_webhook_outbox_failing",
        "vr_webhook_outbox_overdue_seconds",
        "process_cpu_seconds",
    } <= {family.name for family in families}
    checked = promtool("check", "metrics", stdin=exposition)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")


def test_promtool_accepts_the_metrics_of_one_worker(exposition: str) -> None:
    assert_promtool_accepts(exposition)


async def test_promtool_accepts_the_metrics_of_several_workers(database_url: str) -> None:
    server = LiveServer(database_url, workers=2)
    await asyncio.to_thread(server.start)
    try:
        await exercise(server)
        assert_promtool_accepts(await scrape_with_the_write(server))
    finally:
        server.stop()


def test_the_alerting_rules_pass_promtool() -> None:
    checked = promtool("check", "rules", str(ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout


def test_the_alerting_rules_pass_their_unit_tests() -> None:
    tested = promtool("test", "rules", str(ALERT_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
    # Each alert the tests cover has a case that fires and one that does not.
    cases = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    checks = [check for case in cases for check in case["alert_rule_test"]]
    fired = {check["alertname"] for check in checks if check["exp_alerts"]}
    silent = {check["alertname"] for check in checks if not check["exp_alerts"]}
    assert len(fired) >= 2
    assert fired <= silent


def test_the_prometheus_configuration_passes_promtool() -> None:
    checked = promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "is valid prometheus config file syntax" in checked.stdout
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout


def test_every_alert_says_how_long_how_bad_and_what_happened() -> None:
    alerts = rules()
    assert {rule["alert"] for rule in alerts} >= {
        "VerificationRecordHighErrorRatio",
        "VerificationRecordSlowRequests",
        "VerificationRecordDatabasePoolSaturated",
        "VerificationRecordReplicaFallback",
        "VerificationRecordWebhookOutboxStalled",
        "VerificationRecordWebhookOutboxBacklog",
    }
    for rule in alerts:
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert rule["annotations"]["description"].strip(), rule["alert"]


def test_the_dashboard_is_grafana_json_with_a_query_in_every_panel() -> None:
    board = dashboard()
    assert board["uid"] == "verification-record"
    assert board["title"] == "Verification Record"
    panels = board["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert panel["title"] and panel["type"] == "timeseries", panel
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        place = panel["gridPos"]
        assert place["x"] + place["w"] <= 24 and place["h"] > 0, panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert refs and len(set(refs)) == len(refs), panel["title"]
        assert all(target["expr"].strip() for target in panel["targets"]), panel["title"]
    variables = {variable["name"] for variable in board["templating"]["list"]}
    assert variables | {"__rate_interval"} == set(DASHBOARD_VARIABLES) | {"datasource"}


def test_metric_names_are_read_out_of_expressions() -> None:
    assert metric_names(
        "histogram_quantile(0.99, sum by (route, le) (rate(vr_http_request_duration_seconds"
        '_bucket{route!="/v1/export", job=~"a|b"}[5m])))'
    ) == {"vr_http_request_duration_seconds_bucket"}
    assert metric_names(
        "sum(rate(a_total{status=~'5..'}[5m] offset 1h)) / on (job) group_left sum(b) "
        "> bool 1e3 and up == 0 or vector(0) unless max_over_time(c[1h:5m])"
    ) == {"a_total", "b", "up", "c"}


def test_rules_and_dashboard_name_only_metrics_that_are_exposed(exposition: str) -> None:
    exposed = exposed_names(exposition) | PROMETHEUS_OWN
    in_rules = set().union(*(metric_names(rule["expr"]) for rule in rules()))
    in_rule_tests = {
        series["series"].split("{")[0]
        for case in yaml.safe_load(ALERT_TESTS.read_text())["tests"]
        for series in case["input_series"]
    }
    in_dashboard = set().union(*(metric_names(expr) for expr in dashboard_queries()))
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            in_dashboard |= set(
                re.findall(r"label_values\(\s*([a-zA-Z_:][\w:]*)", variable["query"])
            )

    assert in_rules - exposed == set()
    assert in_rule_tests - exposed == set()
    assert in_dashboard - exposed == set()
    # What each of them is meant to watch, so that an empty parse cannot pass.
    watched = {
        "vr_http_requests_total",
        "vr_http_request_duration_seconds_bucket",
        "vr_db_pool_connections",
        "vr_db_pool_max_connections",
        "vr_db_replica_fallbacks_total",
        "vr_webhook_outbox_backlog",
    }
    assert watched <= in_rules
    assert watched <= in_dashboard


@pytest.fixture
def prometheus(live_server: LiveServer, tmp_path: Path) -> Iterator[str]:
    """A real Prometheus with deploy/prometheus/prometheus.yml, scraping the live server
    every second and evaluating the rules every second; its base URL."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(PROMETHEUS_DIR / name) for name in config["rule_files"]]
    (job,) = config["scrape_configs"]
    assert job["job_name"] == JOB
    job["static_configs"] = [{"targets": [f"127.0.0.1:{live_server.port}"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            installed("prometheus"),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "prometheus did not start in 30 s"
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


async def test_prometheus_scrapes_it_and_evaluates_the_rules_and_the_dashboard(
    live_server: LiveServer, prometheus: str
) -> None:
    async with httpx.AsyncClient(base_url=prometheus, timeout=10) as api:

        async def scraped() -> bool:
            targets = (await api.get("/api/v1/targets")).json()["data"]["activeTargets"]
            if not targets:  # not discovered yet
                return False
            (target,) = targets
            # A failed scrape (a parse error of what the server sent) says so here.
            assert target["lastError"] == "", target
            return bool(target["health"] == "up")

        await eventually(scraped, seconds=30)

        async def query(expr: str) -> list[Any]:
            answer = (await api.get("/api/v1/query", params={"query": expr})).json()
            assert answer["status"] == "success", (expr, answer)
            result: list[Any] = answer["data"]["result"]
            return result

        # The rules' job label is the configuration's.
        (up,) = await query(f'up{{job="{JOB}"}}')
        assert up["value"][1] == "1"

        # Each dashboard query evaluates, and has data once rates have two scrapes.
        queries = [with_variables(expr) for expr in dashboard_queries()]
        empty: list[str] = []

        async def every_query_answers() -> bool:
            empty[:] = [expr for expr in queries if not await query(expr)]
            return not empty

        try:
            await eventually(every_query_answers, seconds=30)
        except TimeoutError:
            raise AssertionError(f"dashboard queries without data: {empty}") from None

        # Every rule has been evaluated against the real series without an error (a
        # division whose sides do not match one to one would say so here).
        loaded: list[dict[str, Any]] = []

        async def every_rule_evaluated() -> bool:
            groups = (await api.get("/api/v1/rules")).json()["data"]["groups"]
            loaded[:] = [rule for group in groups for rule in group["rules"]]
            return all(rule["health"] != "unknown" for rule in loaded)

        await eventually(every_rule_evaluated, seconds=30)
        assert {rule["name"] for rule in loaded} == {rule["alert"] for rule in rules()}
        assert [
            (rule["name"], rule["lastError"]) for rule in loaded if rule["health"] != "ok"
        ] == []
        # A healthy server, just scraped: it is not down.
        (down,) = [rule for rule in loaded if rule["name"] == "VerificationRecordDown"]
        assert down["state"] == "inactive"
