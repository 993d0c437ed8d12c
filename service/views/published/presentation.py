"""How a verdict looks wherever it is shown: its label and its colour (the badge and the
card use the same ones, so that they read alike side by side), the name both carry, and
the clipping of long text. Constants and pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.domain.subjects import VERDICT_LABELS, Verdict

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


def clip(text: str, limit: int) -> str:
    """`text`, cut to at most `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
