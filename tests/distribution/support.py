"""Helpers for the distribution tests (badges, embeds, oEmbed, ClaimReview, and those
about all of them): verdicts through the API, the tags and text of an HTML page, and
waiting for an app's notification listener (its badge cache is used only while it
listens)."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from html.parser import HTMLParser
from typing import Any

import asyncpg

PUBLIC_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=86400, stale-if-error=86400"
EMBED_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors *"


class Tags(HTMLParser):
    """Every start tag with its attributes, and the page's visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    parser.close()
    return parser


async def assess(
    client: Any,
    subject_type: str,
    subject_id: str,
    verdict: str,
    *,
    publish: bool = True,
    **fields: Any,
) -> dict[str, Any]:
    """Create an assessment (and publish it unless told not to); return it as it ends up."""
    created = await client.post(
        "/v1/assessments",
        json={
            "subject": {"type": subject_type, "id": subject_id},
            "verdict": verdict,
            "headline": f"Rated {verdict}",
            **fields,
        },
    )
    assert created.status_code == 201, created.text
    if not publish:
        result: dict[str, Any] = created.json()
        return result
    published = await client.post(f"/v1/assessments/{created.json()['id']}/publish")
    assert published.status_code == 200, published.text
    result = published.json()
    return result


async def retract(client: Any, assessment_id: str) -> None:
    response = await client.post(
        f"/v1/assessments/{assessment_id}/retract", json={"reason": "We got it wrong."}
    )
    assert response.status_code == 200, response.text


async def wait_listening(*clients: Any) -> None:
    """Wait until each client's app has its LISTEN connection up (a few ms after start)."""
    for client in clients:
        connected = client.app.state.listener.connected
        for _ in range(500):
            if connected.is_set():
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the notification listener never connected")


async def badge_message(client: Any, url: str) -> str:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    message: str = response.json()["message"]
    return message


async def caught_up(db: asyncpg.Connection, *clients: Any) -> None:
    """Wait until each client's app has handled every notification committed so far
    (e.g. that of a statement just created, which would drop a badge warmed after it):
    PostgreSQL delivers notifications in commit order, so a marker sent now arrives last."""
    for client in clients:
        seen = threading.Event()  # set in the app's thread, read in the test's
        token = uuid.uuid4().hex

        def mark(
            message: dict[str, Any] | None, token: str = token, seen: threading.Event = seen
        ) -> None:
            if message is not None and message.get("token") == token:
                seen.set()

        client.app.state.listener.on("test-marker", mark)
        await db.execute(
            "SELECT pg_notify('verification_record', $1)",
            json.dumps({"kind": "test-marker", "token": token}),
        )
        for _ in range(500):
            if seen.is_set():
                break
            await asyncio.sleep(0.005)
        else:
            raise AssertionError("the marker notification never arrived")
