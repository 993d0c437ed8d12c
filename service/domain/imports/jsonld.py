"""Reading schema.org ClaimReview JSON-LD as publishers emit it.

Publishers differ: one object, an array, a `@graph` (whose nodes refer to each other by
`@id`), a `DataFeed` whose `dataFeedElement` holds the reviews (bare, or inside
`DataFeedItem.item`); `@context` in its http and https forms; `author` as Organization,
Person or a list; dates as ISO 8601, as "January 5, 2021", as "3 days ago". Each review
is read on its own: what it lacks is reported as errors of that review, by field.
"""

from __future__ import annotations

import contextlib
import email.utils
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import msgspec

from service.domain.imports import ratings
from service.domain.subjects import Verdict
from service.kit.errors import FieldError, InvalidInput
from service.kit.fields import BLANK, END

_HTTP_URL = re.compile(f"^[hH][tT][tT][pP][sS]?://[^{BLANK}/$.?#][^{BLANK}]*{END}")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*" + END)
_RELATIVE = re.compile(
    r"^(?P<n>\d+|an?|one)\s+(?P<unit>second|minute|hour|day|week|month|year)s?\s+ago$"
)
_UNITS = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=30),
    "year": timedelta(days=365),
}
_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d", "%B %Y")

MAX_NAME, MAX_QUOTE, MAX_URL, MAX_TEXT = 500, 20_000, 2048, 200_000
MAX_HEADLINE, MAX_APPEARANCES, MAX_SAME_AS = 120, 200, 50


class Party(msgspec.Struct, kw_only=True, frozen=True):
    """An Organization or a Person as the markup names it."""

    name: str
    url: str | None = None
    same_as: tuple[str, ...] = ()
    is_person: bool = False


class Seen(msgspec.Struct, kw_only=True, frozen=True):
    """An appearance of the claim."""

    url: str
    published_at: datetime | None = None


class Review(msgspec.Struct, kw_only=True):
    """One ClaimReview of the body, read: `errors` says what made it unusable (then
    the rest may be missing) and what was left out (then it is still imported)."""

    index: int
    url: str | None = None
    errors: list[FieldError] = msgspec.field(default_factory=list)
    usable: bool = True
    claim: str = ""
    organization: Party | None = None
    claimant: Party | None = None
    said_at: datetime | None = None
    appearances: list[Seen] = msgspec.field(default_factory=list)
    verdict: Verdict | None = None
    headline: str = ""
    explanation: str | None = None
    language: str = "en"

    def refuse(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field=field, message=message))
        self.usable = False

    def note(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field=field, message=message))


# ---- the body's shapes ------------------------------------------------------------------


def _type_names(node: Any) -> set[str]:
    """`@type` without its vocabulary: "ClaimReview", "schema:ClaimReview" and
    "https://schema.org/ClaimReview" are the same type."""
    if not isinstance(node, dict):
        return set()
    value = node.get("@type", node.get("type"))
    values = value if isinstance(value, list) else [value]
    return {re.split(r"[/:#]", v)[-1] for v in values if isinstance(v, str)}


def _is_review(node: Any) -> bool:
    return "ClaimReview" in _type_names(node)


def _resolver(nodes: list[Any]) -> dict[str, Any]:
    return {n["@id"]: n for n in nodes if isinstance(n, dict) and isinstance(n.get("@id"), str)}


def _resolve(value: Any, by_id: dict[str, Any], depth: int = 0) -> Any:
    """A `@graph`'s references (`{"@id": ...}` alone) replaced by the nodes they name."""
    if depth > 8:
        return value
    if isinstance(value, list):
        return [_resolve(v, by_id, depth + 1) for v in value]
    if isinstance(value, dict):
        if set(value) == {"@id"} and value["@id"] in by_id:
            return _resolve(by_id[value["@id"]], by_id, depth + 1)
        return {k: _resolve(v, by_id, depth + 1) for k, v in value.items()}
    return value


