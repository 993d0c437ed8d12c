"""Rendering the badge: a flat two-part SVG and the shields.io endpoint JSON.

Pure functions of the verdict; nothing here touches the database. Every text that
reaches the SVG goes through `html.escape`. The verdict's label and colour are those of
the card too (`views/published/presentation.py`).
"""

from __future__ import annotations

import html
import math

import msgspec

from service.domain.subjects import Verdict
from service.views.badges.schemas import ShieldsBadge
from service.views.published.presentation import (
    BADGE_LABEL,
    WHITE,
    Colour,
    verdict_colour,
    verdict_label,
)

# The badge's left part, "Verification Record", whatever the verdict.
LABEL = Colour("#3d3d3d", WHITE)  # 10.9:1


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
