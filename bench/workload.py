"""What each benchmark run sends: request files for bench/wrk/requests.lua, built from
the loaded corpus, and the endpoints with their targets."""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from bench.corpus import LAST_NAMES, PROPER_NOUNS, SEED, vocabulary

HEADER_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Target:
    """The issue's targets for one endpoint (informational: the table marks them)."""

    framework_ratio: float | None = None
    p99_ms: float | None = None
    # Of the write ceiling (raw asyncpg writing the same rows) at the same concurrency.
    write_ratio: float | None = None

    def describe(self) -> str:
        parts = []
        if self.framework_ratio is not None:
            parts.append(f">={self.framework_ratio:g}x fw")
        if self.write_ratio is not None:
            parts.append(f">={self.write_ratio:g}x wr")
        if self.p99_ms is not None:
            parts.append(f"p99<={self.p99_ms:g}ms")
        return ", ".join(parts)


@dataclass(frozen=True)
class Endpoint:
    name: str
    title: str
    connections: int
    expected: frozenset[int]
    # The route template as the metrics name it (vr_http_requests_total{route=...}).
    route: str
    target: Target = field(default_factory=Target)


# The targets are issue #11's (search's, which that table leaves out, the search issue's).
ENDPOINTS = [
    Endpoint(
        "get_statement",
        "GET /v1/statements/{id}",
        64,
        frozenset({200}),
        "/v1/statements/{id:uuid}",
        Target(framework_ratio=0.35, p99_ms=15),
    ),
    Endpoint(
        "list_statements",
        "GET /v1/statements?speaker_id= (25)",
        64,
        frozenset({200}),
        "/v1/statements",
        Target(framework_ratio=0.15, p99_ms=40),
    ),
    Endpoint("search", "GET /v1/search?q=", 16, frozenset({200}), "/v1/search", Target(p99_ms=25)),
    Endpoint(
        "document_record",
        "GET /v1/documents/{id}/record",
        16,
        frozenset({200}),
        "/v1/documents/{id:uuid}/record",
        Target(p99_ms=15),
    ),
    Endpoint(
        "badge_200",
        "GET /v1/badges/statements/{id}.svg",
        64,
        frozenset({200}),
        "/v1/badges/statements/{file:str}",
        Target(framework_ratio=0.6),
    ),
    Endpoint(
        "badge_304",
        "  same, If-None-Match -> 304",
        64,
        frozenset({304}),
        "/v1/badges/statements/{file:str}",
        Target(framework_ratio=0.6),
    ),
    Endpoint(
        "post_statement",
        "POST /v1/statements",
        64,
        frozenset({201}),
        "/v1/statements",
        Target(write_ratio=0.5),
    ),
]
BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}
# The soak's target (issue #11), besides a flat RSS.
SOAK_P99_MS = 60.0

# The soak's mix: mostly reads, as a public record sees them, and a steady stream of writes.
SOAK_MIX = {
    "get_statement": 0.35,
    "list_statements": 0.12,
    "search": 0.05,
    "document_record": 0.05,
    "badge_200": 0.18,
    "badge_304": 0.15,
    "post_statement": 0.10,
}


def line(method: str, path: str, headers: dict[str, str], body: bytes | str = "") -> str:
    text = body.decode() if isinstance(body, bytes) else body
    assert "\t" not in text and "\n" not in text
    pairs = HEADER_SEPARATOR.join(f"{name}: {value}" for name, value in headers.items())
    return f"{method}\t{path}\t{pairs}\t{text}"


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Workload:
    """The request files, and what the report says about them."""

    directory: Path
    files: dict[str, Path]
    stats: dict[str, Any]
    badge_paths: list[str]