def reviews_of(body: Any) -> list[Any]:
    """The body's ClaimReviews, in order; an entry of an array or a feed that is none is
    kept as it is (and reported as skipped). 422 when there is no ClaimReview at all."""
    entries: list[Any]
    if isinstance(body, list):
        entries = body
    elif isinstance(body, dict) and isinstance(body.get("@graph"), list):
        graph = body["@graph"]
        by_id = _resolver(graph)
        # A graph holds other nodes too (the publisher, the page): only reviews count.
        entries = [_resolve(n, by_id) for n in graph if _is_review(n)]
        feeds = [n for n in graph if "DataFeed" in _type_names(n)]
        for feed in feeds:
            entries += _feed_entries(_resolve(feed, by_id))
    elif isinstance(body, dict) and "dataFeedElement" in body:
        entries = _feed_entries(body)
    else:
        entries = [body]
    if not any(_is_review(e) for e in entries):
        raise InvalidInput(
            "the body holds no schema.org ClaimReview: send one, an array of them, a "
            "@graph or a DataFeed whose dataFeedElement holds them",
            errors=[FieldError(field="@type", message="no ClaimReview in the body")],
        )
    return entries


def _feed_entries(feed: dict[str, Any]) -> list[Any]:
    elements = feed.get("dataFeedElement")
    entries: list[Any] = []
    for element in elements if isinstance(elements, list) else [elements]:
        if isinstance(element, dict) and not _is_review(element) and "item" in element:
            items = element["item"]
            entries += items if isinstance(items, list) else [items]
        else:
            entries.append(element)
    return entries


# ---- values -----------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if _text(v)), None)
    if isinstance(value, dict):
        value = value.get("@value", value.get("name"))
    if isinstance(value, str):
        # PostgreSQL text cannot hold NUL; it never means anything in a quote or a name.
        text = " ".join(value.replace("\x00", "").split())
        return text or None
    return None


