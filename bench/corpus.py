"""The benchmark's corpus: a newsroom's record after a few years, loaded in seconds.

Everything goes through the real tables, so that generated columns (the full-text
`search` vectors, relation and assessment ends), constraints, and triggers behave as
in production: assessments are inserted as drafts, given their evidence while still
drafts, then published, superseded and retracted by UPDATEs that the workflow trigger
checks (and that bump `version` as the API would); statements are deleted by setting
`deleted_at`; the event log gets one event per change, in order, and its triggers run
(the outbox finds no webhook yet; the badge trigger announces every subject).

The big tables are filled with set-based SQL (`INSERT ... SELECT ... generate_series`);
organizations and people, a few thousand rows with hand-made names, are built here
and sent with COPY (their tables have no insert triggers). Texts draw words from
bench/words.txt with a Zipf-like skew (rank r has weight about 1/r), so that a few
words are everywhere and most are rare, and full-text search hits a realistic share of
rows. The random generator is seeded: every load has the same shape (ids differ).

Default size (`Size.for_statements(100_000)`): 100k statements, 10k documents, 2k
people, 200 organizations, about 25k relations and 35k assessments (published, a tenth
superseded, a few retracted, drafts), 80k evidence items, 130k appearances, and the
events of all of it.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

WORDS_FILE = Path(__file__).with_name("words.txt")
SEED = 20261123
ACTOR = "bench-loader"


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words("""
Mark Lloyd Mike Ashton Esther Maria James Anna Omar Li Sofia Daniel Fatima Peter Elena
Ahmed Laura John Yuki Carlos Ingrid Kofi Amara Pavel Olga Hans Chloe Rafael Aisha Tom
Nadia David Keiko Samuel Leila Victor Irene Hassan Mei George Rosa Felix Zara Martin
Helga Jorge Amina Ivan Greta Luis Priya Stefan Noor Andre Hana Marco Sara Tariq Lucia
Emil Dana Ali Vera Ben Alice Karim Julia Sergei Eva Paulo Lena Yusuf Ines Adam Nora
Mateo Clara Rashid Tanya Henrik Mira Diego Lina Arjun Rita Oscar Selin Kenji Marta
Abdul Alma Bruno Hedda Chen Iris
""")
LAST_NAMES = _words("""
Esper Austin Milley Carter Hughes Novak Haddad Okafor Petrov Larsen Moreau Tanaka Silva
Rahman Fischer Rossi Kowalski Nguyen Mensah Ivanova Schmidt Dubois Yamamoto Costa Khan
Weber Bianchi Nowak Tran Owusu Volkov Jensen Laurent Suzuki Pereira Ahmed Wagner Russo
Wozniak Pham Boateng Sokolov Nielsen Girard Watanabe Santos Hussain Becker Romano
Lewandowski Le Asante Popov Hansen Bonnet Ito Oliveira Ali Hoffmann Ricci Kaminski Vu
Adjei Lebedev Pedersen Lambert Kobayashi Souza Malik Koch Marino Zielinski Hoang Appiah
Kozlov Andersen Fontaine Kato Lima Iqbal Richter Greco Szymanski Dang Darko Morozov
Christensen Chevalier Yoshida Carvalho Chaudhry Klein Bruno Wojcik Bui Ofori Novikov
Sorensen Rousseau
""")
CITIES = _words("""
Capital Northern Harbor River Valley Lakeside Coastal Metro Central Eastern Western
Highland Border Union Republic Continental Evening Morning Weekly National Pacific
""")
MASTHEADS = _words(
    "Herald Times Post Chronicle Observer Tribune Gazette Monitor Ledger Dispatch Courier Standard Journal Review Wire"
)
PORTFOLIOS = _words(
    "Defense Finance Health Interior Justice Energy Foreign Affairs Transport Education Labour Agriculture Environment Trade"
)
COUNTRIES = _words("Arland Borvia Cestria Dunmark Elbonia Fernland Galvia Hestria Istria Jorvik")
MILITARY = [
    "Joint Chiefs of Staff",
    "Army Command",
    "Naval Command",
    "Air Force",
    "Ministry of Defense Press Office",
]
PARTIES = _words(
    "Progressive Conservative Liberal Green Labour Democratic Popular National Reform Unity"
)
COMPANIES = _words("Energy Mining Logistics Defense Systems Telecom Pharma Shipping Aerospace")
NGOS = [
    "Watch",
    "Rights Monitor",
    "Transparency Initiative",
    "Press Freedom Fund",
    "Relief Network",
]
TITLES = {
    "government": [
        "Minister",
        "Secretary",
        "Spokesperson",
        "Deputy Minister",
        "Press Secretary",
        "Chief of Staff",
    ],
    "military": ["General", "Colonel", "Spokesperson", "Commander", "Chief of Staff"],
    "political_party": ["Leader", "Senator", "Member of Parliament", "Spokesperson", "Chair"],
    "news_outlet": ["Reporter", "Editor", "Correspondent", "Columnist"],
    "company": ["Chief Executive", "Spokesperson", "Chair"],
    "ngo": ["Director", "Researcher", "Spokesperson"],
    "other": ["Adviser", "Analyst"],
}
ORGANIZATION_KINDS = [
    ("news_outlet", 0.40),
    ("government", 0.25),
    ("military", 0.10),
    ("political_party", 0.08),
    ("company", 0.07),
    ("ngo", 0.07),
    ("other", 0.03),
]
TAGS = _words("""
iraq syria ukraine elections budget health climate energy defense security migration
courts corruption economy trade sanctions nuclear vaccines police education housing
protests leaks intelligence cyber media diplomacy military taxes pensions water
""")

# Verdict mixes of published assessments, roughly as fact-checkers publish them.
STATEMENT_VERDICTS = [
    ("false", 0.22),
    ("mostly_false", 0.18),
    ("misleading", 0.16),
    ("mixed", 0.12),
    ("mostly_true", 0.12),
    ("true", 0.12),
    ("unverifiable", 0.08),
]
DOCUMENT_VERDICTS = [
    ("authentic", 0.32),
    ("likely_authentic", 0.24),
    ("unverified", 0.16),
    ("disputed", 0.12),
    ("altered", 0.10),
    ("fabricated", 0.06),
]


@dataclass(frozen=True)
class Size:
    statements: int
    documents: int
    people: int
    organizations: int

    @classmethod
    def for_statements(cls, statements: int) -> Size:
        """The issue's proportions: 100k statements, 10k documents, 2k people."""
        people = max(40, statements // 50)
        return cls(
            statements=statements,
            documents=max(20, statements // 10),
            people=people,
            organizations=max(20, people // 10),
        )


SYLLABLES = _words("""
ka ro vel tan mir os dun bel gra shi lo ven tor al mak ri sun ba zel cor ith na fel
dra om pel vor ash tek lun har qui sen mo dal bri ust kel ran ov ter
""")
PROPER_NOUNS = 6000


def proper_nouns(count: int = PROPER_NOUNS) -> list[str]:
    """Made-up names of places, units, companies and operations ("Karovel", "Dunash"):
    news copy is full of rare proper nouns, and they are what many searches are for."""
    rng = random.Random(SEED)
    found: dict[str, None] = {}
    while len(found) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3))))
        found[word.capitalize()] = None
    return list(found)


