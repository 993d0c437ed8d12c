"""Badges: the SVG and shields.io JSON of a verdict, their HTTP caching, and the
in-process cache that must never serve a verdict older than the last commit, in this
process or in another one (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import time
import uuid
import xml.etree.ElementTree as ET
from uuid import UUID

import pytest
from litestar.datastructures import State

from service.domain.subjects import SubjectType, Verdict
from service.settings import Settings
from service.views.badges import cache as cache_module
from service.views.badges import render
from service.views.badges.cache import NOTIFICATION_KIND, BadgeCache
from service.views.badges.service import RENDERED_BADGES
from service.views.published import presentation
from tests import keys
from tests.distribution.support import (
    PUBLIC_CACHE_CONTROL,
    assess,
    badge_message,
    caught_up,
    retract,
    wait_listening,
)
from tests.helpers import (
    MISSING_ID,
    assert_problem,
    create_document,
    create_statement,
    delete,
    patch,
)

pytestmark = pytest.mark.asyncio

SVG_NS = "{http://www.w3.org/2000/svg}"


def badge_url(collection: str, id: str, extension: str) -> str:
    return f"/v1/badges/{collection}/{id}.{extension}"


# ---- what a badge says ---------------------------------------------------------------------


async def test_an_unassessed_statement_is_unverified_in_json_and_svg(anonymous_client, client):
    statement = await create_statement(client)

    as_json = await anonymous_client.get(badge_url("statements", statement["id"], "json"))
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_json.json() == {
        "schemaVersion": 1,
        "label": "Verification Record",
        "message": "Unverified",
        "color": "6b7280",
    }

    as_svg = await anonymous_client.get(badge_url("statements", statement["id"], "svg"))
    assert as_svg.status_code == 200, as_svg.text
    assert as_svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(as_svg.content)  # well-formed XML, or this raises
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Verification Record: Unverified"
    title = root.find(f"{SVG_NS}title")
    assert title is not None and title.text == "Verification Record: Unverified"
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert texts == ["Verification Record", "Unverified"]


async def test_badges_are_public_cacheable_and_conditional(anonymous_client, client):
    statement = await create_statement(client)
    for extension in ("svg", "json"):
        url = badge_url("statements", statement["id"], extension)
        first = await anonymous_client.get(url)
        assert first.status_code == 200
        assert first.headers["cache-control"] == PUBLIC_CACHE_CONTROL
        etag = first.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            not_modified = await anonymous_client.get(url, headers={"If-None-Match": header})
            assert not_modified.status_code == 304, header
            assert not_modified.content == b""
            assert not_modified.headers["etag"] == etag
            assert not_modified.headers["cache-control"] == PUBLIC_CACHE_CONTROL
        changed = await anonymous_client.get(url, headers={"If-None-Match": '"stale"'})
        assert changed.status_code == 200 and changed.content == first.content
    # The same public content for a newsroom key, with the same public cache policy.
    keyed = await client.get(badge_url("statements", statement["id"], "svg"))
    assert keyed.status_code == 200
    assert keyed.headers["cache-control"] == PUBLIC_CACHE_CONTROL


async def test_a_documents_badge_is_coloured_by_its_verdict(anonymous_client, client):
    document = await create_document(client)
    await assess(client, "document", document["id"], "authentic")
    response = await anonymous_client.get(badge_url("documents", document["id"], "json"))
    assert response.json()["message"] == "Authentic"
    assert response.json()["color"] == "1a7f37"
    svg = (await anonymous_client.get(badge_url("documents", document["id"], "svg"))).text
    assert 'fill="#1a7f37"' in svg and ">Authentic</text>" in svg


async def test_every_verdict_has_a_readable_colour_and_text_that_fits():
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for verdict in (None, *Verdict):
        colour = presentation.verdict_colour(verdict)
        light, dark = sorted((luminance(colour.background), luminance(colour.text)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (verdict, colour)
        root = ET.fromstring(render.badge_svg(verdict))
        label = presentation.verdict_label(verdict)
        width = float(root.get("width", "0"))
        # The estimate gives every character at least Verdana's real advance (< 11px).
        assert width >= render.text_width(presentation.BADGE_LABEL) + render.text_width(label) + 24
        # Each text gets its estimated width, never less than a plausible Verdana average.
        lengths = [float(t.get("textLength", "0")) for t in root.iter(f"{SVG_NS}text")]
        assert lengths == [render.text_width(presentation.BADGE_LABEL), render.text_width(label)]
        assert lengths[1] >= 5 * len(label)
    greens = {presentation.verdict_colour(v) for v in (Verdict.TRUE, Verdict.AUTHENTIC)}
    reds = {presentation.verdict_colour(v) for v in (Verdict.FALSE, Verdict.FABRICATED)}
    assert greens == {presentation.GREEN} and reds == {presentation.RED}
    assert presentation.verdict_colour(Verdict.MIXED) == presentation.AMBER
    assert (
        presentation.verdict_colour(None)
        == presentation.verdict_colour(Verdict.UNVERIFIED)
        == presentation.GREY
    )


# ---- when a badge is 404 -------------------------------------------------------------------


async def test_internal_missing_and_malformed_badges_are_404_for_everyone(anonymous_client, client):
    leak = await create_document(client, visibility="internal")
    await assess(client, "document", leak["id"], "authentic")
    statement = await create_statement(client)
    for caller in (anonymous_client, client):
        for url in (
            badge_url("documents", leak["id"], "svg"),
            badge_url("documents", leak["id"], "json"),
            badge_url("statements", MISSING_ID, "svg"),
            # A statement's id is not a document's.
            badge_url("documents", statement["id"], "json"),
            f"/v1/badges/statements/{statement['id']}.png",
            "/v1/badges/statements/not-a-uuid.svg",
        ):
            assert_problem(await caller.get(url), 404)


@pytest.mark.also_behind_pgbouncer
async def test_deleting_or_hiding_a_subject_removes_its_badge_at_once(anonymous_client, client):
    await wait_listening(anonymous_client, client)
    hidden = await create_statement(client)
    deleted = await create_statement(client)
    for statement in (hidden, deleted):
        url = badge_url("statements", statement["id"], "json")
        for _ in range(2):  # the second answer comes from the cache
            assert await badge_message(client, url) == "Unverified"

    response = await patch(client, f"/v1/statements/{hidden['id']}", {"visibility": "internal"})
    assert response.status_code == 200, response.text
    await delete(client, f"/v1/statements/{deleted['id']}")
    for statement in (hidden, deleted):
        url = badge_url("statements", statement["id"], "json")
        assert_problem(await client.get(url), 404)

    # And back: a 404 is not remembered past the change that ends it.
    response = await patch(client, f"/v1/statements/{hidden['id']}", {"visibility": "public"})
    assert response.status_code == 200
    assert await badge_message(client, badge_url("statements", hidden["id"], "json")) == (
        "Unverified"
    )


# ---- never stale: this process ---------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_publish_supersede_and_retract_change_the_badge_at_once(client, db):
    await wait_listening(client)
    cache: BadgeCache = client.app.state.badge_cache
    statement = await create_statement(client)
    await caught_up(db, client)
    key = (SubjectType.STATEMENT, UUID(statement["id"]))
    json_url = badge_url("statements", statement["id"], "json")
    svg_url = badge_url("statements", statement["id"], "svg")

    async def warm() -> tuple[str, str]:
        """Read both badges twice, so that the cache holds them, and return their ETags."""
        etags = []
        for url in (json_url, svg_url):
            await client.get(url)
            etags.append((await client.get(url)).headers["etag"])
        assert key in cache
        return etags[0], etags[1]

    seen = {await warm()}
    assert await badge_message(client, json_url) == "Unverified"

    first = await assess(client, "statement", statement["id"], "mostly_false")
    # The write's response came back only after this process dropped the badge.
    assert key not in cache
    assert await badge_message(client, json_url) == "Mostly false"
    assert ">Mostly false</text>" in (await client.get(svg_url)).text
    seen.add(await warm())

    second = await assess(client, "statement", statement["id"], "false", supersedes_id=first["id"])
    assert key not in cache
    assert await badge_message(client, json_url) == "False"
    seen.add(await warm())

    # Retracting the current verdict leaves none (the first one stays superseded).
    await retract(client, second["id"])
    assert key not in cache
    assert await badge_message(client, json_url) == "Unverified"
    assert "Verification Record: Unverified" in (await client.get(svg_url)).text
    # Every verdict had its own ETags; back at "Unverified", the first ones again.
    assert len(seen) == 3
    assert await warm() in seen


async def test_the_cache_answers_without_the_database_until_a_change_is_announced(client, db):
    await wait_listening(client)
    cache: BadgeCache = client.app.state.badge_cache
    statement = await create_statement(client)
    await caught_up(db, client)
    url = badge_url("statements", statement["id"], "json")

    misses = cache.misses
    assert await badge_message(client, url) == "Unverified"
    assert cache.misses == misses + 1
    hits = cache.hits
    for _ in range(5):
        assert await badge_message(client, url) == "Unverified"
    assert cache.hits == hits + 5 and cache.misses == misses + 1

    # Hide the statement behind the service's back: no event, so no notification. A
    # badge read from the database would now be 404; the cached one is still served,
    # which proves the hit never asked the database.
    await db.execute(
        "UPDATE statements SET visibility = 'internal' WHERE id = $1", UUID(statement["id"])
    )
    assert await badge_message(client, url) == "Unverified"

    # The notification the event trigger would have sent drops it in this process.
    await db.execute(
        "SELECT pg_notify('verification_record', json_build_object('kind', 'badges', 'id', $1::uuid)::text)",
        UUID(statement["id"]),
    )
    deadline = time.monotonic() + 2
    while (await client.get(url)).status_code != 404:
        assert time.monotonic() < deadline, "the notification never reached the cache"
        await asyncio.sleep(0.02)


# ---- never stale: another process --------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_a_verdict_published_by_one_worker_reaches_another_workers_cache(
    client, anonymous_client, db
):
    """`client` and `anonymous_client` are two apps on one database, like two workers:
    the second has the badge cached when the first publishes."""
    await wait_listening(client, anonymous_client)
    other: BadgeCache = anonymous_client.app.state.badge_cache
    statement = await create_statement(client)
    await caught_up(db, anonymous_client)
    url = badge_url("statements", statement["id"], "json")
    hits = other.hits
    for _ in range(2):
        assert await badge_message(anonymous_client, url) == "Unverified"
    assert (SubjectType.STATEMENT, UUID(statement["id"])) in other
    assert other.hits == hits + 1  # the second read was served from its cache

    await assess(client, "statement", statement["id"], "true")

    deadline = time.monotonic() + 2
    while (message := await badge_message(anonymous_client, url)) == "Unverified":
        assert time.monotonic() < deadline, "the other worker kept serving the old verdict"
        await asyncio.sleep(0.02)
    assert message == "True"


@pytest.mark.also_behind_pgbouncer
async def test_a_write_answers_only_once_this_process_dropped_the_old_badge(client):
    """Even when notifications are slow to arrive, the response to a write waits for
    this process to apply the write's invalidation (the settle after commit)."""
    await wait_listening(client)
    cache: BadgeCache = client.app.state.badge_cache
    listener = client.app.state.listener

    async def slow_delivery(_message: object) -> None:
        await asyncio.sleep(0.3)

    listener.handlers[NOTIFICATION_KIND].insert(0, slow_delivery)
    statement = await create_statement(client)
    await asyncio.sleep(0.5)  # the creation's own notification has come and gone
    key = (SubjectType.STATEMENT, UUID(statement["id"]))
    url = badge_url("statements", statement["id"], "json")
    assert await badge_message(client, url) == "Unverified"
    assert key in cache

    started = time.monotonic()
    await assess(client, "statement", statement["id"], "mostly_true")
    assert key not in cache
    assert time.monotonic() - started >= 0.3  # it did wait for the slow notification
    assert await badge_message(client, url) == "Mostly true"


