"""Rendering: the badge (SVG and shields.io JSON) and the embeddable HTML card.

Pure functions of what the repository read; nothing here touches the database. Every
stored string that reaches SVG or HTML goes through `html.escape`, and only http(s)
URLs ever become links.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import date, datetime

import msgspec

from service.domain.subjects import VERDICT_LABELS, SubjectType, Verdict
from service.views.distribution.schemas import PublicSubject, ShieldsBadge

BADGE_LABEL = "Verification Record"
UNASSESSED_LABEL = "Unverified"

WHITE = "#ffffff"
INK = "#1f2328"


@dataclass(frozen=True, slots=True)
class Colour:
    """A verdict's background and the text colour that reads on it (WCAG AA, >= 4.5:1)."""

    background: str
    text: str


# One colour per verdict, by what it says: greens for true and authentic, reds for false
# and fabricated, amber for the in-between, grey where nothing could be established.
GREEN = Colour("#1a7f37", WHITE)  # 5.1:1
OLIVE = Colour("#4d7c0f", WHITE)  # 5.0:1
AMBER = Colour("#f5b301", INK)  # 8.5:1
ORANGE = Colour("#f08c00", INK)  # 6.4:1
RUST = Colour("#bc4c00", WHITE)  # 5.0:1
RED = Colour("#b42318", WHITE)  # 6.6:1
GREY = Colour("#6b7280", WHITE)  # 4.8:1
LABEL = Colour("#3d3d3d", WHITE)  # 10.9:1

VERDICT_COLOURS: dict[Verdict, Colour] = {
    Verdict.TRUE: GREEN,
    Verdict.MOSTLY_TRUE: OLIVE,
    Verdict.MIXED: AMBER,
    Verdict.MISLEADING: ORANGE,
    Verdict.MOSTLY_FALSE: RUST,
    Verdict.FALSE: RED,
    Verdict.UNVERIFIABLE: GREY,
    Verdict.AUTHENTIC: GREEN,
    Verdict.LIKELY_AUTHENTIC: OLIVE,
    Verdict.UNVERIFIED: GREY,
    Verdict.DISPUTED: AMBER,
    Verdict.ALTERED: RUST,
    Verdict.FABRICATED: RED,
}


def verdict_label(verdict: Verdict | None) -> str:
    """The human text of a verdict; "Unverified" while there is none."""
    return UNASSESSED_LABEL if verdict is None else VERDICT_LABELS[verdict]


def verdict_colour(verdict: Verdict | None) -> Colour:
    return GREY if verdict is None else VERDICT_COLOURS[verdict]


# ---- badges ---------------------------------------------------------------------------------


# Advance widths of Verdana at 11px (the badge font), from its metrics, rounded up;
# anything else counts as wide. `textLength` then fits the text to exactly this width,
# whichever fallback font the viewer has.
def _widths(characters: str, widths: str) -> dict[str, float]:
    return dict(zip(characters, map(float, widths.split()), strict=True))


_WIDTHS: dict[str, float] = {
    **_widths("abcdefghijklm", "6.7 6.9 5.8 6.9 6.6 3.9 6.9 7.0 3.1 3.7 6.4 3.1 10.7"),
    **_widths("nopqrstuvwxyz", "7.0 6.7 6.9 6.9 4.7 5.8 4.4 7.0 6.4 9.1 6.4 6.4 5.8"),
    **_widths("ABCDEFGHIJKLM", "7.6 7.6 7.7 8.5 7.0 6.4 8.6 8.3 4.7 5.5 7.7 6.2 9.3"),
    **_widths("NOPQRSTUVWXYZ", "8.3 8.7 6.7 8.7 7.7 7.6 6.8 8.1 7.6 10.9 7.6 6.8 7.6"),
    **_widths("0123456789", "7.0 7.0 7.0 7.0 7.0 7.0 7.0 7.0 7.0 7.0"),
    **_widths(" .,:;'-()/", "3.9 4.1 4.1 4.9 4.9 3.0 4.7 5.6 5.6 4.9"),
}
_UNKNOWN_WIDTH = 11.0
_PADDING = 6
_HEIGHT = 20


