"""Deliveries: the outbox is written with the change, workers send each delivery once,
signed as Standard Webhooks, retry with backoff (honouring Retry-After), stop on 410,
never reach private addresses unless allowed, and survive a database outage."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import logging
import os
import signal
import socket
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from standardwebhooks.webhooks import Webhook as Verifier

from service.__main__ import build_parser
from service.app import create_app
from service.integrations.webhooks.worker import (
    BACKOFF_SECONDS,
    DeliveryWorker,
    backoff_seconds,
    retry_after_seconds,
    sign,
)
from service.settings import Settings, SettingsError
from tests import keys
from tests.helpers import (
    assert_problem,
    create_person,
    create_statement,
    database_environment,
    delete,
)
from tests.integrations.webhooks.conftest import Reply, eventually

STATEMENT_CREATED = ["statement.created"]


async def subscribe(client, url: str, events=STATEMENT_CREATED, **fields) -> dict:
    response = await client.post("/v1/webhooks", json={"url": url, "events": events, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(client, webhook_id: str, **params) -> list[dict]:
    response = await client.get(f"/v1/webhooks/{webhook_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def insert_events(db, count: int, resource_type="statement", action="created") -> None:
    """Events as a write path would record them (the trigger enqueues the deliveries)."""
    await db.execute(
        """INSERT INTO events (resource_type, resource_id, action, version)
           SELECT $1, gen_random_uuid(), $2, 1 FROM generate_series(1, $3)""",
        resource_type,
        action,
        count,
    )


def verified(secret: str, received) -> dict:
    """The payload, after checking the signature as a receiver would."""
    return Verifier(secret).verify(received.body, received.headers)


# ---- the outbox ------------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_a_delivery_is_written_in_the_transaction_of_the_change(loopback_admin, db):
    hook = await subscribe(loopback_admin, "http://127.0.0.1:9/hook")
    transaction = db.transaction()
    await transaction.start()
    await insert_events(db, 1)
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") == 1
    await transaction.rollback()
    # The change rolled back, and its delivery with it.
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") == 0

    async with db.transaction():
        await insert_events(db, 1)
    row = await db.fetchrow("SELECT * FROM webhook_deliveries")
    assert row["webhook_id"] == uuid.UUID(hook["id"])
    assert row["status"] == "pending" and row["attempts"] == 0
    assert row["next_attempt_at"] is not None


@pytest.mark.also_behind_pgbouncer
async def test_deliveries_go_to_active_live_webhooks_that_match(loopback_admin, db):
    url = "http://127.0.0.1:9/hook"
    statements = await subscribe(loopback_admin, url)
    everything = await subscribe(loopback_admin, url, events=["*"])
    inactive = await subscribe(loopback_admin, url, events=["*"], active=False)
    people = await subscribe(loopback_admin, url, events=["person.deleted"])
    gone = await subscribe(loopback_admin, url, events=["*"])
    await delete(loopback_admin, f"/v1/webhooks/{gone['id']}")

    statement = await create_statement(loopback_admin)  # a person.created, a statement.created
    rows = await db.fetch(
        """SELECT d.webhook_id::text AS webhook, e.resource_type || '.' || e.action AS type,
                  e.resource_id
           FROM webhook_deliveries d JOIN events e ON e.id = d.event_id"""
    )
    by_webhook = Counter(row["webhook"] for row in rows)
    assert by_webhook == {statements["id"]: 1, everything["id"]: 2}
    assert inactive["id"] not in by_webhook and people["id"] not in by_webhook
    (only,) = [r for r in rows if r["webhook"] == statements["id"]]
    assert only["type"] == "statement.created"
    assert str(only["resource_id"]) == statement["id"]

    # Listed per webhook, newest event first, paged, filtered by status.
    listed = await deliveries(loopback_admin, everything["id"])
    assert [d["event_type"] for d in listed] == ["statement.created", "person.created"]
    first = (
        await loopback_admin.get(f"/v1/webhooks/{everything['id']}/deliveries", params={"limit": 1})
    ).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = await deliveries(loopback_admin, everything["id"], cursor=first["next_cursor"])
    assert [d["id"] for d in first["items"] + rest] == [d["id"] for d in listed]
    assert len(await deliveries(loopback_admin, everything["id"], status="pending")) == 2
    assert await deliveries(loopback_admin, everything["id"], status="succeeded") == []
    bad = await loopback_admin.get(
        f"/v1/webhooks/{everything['id']}/deliveries", params={"status": "lost"}
    )
    assert bad.status_code == 422


# ---- end to end --------------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_the_serve_process_delivers_a_signed_event(settings, receiver, caplog):
    """Nothing but the API: the worker the app runs delivers one signed event."""
    caplog.set_level(logging.DEBUG)
    live = msgspec.structs.replace(
        settings, webhook_worker=True, webhook_allow_private=True, webhook_poll_seconds=0.05
    )
    async with AsyncTestClient(app=create_app(live)) as client:
        client.headers.update(keys.bearer(keys.ADMIN))
        hook = await subscribe(client, receiver.url)
        statement = await create_statement(client)
        await eventually(lambda: len(receiver.requests) >= 1)
        await asyncio.sleep(0.5)  # ten more polls: nothing else may arrive
        assert len(receiver.requests) == 1
        (received,) = receiver.requests
        assert received.path == "/hook"
        assert received.headers["content-type"] == "application/json"
        payload = verified(hook["secret"], received)
        assert payload["type"] == "statement.created"
        assert payload["data"] == {
            "id": statement["id"],
            "type": "statement",
            "version": 1,
            "action": "created",
        }
        assert datetime.fromisoformat(payload["timestamp"]).tzinfo is not None
        assert abs(int(received.headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60

        async def succeeded() -> list[dict]:
            for _ in range(100):
                items = await deliveries(client, hook["id"])
                if items and items[0]["status"] == "succeeded":
                    return items
                await asyncio.sleep(0.05)
            raise AssertionError(items)

        (delivery,) = await succeeded()
        assert delivery["id"] == received.headers["webhook-id"]
        assert delivery["event_type"] == "statement.created"
        assert delivery["data"] == payload["data"]
        assert delivery["attempts"] == 1 and delivery["last_status_code"] == 204
        assert delivery["last_error"] is None and delivery["next_attempt_at"] is None
        assert delivery["delivered_at"] is not None
        assert [a["status_code"] for a in delivery["attempt_log"]] == [204]
    assert hook["secret"] not in caplog.text
    assert hook["secret"].removeprefix("whsec_") not in caplog.text


@pytest.mark.also_behind_pgbouncer
async def test_the_worker_command_delivers_until_told_to_stop(
    loopback_admin, database_settings, receiver
):
    hook = await subscribe(loopback_admin, receiver.url, events=["person.created"])
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        "worker",
        env={
            **os.environ,
            **database_environment(database_settings),
            "WEBHOOK_ALLOW_PRIVATE": "true",
            "WEBHOOK_POLL_SECONDS": "0.05",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        person = await create_person(loopback_admin)
        await eventually(lambda: len(receiver.requests) >= 1, within=30)
        payload = verified(hook["secret"], receiver.requests[0])
        assert payload["data"]["id"] == person["id"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0, stderr.decode()
    assert hook["secret"] not in stderr.decode()


def test_the_command_line_has_a_worker_command():
    assert build_parser().parse_args(["worker"]).run.__name__ == "worker"


# ---- retries ------------------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_a_failing_receiver_gets_the_delivery_on_the_third_attempt(
    loopback_admin, receiver, make_worker
):
    hook = await subscribe(loopback_admin, receiver.url)
    statement = await create_statement(loopback_admin)
    receiver.script(Reply(500), Reply(500), Reply(200))
    worker = await make_worker()  # retries at once
    for _ in range(3):
        assert await worker.run_once() == 1
    assert await worker.run_once() == 0

    assert len(receiver.requests) == 3
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert len(ids) == 1  # one message, retried: receivers deduplicate on it
    for received in receiver.requests:
        assert verified(hook["secret"], received)["data"]["id"] == statement["id"]

    (delivery,) = await deliveries(loopback_admin, hook["id"])
    assert delivery["id"] in ids
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 3
    assert delivery["last_status_code"] == 200 and delivery["last_error"] is None
    log = delivery["attempt_log"]
    assert [a["number"] for a in log] == [1, 2, 3]
    assert [a["status_code"] for a in log] == [500, 500, 200]
    assert "500" in log[0]["error"] and log[2]["error"] is None
    assert all(a["duration_ms"] >= 0 for a in log)


async def test_failures_back_off_exponentially(loopback_admin, receiver, make_worker, db):
    await subscribe(loopback_admin, receiver.url)
    await create_statement(loopback_admin)
    receiver.script(Reply(500))
    worker = await make_worker(backoff=BACKOFF_SECONDS)
    assert await worker.run_once() == 1
    row = await db.fetchrow(
        """SELECT status, attempts, last_status_code,
                  extract(epoch FROM next_attempt_at - now())::float8 AS wait
           FROM webhook_deliveries"""
    )
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("failed", 1, 500)
    assert 5 * 0.8 - 1 <= row["wait"] <= 5 * 1.2
    assert await worker.run_once() == 0  # not due yet


def test_the_backoff_grows_with_jitter_and_is_capped():
    for attempt, base in enumerate(BACKOFF_SECONDS, start=1):
        delays = {backoff_seconds(attempt) for _ in range(20)}
        assert all(base * 0.8 <= d <= base * 1.2 for d in delays)
        assert len(delays) > 1  # jittered
    assert backoff_seconds(100) <= BACKOFF_SECONDS[-1] * 1.2
    assert list(BACKOFF_SECONDS) == sorted(BACKOFF_SECONDS)


async def test_retry_after_is_honoured(loopback_admin, receiver, make_worker, db):
    await subscribe(loopback_admin, receiver.url)
    worker = await make_worker()
    waits = {}
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=600), usegmt=True)
    for name, value in (("seconds", "120"), ("date", later)):
        receiver.script(Reply(503, {"Retry-After": value}))
        await insert_events(db, 1)
        assert await worker.run_once() == 1
        waits[name] = await db.fetchval(
            """SELECT extract(epoch FROM next_attempt_at - now())::float8
               FROM webhook_deliveries ORDER BY event_id DESC LIMIT 1"""
        )
    assert 115 <= waits["seconds"] <= 121
    assert 590 <= waits["date"] <= 601
    assert await db.fetchval("SELECT array_agg(DISTINCT status) FROM webhook_deliveries") == [
        "failed"
    ]


def test_retry_after_values():
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("30", now) == 30
    assert retry_after_seconds("Mon, 23 Nov 2026 12:01:00 GMT", now) == 60
    assert retry_after_seconds("Mon, 23 Nov 2026 11:00:00 GMT", now) == 0
    assert retry_after_seconds("99999999", now) == 24 * 3600
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None and retry_after_seconds("", now) is None


async def test_a_delivery_dies_after_the_last_attempt(loopback_admin, receiver, make_worker):
    hook = await subscribe(loopback_admin, receiver.url)
    await create_statement(loopback_admin)
    receiver.script(*[Reply(500)] * 5)
    worker = await make_worker(max_attempts=3)
    for _ in range(3):
        assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    assert len(receiver.requests) == 3
    (delivery,) = await deliveries(loopback_admin, hook["id"])
    assert delivery["status"] == "dead" and delivery["attempts"] == 3
    assert delivery["next_attempt_at"] is None and delivery["last_status_code"] == 500


async def test_a_slow_receiver_times_out(loopback_settings, loopback_admin, receiver, make_worker):
    hook = await subscribe(loopback_admin, receiver.url)
    await create_statement(loopback_admin)
    receiver.script(Reply(200, delay=1.5))
    impatient = msgspec.structs.replace(loopback_settings, webhook_timeout_seconds=0.3)
    worker = await make_worker(impatient, backoff=(60.0,))
    started = asyncio.get_running_loop().time()
    assert await worker.run_once() == 1
    assert asyncio.get_running_loop().time() - started < 1.4
    (delivery,) = await deliveries(loopback_admin, hook["id"])
    assert delivery["status"] == "failed" and delivery["last_status_code"] is None
    assert delivery["last_error"]


@pytest.mark.also_behind_pgbouncer
async def test_410_disables_the_webhook(loopback_admin, receiver, make_worker, db):
    hook = await subscribe(loopback_admin, receiver.url)
    await create_statement(loopback_admin)
    await create_statement(loopback_admin)
    receiver.script(Reply(410))
    worker = await make_worker(batch_size=1)
    assert await worker.run_once() == 1
    webhook = (await loopback_admin.get(f"/v1/webhooks/{hook['id']}")).json()
    assert webhook["active"] is False and webhook["version"] == 2
    # The other queued delivery is dropped without being sent ...
    assert await worker.run_once() == 1
    assert len(receiver.requests) == 1
    items = await deliveries(loopback_admin, hook["id"])
    assert [d["status"] for d in items] == ["dead", "dead"]
    gone, dropped = items[1], items[0]
    assert gone["last_status_code"] == 410 and gone["attempts"] == 1
    assert dropped["attempts"] == 0 and dropped["attempt_log"] == []
    # ... and nothing new is queued for it.
    await create_statement(loopback_admin)
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") == 2
    assert await worker.run_once() == 0


# ---- where deliveries may go ----------------------------------------------------------------


async def test_a_private_address_is_never_delivered_to(
    loopback_admin, quiet_settings, receiver, make_worker
):
    """Registered while private addresses were allowed; the worker's rules forbid them."""
    hook = await subscribe(loopback_admin, receiver.url)
    await create_statement(loopback_admin)
    worker = await make_worker(quiet_settings, backoff=(60.0,))
    assert await worker.run_once() == 1
    assert receiver.requests == []
    (delivery,) = await deliveries(loopback_admin, hook["id"])
    assert delivery["status"] == "failed" and delivery["attempts"] == 1
    assert delivery["last_status_code"] is None
    assert "private" in delivery["last_error"]


