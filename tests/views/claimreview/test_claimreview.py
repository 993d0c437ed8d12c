"""schema.org ClaimReview of the current published assessment, on the founding example."""

from __future__ import annotations

from datetime import datetime

import pytest

from service.commands import example
from tests.distribution.support import PUBLIC_CACHE_CONTROL, assess, retract
from tests.helpers import BASE_URL, MISSING_ID, assert_problem, create_statement

pytestmark = pytest.mark.asyncio

LETTER = str(example.example_id("document:letter"))
ESPER = str(example.example_id("statement:esper_no_decision"))
TRUMP = str(example.example_id("statement:trump_air_base"))  # only a draft verdict


@pytest.fixture
async def founding_example(db):
    async with db.transaction():
        await example.load(db)


async def test_the_letters_claimreview(anonymous_client, founding_example):
    response = await anonymous_client.get(f"/v1/documents/{LETTER}/claimreview")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/ld+json")
    assert response.headers["cache-control"] == PUBLIC_CACHE_CONTROL
    review = response.json()
    record = (await anonymous_client.get(f"/v1/documents/{LETTER}/record")).json()
    current = record["assessments"][0]
    assert current["verdict"] == "authentic" and current["state"] == "published"

    assert review["@context"] == "https://schema.org"
    assert review["@type"] == "ClaimReview"
    assert review["claimReviewed"] == record["subject"]["title"]
    assert review["reviewRating"] == {
        "@type": "Rating",
        "alternateName": "Authentic",
        "ratingValue": 5,
        "bestRating": 5,
        "worstRating": 1,
    }
    assert review["author"] == {
        "@type": "Organization",
        "name": "Rolling Stone",
        "url": "https://www.rollingstone.com",
    }
    assert datetime.fromisoformat(review["datePublished"]) == datetime.fromisoformat(
        current["published_at"]
    )
    # The example's verdict has no article URL: the record stands in for it.
    assert review["url"] == f"{BASE_URL}/v1/documents/{LETTER}/record"
    assert review["headline"] == current["headline"]

    claim = review["itemReviewed"]
    assert claim["@type"] == "Claim"
    assert claim["author"] == {
        "@type": "Organization",
        "name": "U.S. Department of Defense",
        "url": "https://www.defense.gov",
        "sameAs": ["https://www.wikidata.org/wiki/Q11209"],
    }
    assert claim["datePublished"] == "2020-01-06"
    rolling_stone = {
        "@type": "CreativeWork",
        "url": "https://www.rollingstone.com",
        "datePublished": "2020-01-07T15:00:00Z",
    }
    assert [
        {**a, "datePublished": a["datePublished"].replace("+00:00", "Z")}
        for a in claim["appearance"]
    ] == [rolling_stone]
    first = claim["firstAppearance"]
    assert first["url"] == rolling_stone["url"]

    etag = response.headers["etag"]
    not_modified = await anonymous_client.get(
        f"/v1/documents/{LETTER}/claimreview", headers={"If-None-Match": etag}
    )
    assert not_modified.status_code == 304 and not_modified.content == b""


async def test_a_statements_claimreview_names_the_speaker(anonymous_client, founding_example):
    review = (await anonymous_client.get(f"/v1/statements/{ESPER}/claimreview")).json()
    assert review["claimReviewed"] == "There's been no decision whatsoever to leave Iraq."
    assert review["reviewRating"]["alternateName"] == "Misleading"
    assert review["reviewRating"]["ratingValue"] == 2
    claim = review["itemReviewed"]
    assert claim["author"] == {"@type": "Person", "name": "Mark Esper"}
    assert datetime.fromisoformat(claim["datePublished"]) == datetime.fromisoformat(
        "2020-01-06T21:00:00+00:00"
    )
    assert claim["firstAppearance"]["url"] == "https://pic.twitter.com/52DDhSIIQ2"


async def test_no_claimreview_without_a_published_verdict(
    anonymous_client, client, founding_example
):
    # The founding example's statement by the President has only a draft verdict.
    for caller in (anonymous_client, client):
        assert_problem(await caller.get(f"/v1/statements/{TRUMP}/claimreview"), 404)
    assert_problem(await anonymous_client.get(f"/v1/statements/{MISSING_ID}/claimreview"), 404)
    # A statement id is not a document's.
    assert_problem(await anonymous_client.get(f"/v1/documents/{ESPER}/claimreview"), 404)

    statement = await create_statement(client)
    url = f"/v1/statements/{statement['id']}/claimreview"
    assert_problem(await anonymous_client.get(url), 404)
    published = await assess(
        client, "statement", statement["id"], "unverifiable", url="https://example.org/check"
    )
    review = (await anonymous_client.get(url)).json()
    # Unverifiable rates nothing: the label alone, no number on the scale.
    assert review["reviewRating"] == {"@type": "Rating", "alternateName": "Unverifiable"}
    assert review["url"] == "https://example.org/check"
    await retract(client, published["id"])
    assert_problem(await anonymous_client.get(url), 404)


async def test_no_claimreview_of_internal_material(anonymous_client, client):
    hidden = await create_statement(client, visibility="internal")
    await assess(client, "statement", hidden["id"], "false")
    for caller in (anonymous_client, client):
        assert_problem(await caller.get(f"/v1/statements/{hidden['id']}/claimreview"), 404)