def search_queries(rng: random.Random, count: int) -> list[str]:
    """What readers type: a topic word, two words, a place or name with a word, a
    person's name, a quoted phrase, a type-ahead prefix (`withdr*`), a misspelling (a
    letter dropped or two swapped, answered with a suggestion)."""
    words = vocabulary()
    common, rare = words[:800], words[-PROPER_NOUNS:]
    queries = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.15:
            queries.append(rng.choice(common[100:]))
        elif kind < 0.40:
            queries.append(" ".join(rng.sample(common[20:400], 2)))
        elif kind < 0.60:
            queries.append(f"{rng.choice(rare[:3000])} {rng.choice(common[:200])}")
        elif kind < 0.72:
            queries.append(rng.choice(LAST_NAMES))
        elif kind < 0.82:
            queries.append('"' + " ".join(rng.sample(common[:60], 2)) + '"')
        elif kind < 0.91:
            word = rng.choice([w for w in common[100:] if len(w) >= 6])
            queries.append(word[: rng.randint(3, 5)] + "*")
        else:
            word = rng.choice([w for w in common[100:] if len(w) >= 6])
            at = rng.randint(1, len(word) - 2)
            typo = (
                word[:at] + word[at + 1 :]
                if rng.random() < 0.5
                else (word[:at] + word[at + 1] + word[at] + word[at + 2 :])
            )
            queries.append(typo)
    return queries


async def _search_hits(conn: asyncpg.Connection, queries: list[str]) -> list[int]:
    """How many published statements and documents each query matches."""
    hits = []
    for q in queries:
        hits.append(
            await conn.fetchval(
                """SELECT (SELECT count(*) FROM statements
                           WHERE deleted_at IS NULL AND visibility = 'public'
                             AND search @@ search_query($1, '{}'::text[]))
                        + (SELECT count(*) FROM documents
                           WHERE deleted_at IS NULL AND visibility = 'public'
                             AND search @@ search_query($1, '{}'::text[]))""",
                q,
            )
        )
    return hits


async def prepare(
    conn: asyncpg.Connection, directory: Path, read_key: str, write_key: str
) -> Workload:
    """Pick ids from the corpus and write the request files (except badge_304's, which
    needs the ETags the server sends: see `badge_304_file`)."""
    from urllib.parse import quote

    rng = random.Random(SEED)
    reader = {"Authorization": f"Bearer {read_key}"}
    files: dict[str, Path] = {}
    stats: dict[str, Any] = {}

    statement_ids = [
        r["id"]
        for r in await conn.fetch(
            """SELECT id FROM statements WHERE deleted_at IS NULL AND visibility = 'public'
               ORDER BY random() LIMIT 10000"""
        )
    ]
    files["get_statement"] = write_lines(
        directory / "get_statement.txt",
        [line("GET", f"/v1/statements/{id}", reader) for id in statement_ids],
    )
    stats["get_statement"] = {"distinct_ids": len(statement_ids)}

    speakers = await conn.fetch(
        """SELECT speaker_id, count(*) AS statements FROM statements
           WHERE deleted_at IS NULL AND visibility = 'public'
           GROUP BY speaker_id HAVING count(*) > 25 ORDER BY random() LIMIT 500"""
    )
    files["list_statements"] = write_lines(
        directory / "list_statements.txt",
        [
            line("GET", f"/v1/statements?speaker_id={r['speaker_id']}&limit=25", reader)
            for r in speakers
        ],
    )
    stats["list_statements"] = {
        "speakers": len(speakers),
        "median_statements_per_speaker": statistics.median(r["statements"] for r in speakers),
    }

    queries = search_queries(rng, 300)
    files["search"] = write_lines(
        directory / "search.txt",
        [line("GET", f"/v1/search?q={quote(q)}", reader) for q in queries],
    )
    hits = await _search_hits(conn, queries[:100])
    published = await conn.fetchval(
        """SELECT (SELECT count(*) FROM statements WHERE deleted_at IS NULL AND visibility = 'public')
                + (SELECT count(*) FROM documents WHERE deleted_at IS NULL AND visibility = 'public')"""
    )
    stats["search"] = {
        "queries": len(queries),
        "examples": queries[:6],
        "median_hits": statistics.median(hits),
        "p90_hits": sorted(hits)[int(len(hits) * 0.9)],
        "median_hit_share_percent": round(statistics.median(hits) / max(published, 1) * 100, 2),
        "queries_without_hits": sum(1 for h in hits if h == 0),
        "sampled": len(hits),
    }

    documents = await conn.fetch(
        """SELECT d.id, (SELECT count(*) FROM relations r WHERE r.deleted_at IS NULL
                          AND d.id IN (r.source_id, r.target_id)) AS related
           FROM documents d
           WHERE d.deleted_at IS NULL AND d.visibility = 'public'
             AND EXISTS (SELECT 1 FROM relations r WHERE r.deleted_at IS NULL
                         AND d.id IN (r.source_id, r.target_id))
           ORDER BY random() LIMIT 1000"""
    )
    files["document_record"] = write_lines(
        directory / "document_record.txt",
        [line("GET", f"/v1/documents/{r['id']}/record", reader) for r in documents],
    )
    related = [r["related"] for r in documents]
    stats["document_record"] = {
        "documents": len(documents),
        "median_relations": statistics.median(related),
        "max_relations": max(related),
    }

    # Badges of statements: most assessed (the ones CMSs embed), some still unassessed.
    badge_ids = [
        r["id"]
        for r in await conn.fetch(
            """(SELECT s.id FROM statements s
                WHERE s.deleted_at IS NULL AND s.visibility = 'public'
                  AND EXISTS (SELECT 1 FROM assessments a WHERE a.subject_id = s.id
                              AND a.state = 'published')
                ORDER BY random() LIMIT 1600)
               UNION ALL
               (SELECT s.id FROM statements s
                WHERE s.deleted_at IS NULL AND s.visibility = 'public'
                  AND NOT EXISTS (SELECT 1 FROM assessments a WHERE a.subject_id = s.id
                                  AND a.state = 'published')
                ORDER BY random() LIMIT 400)"""
        )
    ]
    badge_paths = [f"/v1/badges/statements/{id}.svg" for id in badge_ids]
    files["badge_200"] = write_lines(
        directory / "badge_200.txt", [line("GET", path, {}) for path in badge_paths]
    )
    stats["badge_200"] = {"distinct_badges": len(badge_paths)}

    people = [
        r["id"] for r in await conn.fetch("SELECT id FROM people ORDER BY random() LIMIT 200")
    ]
    outlets = [
        r["id"] for r in await conn.fetch("SELECT id FROM organizations WHERE kind = 'news_outlet'")
    ]
    words = vocabulary()
    writer = {
        "Authorization": f"Bearer {write_key}",
        "Content-Type": "application/json",
        "Idempotency-Key": "bench-{{n}}",
    }
    posts = []
    for index in range(200):
        body = {
            "speaker_id": str(people[index % len(people)]),
            "text": "Benchmark statement {{n}}: " + " ".join(rng.choices(words[:400], k=20)),
            "said_at": "2026-11-01T12:00:00Z",
            "medium": "press_briefing",
            "context": " ".join(rng.choices(words, k=12)),
            "tags": ["bench"],
            "appearances": [
                {
                    "url": "https://news.example.org/bench/{{n}}",
                    "publisher_id": str(rng.choice(outlets)),
                }
            ],
        }
        posts.append(line("POST", "/v1/statements", writer, msgspec.json.encode(body)))
    files["post_statement"] = write_lines(directory / "post_statement.txt", posts)
    stats["post_statement"] = {"bodies": len(posts), "idempotency_key": "unique per request"}

    return Workload(directory=directory, files=files, stats=stats, badge_paths=badge_paths)