async def test_a_write_that_cannot_confirm_its_invalidation_clears_the_cache(monkeypatch):
    """No notification comes back (a stuck listener): after the timeout the whole cache
    is dropped, which can only cost misses, never a stale badge."""

    class Connection:
        async def execute(self, *args: object) -> None:
            pass  # the NOTIFY goes nowhere

    class Pool:
        async def acquire(self, **_: float) -> Connection:
            return Connection()

        async def release(self, connection: Connection) -> None:
            pass

    monkeypatch.setattr(cache_module, "SETTLE_TIMEOUT_SECONDS", 0.05)
    listening = asyncio.Event()
    listening.set()
    cache = BadgeCache(listening)
    key = (SubjectType.STATEMENT, uuid.uuid4())
    with cache.fill() as fill:
        fill.keep(key, RENDERED_BADGES[Verdict.TRUE])
    assert key in cache
    state = State({"pool": Pool(), "settings": Settings(database_url="postgresql://x/y")})
    await cache.settle(state)
    assert key not in cache and len(cache) == 0


# ---- the cache's own guarantees ---------------------------------------------------------------


async def test_a_read_that_overlaps_an_invalidation_is_served_but_not_kept():
    listening = asyncio.Event()
    listening.set()
    cache = BadgeCache(listening)
    key = (SubjectType.STATEMENT, uuid.uuid4())
    old = RENDERED_BADGES[None]

    with cache.fill() as fill:
        # The read began before the commit; its notification arrives before it ends.
        cache.on_notification({"kind": "badges", "id": str(key[1])})
        fill.keep(key, old)
    assert key not in cache

    with cache.fill() as fill:
        cache.on_notification(None)  # the listener reconnected: anything may have changed
        fill.keep(key, old)
    assert key not in cache

    with cache.fill() as fill:
        # An invalidation of another id does not concern this read.
        cache.on_notification({"kind": "badges", "id": str(uuid.uuid4())})
        fill.keep(key, old)
    assert cache.get(key) == (True, old)

    # While the listener is down nothing is served from or kept in the cache.
    listening.clear()
    assert cache.get(key) == (False, None)
    with cache.fill() as fill:
        fill.keep((SubjectType.DOCUMENT, key[1]), RENDERED_BADGES[Verdict.AUTHENTIC])
    listening.set()
    assert (SubjectType.DOCUMENT, key[1]) not in cache


