"""The probes and the metrics never look at `Authorization`: a revoked, expired,
malformed or valid key, or none, gets the same answer there, and everything else
about the request (its id, its count in the metrics) still happens. Every other route
still refuses a bad key."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from tests import keys
from tests.ops.support import LiveServer

HEADERS = {
    "none": {},
    "valid": keys.bearer(keys.ADMIN),
    "read key": keys.bearer(keys.READ),
    "revoked": keys.bearer(keys.REVOKED),
    "expired": keys.bearer(keys.EXPIRED),
    "not a key": {"Authorization": "Bearer nonsense"},
    "other scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
    "empty": {"Authorization": ""},
    "too long": {"Authorization": "Bearer vr_" + "x" * 5000},
}
PROBES = ("/health/live", "/health/ready", "/metrics")


@pytest.fixture
def server(database_url: str) -> Iterator[LiveServer]:
    live = LiveServer(database_url)
    live.start()
    try:
        yield live
    finally:
        live.stop()


def requests_counted(metrics: str, route: str, status: str) -> float:
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "vr_http_requests_total" and sample.labels == {
                "method": "GET",
                "route": route,
                "status": status,
            }:
                return sample.value
    return 0.0


def test_probes_and_metrics_answer_whatever_the_authorization_header(
    server: LiveServer,
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for what, headers in HEADERS.items():
            for path in PROBES:
                response = client.get(path, headers=headers)
                assert response.status_code == 200, (what, path, response.text)
                # Still given its request id, like every request.
                assert len(response.headers["x-request-id"]) == 32, (what, path)
            assert client.get("/health/live", headers=headers).json() == {"status": "ok"}
        # Each of them counted in the metrics, as answered.
        metrics = client.get("/metrics").text
        assert requests_counted(metrics, "/health/live", "200") >= 2 * len(HEADERS)
        assert requests_counted(metrics, "/health/ready", "200") == len(HEADERS)
        assert requests_counted(metrics, "/metrics", "200") == len(HEADERS)
        assert requests_counted(metrics, "/health/live", "401") == 0

        # Everywhere else a bad key is still refused, and a good one admitted.
        for what in ("revoked", "expired", "not a key", "other scheme", "too long"):
            refused = client.get("/v1/organizations", headers=HEADERS[what])
            assert refused.status_code == 401, (what, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert client.get("/schema/openapi.json", headers=HEADERS[what]).status_code == 401
        assert client.get("/v1/organizations", headers=HEADERS["valid"]).status_code == 200


async def test_readiness_fails_whatever_the_authorization_header(
    anonymous_client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    """Not ready (here: shutting down) is 503 with any header, and ready is 200 again
    with any header once that is over: the header never decides."""
    app = anonymous_client.app
    for shutting_down, expected in ((True, 503), (False, 200)):
        app.state.shutting_down = shutting_down
        for what, headers in HEADERS.items():
            response = await anonymous_client.get("/health/ready", headers=headers)
            assert response.status_code == expected, (what, response.text)
            if expected == 503:
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.json()["status"] == 503
            live = await anonymous_client.get("/health/live", headers=headers)
            assert live.status_code == 200, what