def badge_304_file(workload: Workload, etags: dict[str, str]) -> Path:
    """badge_304's requests: each badge with the ETag the server sent for it."""
    path = write_lines(
        workload.directory / "badge_304.txt",
        [line("GET", p, {"If-None-Match": etag}) for p, etag in etags.items()],
    )
    workload.files["badge_304"] = path
    workload.stats["badge_304"] = {"distinct_badges": len(etags)}
    return path


def soak_file(workload: Workload) -> Path:
    """A mix of every endpoint's requests in SOAK_MIX proportions."""
    rng = random.Random(SEED)
    lines: list[str] = []
    for name, share in SOAK_MIX.items():
        source = workload.files[name].read_text(encoding="utf-8").splitlines()
        lines.extend(rng.choices(source, k=round(2000 * share)))
    rng.shuffle(lines)
    path = write_lines(workload.directory / "soak.txt", lines)
    workload.files["soak"] = path
    return path


def first_request(path: Path) -> tuple[str, str, dict[str, str], bytes]:
    """The first request of a file (for the pre-flight check), placeholders filled."""
    method, target, pairs, body = path.read_text(encoding="utf-8").splitlines()[0].split("\t")
    token = f"preflight-{UUID(int=random.getrandbits(128))}"
    headers = {}
    for pair in filter(None, pairs.split(HEADER_SEPARATOR)):
        name, value = pair.split(": ", 1)
        headers[name] = value.replace("{{n}}", token)
    return method, target, headers, body.replace("{{n}}", token).encode()