def text_width(text: str) -> float:
    """Estimated width in pixels of `text` in 11px Verdana (rounded up, so it fits)."""
    return round(sum(_WIDTHS.get(ch, _UNKNOWN_WIDTH) for ch in text), 1)


def badge_svg(verdict: Verdict | None) -> bytes:
    """A flat two-part badge, "Verification Record | <verdict>", readable by screen
    readers (role, aria-label, title) and without ids that could clash when inlined."""
    message = verdict_label(verdict)
    colour = verdict_colour(verdict)
    label_text, message_text = text_width(BADGE_LABEL), text_width(message)
    label_w = math.ceil(label_text + 2 * _PADDING)
    message_w = math.ceil(message_text + 2 * _PADDING)
    width = label_w + message_w
    title = html.escape(f"{BADGE_LABEL}: {message}")
    label_x, message_x = label_w / 2, label_w + message_w / 2
    font = 'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{_HEIGHT}"'
        f' viewBox="0 0 {width} {_HEIGHT}" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        f'<path fill="{LABEL.background}" d="M3 0h{label_w - 3}v{_HEIGHT}H3a3 3 0 0 1-3-3V3a3 3 0 0 1 3-3z"/>'
        f'<path fill="{colour.background}" d="M{label_w} 0h{message_w - 3}a3 3 0 0 1 3 3v14'
        f'a3 3 0 0 1-3 3H{label_w}z"/>'
        f'<g text-anchor="middle" {font}>'
        f'<text x="{label_x:g}" y="14" fill="{LABEL.text}" textLength="{label_text:g}"'
        f' lengthAdjust="spacingAndGlyphs">{html.escape(BADGE_LABEL)}</text>'
        f'<text x="{message_x:g}" y="14" fill="{colour.text}" textLength="{message_text:g}"'
        f' lengthAdjust="spacingAndGlyphs">{html.escape(message)}</text>'
        "</g></svg>"
    ).encode()


def badge_json(verdict: Verdict | None) -> bytes:
    """The shields.io endpoint badge (https://shields.io/badges/endpoint-badge)."""
    badge = ShieldsBadge(
        schema_version=1,
        label=BADGE_LABEL,
        message=verdict_label(verdict),
        color=verdict_colour(verdict).background.removeprefix("#"),
    )
    return msgspec.json.encode(badge)


# ---- the embeddable card --------------------------------------------------------------------

QUOTE_LIMIT = 280
TITLE_LIMIT = 200

