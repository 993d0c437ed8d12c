"""Search in every language, type-ahead prefixes and spelling suggestions (issue: search
a newsroom can rely on), through HTTP, and the re-index of existing rows by migration
0008 in SQL."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from service.commands import migrate
from tests.helpers import create_document, create_person, create_statement

pytestmark = pytest.mark.asyncio

ARABIC_QUOTE = "لم يتخذ أي قرار بمغادرة العراق"  # "no decision was taken to leave Iraq"
FRENCH_SUMMARY = "Les forces américaines se retirent d'Irak, selon la lettre divulguée."


@pytest.fixture
async def corpus(client):
    speaker = await create_person(client, name="Mark Esper")
    arabic = await create_statement(
        client, speaker_id=speaker["id"], text=ARABIC_QUOTE, language="ar-IQ"
    )
    english = await create_statement(
        client,
        speaker_id=speaker["id"],
        text="There's been no decision whatsoever to leave Iraq.",
        context="Asked about the letter on withdrawal.",
    )
    french = await create_document(
        client, title="Lettre sur le départ", summary=FRENCH_SUMMARY, language="fr-CA"
    )
    english_letter = await create_document(
        client,
        title="Letter on onward movement",
        summary="Coalition forces withdrawing from Iraq, as the letter said.",
    )
    return {"arabic": arabic, "english": english, "french": french, "letter": english_letter}


async def search(client, q, **params):
    response = await client.get("/v1/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


def ids(body):
    return [hit["id"] for hit in body["items"]]


async def test_arabic_is_stemmed_by_arabic_rules_and_highlighted(client, corpus):
    # The stored word is "بمغادرة" ("to leaving", with a prefix); the query's word is
    # "مغادرة" ("leaving"): only Arabic stemming makes them the same.
    body = await search(client, "مغادرة")
    assert ids(body) == [corpus["arabic"]["id"]]
    assert "<mark>بمغادرة</mark>" in body["items"][0]["snippet"]
    assert body["suggestion"] is None


async def test_french_is_stemmed_by_french_rules(client, corpus):
    # "retirer" (infinitive) finds "retirent" (they withdraw) through the French stemmer.
    body = await search(client, "retirer", types="document")
    assert ids(body) == [corpus["french"]["id"]]
    assert "<mark>retirent</mark>" in body["items"][0]["snippet"]


async def test_one_query_matches_every_language(client, corpus):
    # "Iraq" in the English rows, "العراق" in the Arabic one: a query naming both finds
    # rows of both languages, each matched by its own rules.
    found = set(ids(await search(client, "Iraq or العراق", types="statement")))
    assert found == {corpus["arabic"]["id"], corpus["english"]["id"]}


async def test_language_filters_search_and_lists(client, corpus):
    assert ids(await search(client, "مغادرة or decision", language="ar")) == [
        corpus["arabic"]["id"]
    ]
    assert ids(await search(client, "lettre or letter", language="fr")) == [corpus["french"]["id"]]
    listed = await client.get("/v1/statements", params={"language": "ar"})
    assert [s["id"] for s in listed.json()["items"]] == [corpus["arabic"]["id"]]
    documents = await client.get("/v1/documents", params={"language": "en"})
    assert [d["id"] for d in documents.json()["items"]] == [corpus["letter"]["id"]]
    # Not a BCP 47 tag: a 422 naming the parameter, not a 500.
    bad = await client.get("/v1/search", params={"q": "x", "language": "not a tag"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "language"


async def test_a_trailing_star_matches_words_that_start_with_it(client, corpus):
    found = ids(await search(client, "withdr*"))
    assert set(found) == {corpus["english"]["id"], corpus["letter"]["id"]}
    # Combined with other words, and in a list's q too.
    assert ids(await search(client, "coalition withdr*")) == [corpus["letter"]["id"]]
    listed = await client.get("/v1/documents", params={"q": "withdr*"})
    assert [d["id"] for d in listed.json()["items"]] == [corpus["letter"]["id"]]
    # Arabic prefixes too.
    assert ids(await search(client, "العرا*")) == [corpus["arabic"]["id"]]


async def test_a_misspelled_query_is_answered_with_its_correction(client, corpus):
    body = await search(client, "withdrawl")
    assert body["suggestion"] == "withdrawal"
    # The hits are the corrected query's: "withdrawal" and, stemmed alike, "withdrawing".
    assert set(ids(body)) == {corpus["english"]["id"], corpus["letter"]["id"]}
    # Several words: only the unknown one is corrected, the rest kept as typed.
    body = await search(client, "Iraq coaliton")
    assert body["suggestion"] == "Iraq coalition"
    assert ids(body) == [corpus["letter"]["id"]]
    # A correction that finds no more than the query did is not offered: "lettr" is
    # closest to the French "lettre", and "Iraq lettre" finds nothing.
    assert (await search(client, "Iraq lettr"))["suggestion"] is None
    # A query that finds enough is left alone; so is one with nothing to correct.
    assert (await search(client, "letter"))["suggestion"] is None
    nothing = await search(client, "zzzzqqq")
    assert nothing == {"items": [], "next_cursor": None, "suggestion": None}


async def test_words_of_unpublished_material_are_not_suggested_to_the_public(
    client, anonymous_client
):
    speaker = await create_person(client, name="Speaker")
    await create_statement(
        client, speaker_id=speaker["id"], text="Classified exfiltration plan", visibility="internal"
    )
    # The newsroom's search corrects toward it and finds it...
    newsroom = await search(client, "exfiltraton")
    assert newsroom["suggestion"] == "exfiltration" and len(newsroom["items"]) == 1
    # ...the public's finds nothing either way, so no suggestion is shown to it.
    public = await search(anonymous_client, "exfiltraton")
    assert public == {"items": [], "next_cursor": None, "suggestion": None}


async def test_the_migration_reindexes_existing_rows_by_their_language(server_url):
    name = f"vr_reindex_{uuid.uuid4().hex[:8]}"
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        migrate.upgrade(url, "0007")
        conn = await asyncpg.connect(url)
        try:
            speaker = await conn.fetchval("INSERT INTO people (name) VALUES ('Esper') RETURNING id")
            await conn.execute(
                "INSERT INTO statements (speaker_id, text, language) VALUES ($1, $2, 'ar')",
                speaker,
                ARABIC_QUOTE,
            )
            # Before: indexed with English rules, the Arabic word is kept whole.
            before = await conn.fetchval("SELECT search::text FROM statements")
            assert "'بمغادرة'" in before
            migrate.upgrade(url)
            after = await conn.fetchval("SELECT search::text FROM statements")
            assert "'مغادر'" in after and "'بمغادرة'" not in after
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM search_words WHERE word IN ('esper', 'بمغادرة')"
                )
                == 2
            )
            assert await conn.fetchval(
                "SELECT 'pg_catalog.arabic'::regconfig = ANY(array_agg(config))"
                " FROM search_languages"
            )
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
