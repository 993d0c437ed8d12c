"""The labelled relevance set (bench/relevance.py, which `make bench` also scores on its
corpus): the mean reciprocal rank over it is asserted at what was measured when the
ranking was built (every query's item first: 1.0), so a change to the ranking that
buries one of them fails here."""

from __future__ import annotations

import pytest

from bench import relevance

pytestmark = pytest.mark.asyncio

# What the set measured when the ranking was built; see the module docstring.
MEASURED_MRR = 1.0


async def test_the_relevance_set_ranks_each_expected_item_first(client):
    items = await relevance.create_record(client)
    measured = await relevance.measure(client, items)
    print(f"relevance set: MRR {measured.mrr:.3f} over {measured.queries} queries")
    assert measured.queries == len(relevance.QUERIES) > 0
    assert measured.mrr >= MEASURED_MRR, measured.misses


async def test_a_buried_answer_lowers_the_score(client):
    # The measure itself can fail: with the right answers' names swapped for items that
    # answer other queries, the same searches score below 1.
    items = await relevance.create_record(client)
    shuffled = dict(zip(items, list(items.values())[1:] + list(items.values())[:1], strict=True))
    measured = await relevance.measure(client, shuffled)
    assert measured.mrr < MEASURED_MRR
    assert measured.misses