def vocabulary() -> list[str]:
    """The words of texts in rank order: bench/words.txt; then the people's last names
    and the countries, so that a search for a name finds the statements that mention
    it as well as the ones its bearer made; then (rarest) made-up proper nouns."""
    lines = WORDS_FILE.read_text(encoding="utf-8").splitlines()
    words = [line.strip().lower() for line in lines if line.strip() and not line.startswith("#")]
    names = [*LAST_NAMES, *COUNTRIES]
    return list(dict.fromkeys([*words, *names, *proper_nouns()]))


# ---- helpers that live for the loading session only ----------------------------------------

_HELPERS = [
    # `full`: every word; `common`: without the made-up proper nouns (for the short
    # texts of notes and headlines, drawn one call each, where a smaller array is cheaper).
    "CREATE TEMP TABLE bench_vocab (name text PRIMARY KEY, words text[] NOT NULL)",
    # n words, the word of rank r drawn with weight 1/(r + 20) (Zipf-Mandelbrot: the
    # commonest word is about 1 % of the text, and most words are rare).
    """CREATE FUNCTION pg_temp.draw(v text[], n integer) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
    DECLARE low float8 := ln(21); span float8 := ln(cardinality(v) + 21) - ln(21);
    BEGIN
        RETURN (SELECT string_agg(v[floor(exp(low + random() * span))::integer - 20], ' ')
                FROM generate_series(1, greatest(n, 1)));
    END $$""",
    """CREATE FUNCTION pg_temp.phrase(n integer) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
    DECLARE v text[];
    BEGIN
        SELECT words INTO v FROM bench_vocab WHERE name = 'common';
        RETURN pg_temp.draw(v, n);
    END $$""",
    """CREATE FUNCTION pg_temp.sentence(n integer) RETURNS text LANGUAGE sql VOLATILE AS $$
        SELECT upper(left(p, 1)) || substr(p, 2) || '.' FROM pg_temp.phrase(n) AS p
    $$""",
    # The texts of rows 1..n in one call (the full vocabulary is read once): `share` of
    # them get shortest..longest words (a sentence, if asked), the others NULL.
    """CREATE FUNCTION pg_temp.texts(n integer, shortest integer, longest integer,
                                     sentence boolean, share float8 DEFAULT 1)
    RETURNS TABLE (g integer, t text) LANGUAGE plpgsql VOLATILE AS $$
    DECLARE v text[]; p text;
    BEGIN
        SELECT words INTO v FROM bench_vocab WHERE name = 'full';
        FOR i IN 1 .. n LOOP
            g := i;
            t := NULL;
            IF random() < share THEN
                p := pg_temp.draw(v, shortest + floor(random() * (longest - shortest + 1))::integer);
                t := CASE WHEN sentence THEN upper(left(p, 1)) || substr(p, 2) || '.' ELSE p END;
            END IF;
            RETURN NEXT;
        END LOOP;
    END $$""",
    # The label whose cumulative weight first exceeds r (0 <= r < 1).
    """CREATE FUNCTION pg_temp.weighted(labels text[], weights float8[], r float8)
    RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
    DECLARE total float8 := 0;
    BEGIN
        FOR i IN 1 .. cardinality(labels) LOOP
            total := total + weights[i];
            IF r < total THEN RETURN labels[i]; END IF;
        END LOOP;
        RETURN labels[cardinality(labels)];
    END $$""",
    # A random element; `skew` draws with weight 1/position instead of uniformly.
    """CREATE FUNCTION pg_temp.pick(items anyarray, r float8, skew boolean DEFAULT false)
    RETURNS anyelement LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE WHEN skew THEN items[floor(exp(r * ln(cardinality(items) + 1)))::integer]
                    ELSE items[1 + floor(r * cardinality(items))::integer] END
    $$""",
]