@pytest.fixture
def dns(monkeypatch) -> dict[str, list[str]]:
    """Names the resolver answers with the addresses given here (others as usual)."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name in answers:
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port),
                )
                for a in answers[name]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


async def test_names_are_checked_by_what_they_resolve_to(admin, dns):
    dns["hooks.example.org"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    dns["rebind.example.org"] = ["93.184.215.14", "127.0.0.1"]
    accepted = await admin.post(
        "/v1/webhooks", json={"url": "https://hooks.example.org/in", "events": ["*"]}
    )
    assert accepted.status_code == 201, accepted.text
    refused = await admin.post(
        "/v1/webhooks", json={"url": "https://rebind.example.org/in", "events": ["*"]}
    )
    assert "127.0.0.1" in assert_problem(refused, 422, field="url")["detail"]


async def test_a_delivery_connects_to_the_address_that_was_checked(
    loopback_admin, quiet_settings, make_worker, dns
):
    hook = await subscribe(loopback_admin, "https://user:pw@hooks.example.org:8443/in")
    dns["hooks.example.org"] = ["93.184.215.14"]
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    worker = await make_worker(
        quiet_settings, transport=httpx.MockTransport(answer), backoff=(60.0,)
    )
    await create_statement(loopback_admin)
    assert await worker.run_once() == 1
    (request,) = sent
    assert (request.url.host, request.url.port, request.url.path) == ("93.184.215.14", 8443, "/in")
    assert request.url.userinfo == b""  # not in the URL the client logs ...
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()
    assert request.headers["host"] == "hooks.example.org:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.org"
    assert Verifier(hook["secret"]).verify(request.content, dict(request.headers))

    # The name now answers with a private address too (DNS rebinding): nothing is sent.
    dns["hooks.example.org"] = ["93.184.215.14", "10.0.0.8"]
    await create_statement(loopback_admin)
    assert await worker.run_once() == 1
    assert len(sent) == 1
    newest = (await deliveries(loopback_admin, hook["id"]))[0]
    assert newest["status"] == "failed" and "10.0.0.8" in newest["last_error"]


def test_signatures_follow_standard_webhooks():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"type":"statement.created"}'
    timestamp = int(datetime.now(UTC).timestamp())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, "msg_1", timestamp, body),
    }
    assert Verifier(secret).verify(body, headers) == {"type": "statement.created"}


# ---- many workers --------------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_racing_workers_deliver_each_delivery_once(loopback_admin, receiver, make_worker, db):
    hook = await subscribe(loopback_admin, receiver.url)
    await insert_events(db, 50)
    receiver.script(*[Reply(200, delay=0.01)] * 50)
    workers = [await make_worker(batch_size=5) for _ in range(3)]
    handled = Counter()

    async def drain(worker: DeliveryWorker) -> None:
        while count := await worker.run_once():
            handled[id(worker)] += count

    await asyncio.gather(*(drain(worker) for worker in workers))

    seen = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert len(seen) == 50 and set(seen.values()) == {1}
    assert len(handled) > 1, "the workers did not actually race"
    for received in receiver.requests:
        verified(hook["secret"], received)
    rows = await db.fetch(
        """SELECT d.status, d.attempts, count(a.*) AS logged
           FROM webhook_deliveries d LEFT JOIN webhook_attempts a ON a.delivery_id = d.id
           GROUP BY d.id"""
    )
    assert len(rows) == 50
    assert {r["status"] for r in rows} == {"succeeded"}
    # Each claim is one attempt, recorded once. On a loaded machine an attempt may fail
    # to connect before the receiver sees it; it is then retried (backoff 0 here), so
    # the claims may outnumber the deliveries, never the recorded attempts.
    assert all(r["attempts"] == r["logged"] for r in rows)
    assert sum(handled.values()) == sum(r["attempts"] for r in rows)


# ---- a database outage -------------------------------------------------------------------------

UNREACHABLE = "postgresql://verifier@127.0.0.1:1/nothing"


async def test_the_worker_survives_an_unreachable_database(caplog):
    from service.kit.db import create_pool

    settings = Settings(
        database_url=UNREACHABLE, webhook_poll_seconds=0.01, db_acquire_timeout_seconds=0.2
    )
    pool = await create_pool(settings)
    worker = DeliveryWorker(pool, settings)
    worker.start()
    try:
        await asyncio.sleep(0.3)
        assert worker._task is not None and not worker._task.done()
    finally:
        await asyncio.wait_for(worker.stop(), timeout=5)
        await pool.close()
    assert "cannot reach the database" in caplog.text


async def test_the_app_starts_and_stops_while_the_database_is_down():
    settings = Settings(database_url=UNREACHABLE, webhook_poll_seconds=0.01)
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/health/live")).status_code == 200
        await asyncio.sleep(0.2)
        assert (await client.get("/health/ready")).status_code == 503


# ---- retention ------------------------------------------------------------------------------------


async def age_deliveries(db, status: str, days: float, count: int) -> list[uuid.UUID]:
    """Turn `count` still untouched deliveries into `status` ones last changed `days`
    ago, each with one logged attempt; returns their ids."""
    ids = [
        r["id"]
        for r in await db.fetch(
            """UPDATE webhook_deliveries SET
                   status = $1::webhook_delivery_status, attempts = 1,
                   next_attempt_at = CASE WHEN $1 IN ('pending', 'failed')
                                          THEN now() + interval '1 hour' END,
                   delivered_at = CASE WHEN $1 = 'succeeded' THEN now() END,
                   updated_at = now() - make_interval(secs => $2 * 86400)
               WHERE id IN (SELECT id FROM webhook_deliveries
                            WHERE attempts = 0 AND status = 'pending' LIMIT $3)
               RETURNING id""",
            status,
            days,
            count,
        )
    ]
    await db.execute(
        """INSERT INTO webhook_attempts (delivery_id, number, attempted_at, duration_ms, status_code)
           SELECT id, 1, updated_at, 5, 200 FROM webhook_deliveries WHERE id = ANY($1)""",
        ids,
    )
    return ids


@pytest.mark.also_behind_pgbouncer
async def test_finished_deliveries_are_purged_after_the_retention_period(
    loopback_admin, loopback_settings, make_worker, db
):
    hook = await subscribe(loopback_admin, "http://127.0.0.1:9/hook")
    await insert_events(db, 14)
    old_succeeded = await age_deliveries(db, "succeeded", 31, 5)
    old_dead = await age_deliveries(db, "dead", 40, 3)
    recent = await age_deliveries(db, "succeeded", 29, 2)
    old_failed = await age_deliveries(db, "failed", 60, 2)  # still to be retried
    old_pending = await age_deliveries(db, "pending", 60, 2)  # due again later
    assert len(await deliveries(loopback_admin, hook["id"], limit=100)) == 14

    # Batches of two: the purge works through all eight in one round.
    worker = await make_worker(purge_batch=2)
    assert loopback_settings.webhook_delivery_retention_days == 30
    assert await worker.purge() == 8
    left = {r["id"] for r in await db.fetch("SELECT id FROM webhook_deliveries")}
    assert left.isdisjoint(old_succeeded + old_dead)
    assert set(recent + old_failed) <= left and len(left) == 6
    attempts = {
        r["delivery_id"] for r in await db.fetch("SELECT delivery_id FROM webhook_attempts")
    }
    assert attempts == set(recent + old_failed + old_pending)
    listed = await deliveries(loopback_admin, hook["id"], limit=100)
    assert {d["id"] for d in listed} == {str(i) for i in left}
    assert await worker.purge() == 0

    # 0 keeps everything; a shorter period takes the recent ones too. The worker's loop
    # purges as it starts.
    keep = msgspec.structs.replace(loopback_settings, webhook_delivery_retention_days=0)
    assert await (await make_worker(keep)).purge() == 0
    short = msgspec.structs.replace(loopback_settings, webhook_delivery_retention_days=7)
    looping = await make_worker(short)
    looping.start()
    deadline = time.monotonic() + 10
    while await db.fetchval("SELECT count(*) FROM webhook_deliveries") > 4:
        assert time.monotonic() < deadline, "the worker never purged"
        await asyncio.sleep(0.02)
    left = {r["id"] for r in await db.fetch("SELECT id FROM webhook_deliveries")}
    assert left == set(old_failed + old_pending)


def test_the_retention_period_is_a_setting():
    url = "postgresql://localhost/vr"
    assert Settings.from_env({"DATABASE_URL": url}).webhook_delivery_retention_days == 30
    env = {"DATABASE_URL": url, "WEBHOOK_DELIVERY_RETENTION_DAYS": "7"}
    assert Settings.from_env(env).webhook_delivery_retention_days == 7
    for bad in ("-1", "a week"):
        with pytest.raises(SettingsError, match="WEBHOOK_DELIVERY_RETENTION_DAYS"):
            Settings.from_env({"DATABASE_URL": url, "WEBHOOK_DELIVERY_RETENTION_DAYS": bad})