_CARD_STYLE = """
*{box-sizing:border-box}
html,body{margin:0;padding:0;background:transparent}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:#1f2328;font-size:16px;line-height:1.45;-webkit-text-size-adjust:100%}
.card{max-width:640px;margin:0 auto;padding:16px 18px;border:1px solid #d0d7de;
border-radius:10px;background:#fff}
.top{display:flex;justify-content:space-between;gap:8px;font-size:12px;color:#59636e;
text-transform:uppercase;letter-spacing:.04em}
.claim{margin:10px 0 6px;font-size:1.15em;font-weight:600;overflow-wrap:anywhere}
blockquote.claim{font-style:italic;font-weight:500}
.who{margin:0 0 12px;color:#59636e;font-size:.9em}
.verdict{display:flex;flex-wrap:wrap;align-items:baseline;gap:8px;margin:0 0 8px}
.pill{display:inline-block;padding:2px 10px;border-radius:999px;font-weight:700;
font-size:.9em;background:var(--verdict-bg);color:var(--verdict-fg)}
.headline{font-size:.95em}
.counts{margin:0 0 12px;font-size:.85em;color:#59636e}
.links{display:flex;flex-wrap:wrap;gap:16px;font-size:.9em}
a{color:#0a58ca}
@media (prefers-color-scheme:dark){body{color:#e6edf3}.card{background:#0d1117;
border-color:#30363d}.top,.who,.counts{color:#9198a1}a{color:#4493f8}}
@media (max-width:420px){.card{padding:12px}.claim{font-size:1.05em}}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def clip(text: str, limit: int) -> str:
    """`text`, cut to at most `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _http_url(url: str | None) -> str | None:
    """Only http(s) URLs become links (never `javascript:` or `data:`)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def _when(moment: datetime | date | None) -> tuple[str, str] | None:
    """(machine, human) forms of a date, e.g. ("2020-01-06", "6 January 2020")."""
    if moment is None:
        return None
    day = moment.date() if isinstance(moment, datetime) else moment
    return day.isoformat(), f"{day.day} {day:%B %Y}"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


NAMED_CORROBORATORS = 3


def _corroborators(subject: PublicSubject) -> str:
    """Who corroborates it, escaped: up to three names ("Reuters, AFP and The Washington
    Post", "…, AFP and 4 more"), else the count."""
    count = subject.verification.corroborations
    names = [_e(n) for n in subject.assessment.corroborated_by] if subject.assessment else []
    if not names or len(names) != count:
        return _plural(count, "organization", "organizations")
    if count <= NAMED_CORROBORATORS:
        return names[0] if count == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{', '.join(names[:NAMED_CORROBORATORS])} and {count - NAMED_CORROBORATORS} more"


def card_html(subject: PublicSubject, *, record_url: str, oembed_url: str) -> str:
    """A self-contained HTML card of the subject's verification: no scripts, no external
    styles, fonts or images; system fonts; fits a phone."""
    verdict = subject.verification.verdict
    label = verdict_label(verdict)
    colour = verdict_colour(verdict)
    is_statement = subject.type == SubjectType.STATEMENT
    kind = "Statement" if is_statement else "Document"
    if is_statement:
        claim = f'<blockquote class="claim">“{_e(clip(subject.claim, QUOTE_LIMIT))}”</blockquote>'
    else:
        claim = f'<h1 class="claim">{_e(clip(subject.claim, TITLE_LIMIT))}</h1>'

    who_parts = []
    if subject.author is not None:
        who_parts.append(_e(subject.author.name))
    when = _when(subject.said_at if is_statement else subject.dated_on)
    if when is not None:
        who_parts.append(f'<time datetime="{when[0]}">{when[1]}</time>')
    who = ""
    if who_parts:
        prefix = "— " if is_statement else "Issued by " if subject.author else "Dated "
        who = f'<p class="who">{prefix}{", ".join(who_parts)}</p>'

    assessment = subject.assessment
    headline = (
        f'<span class="headline">{_e(assessment.headline)}</span>' if assessment is not None else ""
    )
    counts = [f"Corroborated by {_corroborators(subject)}"]
    if subject.verification.denials:
        counts.append(_plural(subject.verification.denials, "denial", "denials"))

    links = []
    if assessment is not None and (fact_check := _http_url(assessment.url)):
        links.append(
            f'<a href="{_e(fact_check)}" target="_blank" rel="noopener noreferrer">'
            "Read the fact-check</a>"
        )
    links.append(
        f'<a href="{_e(record_url)}" target="_blank" rel="noopener noreferrer">Full record</a>'
    )

    title = f"{label}: {clip(subject.claim, 80)} · {BADGE_LABEL}"
    return (
        "<!doctype html>"
        f'<html lang="{_e(subject.language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{_e(title)}</title>"
        # oEmbed discovery: a CMS given the card's URL finds the embed code itself.
        f'<link rel="alternate" type="application/json+oembed" href="{_e(oembed_url)}"'
        f' title="{_e(title)}">'
        f"<style>:root{{--verdict-bg:{colour.background};--verdict-fg:{colour.text}}}"
        f"{_CARD_STYLE}</style>"
        "</head><body>"
        f'<article class="card" aria-label="{_e(BADGE_LABEL)}: {_e(label)}">'
        f'<div class="top"><span>{_e(BADGE_LABEL)}</span><span>{kind}</span></div>'
        f"{claim}{who}"
        f'<p class="verdict"><span class="pill">{_e(label)}</span>{headline}</p>'
        f'<p class="counts">{" · ".join(counts)}</p>'
        f'<p class="links">{"".join(links)}</p>'
        "</article></body></html>"
    )
