"""How another fact-checker's rating reads as one of our statement verdicts.

Texts first (`alternateName`, else the rating's `name`), compared without case,
punctuation or repeated spaces; the numeric scale when there is no text or the text is
not in the table. Anything else is reported, never guessed.
"""

from __future__ import annotations

import math
import re

from service.domain.subjects import Verdict

# The common English rating texts of fact-checkers (PolitiFact, Snopes, FactCheck.org,
# AFP, Full Fact, Lead Stories, the Washington Post ...) and our own labels, which the
# ClaimReview this service emits carries: README.md lists the same table.
RATING_TEXTS: dict[Verdict, tuple[str, ...]] = {
    Verdict.TRUE: ("true", "correct", "accurate", "verified", "correct attribution"),
    Verdict.MOSTLY_TRUE: ("mostly true", "mostly correct", "mostly accurate", "largely accurate"),
    Verdict.MIXED: (
        "mixed",
        "mixture",
        "half true",
        "partly true",
        "partly false",
        "partially true",
        "partially false",
        "half right",
    ),
    Verdict.MISLEADING: (
        "misleading",
        "missing context",
        "lacks context",
        "needs context",
        "out of context",
        "miscaptioned",
        "distorts the facts",
        "cherry picks",
        "exaggerated",
        "exaggerates",
        "spins the facts",
    ),
    Verdict.MOSTLY_FALSE: (
        "mostly false",
        "barely true",
        "largely false",
        "mostly inaccurate",
        "three pinocchios",
    ),
    Verdict.FALSE: (
        "false",
        "pants on fire",
        "incorrect",
        "inaccurate",
        "wrong",
        "fake",
        "fabricated",
        "hoax",
        "baseless",
        "four pinocchios",
        "incorrect attribution",
        "misattributed",
    ),
    Verdict.UNVERIFIABLE: (
        "unverifiable",
        "unverified",
        "unproven",
        "unsupported",
        "no evidence",
        "not proven",
        "unsubstantiated",
        "cannot be verified",
    ),
}

_BY_TEXT = {text: verdict for verdict, texts in RATING_TEXTS.items() for text in texts}
_NOT_WORDS = re.compile(r"[^\w]+")

# The numeric scale, worst to best: the position of the rating (0 worst, 1 best) at or
# above each bound. Our own ClaimReview rates 1..5 (false 1 ... true 5).
NUMERIC_BOUNDS: tuple[tuple[float, Verdict], ...] = (
    (0.875, Verdict.TRUE),
    (0.625, Verdict.MOSTLY_TRUE),
    (0.375, Verdict.MIXED),
    (0.125, Verdict.MOSTLY_FALSE),
    (0.0, Verdict.FALSE),
)
DEFAULT_BEST, DEFAULT_WORST = 5.0, 1.0


def normalized(text: str) -> str:
    return " ".join(_NOT_WORDS.sub(" ", text.lower()).split())


def from_text(text: str) -> Verdict | None:
    return _BY_TEXT.get(normalized(text))


def from_scale(value: float, best: float | None, worst: float | None) -> Verdict | None:
    """The verdict of `value` on the scale worst..best (schema.org's defaults: 5 and
    1); None when the scale is empty or the value lies outside it."""
    best = DEFAULT_BEST if best is None else best
    worst = DEFAULT_WORST if worst is None else worst
    if not all(math.isfinite(x) for x in (value, best, worst)) or best == worst:
        return None
    position = (value - worst) / (best - worst)
    if not 0.0 <= position <= 1.0:
        return None
    return next(verdict for bound, verdict in NUMERIC_BOUNDS if position >= bound)
