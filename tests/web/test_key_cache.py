"""The key cache (service/web/auth.py): one lookup for every request that asks while it
runs, and nothing kept from a lookup that a revocation overtook."""

from __future__ import annotations

import asyncio

import pytest

from service.web.auth import Caller, KeyCache, Scope

pytestmark = pytest.mark.asyncio

PARTNER = Caller(name="partner", scope=Scope.READ)


async def test_requests_that_ask_together_share_one_lookup():
    cache = KeyCache()
    lookups = 0
    release = asyncio.Event()

    async def find() -> Caller | None:
        nonlocal lookups
        lookups += 1
        await release.wait()
        return PARTNER

    waiting = [asyncio.create_task(cache.look_up(b"digest", find)) for _ in range(20)]
    await asyncio.sleep(0.01)
    release.set()
    assert await asyncio.gather(*waiting) == [PARTNER] * 20
    assert lookups == 1
    assert cache.get(b"digest") == (True, PARTNER)


async def test_a_lookup_overtaken_by_a_revocation_is_not_kept():
    cache = KeyCache()
    release = asyncio.Event()

    async def find() -> Caller | None:
        await release.wait()
        return PARTNER  # what the key was when the lookup read it

    lookup = asyncio.create_task(cache.look_up(b"digest", find))
    await asyncio.sleep(0.01)
    cache.forget_all()  # the api_keys notification of a revocation
    release.set()
    assert await lookup == PARTNER  # that request was already under way
    assert cache.get(b"digest") == (False, None)  # the next one looks it up again


async def test_a_failed_lookup_fails_every_request_waiting_and_is_not_kept():
    cache = KeyCache()

    async def find() -> Caller | None:
        await asyncio.sleep(0.01)
        raise OSError("database unreachable")

    waiting = [asyncio.create_task(cache.look_up(b"digest", find)) for _ in range(3)]
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(result, OSError) for result in results)
    assert cache.get(b"digest") == (False, None)
