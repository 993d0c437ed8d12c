"""Rendering the embeddable card: a self-contained HTML page of a subject's verification.

Pure functions of what the repository read; nothing here touches the database. Every
stored string that reaches HTML goes through `html.escape`, and only http(s) URLs ever
become links. The verdict's label and colour are those of the badge too
(`views/published/presentation.py`).
"""

from __future__ import annotations

import html
from datetime import date, datetime

from service.domain.subjects import SubjectType
from service.views.published.presentation import BADGE_LABEL, clip, verdict_colour, verdict_label
from service.views.published.schemas import PublicSubject

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