async def test_the_cache_is_bounded_and_forgets_not_found_quickly(monkeypatch):
    listening = asyncio.Event()
    listening.set()
    cache = BadgeCache(listening, max_entries=3, max_missing=2, missing_ttl_seconds=5)

    keys_ = [(SubjectType.STATEMENT, uuid.uuid4()) for _ in range(4)]
    for key in keys_:
        with cache.fill() as fill:
            fill.keep(key, RENDERED_BADGES[None])
    assert keys_[0] not in cache and all(k in cache for k in keys_[1:])

    missing = [(SubjectType.DOCUMENT, uuid.uuid4()) for _ in range(3)]
    for key in missing:
        with cache.fill() as fill:
            fill.keep(key, None)
    assert missing[0] not in cache and cache.get(missing[2]) == (True, None)
    # Random ids cannot push real badges out.
    assert all(k in cache for k in keys_[1:])

    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + 6)
    assert cache.get(missing[2]) == (False, None)


async def test_a_newsroom_key_sees_the_public_badge(client):
    """Badges are public content: a draft verdict never shows, whoever asks."""
    statement = await create_statement(client)
    await assess(client, "statement", statement["id"], "false", publish=False)
    for secret in (keys.ADMIN, keys.WRITE, keys.READ):
        response = await client.get(
            badge_url("statements", statement["id"], "json"), headers=keys.bearer(secret)
        )
        assert response.json()["message"] == "Unverified"
