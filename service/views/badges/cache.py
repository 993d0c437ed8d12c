"""The in-process badge cache, and why it never serves a verdict older than a commit.

Badges are requested far more often than verdicts change, so each process keeps the
rendered bytes (SVG and JSON, with their ETags) per (subject type, id) and answers a
hit without touching the database. Three mechanisms keep it exact:

1. **Invalidation on commit, in every process.** A trigger on the event log
   (migration 0005) sends `pg_notify('verification_record', {"kind": "badges", "id"})`
   for every event that can change a badge: an assessment published, superseded or
   retracted (the subject's id), a statement or document created, updated or deleted
   (its own id). PostgreSQL delivers a NOTIFY only when its transaction commits, to
   every listening process; each process's `Listener` calls `on_notification`, which
   drops the entry. Being a trigger, no write path can forget to announce itself.
2. **No fill can resurrect an old verdict.** A miss reads the database and stores the
   result. If an invalidation for that id (or a clear) arrived while the read was in
   flight, the read may predate the commit, so the result is served once but not kept
   (the generation check in `Fill.keep`).
3. **The writing process waits for its own invalidation.** NOTIFY arrives a moment after
   COMMIT, so a client that wrote and then asked the same process could otherwise get
   the old bytes in between. `SettleBadgesAfterWrites` holds back the response of every
   successful write until `settle` has seen a notification of its own, sent after the
   write committed. PostgreSQL delivers notifications in commit order, so by then every
   invalidation of that write has been applied here, to the badges and to the read
   cache (service/web/read_cache.py) alike: whoever asks this process next, a public
   reader following the change feed say, gets the new bytes. If that cannot be
   confirmed in time, both caches are cleared, which is always correct.

While the listening connection is down nothing is served from or stored in the cache
(notifications may be missed); when it reconnects the Listener calls every handler with
None and the cache starts empty. The cache is bounded (LRU); "not found" answers are
kept only for a few seconds, in a separate smaller map so that requests for random ids
cannot evict real badges.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, cast

import asyncpg
from litestar import Litestar
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from service.domain.subjects import SubjectType
from service.kit.db import acquire
from service.kit.errors import ApiError
from service.kit.notifications import notify

# The notification kind the trigger of migration 0005 sends and `settle` uses.
NOTIFICATION_KIND = "badges"
# How long a write waits for its own notification before clearing the cache instead.
SETTLE_TIMEOUT_SECONDS = 1.0

Key = tuple[SubjectType, uuid.UUID]


class Clearable(Protocol):
    """Another cache kept by the same notifications (service/web/read_cache.py)."""

    def __len__(self) -> int: ...

    def clear(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RenderedBadge:
    """Both representations of one badge, ready to send."""

    svg: bytes
    svg_etag: str
    json: bytes
    json_etag: str


class Fill:
    """One miss being read from the database; `keep` stores its result unless an
    invalidation of the same id (or a clear) arrived since the read began."""

    def __init__(self, cache: BadgeCache, generation: int | None) -> None:
        self._cache = cache
        self._generation = generation

    def keep(self, key: Key, badge: RenderedBadge | None) -> None:
        """Store a rendered badge, or None for "no such public subject"."""
        if self._generation is not None:
            self._cache._store(key, badge, self._generation)


class BadgeCache:
    """Rendered badges of this process, kept exact by LISTEN/NOTIFY (see the module)."""

    def __init__(
        self,
        listening: asyncio.Event,
        *,
        max_entries: int = 50_000,
        max_missing: int = 10_000,
        missing_ttl_seconds: float = 5.0,
    ) -> None:
        """`listening` is set while the process's notification listener is connected
        (`Listener.connected`); the cache is only used while it is."""
        self._listening = listening
        self.max_entries = max_entries
        self.max_missing = max_missing
        self.missing_ttl_seconds = missing_ttl_seconds
        self._found: OrderedDict[Key, RenderedBadge] = OrderedDict()
        self._missing: OrderedDict[Key, float] = OrderedDict()  # key -> expiry (monotonic)
        # Every invalidation bumps the generation; a fill remembers the generation it
        # started at and is kept only if nothing relevant was invalidated after it.
        self._generation = 0
        self._cleared_at = 0
        self._forgotten_at: dict[uuid.UUID, int] = {}  # only needed while fills run
        self._fills = 0
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self.hits = 0
        self.misses = 0

    # ---- reading ------------------------------------------------------------------------

    def get(self, key: Key) -> tuple[bool, RenderedBadge | None]:
        """(known, badge): known with None means the subject is not public (404)."""
        if not self._listening.is_set():
            self.misses += 1
            return False, None
        if (badge := self._found.get(key)) is not None:
            self._found.move_to_end(key)
            self.hits += 1
            return True, badge
        expiry = self._missing.get(key)
        if expiry is not None:
            if expiry > time.monotonic():
                self.hits += 1
                return True, None
            del self._missing[key]
        self.misses += 1
        return False, None

    def peek(self, key: Key) -> RenderedBadge | None:
        """The badge held for `key`, without counting it or touching the LRU order (for
        the answers given before the router: `views/badges/answers.py`)."""
        return self._found.get(key) if self._listening.is_set() else None

    def served(self, key: Key) -> None:
        if key in self._found:
            self._found.move_to_end(key)
            self.hits += 1

    @contextmanager
    def fill(self) -> Iterator[Fill]:
        """Wrap the database read of a miss: `with cache.fill() as fill: ...; fill.keep(...)`."""
        generation = self._generation if self._listening.is_set() else None
        self._fills += 1
        try:
            yield Fill(self, generation)
        finally:
            self._fills -= 1
            if self._fills == 0:
                self._forgotten_at.clear()

    def _store(self, key: Key, badge: RenderedBadge | None, generation: int) -> None:
        if (
            not self._listening.is_set()
            or self._cleared_at > generation
            or self._forgotten_at.get(key[1], -1) > generation
        ):
            return  # the read may predate a commit announced since: serve it, keep it not
        if badge is None:
            self._missing[key] = time.monotonic() + self.missing_ttl_seconds
            self._missing.move_to_end(key)
            if len(self._missing) > self.max_missing:
                self._missing.popitem(last=False)
            return
        self._missing.pop(key, None)
        self._found[key] = badge
        self._found.move_to_end(key)
        if len(self._found) > self.max_entries:
            self._found.popitem(last=False)

    def __len__(self) -> int:
        return len(self._found) + len(self._missing)

    def __contains__(self, key: object) -> bool:
        """Whether an answer (a badge or a "not found") is held for `key`, without
        touching the LRU order or the counters."""
        return key in self._found or key in self._missing

    # ---- invalidation -------------------------------------------------------------------

    def forget(self, subject_id: uuid.UUID) -> None:
        """Drop every badge of this id (ids are unique across statements and documents)."""
        self._generation += 1
        if self._fills:
            self._forgotten_at[subject_id] = self._generation
        for subject_type in SubjectType:
            self._found.pop((subject_type, subject_id), None)
            self._missing.pop((subject_type, subject_id), None)

    def clear(self) -> None:
        self._generation += 1
        self._cleared_at = self._generation
        self._found.clear()
        self._missing.clear()

    def on_notification(self, message: dict[str, Any] | None) -> None:
        """The Listener's handler for kind `badges`: an id to drop, a settle token of
        this process, or None (the listener reconnected: anything may have changed)."""
        if message is None:
            self.clear()
            for waiter in self._waiters.values():
                if not waiter.done():
                    waiter.set_result(None)
            return
        if (token := message.get("settle")) is not None:
            mine = self._waiters.get(str(token))
            if mine is not None and not mine.done():
                mine.set_result(None)
            return  # another process's token: nothing to do here
        try:
            subject_id = uuid.UUID(str(message.get("id")))
        except ValueError:
            self.clear()  # a message we cannot read might have meant anything
            return
        self.forget(subject_id)

    async def settle(self, state: State, also: Sequence[Clearable] = ()) -> None:
        """Return once every invalidation committed before this call has been applied in
        this process (or, failing that within a second, after clearing the cache), to
        this cache and to the caches in `also` (the read cache, whose notifications come
        on the same connection, in the same commit order)."""
        if not self._listening.is_set() or (
            not len(self) and not self._fills and not any(len(other) for other in also)
        ):
            return  # nothing is or will be served from the cache that could predate it
        token = uuid.uuid4().hex
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[token] = waiter
        try:
            async with asyncio.timeout(SETTLE_TIMEOUT_SECONDS):
                async with acquire(state, state.settings) as conn:
                    await notify(conn, NOTIFICATION_KIND, settle=token)
                await waiter
        except (TimeoutError, ApiError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            self.clear()
            for other in also:
                other.clear()
        finally:
            self._waiters.pop(token, None)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class SettleBadgesAfterWrites(ASGIMiddleware):
    """Holds back the response to a successful write until this process's badge cache
    has applied the write's invalidations (see the module docstring, point 3).

    The request's transaction has committed by the time the response starts (Litestar
    exits generator dependencies before sending), so waiting there is waiting after the
    commit. Reads pass straight through.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, cache: BadgeCache, *, also: Sequence[Clearable] = ()) -> None:
        self.cache = cache
        self.also = tuple(also)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if cast(HTTPScope, scope)["method"] in SAFE_METHODS:
            await next_app(scope, receive, send)
            return
        state = Litestar.from_scope(scope).state

        async def send_when_settled(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                await self.cache.settle(state, self.also)
            await send(message)

        await next_app(scope, receive, send_when_settled)
