"""Quoted phrases are found through the index of their word pairs (migration 0018): the
pairs never leave out a row that holds the phrase (in SQL, over random texts in several
languages), they narrow the rows to check, and through HTTP a phrase search answers
what the phrase itself matches, whichever path found it."""

from __future__ import annotations

import random

import pytest

from tests.helpers import create_document, create_person, create_statement

pytestmark = pytest.mark.asyncio

# Stop words of English and French among the words, so that phrases skip positions.
WORDS = {
    "en": [
        "the",
        "of",
        "to",
        "and",
        "leave",
        "Iraq",
        "troops",
        "letter",
        "draft",
        "decision",
        "secretary",
        "army",
        "forces",
        "withdrawal",
        "sovereign",
        "movement",
        "a",
        "in",
        "on",
        "said",
    ],
    "fr": [
        "le",
        "de",
        "la",
        "et",
        "les",
        "forces",
        "lettre",
        "départ",
        "irak",
        "retrait",
        "décision",
        "armée",
        "ministre",
        "souveraine",
        "mouvement",
        "un",
        "en",
        "a",
        "dit",
    ],
    "ar": [
        "لم",
        "يتخذ",
        "أي",
        "قرار",
        "بمغادرة",
        "العراق",
        "القوات",
        "الرسالة",
        "الانسحاب",
        "الجيش",
        "وزير",
    ],
}


async def test_the_pairs_of_a_phrase_never_leave_out_a_row_that_holds_it(db):
    rng = random.Random(20261206)
    speaker = await db.fetchval("INSERT INTO people (name) VALUES ('Speaker') RETURNING id")
    rows = []
    for language, words in WORDS.items():
        for _ in range(150):
            rows.append((language, " ".join(rng.choices(words, k=rng.randint(3, 14)))))
    await db.executemany(
        "INSERT INTO statements (speaker_id, text, language) VALUES ($1, $2, $3)",
        [(speaker, text, language) for language, text in rows],
    )
    # Phrases cut out of the texts (so that many match) and drawn at random (so that
    # many rows hold the words but not the phrase).
    phrases = []
    for _ in range(120):
        language, text = rng.choice(rows)
        words = text.split()
        start = rng.randrange(len(words))
        phrases.append(" ".join(words[start : start + rng.randint(2, 4)]))
        phrases.append(" ".join(rng.choices(WORDS[language], k=rng.randint(2, 3))))
    narrowed = 0
    for phrase in phrases:
        counts = await db.fetchrow(
            """WITH q AS MATERIALIZED (SELECT search_query($1, '{}') AS tsq,
                                 search_phrase_query(ARRAY[$2]) AS pairs)
               SELECT count(*) FILTER (WHERE s.search @@ q.tsq) AS matching,
                      count(*) FILTER (WHERE s.search @@ q.tsq AND NOT s.search_pairs @@ q.pairs)
                          AS left_out,
                      count(*) FILTER (WHERE s.search_pairs @@ q.pairs) AS paired,
                      count(*) FILTER (WHERE s.search @@ search_query($3, '{}')) AS holding_words,
                      bool_and(q.pairs IS NOT NULL) AS narrows
               FROM statements s, q""",
            f'"{phrase}"',
            phrase,
            phrase,
        )
        if not counts["narrows"]:
            continue  # a phrase of one word and stop words in some language
        assert counts["left_out"] == 0, (phrase, dict(counts))
        assert counts["paired"] <= counts["holding_words"], (phrase, dict(counts))
        narrowed += counts["paired"] < counts["holding_words"]
    # The pairs do narrow: for most phrases far fewer rows than hold the words.
    assert narrowed > len(phrases) / 3, narrowed


async def test_the_stored_pairs_are_those_of_the_search_vector(db):
    """`search_pairs` repeats `search`'s expression (a generated column cannot read
    another): if one changed without the other, phrases would miss rows."""
    speaker = await db.fetchval("INSERT INTO people (name) VALUES ('Speaker') RETURNING id")
    await db.execute(
        """INSERT INTO statements (speaker_id, text, context, language)
           VALUES ($1, 'Secretary of the Army said no decision', 'At the Pentagon.', 'en'),
                  ($1, 'لم يتخذ أي قرار بمغادرة العراق', NULL, 'ar-IQ')""",
        speaker,
    )
    await db.execute(
        """INSERT INTO documents (title, summary, body_text, language)
           VALUES ('Lettre sur le départ', 'Les forces se retirent.', 'Le retrait d''Irak.', 'fr')"""
    )
    for table in ("statements", "documents"):
        differ = await db.fetchval(
            f"SELECT count(*) FROM {table} WHERE search_pairs <> search_phrase_pairs(search)"
        )
        assert differ == 0, table


async def test_a_phrase_needs_its_words_in_order(client):
    speaker = await create_person(client, name="Mark Esper")
    together = await create_statement(
        client, speaker_id=speaker["id"], text="No decision to leave Iraq has been made."
    )
    # "leave the Iraq" is `leav <2> iraq`: a stop word between matches any word there.
    skipping = await create_statement(
        client, speaker_id=speaker["id"], text="They said leave now Iraq, loudly."
    )
    await create_statement(
        client, speaker_id=speaker["id"], text="Iraq asked them to leave, apart."
    )
    scattered = await create_document(
        client, title="On leaving", body_text="We leave. " * 50 + "Many years later, Iraq."
    )
    document = await create_document(
        client, title="Letter", body_text="filler words " * 400 + "the decision to leave Iraq"
    )

    async def ids(q: str, **params: str) -> list[str]:
        response = await client.get("/v1/search", params={"q": q, **params})
        assert response.status_code == 200, response.text
        return sorted(hit["id"] for hit in response.json()["items"])

    assert await ids('"leave Iraq"') == sorted([together["id"], document["id"]])
    assert await ids('"leave the Iraq"') == sorted([skipping["id"]])
    # A phrase and a word; two phrases; a phrase whose pairs cannot narrow (one word
    # and a stop word) and a phrase beside `or` take the other paths, same answers.
    assert await ids('"leave Iraq" decision') == sorted([together["id"], document["id"]])
    assert await ids('"leave Iraq" "Iraq has been made"') == [together["id"]]
    # "no" is an English stop word: "no decision" is "decision" there.
    assert await ids('"leave Iraq" "no decision"') == sorted([together["id"], document["id"]])
    assert await ids('"the Iraq"', types="document") == sorted([scattered["id"], document["id"]])
    assert await ids('"leave Iraq" or loudly') == sorted(
        [together["id"], document["id"], skipping["id"]]
    )
    assert await ids('"Iraq leave"') == []


async def test_a_phrase_in_arabic_and_in_french(client):
    speaker = await create_person(client, name="Mark Esper")
    arabic = await create_statement(
        client, speaker_id=speaker["id"], text="لم يتخذ أي قرار بمغادرة العراق", language="ar-IQ"
    )
    await create_statement(
        client, speaker_id=speaker["id"], text="العراق لم يتخذ قرار بمغادرة", language="ar"
    )
    french = await create_document(
        client,
        title="Lettre sur le départ",
        summary="Les forces américaines se retirent d'Irak.",
        language="fr-CA",
    )

    async def ids(q: str) -> list[str]:
        response = await client.get("/v1/search", params={"q": q})
        assert response.status_code == 200, response.text
        return [hit["id"] for hit in response.json()["items"]]

    assert await ids('"بمغادرة العراق"') == [arabic["id"]]
    # Stemmed by French rules: the singular matches the plural.
    assert await ids('"force américaine"') == [french["id"]]
    assert await ids('"américaines forces"') == []
