"""POST /v1/imports/claimreview, through HTTP: ClaimReview markup in each shape that
publishers emit (from schema.org's and Google's published examples, with their quirks),
an exact report, re-import as a no-op, per-review errors, 422 for what is no ClaimReview,
the round trip of our own ClaimReview, and a 10,000-review feed in one request."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from service.domain.imports import ratings
from service.domain.subjects import Verdict
from tests.helpers import assert_problem, create_person, snapshot

pytestmark = pytest.mark.asyncio

URL = "/v1/imports/claimreview"

# Google's example (developers.google.com/search/docs/appearance/structured-data/factcheck):
# an Organization claimant with a single `sameAs`, the appearance an article of its own,
# the ratings as strings.
GOOGLE = {
    "@context": "https://schema.org",
    "@type": "ClaimReview",
    "url": "https://example.com/news/science/worldisflat.html",
    "claimReviewed": "The world is flat",
    "itemReviewed": {
        "@type": "Claim",
        "author": {
            "@type": "Organization",
            "name": "Square World Society",
            "sameAs": "https://example.flatworlders.com/we-know-that-the-world-is-flat",
        },
        "datePublished": "2016-06-20",
        "appearance": {
            "@type": "OpinionNewsArticle",
            "url": "https://example.com/news/a122121",
            "headline": "Square Earth - Flat earthers for the Internet age",
            "datePublished": "2016-06-22",
            "author": {"@type": "Person", "name": "T. Tellitall"},
            "publisher": {"@type": "Organization", "name": "Skeptical News"},
        },
    },
    "author": {"@type": "Organization", "name": "Example.com science watch"},
    "reviewRating": {
        "@type": "Rating",
        "ratingValue": "1",
        "bestRating": "5",
        "worstRating": "1",
        "alternateName": "False",
    },
}

# schema.org's example (schema.org/ClaimReview): http @context, the fact-checker named
# by URL alone, bestRating 6 and no worstRating, sameAs a list.
SCHEMA_ORG = {
    "@context": "http://schema.org",
    "@type": "ClaimReview",
    "datePublished": "2014-07-23",
    "url": "http://www.politifact.com/texas/statements/2014/jul/23/rick-perry/rick-perry-claim-about-3000-homicides-illegal-immi/",
    "author": {"@type": "Organization", "url": "http://www.politifact.com/"},
    "claimReviewed": 'More than 3,000 homicides were committed by "illegal aliens" over the past six years.',
    "reviewRating": {
        "@type": "Rating",
        "ratingValue": 1,
        "bestRating": 6,
        "alternateName": "False",
    },
    "itemReviewed": {
        "@type": "Claim",
        "author": {
            "@type": "Person",
            "name": "Rick Perry",
            "jobTitle": "Former Governor of Texas",
            "sameAs": ["https://en.wikipedia.org/wiki/Rick_Perry", "https://rickperry.org/"],
        },
        "datePublished": "2014-07-17",
        "appearance": {
            "@type": "CreativeWork",
            "url": "http://www.politifact.com/texas/statements/2014/jul/23/rick-perry/",
        },
    },
}


def review(n: int, **overrides: Any) -> dict[str, Any]:
    """A publisher's review as aggregator feeds carry them: `author` a list (the writer
    and the outlet), no bestRating, a relative date, firstAppearance and appearance."""
    body: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": f"https://factcheck.example/reviews/{n}",
        "claimReviewed": f"Claim number {n} was never made by anyone before",
        "datePublished": "2020-01-08T10:00:00+00:00",
        "author": [
            {"@type": "Person", "name": "Jane Checker"},
            {
                "@type": "Organization",
                "name": "Fact Check Example",
                "url": "https://factcheck.example",
            },
        ],
        "itemReviewed": {
            "@type": "Claim",
            "author": {"@type": "Person", "name": f"Speaker {n % 7}"},
            "datePublished": "2 days ago",
            "firstAppearance": {
                "@type": "CreativeWork",
                "url": f"https://social.example/posts/{n}",
                "datePublished": "January 5, 2020",
            },
            "appearance": [{"@type": "CreativeWork", "url": f"https://news.example/{n}"}],
        },
        "reviewRating": {"@type": "Rating", "ratingValue": 2},
    }
    body.update(overrides)
    return body


async def post(client: Any, body: Any, status: int = 200) -> dict[str, Any]:
    response = await client.post(URL, json=body)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def outcomes(report: dict[str, Any]) -> list[str]:
    return [item["outcome"] for item in report["items"]]


async def test_googles_example_creates_everything_once(client, db):
    report = await post(client, GOOGLE)
    assert (report["created"], report["matched"], report["skipped"]) == (1, 0, 0)
    [item] = report["items"]
    assert item["index"] == 0 and item["url"] == GOOGLE["url"] and item["errors"] == []
    assert item["outcome"] == "created"

    assessment = (await client.get(f"/v1/assessments/{item['assessment_id']}")).json()
    assert assessment["state"] == "draft"
    assert assessment["verdict"] == "false"
    assert assessment["url"] == GOOGLE["url"]
    assert assessment["subject"] == {"type": "statement", "id": item["statement_id"]}
    assert [(e["kind"], e["url"]) for e in assessment["evidence"]] == [("url", GOOGLE["url"])]
    organization = (
        await client.get(f"/v1/organizations/{assessment['author_organization_id']}")
    ).json()
    assert organization["name"] == "Example.com science watch"

    statement = (await client.get(f"/v1/statements/{item['statement_id']}")).json()
    assert statement["text"] == "The world is flat"
    assert statement["said_at"].startswith("2016-06-20T00:00:00")
    assert [a["url"] for a in statement["appearances"]] == ["https://example.com/news/a122121"]
    assert statement["appearances"][0]["published_at"].startswith("2016-06-22")
    speaker = (await client.get(f"/v1/people/{statement['speaker_id']}")).json()
    assert speaker["name"] == "Square World Society"
    assert speaker["same_as"] == ["https://example.flatworlders.com/we-know-that-the-world-is-flat"]

    # Each row made has its `created` event, as any other write would.
    events = await db.fetch(
        "SELECT resource_type::text, resource_id, action::text, version FROM events ORDER BY id"
    )
    assert {(e["resource_type"], e["action"], e["version"]) for e in events} == {
        ("organization", "created", 1),
        ("person", "created", 1),
        ("statement", "created", 1),
        ("assessment", "created", 1),
    }
    assert len(events) == 4


async def test_re_import_is_a_no_op(client, db):
    first = await post(client, [GOOGLE, SCHEMA_ORG])
    assert outcomes(first) == ["created", "created"]
    before = await snapshot(db)
    again = await post(client, [GOOGLE, SCHEMA_ORG])
    assert outcomes(again) == ["matched", "matched"]
    assert (again["created"], again["matched"], again["skipped"]) == (0, 2, 0)
    for a, b in zip(first["items"], again["items"], strict=True):
        assert (a["statement_id"], a["assessment_id"]) == (b["statement_id"], b["assessment_id"])
    assert await snapshot(db) == before


async def test_schema_orgs_example_with_its_quirks(client):
    report = await post(client, SCHEMA_ORG)
    [item] = report["items"]
    assert item["outcome"] == "created", item
    assessment = (await client.get(f"/v1/assessments/{item['assessment_id']}")).json()
    assert assessment["verdict"] == "false"
    organization = (
        await client.get(f"/v1/organizations/{assessment['author_organization_id']}")
    ).json()
    assert (organization["name"], organization["url"]) == (
        "www.politifact.com",
        "http://www.politifact.com/",
    )
    statement = (await client.get(f"/v1/statements/{item['statement_id']}")).json()
    speaker = (await client.get(f"/v1/people/{statement['speaker_id']}")).json()
    assert speaker["name"] == "Rick Perry"
    assert speaker["same_as"] == SCHEMA_ORG["itemReviewed"]["author"]["sameAs"]


async def test_every_shape_of_body(client):
    """One object, an array, a @graph with @id references, a DataFeed of bare reviews
    and one of DataFeedItems: the same reviews, the same report."""
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "Organization",
                "@id": "#outlet",
                "name": "Graph Checks",
                "url": "https://graph.example",
            },
            {"@type": "WebPage", "@id": "https://graph.example/page"},
            {**review(1), "author": {"@id": "#outlet"}},
            {**review(2), "author": {"@id": "#outlet"}},
        ],
    }
    report = await post(client, graph)
    assert outcomes(report) == ["created", "created"]
    assert [i["index"] for i in report["items"]] == [0, 1]
    ids = {i["url"]: i["assessment_id"] for i in report["items"]}
    assessments = [(await client.get(f"/v1/assessments/{a}")).json() for a in ids.values()]
    assert len({a["author_organization_id"] for a in assessments}) == 1

    feed = {
        "@context": "http://schema.org",
        "@type": "DataFeed",
        "dataFeedElement": [review(3), review(4)],
    }
    assert outcomes(await post(client, feed)) == ["created", "created"]
    items_feed = {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "dataFeedElement": [
            {"@type": "DataFeedItem", "item": review(5)},
            {"@type": "DataFeedItem", "item": [review(6), review(1)]},
        ],
    }
    report = await post(client, items_feed)
    assert outcomes(report) == ["created", "created", "matched"]
    assert report["items"][2]["assessment_id"] == ids[review(1)["url"]]
    assert outcomes(await post(client, review(7))) == ["created"]


async def test_the_same_claim_reviewed_twice_is_one_statement(client):
    """Two outlets on one claim: one statement, one claimant, two drafts. The rating
    without text is read on its numeric scale (2 of 1..5: mostly false)."""
    other = review(
        1,
        url="https://other.example/review/1",
        author={"@type": "Organization", "name": "Other Checks"},
    )
    report = await post(client, [review(1), other, review(1)])
    assert outcomes(report) == ["created", "created", "matched"]
    first, second, repeat = report["items"]
    assert first["statement_id"] == second["statement_id"] == repeat["statement_id"]
    assert first["assessment_id"] == repeat["assessment_id"] != second["assessment_id"]
    assessment = (await client.get(f"/v1/assessments/{first['assessment_id']}")).json()
    assert assessment["verdict"] == "mostly_false"
    statement = (await client.get(f"/v1/statements/{first['statement_id']}")).json()
    # firstAppearance first; the claim's relative date counts back from the review's.
    assert [a["url"] for a in statement["appearances"]] == [
        "https://social.example/posts/1",
        "https://news.example/1",
    ]
    assert statement["appearances"][0]["published_at"].startswith("2020-01-05")
    assert statement["said_at"].startswith("2020-01-06T10:00:00")


async def test_existing_organization_and_person_are_matched(client):
    outlet = (
        await client.post(
            "/v1/organizations",
            json={"name": "Fact Check Example", "url": "https://factcheck.example/"},
        )
    ).json()
    person = await create_person(client, name="Speaker 1")
    report = await post(client, review(1))
    item = report["items"][0]
    assessment = (await client.get(f"/v1/assessments/{item['assessment_id']}")).json()
    assert assessment["author_organization_id"] == outlet["id"]
    statement = (await client.get(f"/v1/statements/{item['statement_id']}")).json()
    assert statement["speaker_id"] == person["id"]


async def test_bad_reviews_are_skipped_with_their_reasons(client, db):
    bad_rating = review(1, reviewRating={"@type": "Rating", "alternateName": "Sort of, maybe"})
    no_url = review(2)
    del no_url["url"]
    no_claimant = review(3, itemReviewed={"@type": "Claim"})
    not_a_review = {"@type": "WebPage", "url": "https://x.example"}
    odd_date = review(4, datePublished="the day after the election")
    report = await post(
        client, [bad_rating, no_url, no_claimant, not_a_review, odd_date, review(5)]
    )
    assert outcomes(report) == ["skipped", "skipped", "skipped", "skipped", "created", "created"]
    assert (report["created"], report["matched"], report["skipped"]) == (2, 0, 4)
    fields = [[e["field"] for e in item["errors"]] for item in report["items"]]
    assert fields == [
        ["reviewRating"],
        ["url"],
        ["itemReviewed.author"],
        ["@type"],
        ["datePublished"],
        [],
    ]
    skipped = report["items"][0]
    assert skipped["statement_id"] is None and skipped["assessment_id"] is None
    assert "Sort of, maybe" in skipped["errors"][0]["message"]
    assert report["items"][1]["url"] is None
    # Nothing of the skipped reviews was written.
    texts = {r["text"] for r in await db.fetch("SELECT text FROM statements")}
    assert texts == {review(4)["claimReviewed"], review(5)["claimReviewed"]}


@pytest.mark.parametrize(
    "body",
    [
        {"@context": "https://schema.org", "@type": "NewsArticle", "url": "https://x.example"},
        [],
        [{"@type": "Claim"}],
        {"hello": "world"},
        "ClaimReview",
        {"@type": "DataFeed", "dataFeedElement": []},
    ],
)
async def test_a_body_that_is_no_claimreview_is_422(client, db, body):
    before = await snapshot(db)
    response = await client.post(URL, json=body)
    assert_problem(response, 422, field="@type")
    assert await snapshot(db) == before


async def test_import_needs_a_write_key(anonymous_client):
    response = await anonymous_client.post(URL, json=GOOGLE)
    assert response.status_code == 401


async def test_the_rating_table():
    cases = {
        "False": Verdict.FALSE,
        "Mostly false": Verdict.MOSTLY_FALSE,
        "Half True": Verdict.MIXED,
        "Pants on Fire!": Verdict.FALSE,
        "Misleading": Verdict.MISLEADING,
        "Missing context": Verdict.MISLEADING,
        "Unproven": Verdict.UNVERIFIABLE,
        "Mostly True": Verdict.MOSTLY_TRUE,
        "TRUE": Verdict.TRUE,
        "Mixture": Verdict.MIXED,
    }
    assert {text: ratings.from_text(text) for text in cases} == cases
    assert ratings.from_text("Sort of") is None
    assert [ratings.from_scale(v, None, None) for v in (1, 2, 3, 4, 5)] == [
        Verdict.FALSE,
        Verdict.MOSTLY_FALSE,
        Verdict.MIXED,
        Verdict.MOSTLY_TRUE,
        Verdict.TRUE,
    ]
    assert ratings.from_scale(7, None, None) is None  # outside 1..5: not guessed
    assert ratings.from_scale(1, 1, 1) is None


async def test_round_trip_of_our_own_claimreview(client, settings, database_url, db):
    """A ClaimReview this service emits, imported into a fresh database, yields the same
    statement, claimant, verdict and URL."""
    speaker = await create_person(
        client, name="Mark Esper", same_as=["https://www.wikidata.org/wiki/Q27835397"]
    )
    said = "There's been no decision whatsoever to leave Iraq."
    statement = (
        await client.post(
            "/v1/statements",
            json={
                "speaker_id": speaker["id"],
                "text": said,
                "said_at": "2020-01-06T21:00:00Z",
                "appearances": [
                    {
                        "url": "https://www.defense.gov/briefing",
                        "published_at": "2020-01-06T21:00:00Z",
                    }
                ],
            },
        )
    ).json()
    outlet = (
        await client.post(
            "/v1/organizations",
            json={"name": "Rolling Stone", "url": "https://www.rollingstone.com"},
        )
    ).json()
    assessment = (
        await client.post(
            "/v1/assessments",
            json={
                "subject": {"type": "statement", "id": statement["id"]},
                "verdict": "mostly_false",
                "headline": "The letter says otherwise",
                "url": "https://www.rollingstone.com/esper-fact-check",
                "author_organization_id": outlet["id"],
            },
        )
    ).json()
    published = await client.post(f"/v1/assessments/{assessment['id']}/publish")
    assert published.status_code == 200, published.text
    emitted = (await client.get(f"/v1/statements/{statement['id']}/claimreview")).json()

    # A fresh database: the same test database, emptied of what the export came from.
    await _empty(db)
    report = await post(client, emitted)
    [item] = report["items"]
    assert item["outcome"] == "created", item
    imported = (await client.get(f"/v1/assessments/{item['assessment_id']}")).json()
    assert (imported["verdict"], imported["url"]) == ("mostly_false", assessment["url"])
    again = (await client.get(f"/v1/statements/{item['statement_id']}")).json()
    assert again["text"] == said
    assert again["said_at"] == statement["said_at"]
    assert [a["url"] for a in again["appearances"]] == ["https://www.defense.gov/briefing"]
    claimant = (await client.get(f"/v1/people/{again['speaker_id']}")).json()
    assert (claimant["name"], claimant["same_as"]) == ("Mark Esper", speaker["same_as"])
    reviewer = (await client.get(f"/v1/organizations/{imported['author_organization_id']}")).json()
    assert (reviewer["name"], reviewer["url"]) == ("Rolling Stone", "https://www.rollingstone.com")


async def _empty(db: Any) -> None:
    """Soft-delete nothing, erase everything: the guards are bypassed for the test only."""
    await db.execute("SET session_replication_role = replica")
    for table in (
        "claimreview_imports",
        "webhook_deliveries",
        "evidence",
        "assessments",
        "appearances",
        "statements",
        "affiliations",
        "people",
        "organizations",
    ):
        await db.execute(f"DELETE FROM {table}")
    await db.execute("SET session_replication_role = DEFAULT")


async def test_ten_thousand_reviews_in_one_request(client, db):
    """A 10k-review feed (about 8 MB) imports in one request; its rows and events are
    all there. The time is measured for README.md, not asserted."""
    feed = {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "dataFeedElement": [review(n) for n in range(10_000)],
    }
    started = time.perf_counter()
    report = await post(client, feed)
    elapsed = time.perf_counter() - started
    print(f"10k ClaimReview import: {elapsed:.1f} s")
    assert (report["created"], report["matched"], report["skipped"]) == (10_000, 0, 0)
    assert len({i["assessment_id"] for i in report["items"]}) == 10_000
    counts = await db.fetchrow(
        """SELECT (SELECT count(*) FROM statements) AS statements,
                  (SELECT count(*) FROM people) AS people,
                  (SELECT count(*) FROM organizations) AS organizations,
                  (SELECT count(*) FROM assessments WHERE state = 'draft') AS drafts,
                  (SELECT count(*) FROM appearances) AS appearances,
                  (SELECT count(*) FROM events WHERE action = 'created') AS events"""
    )
    assert dict(counts) == {
        "statements": 10_000,
        "people": 7,
        "organizations": 1,
        "drafts": 10_000,
        "appearances": 20_000,
        "events": 10_000 + 7 + 1 + 10_000,
    }
    started = time.perf_counter()
    again = await post(client, copy.deepcopy(feed))
    print(f"10k ClaimReview re-import: {time.perf_counter() - started:.1f} s")
    assert (again["created"], again["matched"], again["skipped"]) == (0, 10_000, 0)


async def test_nul_characters_never_reach_the_database(client):
    report = await post(
        client,
        [
            review(1, claimReviewed="Claim\u0000 with a NUL"),
            review(2, url="https://factcheck.example/\u0000"),
        ],
    )
    assert outcomes(report) == ["created", "skipped"]
    assert [e["field"] for e in report["items"][1]["errors"]] == ["url"]
    statement = (await client.get(f"/v1/statements/{report['items'][0]['statement_id']}")).json()
    assert statement["text"] == "Claim with a NUL"


async def test_an_import_honours_idempotency_key(client):
    headers = {"Idempotency-Key": "import-1"}
    first = await client.post(URL, json=review(1), headers=headers)
    again = await client.post(URL, json=review(1), headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["created"] == 1
