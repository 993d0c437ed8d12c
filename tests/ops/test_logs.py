"""One JSON log line per request, and the request id: taken from X-Request-ID when it
is acceptable, made otherwise, echoed on the response and carried by every line
logged while the request is handled (errors included)."""

from __future__ import annotations

import io
import logging
import re
import sys
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.settings import Settings
from service.web.logs import ACCESS_LINES, JsonFormatter
from tests import keys

GENERATED = re.compile(r"[0-9a-f]{32}")


def lines_of(stream: io.StringIO) -> list[dict[str, Any]]:
    ACCESS_LINES.flush()  # the access lines are written in batches
    return [msgspec.json.decode(line) for line in stream.getvalue().splitlines()]


async def test_request_id_is_echoed_or_made(
    anonymous_client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    given = await anonymous_client.get("/v1/organizations", headers={"X-Request-ID": "edge-42.a/b"})
    assert given.headers["x-request-id"] == "edge-42.a/b"

    made = [
        (await anonymous_client.get("/v1/organizations")).headers["x-request-id"] for _ in range(2)
    ]
    assert all(GENERATED.fullmatch(id_) for id_ in made)
    assert made[0] != made[1]

    for unacceptable in ("x" * 129, "has space", "tab\there", ""):
        response = await anonymous_client.get(
            "/v1/organizations", headers={"X-Request-ID": unacceptable}
        )
        assert GENERATED.fullmatch(response.headers["x-request-id"]), unacceptable
    longest = "y" * 128
    response = await anonymous_client.get("/v1/organizations", headers={"X-Request-ID": longest})
    assert response.headers["x-request-id"] == longest

    # Responses that no route produced carry it too.
    missing = await anonymous_client.get("/nowhere", headers={"X-Request-ID": "r-404"})
    assert missing.status_code == 404
    assert missing.headers["x-request-id"] == "r-404"


async def test_one_json_line_per_request_without_secrets(
    client: AsyncTestClient,  # type: ignore[type-arg]
    captured: io.StringIO,
) -> None:
    response = await client.post(
        "/v1/organizations", json={"name": "Reuters"}, headers={"X-Request-ID": "req-1"}
    )
    assert response.status_code == 201
    await client.get("/health/live")  # a successful probe is not logged

    access = [line for line in lines_of(captured) if line["logger"] == "service.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "req-1"
    assert line["method"] == "POST"
    assert line["route"] == "/v1/organizations"
    assert line["path"] == "/v1/organizations"
    assert line["status"] == 201
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["caller"] == "test-admin"
    assert re.fullmatch(r"[0-9a-f-]{36}", line["key_id"])
    assert line["level"] == "info" and line["time"].endswith("+00:00")
    # The secret and the header never reach the log.
    text = captured.getvalue()
    assert keys.ADMIN not in text
    assert keys.ADMIN[:12] not in text
    assert "authorization" not in text.lower()


async def test_errors_carry_the_request_id(captured: io.StringIO) -> None:
    # A database that is not there: the request is a 503 and service/kit/errors.py logs it.
    settings = Settings(
        database_url="postgresql://postgres@127.0.0.1:1/nowhere",
        db_acquire_timeout_seconds=1,
        webhook_worker=False,
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/v1/organizations", headers={"X-Request-ID": "outage-7"})
    assert response.status_code == 503
    lines = [line for line in lines_of(captured) if line.get("request_id") == "outage-7"]
    loggers = {line["logger"] for line in lines}
    assert loggers == {"service.errors", "service.access"}, lines
    error = next(line for line in lines if line["logger"] == "service.errors")
    assert error["level"] == "warning"
    assert "unreachable" in error["message"]


def test_formatter_writes_extra_fields_and_exceptions() -> None:
    record = logging.LogRecord("service.x", logging.ERROR, __file__, 1, "failed %s", ("a",), None)
    record.webhook_id = "w1"
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = msgspec.json.decode(JsonFormatter().format(record))
    assert line["message"] == "failed a"
    assert line["webhook_id"] == "w1"
    assert line["level"] == "error"
    assert "ValueError: boom" in line["exception"]
    assert "request_id" not in line


def test_direct_json_line_is_what_logging_writes() -> None:
    from service.web.logs import REQUEST_ID, plain_json_handlers, write_json_line

    logger = logging.getLogger("service.test_direct_line")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    token = REQUEST_ID.set("abc")
    try:
        fields = {"method": "GET", "status": 200, "caller": None, "duration_ms": 1.5}
        handlers = plain_json_handlers(logger, logging.INFO)
        assert handlers == [handler]
        write_json_line(handlers, logger.name, "info", "GET / 200 1.5 ms", fields)
        logger.info("%s %s %d %.1f ms", "GET", "/", 200, 1.5, extra=fields)
        direct, logged = lines_of(stream)
        assert direct.pop("time")[:16] == logged.pop("time")[:16]
        assert list(direct.items()) == list(logged.items())
        # Below the logger's level nothing is written, on either path (LOG_LEVEL=warning).
        logger.setLevel(logging.WARNING)
        assert plain_json_handlers(logger, logging.INFO) is None
        logger.setLevel(logging.INFO)
        logger.addFilter(lambda record: True)
        assert plain_json_handlers(logger, logging.INFO) is None
    finally:
        REQUEST_ID.reset(token)
        logger.removeHandler(handler)
        logger.filters.clear()
        logger.propagate = True


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


async def test_access_lines_are_written_in_batches() -> None:
    import asyncio

    from service.web.logs import LineBatch

    stream = CountingStream()
    handler = logging.StreamHandler(stream)
    batch = LineBatch(seconds=0.05, max_bytes=1_000)
    for number in range(3):
        batch.add([handler], f'{{"n": {number}}}', "service.access")
    assert stream.getvalue() == ""  # held
    await asyncio.sleep(0.1)
    assert stream.getvalue() == '{"n": 0}\n{"n": 1}\n{"n": 2}\n'
    assert stream.writes == 1  # one write for the three
    # Past max_bytes at once, without waiting for the timer.
    batch.add([handler], "x" * 1_000, "service.access")
    assert stream.getvalue().endswith("x" * 1_000 + "\n") and stream.writes == 2
    # `flush` writes what is held (shutdown does).
    batch.add([handler], "last", "service.access")
    batch.flush()
    assert stream.getvalue().endswith("last\n")


def test_outside_an_event_loop_access_lines_are_written_at_once() -> None:
    from service.web.logs import LineBatch

    stream = io.StringIO()
    LineBatch().add([logging.StreamHandler(stream)], "now", "service.access")
    assert stream.getvalue() == "now\n"
