"""The in-process cache of public representations: GET one and records, as encoded
bytes with their ETag, for the callers who tolerate lag (anonymous callers and `read`
keys: the public audience, who may already read from the replica).

It is kept exact the way the badge cache is (`service/views/badges/cache.py`), through
the process's one LISTEN connection (`service/kit/notifications.py`):

1. **Tags.** An entry is tagged with every id its bytes contain (the resource's own,
   its speaker's, each embedded assessment's, related item's, organization's...).
   A trigger on the event log (migration 0015) announces, when each write commits,
   the ids whose representations it may change: every event's resource, an
   assessment's subject, a relation's two ends, and the other end of every relation
   of a statement or document that changed (a denial counts only while its source is
   live and, for the public, public). Being a trigger on `events`, every write path
   announces itself, bulk imports included. Above PostgreSQL's payload limit it
   announces "everything" instead, and the cache is cleared.
2. **No fill can resurrect old bytes.** A miss reads the primary (a replica may not
   have replayed the commit that was just announced) and stores the result only if no
   announcement of any of its tags, and no clear, arrived while the read was in flight.
3. **Bounded by bytes.** The least recently used entries go once the entries' sizes
   (their bytes plus an estimate of their bookkeeping) pass READ_CACHE_MAX_BYTES.
4. **Blind means off.** While the LISTEN connection is down nothing is served from or
   stored in the cache; when it reconnects the Listener calls every handler with None,
   and the cache starts empty.

The newsroom (`write` and `admin` keys) never reads from it: they read the primary,
so a writer's next GET on any worker shows the write. The public sees a commit as soon
as the notification reaches each process (milliseconds).

A hit is usually answered before it reaches the handler below, by
`service/web/memory_answers.py` (`peek` and `served`); `cached_entity` answers the
rest (misses, and hits that wrapper leaves to the pipeline).
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import msgspec
from litestar import Request, Response
from litestar.datastructures import State

from service.kit.db import Connection, acquire
from service.web import http
from service.web.auth import Audience
from service.web.memory_answers import JSON_MEDIA_TYPE, Hit
from service.web.transactions import read_connection

# The notification kinds: the ids a write touched (the trigger on events, migration
# 0015), and a subject whose verification changed (the read model, migration 0016).
NOTIFICATION_KIND = "reads"
VERIFICATION_KIND = "verifications"
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# What an entry costs besides its body and key: the entry, the ETag, its place in the
# LRU, and per tag the id and its set of keys (measured with tracemalloc over 2,000
# entries of 1 and of 12 tags: about 320 bytes an entry and 390 a tag).
_ENTRY_OVERHEAD = 350
_TAG_OVERHEAD = 400


Read = Callable[[Connection], Awaitable[msgspec.Struct]]


def tags_of(body: bytes) -> frozenset[bytes]:
    """The ids an encoded representation contains (UUIDs are encoded lowercase)."""
    return frozenset(_UUID.findall(body))


class Entry(NamedTuple):
    """Its tags a tuple of bytes and `_by_tag`'s sets dicts of strings, which the garbage
    collector stops tracking: a full collection walks one object per entry. (With a
    frozenset of tags and a set per tag, 11k entries were 78k tracked objects and a
    full collection took 60 ms, a stall of every request in flight; now 11k, 10 ms.)"""

    body: bytes
    etag: str
    tags: tuple[bytes, ...]
    size: int
    # The route's path template as Litestar names it (`scope["path_template"]`), for
    # the answers given before the router (service/web/memory_answers.py).
    template: str = ""


class Fill:
    """One miss being read; `keep` stores the result unless one of its tags was
    announced (or the cache cleared) since the read began."""

    def __init__(self, cache: ReadCache, generation: int | None) -> None:
        self._cache = cache
        self._generation = generation

    def keep(
        self,
        key: str,
        body: bytes,
        etag: str,
        template: str = "",
        also: Iterable[bytes] = (),
    ) -> None:
        """`also`: ids to tag it with besides those its bytes contain (a list's filter)."""
        if self._generation is not None:
            self._cache._store(key, body, etag, self._generation, template, also)


class ReadCache:
    """Encoded public representations of this process, kept exact by LISTEN/NOTIFY."""

    def __init__(self, listening: asyncio.Event, *, max_bytes: int) -> None:
        """`listening` is set while the notification listener is connected
        (`Listener.connected`); the cache is used only while it is. `max_bytes` 0
        turns the cache off."""
        self._listening = listening
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._by_tag: dict[bytes, dict[str, None]] = {}  # dicts as ordered sets
        self.bytes = 0
        # As in the badge cache: each announcement bumps the generation; a fill keeps
        # its result only if nothing it contains was announced after it began.
        self._generation = 0
        self._cleared_at = 0
        self._announced_at: dict[bytes, int] = {}  # only needed while fills run
        self._fills = 0
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0 and self._listening.is_set()

    # ---- reading ------------------------------------------------------------------------

    def get(self, key: str) -> Entry | None:
        if not self.enabled:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None  # counted as a miss by `read_through`, which reads it
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def peek(self, key: str) -> Hit | None:
        """The answer held for a path, for `MemoryAnswers`; no counter or LRU change
        until it is `served`."""
        if not self.enabled:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        return Hit(entry.template, entry.body, entry.etag, JSON_MEDIA_TYPE, key=key)

    def served(self, hit: Hit) -> None:
        if isinstance(hit.key, str) and hit.key in self._entries:
            self._entries.move_to_end(hit.key)
            self.hits += 1

    async def read_through(
        self,
        state: State,
        key: str,
        template: str,
        read: Read,
        *,
        also: Iterable[bytes] = (),
        tagged: bool = True,
    ) -> tuple[bytes, str]:
        """A miss: `read` on the primary (never a replica: a lagging read that landed
        after its announcement would be kept until the next change), encoded, kept
        unless something it contains (or `also` names) was announced meanwhile; with
        its ETag unless `tagged` is off (lists have none: "")."""
        self.misses += 1
        with self.fill() as fill:
            async with acquire(state, state.settings) as conn:
                resource = await read(conn)
            body, etag = http.represent(resource) if tagged else (http.encode(resource), "")
            fill.keep(key, body, etag, template, also)
        return body, etag

    @contextmanager
    def fill(self) -> Iterator[Fill]:
        """Wrap the read of a miss: `with cache.fill() as fill: ...; fill.keep(...)`."""
        generation = self._generation if self.enabled else None
        self._fills += 1
        try:
            yield Fill(self, generation)
        finally:
            self._fills -= 1
            if self._fills == 0:
                self._announced_at.clear()

    def _store(
        self,
        key: str,
        body: bytes,
        etag: str,
        generation: int,
        template: str = "",
        also: Iterable[bytes] = (),
    ) -> None:
        if not self.enabled or self._cleared_at > generation:
            return
        tags = tags_of(body).union(also)
        if any(self._announced_at.get(tag, -1) > generation for tag in tags):
            return  # the read may predate a commit announced since: served, not kept
        size = len(body) + len(key) + _ENTRY_OVERHEAD + _TAG_OVERHEAD * len(tags)
        if size > self.max_bytes:
            return
        self._remove(key)
        self._entries[key] = Entry(body, etag, tuple(tags), size, template)
        self.bytes += size
        for tag in tags:
            self._by_tag.setdefault(tag, {})[key] = None
        while self.bytes > self.max_bytes:
            self._remove(next(iter(self._entries)))

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self.bytes -= entry.size
        for tag in entry.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.pop(key, None)
                if not keys:
                    del self._by_tag[tag]

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """Whether `key` is held, without touching the LRU order or the counters."""
        return key in self._entries

    # ---- invalidation -------------------------------------------------------------------

    def forget(self, ids: Iterable[bytes]) -> None:
        """Drop every entry that contains one of these ids (ASCII, lowercase)."""
        self._generation += 1
        for tag in ids:
            if self._fills:
                self._announced_at[tag] = self._generation
            for key in list(self._by_tag.get(tag, ())):
                self._remove(key)

    def clear(self) -> None:
        self._generation += 1
        self._cleared_at = self._generation
        self._entries.clear()
        self._by_tag.clear()
        self.bytes = 0

    def on_notification(self, message: dict[str, Any] | None) -> None:
        """The Listener's handler for kind `reads`: `ids` (comma-separated) to drop,
        `all`, or None (the listener reconnected: anything may have changed)."""
        ids = None if message is None else message.get("ids")
        if not isinstance(ids, str):
            self.clear()  # "all", a reconnect, or a message we cannot read
            return
        self.forget(part.strip().lower().encode() for part in ids.split(",") if part.strip())

    def on_verification(self, message: dict[str, Any] | None) -> None:
        """The Listener's handler for kind `verifications` (migration 0016): a subject
        whose verification changed with no event naming it (an organization deleted
        drops out of the corroborations of what it confirmed)."""
        subject = None if message is None else message.get("id")
        if not isinstance(subject, str):
            self.clear()
            return
        self.forget([subject.lower().encode()])


# ---- serving --------------------------------------------------------------------------


async def cached_entity(
    request: Request[Any, Any, Any], audience: Audience, read: Read
) -> Response[Any]:
    """A GET one or a record with its ETag (304 on If-None-Match): for the public from
    this process's cache, filled from the primary; for the newsroom read fresh, as
    the `db` dependency would (`service/web/transactions.py`).

    `read` runs only on a miss, so a hit takes no connection at all: that is why the
    handlers that use this take no `db` dependency."""
    state = request.app.state
    cache: ReadCache = state.read_cache
    if audience is not Audience.PUBLIC or not cache.enabled:
        async with read_connection(state, request, audience) as conn:
            return http.entity_response(request, await read(conn))
    key = request.scope["path"]
    entry = cache.get(key)
    if entry is not None:
        return http.encoded_response(request, entry.body, entry.etag)
    body, etag = await cache.read_through(state, key, request.scope["path_template"], read)
    return http.encoded_response(request, body, etag)


async def cached_page(
    request: Request[Any, Any, Any], audience: Audience, read: Read, *, also: Iterable[bytes]
) -> Response[Any]:
    """A list page, for the public from this process's cache as `cached_entity` serves a
    resource, keyed by its path and query, tagged with the ids it contains and `also`
    (the list's filter: a page that could gain an item names what it would gain it
    from). Without an ETag, as every list. Only for filters whose every change is
    announced with an id in `also` or on the page (migration 0019: a statement's
    speaker)."""
    state = request.app.state
    cache: ReadCache = state.read_cache
    if audience is not Audience.PUBLIC or not cache.enabled:
        async with read_connection(state, request, audience) as conn:
            return Response(http.encode(await read(conn)), media_type=http.JSON)
    key = f"{request.scope['path']}?{request.scope['query_string'].decode('latin-1')}"
    entry = cache.get(key)
    if entry is not None:
        return Response(entry.body, media_type=http.JSON)
    body, _ = await cache.read_through(
        state, key, request.scope["path_template"], read, also=also, tagged=False
    )
    return Response(body, media_type=http.JSON)