def _url(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("url", value.get("@id"))
    if isinstance(value, str):
        url = value.strip()
        if len(url) <= MAX_URL and "\x00" not in url and _HTTP_URL.match(url):
            return url
    return None


def _urls(value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    return tuple(dict.fromkeys(u for v in values if (u := _url(v))))[:MAX_SAME_AS]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def moment(value: Any, now: datetime) -> datetime | None:
    """A date as publishers write it, in UTC when it names no offset; `now` anchors
    "3 days ago". Raises ValueError when it reads as no date at all."""
    if isinstance(value, dict):
        value = value.get("@value")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("not a date")
    text = " ".join(value.strip().split())
    lowered = text.lower()
    if lowered in ("today", "just now", "now"):
        return now
    if lowered == "yesterday":
        return now - timedelta(days=1)
    if match := _RELATIVE.match(lowered):
        n = match["n"]
        count = int(n) if n.isdigit() else 1
        return now - count * _UNITS[match["unit"]]
    parsed: datetime | None = None
    # ISO 8601, a space in place of the T included (Python 3.11 reads both).
    with contextlib.suppress(ValueError):
        parsed = datetime.fromisoformat(text)
    if parsed is None:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        for pattern in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"{text!r} is not a date this import can read")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date(review: Review, field: str, value: Any, now: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        return moment(value, now)
    except (ValueError, OverflowError, OSError) as exc:
        review.note(field, f"{exc}; left out")
        return None


def _party(value: Any) -> Party | None:
    if isinstance(value, str):
        name = _text(value)
        return Party(name=name) if name else None
    if not isinstance(value, dict):
        return None
    url = _url(value.get("url"))
    # schema.org's own example names its fact-checker by URL alone: the host stands in.
    name = _text(value.get("name")) or _text(value.get("alternateName"))
    name = name or (urlsplit(url).hostname if url else None)
    if name is None:
        return None
    return Party(
        name=name,
        url=url,
        same_as=_urls(value.get("sameAs")),
        is_person="Person" in _type_names(value),
    )


def _parties(value: Any) -> list[Party]:
    values = value if isinstance(value, list) else [value]
    return [p for v in values if (p := _party(v)) is not None]


def _language(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("alternateName", value.get("name"))
    if isinstance(value, str) and len(value) <= 35 and _LANGUAGE.match(value.strip()):
        return value.strip()
    return None


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---- one review ---------------------------------------------------------------------------


def read(index: int, node: Any, now: datetime) -> Review:
    """Read one entry of the body as a review to import."""
    review = Review(index=index)
    if not _is_review(node):
        review.refuse("@type", "not a ClaimReview")
        return review
    assert isinstance(node, dict)
    review.url = _url(node.get("url"))
    if review.url is None:
        review.refuse("url", "the review's URL is missing or not an absolute http(s) URL")

    claim = _text(node.get("claimReviewed"))
    if claim is None:
        review.refuse("claimReviewed", "the claim reviewed is missing")
    elif len(claim) > MAX_QUOTE:
        review.refuse("claimReviewed", f"the claim is longer than {MAX_QUOTE} characters")
    else:
        review.claim = claim

    authors = _parties(node.get("author"))
    organizations = [p for p in authors if not p.is_person]
    organizations += [p for p in _parties(node.get("publisher")) if not p.is_person]
    if organizations:
        review.organization = organizations[0]
    else:
        review.refuse("author", "no reviewing Organization (as author or publisher)")

    item = node.get("itemReviewed")
    item = item[0] if isinstance(item, list) and item else item
    item = item if isinstance(item, dict) else {}
    claimants = _parties(item.get("author"))
    if claimants:
        review.claimant = claimants[0]
    else:
        review.refuse("itemReviewed.author", "the claimant (the claim's author) is missing")
    for field, party in (("author", review.organization), ("itemReviewed.author", review.claimant)):
        if party is not None and len(party.name) > MAX_NAME:
            review.refuse(f"{field}.name", f"longer than {MAX_NAME} characters")

    reviewed_at = _date(review, "datePublished", node.get("datePublished"), now)
    review.said_at = _date(
        review, "itemReviewed.datePublished", item.get("datePublished"), reviewed_at or now
    )
    _appearances(review, item, reviewed_at or now)
    _rating(review, node.get("reviewRating"))

    headline = _text(node.get("headline")) or _text(node.get("name"))
    if headline is None and review.verdict is not None:
        headline = (
            f"{_rating_text(node.get('reviewRating')) or review.verdict.value}: {review.claim}"
        )
    review.headline = _shorten(headline or review.claim or "-", MAX_HEADLINE)
    explanation = _text(node.get("description")) or _text(node.get("reviewBody"))
    review.explanation = _shorten(explanation, MAX_TEXT) if explanation else None
    review.language = _language(node.get("inLanguage")) or _language(item.get("inLanguage")) or "en"
    return review


def _appearances(review: Review, item: dict[str, Any], now: datetime) -> None:
    first = item.get("firstAppearance")
    listed = item.get("appearance")
    works = [first] if first is not None else []
    works += listed if isinstance(listed, list) else ([listed] if listed is not None else [])
    seen: dict[str, Seen] = {}
    for position, work in enumerate(works):
        url = _url(work)
        if url is None:
            review.note(f"itemReviewed.appearance[{position}]", "no http(s) URL; left out")
            continue
        if url in seen:
            continue
        published = work.get("datePublished") if isinstance(work, dict) else None
        at = _date(review, f"itemReviewed.appearance[{position}].datePublished", published, now)
        seen[url] = Seen(url=url, published_at=at)
    if len(seen) > MAX_APPEARANCES:
        review.note("itemReviewed.appearance", f"only the first {MAX_APPEARANCES} are kept")
    review.appearances = list(seen.values())[:MAX_APPEARANCES]


def _rating_text(rating: Any) -> str | None:
    if not isinstance(rating, dict):
        return None
    return _text(rating.get("alternateName")) or _text(rating.get("name"))


def _rating(review: Review, rating: Any) -> None:
    rating = rating[0] if isinstance(rating, list) and rating else rating
    if not isinstance(rating, dict):
        review.refuse("reviewRating", "the rating is missing")
        return
    text = _rating_text(rating)
    verdict = ratings.from_text(text) if text else None
    if verdict is None:
        value = _number(rating.get("ratingValue"))
        if value is not None:
            verdict = ratings.from_scale(
                value, _number(rating.get("bestRating")), _number(rating.get("worstRating"))
            )
    if verdict is None:
        said = f"{text!r}" if text else "no text"
        review.refuse(
            "reviewRating",
            f"the rating ({said}, ratingValue {rating.get('ratingValue')!r}) maps to no "
            "verdict: its text is not in the rating table and it has no usable numeric scale",
        )
        return
    review.verdict = verdict