def _labels(pairs: list[tuple[str, float]]) -> tuple[list[str], list[float]]:
    return [label for label, _ in pairs], [weight for _, weight in pairs]


# ---- organizations and people (built here, sent with COPY) ---------------------------------


def _organizations(rng: random.Random, count: int, now: datetime) -> list[tuple[Any, ...]]:
    kinds, weights = _labels(ORGANIZATION_KINDS)
    rows: list[tuple[Any, ...]] = []
    seen: set[str] = set()
    # The newsroom that writes the assessments comes first.
    plan = ["news_outlet", *rng.choices(kinds, weights, k=count - 1)]
    for number, kind in enumerate(plan, start=1):
        country = rng.choice(COUNTRIES)
        name = {
            "news_outlet": f"The {rng.choice(CITIES)} {rng.choice(MASTHEADS)}",
            "government": f"Ministry of {rng.choice(PORTFOLIOS)} of {country}",
            "military": f"{country} {rng.choice(MILITARY)}",
            "political_party": f"{rng.choice(PARTIES)} Party of {country}",
            "company": f"{rng.choice(LAST_NAMES)} {rng.choice(COMPANIES)}",
            "ngo": f"{country} {rng.choice(NGOS)}",
            "other": f"{rng.choice(LAST_NAMES)} Institute",
        }[kind]
        if number == 1:
            name = "The Verification Desk"
        if name in seen:
            name = f"{name} ({number})"
        seen.add(name)
        slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
        same_as = [f"https://www.wikidata.org/wiki/Q{100000 + number}"] if number % 3 == 0 else []
        created = now - timedelta(days=rng.uniform(1000, 2000))
        rows.append((kind, name, f"https://{slug}.example.org", same_as, created, created))
    return rows


