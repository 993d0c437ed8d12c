"""ClaimReview import batch by batch: each batch commits on its own, the request's
transaction keeps the import lock and the Idempotency-Key (service/domain/imports/service.py)."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from service.domain.imports import service
from tests.domain.imports.test_claimreview_import import URL, outcomes, review
from tests.helpers import assert_problem

pytestmark = pytest.mark.asyncio

# Ten reviews in batches of three: indexes 0-2, 3-5, 6-8 and 9.
FEED = [review(n) for n in range(10)]
FAILING = FEED[7]["claimReviewed"]  # in batch 3

# Fails (RAISE, a 409) or waits on an advisory lock the test holds, when the import
# inserts the statement of one claim: a batch that fails, or one caught in the act.
TRIGGER = """
CREATE FUNCTION test_import_trap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.text = '{text}' THEN
        {action};
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER test_import_trap BEFORE INSERT ON statements
    FOR EACH ROW EXECUTE FUNCTION test_import_trap();
"""
UNTRAP = "DROP TRIGGER test_import_trap ON statements; DROP FUNCTION test_import_trap()"
WAIT_LOCK = 4242


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "BATCH", 3)


async def imported(db: Any) -> list[str]:
    rows = await db.fetch("SELECT review_url FROM claimreview_imports")
    return sorted(r["review_url"] for r in rows)


def urls(numbers: range) -> list[str]:
    return sorted(FEED[n]["url"] for n in numbers)


async def test_a_failed_batch_keeps_the_batches_before_it(client, db):
    # A subscription to every event: each committed row's event has its outbox row.
    await db.execute(
        "INSERT INTO webhooks (url, events, secret) VALUES "
        "('https://hooks.example/all', '{*}', 'whsec_' || repeat('A', 32))"
    )
    await db.execute(TRIGGER.format(text=FAILING, action="RAISE EXCEPTION 'refused'"))
    headers = {"Idempotency-Key": "feed-1"}
    response = await client.post(URL, json=FEED, headers=headers)
    problem = assert_problem(response, 409)
    assert "batch 3 of 4 (the reviews from index 6)" in problem["detail"]
    assert "index 0 to 5" in problem["detail"]
    assert "`matched`" in problem["detail"]

    # Batches 1 and 2 are committed, with their events and outbox rows; nothing of 3, 4.
    assert await imported(db) == urls(range(6))
    counts = await db.fetchrow(
        """SELECT (SELECT count(*) FROM statements) AS statements,
                  (SELECT count(*) FROM assessments) AS assessments,
                  (SELECT count(*) FROM events WHERE action = 'created') AS events,
                  (SELECT count(*) FROM webhook_deliveries) AS deliveries"""
    )
    # 6 statements and drafts, 7 speakers at most (Speaker 0..5 here), 1 organization.
    assert dict(counts) == {
        "statements": 6,
        "assessments": 6,
        "events": 6 + 6 + 6 + 1,
        "deliveries": 6 + 6 + 6 + 1,
    }

    # The retry, same key: the failure was not kept, so it runs and imports the rest.
    await db.execute(UNTRAP)
    retry = await client.post(URL, json=FEED, headers=headers)
    assert retry.status_code == 200, retry.text
    assert "Idempotent-Replayed" not in retry.headers
    report = retry.json()
    assert outcomes(report) == ["matched"] * 6 + ["created"] * 4
    assert (report["created"], report["matched"], report["skipped"]) == (4, 6, 0)
    assert await imported(db) == urls(range(10))
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") == 10 + 10 + 7 + 1

    again = await client.post(URL, json=FEED, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == report


async def test_a_failure_in_the_first_batch_imports_nothing(client, db):
    await db.execute(TRIGGER.format(text=FEED[1]["claimReviewed"], action="RAISE 'refused'"))
    problem = assert_problem(await client.post(URL, json=FEED), 409)
    assert "batch 1 of 4" in problem["detail"]
    assert "nothing was imported" in problem["detail"]
    assert await imported(db) == []
    assert await db.fetchval("SELECT count(*) FROM events") == 0


async def test_a_lost_connection_is_503_and_keeps_the_batches_before_it(client, db):
    await db.execute(
        TRIGGER.format(text=FAILING, action="PERFORM pg_terminate_backend(pg_backend_pid())")
    )
    response = await client.post(URL, json=FEED)
    problem = assert_problem(response, 503)
    assert response.headers["Retry-After"] == "1"
    assert "batch 3 of 4" in problem["detail"]
    assert await imported(db) == urls(range(6))
    await db.execute(UNTRAP)
    report = (await client.post(URL, json=FEED)).json()
    assert outcomes(report) == ["matched"] * 6 + ["created"] * 4


def observe_batch_three(database_url: str, held: threading.Event, seen: dict[str, Any]) -> None:
    """In a thread of its own (the test client runs a request to its end on the test's
    event loop): hold the lock batch 3 waits on, and look at the record while it waits."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (WAIT_LOCK,))
        held.set()
        try:
            for _ in range(200):
                row = conn.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                ).fetchone()
                if row and row[0]:
                    break
                time.sleep(0.05)
            else:
                return
            rows = conn.execute("SELECT review_url FROM claimreview_imports").fetchall()
            seen["imported"] = sorted(r[0] for r in rows)
            # Another import would wait: the request's transaction holds the import lock.
            row = conn.execute(
                "SELECT pg_try_advisory_xact_lock(hashtext('claimreview_import'), 0)"
            ).fetchone()
            seen["import_lock_free"] = row[0] if row else None
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (WAIT_LOCK,))


async def test_batches_commit_while_the_import_runs(client, db, database_url):
    """Seen from another connection while batch 3 waits: batches 1 and 2 are committed,
    and the import lock is still held."""
    await db.execute(
        TRIGGER.format(text=FAILING, action=f"PERFORM pg_advisory_xact_lock({WAIT_LOCK})")
    )
    held, seen = threading.Event(), {}
    observer = threading.Thread(target=observe_batch_three, args=(database_url, held, seen))
    observer.start()
    try:
        assert held.wait(10)
        response = await client.post(URL, json=FEED)
    finally:
        observer.join(20)
    assert response.status_code == 200, response.text
    assert outcomes(response.json()) == ["created"] * 10
    assert seen == {"imported": urls(range(6)), "import_lock_free": False}