def _people(
    rng: random.Random, count: int, organizations: list[asyncpg.Record], now: datetime
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """People and their affiliations (one or two each, to their organizations)."""
    people: list[tuple[Any, ...]] = []
    affiliations: list[tuple[Any, ...]] = []
    names = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(names)
    for number in range(count):
        name = names[number % len(names)]
        if number >= len(names):
            name = f"{name} {number // len(names) + 1}"
        first, last = name.split(" ", 1)
        aliases = []
        if rng.random() < 0.25:
            aliases.append(rng.choice([last, f"{first[0]}. {last}"]))
        person_id = uuid.UUID(int=rng.getrandbits(128) | (4 << 76))
        created = now - timedelta(days=rng.uniform(800, 1900))
        orgs = rng.sample(organizations, k=1 if rng.random() < 0.7 else 2)
        title = rng.choice(TITLES[orgs[0]["kind"]])
        description = f"{title}, {orgs[0]['name']}"
        same_as = [f"https://www.wikidata.org/wiki/Q{300000 + number}"] if number % 4 == 0 else []
        people.append((person_id, name, aliases, description, same_as, created, created))
        for position, org in enumerate(orgs):
            start = date(2015, 1, 1) + timedelta(days=rng.randrange(3000))
            end = start + timedelta(days=rng.randrange(200, 1500)) if position else None
            affiliations.append(
                (person_id, position, org["id"], rng.choice(TITLES[org["kind"]]), start, end)
            )
    return people, affiliations


# ---- the big tables, set-based ---------------------------------------------------------------


def _documents_sql(size: Size) -> str:
    kinds = "ARRAY['letter','memo','report','order','email','transcript','other']"
    kind_weights = "ARRAY[0.25,0.2,0.2,0.1,0.12,0.08,0.05]::float8[]"
    return f"""
INSERT INTO documents (title, kind, issuer_id, author_id, recipient, dated_on, surfaced_via,
                       summary, body_text, language, sha256, tags, visibility, created_at, updated_at)
SELECT initcap(title.t),
       pg_temp.weighted({kinds}, {kind_weights}, x.r2)::document_kind,
       pg_temp.pick(ids.issuers, x.r3, true),
       CASE WHEN x.r4 < 0.6 THEN pg_temp.pick(ids.people, x.r5) END,
       CASE WHEN x.r6 < 0.5 THEN initcap(pg_temp.phrase(3)) END,
       (x.t - (x.r7 * 60)::integer * interval '1 day')::date,
       CASE WHEN x.r8 < 0.6 THEN 'leaked to ' || pg_temp.pick(ids.outlet_names, x.r9)
            WHEN x.r8 < 0.8 THEN 'published by the issuer' END,
       summary.t,
       body.t,
       CASE WHEN x.r13 < 0.93 THEN 'en' ELSE pg_temp.pick(ARRAY['fr','de','es','ar'], x.r14) END,
       CASE WHEN x.r15 < 0.4 THEN md5(x.r16::text) || md5(x.r1::text) END,
       ARRAY(SELECT DISTINCT pg_temp.pick(ids.tags, random(), true)
             FROM generate_series(1, x.ntags)),
       (CASE WHEN x.r17 < 0.95 THEN 'public' ELSE 'internal' END)::visibility,
       x.t, x.t
FROM (
    SELECT g, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6,
           random() r7, random() r8, random() r9, random() r10, random() r11, random() r12,
           random() r13, random() r14, random() r15, random() r16, random() r17,
           floor(random() * 4)::integer AS ntags,
           now() - random() * interval '6 years' AS t
    FROM generate_series(1, {size.documents}) g
) x
JOIN pg_temp.texts({size.documents}, 4, 10, false) AS title USING (g)
JOIN pg_temp.texts({size.documents}, 25, 64, true) AS summary USING (g)
JOIN pg_temp.texts({size.documents}, 120, 599, true, 0.7) AS body USING (g),
(SELECT
    (SELECT array_agg(id ORDER BY created_at) FROM organizations
     WHERE kind IN ('government', 'military', 'company', 'political_party', 'ngo', 'other')) AS issuers,
    (SELECT array_agg(id ORDER BY created_at) FROM people) AS people,
    (SELECT array_agg(name ORDER BY created_at) FROM organizations WHERE kind = 'news_outlet') AS outlet_names,
    $1::text[] AS tags) ids
"""


def _statements_sql(size: Size) -> str:
    media = "ARRAY['press_briefing','interview','social_media','written_statement','speech','testimony','other']"
    media_weights = "ARRAY[0.22,0.22,0.25,0.12,0.1,0.05,0.04]::float8[]"
    # Half the statements come from a few prolific speakers (weight 1/rank), half from
    # anyone: a speaker's list holds from one to thousands of statements.
    return f"""
INSERT INTO statements (speaker_id, text, said_at, medium, context, language, tags, visibility,
                        created_at, updated_at)
SELECT pg_temp.pick(ids.people, x.r1, x.r2 < 0.5),
       text.t,
       CASE WHEN x.r4 < 0.96 THEN x.t - (x.r5 * 72)::integer * interval '1 hour' END,
       pg_temp.weighted({media}, {media_weights}, x.r6)::statement_medium,
       context.t,
       CASE WHEN x.r9 < 0.95 THEN 'en' ELSE pg_temp.pick(ARRAY['fr','de','es','ar'], x.r10) END,
       ARRAY(SELECT DISTINCT pg_temp.pick(ids.tags, random(), true)
             FROM generate_series(1, x.ntags)),
       (CASE WHEN x.r11 < 0.97 THEN 'public' ELSE 'internal' END)::visibility,
       x.t, x.t
FROM (
    SELECT g, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6,
           random() r7, random() r8, random() r9, random() r10, random() r11,
           floor(random() * 4)::integer AS ntags,
           now() - random() * interval '5 years' AS t
    FROM generate_series(1, {size.statements}) g
) x
JOIN pg_temp.texts({size.statements}, 10, 39, true) AS text USING (g)
JOIN pg_temp.texts({size.statements}, 8, 27, true, 0.6) AS context USING (g),
(SELECT (SELECT array_agg(id ORDER BY created_at) FROM people) AS people, $1::text[] AS tags) ids
"""


# Where statements and documents appeared: news outlets' URLs, some archived.
_APPEARANCES = """
INSERT INTO appearances ({owner}, position, url, publisher_id, published_at, archived_url)
SELECT x.id, p.position,
       'https://news' || (1 + floor(x.r1 * 40)::integer) || '.example.org/'
           || to_char(x.at, 'YYYY/MM/DD') || '/' || x.id || '-' || p.position,
       CASE WHEN random() < 0.9 THEN pg_temp.pick(ids.outlets, random(), true) END,
       x.at + random() * interval '2 days',
       CASE WHEN random() < 0.3 THEN 'https://archive.example.org/' || x.id || '/' || p.position END
FROM (SELECT id, coalesce({at}, created_at) AS at, random() r1,
             floor(random() * {spread})::integer AS n
      FROM {table}) x
CROSS JOIN LATERAL generate_series(0, x.n - 1) AS p(position),
(SELECT array_agg(id ORDER BY created_at) AS outlets FROM organizations
 WHERE kind = 'news_outlet') ids
"""

# Statements answer documents (denials, confirmations) and each other. Most stories
# draw a few relations; a hundredth of the documents are big stories with dozens.
_RELATIONS = """
INSERT INTO relations (source_statement_id, source_document_id, type, target_statement_id,
                       target_document_id, note, created_at, updated_at)
SELECT src_s, src_d, type::relation_type, tgt_s, tgt_d, note, t, t
FROM (
    SELECT CASE WHEN x.r1 >= 0.1 THEN pg_temp.pick(ids.statements, x.r2) END AS src_s,
           CASE WHEN x.r1 < 0.1 THEN pg_temp.pick(ids.documents, x.r2) END AS src_d,
           pg_temp.weighted(
               ARRAY['denies','contradicts','confirms','supports','clarifies','retracts','responds_to','cites'],
               ARRAY[0.2,0.1,0.15,0.15,0.1,0.03,0.2,0.07]::float8[], x.r3) AS type,
           CASE WHEN x.r4 >= 0.5 THEN pg_temp.pick(ids.statements, x.r5) END AS tgt_s,
           CASE WHEN x.r4 < 0.5 THEN
               CASE WHEN x.r6 < 0.2 THEN ids.documents[1 + floor(x.r5 * ids.big)::integer]
                    ELSE ids.documents[1 + floor(x.r5 * ids.stories)::integer] END
           END AS tgt_d,
           CASE WHEN x.r7 < 0.3 THEN pg_temp.sentence(6 + floor(x.r8 * 10)::integer) END AS note,
           now() - x.r9 * interval '3 years' AS t
    FROM (SELECT random() r1, random() r2, random() r3, random() r4, random() r5, random() r6,
                 random() r7, random() r8, random() r9
          FROM generate_series(1, {count})) x,
    (SELECT (SELECT array_agg(id ORDER BY id) FROM statements WHERE deleted_at IS NULL) AS statements,
            (SELECT array_agg(id ORDER BY id) FROM documents WHERE deleted_at IS NULL) AS documents,
            greatest(1, {documents} / 100) AS big,
            greatest(1, {documents} * 3 / 10) AS stories) ids
) r
WHERE coalesce(src_s, src_d) <> coalesce(tgt_s, tgt_d)
ON CONFLICT DO NOTHING
"""

# Who gets assessed, and how: one plan row per assessment to write. `role`: `current`
# (published, stands), `older` (published, then superseded by the subject's current
# one), `retracted` (published, then retracted: the subject is unassessed again),
# `draft` (in progress).
_PLAN = """
CREATE TEMP TABLE bench_plan AS
WITH subjects AS (
    SELECT 'statement'::subject_type AS type, id, created_at, random() AS r1, random() AS r2,
           random() AS r3
    FROM statements WHERE deleted_at IS NULL AND visibility = 'public'
    UNION ALL
    SELECT 'document', id, created_at, random(), random(), random()
    FROM documents WHERE deleted_at IS NULL AND visibility = 'public'
), chosen AS (
    SELECT *, CASE type WHEN 'statement' THEN 0.2 ELSE 0.3 END AS share FROM subjects
)
SELECT gen_random_uuid() AS id, type, id AS subject_id, 'current' AS role,
       created_at + (1 + r2 * 20) * interval '1 day' AS published_at, r2 < 0.1 AS has_older
FROM chosen WHERE r1 < share * 0.95
UNION ALL
SELECT gen_random_uuid(), type, id, 'retracted', created_at + (1 + r2 * 20) * interval '1 day', false
FROM chosen WHERE r1 >= share * 0.95 AND r1 < share
UNION ALL
SELECT gen_random_uuid(), type, id, 'draft', NULL, false
FROM chosen WHERE r3 < 0.03
"""
_PLAN_OLDER = """
INSERT INTO bench_plan (id, type, subject_id, role, published_at, has_older)
SELECT gen_random_uuid(), type, subject_id, 'older', published_at - interval '12 hours', false
FROM bench_plan WHERE role = 'current' AND has_older
"""
_ASSESSMENTS = """
INSERT INTO assessments (id, subject_statement_id, subject_document_id, verdict, headline,
                         explanation, url, author_organization_id, supersedes_id, created_at,
                         updated_at)
SELECT p.id,
       CASE WHEN p.type = 'statement' THEN p.subject_id END,
       CASE WHEN p.type = 'document' THEN p.subject_id END,
       CASE WHEN p.type = 'statement' THEN pg_temp.weighted($1, $2, random())
            ELSE pg_temp.weighted($3, $4, random()) END::verdict,
       left(initcap(pg_temp.phrase(6 + floor(random() * 8)::integer)), 120),
       pg_temp.sentence(40 + floor(random() * 80)::integer),
       'https://verify.example.org/checks/' || p.id,
       CASE WHEN random() < 0.8 THEN ids.desk ELSE pg_temp.pick(ids.outlets, random()) END,
       older.id,
       coalesce(p.published_at, now()) - interval '2 hours',
       coalesce(p.published_at, now()) - interval '2 hours'
FROM bench_plan p
LEFT JOIN bench_plan older
    ON p.role = 'current' AND p.has_older AND older.role = 'older' AND older.subject_id = p.subject_id,
(SELECT (SELECT id FROM organizations WHERE name = 'The Verification Desk') AS desk,
        (SELECT array_agg(id ORDER BY created_at) FROM organizations WHERE kind = 'news_outlet') AS outlets) ids
ORDER BY p.role = 'current'
"""
# While every assessment is a draft (the trigger refuses evidence on anything else).
_EVIDENCE = """
INSERT INTO evidence (assessment_id, position, kind, url, statement_id, document_id,
                      organization_id, stance, note)
SELECT x.id, p.position, k.kind::evidence_kind,
       CASE WHEN k.kind IN ('url', 'confirmation') THEN
           'https://evidence.example.org/' || x.id || '/' || p.position END,
       CASE WHEN k.kind = 'statement' THEN pg_temp.pick(ids.statements, random()) END,
       CASE WHEN k.kind = 'document' THEN pg_temp.pick(ids.documents, random()) END,
       CASE WHEN k.kind = 'confirmation' THEN pg_temp.pick(ids.outlets, random(), true) END,
       (CASE WHEN k.kind = 'confirmation' THEN CASE WHEN random() < 0.85 THEN 'supports' ELSE 'refutes' END
             ELSE pg_temp.weighted(ARRAY['supports','refutes','context'], ARRAY[0.4,0.4,0.2]::float8[], random())
        END)::evidence_stance,
       CASE WHEN random() < 0.3 THEN pg_temp.sentence(5 + floor(random() * 10)::integer) END
FROM (SELECT id, 1 + floor(random() * 4)::integer AS n FROM bench_plan) x
CROSS JOIN LATERAL generate_series(0, x.n - 1) AS p(position)
CROSS JOIN LATERAL (SELECT pg_temp.weighted(
    ARRAY['url','statement','document','confirmation'], ARRAY[0.35,0.2,0.15,0.3]::float8[],
    random() + 0 * p.position) AS kind) k,
(SELECT (SELECT array_agg(id ORDER BY id) FROM statements WHERE deleted_at IS NULL) AS statements,
        (SELECT array_agg(id ORDER BY id) FROM documents WHERE deleted_at IS NULL) AS documents,
        (SELECT array_agg(id ORDER BY created_at) FROM organizations WHERE kind = 'news_outlet') AS outlets) ids
"""
# The workflow, as the API drives it: publish (older ones first), supersede, retract.
_WORKFLOW = [
    """UPDATE assessments a SET state = 'published', published_at = p.published_at
       FROM bench_plan p WHERE a.id = p.id AND p.role = 'older'""",
    """UPDATE assessments a SET state = 'published', published_at = p.published_at
       FROM bench_plan p WHERE a.id = p.id AND p.role IN ('current', 'retracted')""",
    """UPDATE assessments a SET state = 'superseded'
       FROM bench_plan p WHERE a.id = p.id AND p.role = 'older'""",
    """UPDATE assessments a SET state = 'retracted', retracted_at = p.published_at + interval '3 days',
           retraction_reason = 'The evidence did not hold up on review.'
       FROM bench_plan p WHERE a.id = p.id AND p.role = 'retracted'""",
]
# A few statements were withdrawn (soft-deleted): ones nothing points at.
_DELETE_STATEMENTS = """
UPDATE statements s SET deleted_at = now()
WHERE s.id IN (
    SELECT s2.id FROM statements s2
    WHERE random() < 0.005
      AND NOT EXISTS (SELECT 1 FROM relations r WHERE s2.id IN (r.source_id, r.target_id))
      AND NOT EXISTS (SELECT 1 FROM assessments a WHERE a.subject_id = s2.id)
      AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.statement_id = s2.id)
)
"""
# One event per change, in the order the changes happened, in one statement (the event
# log's statement-level triggers then run once: the outbox, the badge notifications).
_EVENTS = f"""
INSERT INTO events (resource_type, resource_id, action, version, actor, at)
SELECT type::resource_type, id, action::event_action, version, '{ACTOR}', at FROM (
    SELECT 'organization' AS type, id, 'created' AS action, 1 AS version, created_at AS at FROM organizations
    UNION ALL SELECT 'person', id, 'created', 1, created_at FROM people
    UNION ALL SELECT 'document', id, 'created', 1, created_at FROM documents
    UNION ALL SELECT 'statement', id, 'created', 1, created_at FROM statements
    UNION ALL SELECT 'statement', id, 'deleted', version, deleted_at FROM statements WHERE deleted_at IS NOT NULL
    UNION ALL SELECT 'relation', id, 'created', 1, created_at FROM relations
    UNION ALL SELECT 'assessment', id, 'created', 1, created_at FROM assessments
    UNION ALL SELECT 'assessment', id, 'published', 2, published_at FROM assessments WHERE state <> 'draft'
    UNION ALL SELECT 'assessment', id, 'superseded', 3, published_at + interval '12 hours'
              FROM assessments WHERE state = 'superseded'
    UNION ALL SELECT 'assessment', id, 'retracted', 3, retracted_at FROM assessments WHERE state = 'retracted'
) e
ORDER BY at, type, id
"""


@dataclass(frozen=True)
class Loaded:
    """What was loaded, for the report."""

    size: dict[str, int]
    rows: dict[str, int]
    seconds: float
    steps: dict[str, float]


async def load(conn: asyncpg.Connection, size: Size) -> Loaded:
    """Load the corpus into a migrated, empty database, then VACUUM ANALYZE."""
    started = time.monotonic()
    steps: dict[str, float] = {}
    mark = started

    def step(name: str) -> None:
        nonlocal mark
        now_ = time.monotonic()
        steps[name] = round(now_ - mark, 2)
        mark = now_

    rng = random.Random(SEED)
    now = datetime.now(UTC)
    await conn.execute(f"SELECT setseed({(SEED % 1000) / 1000})")
    async with conn.transaction():
        for statement in _HELPERS:
            await conn.execute(statement)
        words = vocabulary()
        await conn.execute(
            "INSERT INTO bench_vocab VALUES ('full', $1), ('common', $2)",
            words,
            words[: -len(proper_nouns())],
        )

        await conn.copy_records_to_table(
            "organizations",
            records=_organizations(rng, size.organizations, now),
            columns=["kind", "name", "url", "same_as", "created_at", "updated_at"],
        )
        organizations = await conn.fetch("SELECT id, name, kind::text AS kind FROM organizations")
        people, affiliations = _people(rng, size.people, organizations, now)
        await conn.copy_records_to_table(
            "people",
            records=people,
            columns=["id", "name", "aliases", "description", "same_as", "created_at", "updated_at"],
        )
        await conn.copy_records_to_table(
            "affiliations",
            records=affiliations,
            columns=["person_id", "position", "organization_id", "title", "start_on", "end_on"],
        )

        step("organizations and people")
        await conn.execute(_documents_sql(size), TAGS)
        step("documents")
        await conn.execute(_statements_sql(size), TAGS)
        step("statements")
        await conn.execute(
            _APPEARANCES.format(
                owner="statement_id", at="said_at", table="statements", spread="2.6"
            )
        )
        await conn.execute(
            _APPEARANCES.format(owner="document_id", at="NULL", table="documents", spread="2.2")
        )
        step("appearances")
        await conn.execute(_RELATIONS.format(count=size.statements // 4, documents=size.documents))
        step("relations")

        await conn.execute(_PLAN)
        await conn.execute(_PLAN_OLDER)
        statement_verdicts, statement_weights = _labels(STATEMENT_VERDICTS)
        document_verdicts, document_weights = _labels(DOCUMENT_VERDICTS)
        await conn.execute(
            _ASSESSMENTS, statement_verdicts, statement_weights, document_verdicts, document_weights
        )
        step("assessments")
        await conn.execute(_EVIDENCE)
        step("evidence")
        for statement in _WORKFLOW:
            await conn.execute(statement)
        step("workflow")
        await conn.execute(_DELETE_STATEMENTS)
        await conn.execute(_EVENTS)
        step("events")
    step("commit")
    await conn.execute("VACUUM ANALYZE")
    step("vacuum analyze")
    rows = {}
    for table in (
        "organizations",
        "people",
        "affiliations",
        "documents",
        "statements",
        "appearances",
        "relations",
        "assessments",
        "evidence",
        "events",
    ):
        rows[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
    rows["assessments_published"] = await conn.fetchval(
        "SELECT count(*) FROM assessments WHERE state = 'published'"
    )
    rows["assessments_draft"] = await conn.fetchval(
        "SELECT count(*) FROM assessments WHERE state = 'draft'"
    )
    rows["assessments_superseded"] = await conn.fetchval(
        "SELECT count(*) FROM assessments WHERE state = 'superseded'"
    )
    rows["assessments_retracted"] = await conn.fetchval(
        "SELECT count(*) FROM assessments WHERE state = 'retracted'"
    )
    rows["statements_deleted"] = await conn.fetchval(
        "SELECT count(*) FROM statements WHERE deleted_at IS NOT NULL"
    )
    return Loaded(
        size=asdict(size), rows=rows, seconds=round(time.monotonic() - started, 1), steps=steps
    )
