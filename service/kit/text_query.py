"""What people type into a search box, split for PostgreSQL: `withdr*` (a word that ends
in `*`) asks for words that start with it, which web-search syntax cannot say; the rest
(words, "quoted phrases", -excluded, or) goes to `websearch_to_tsquery` as typed.

Only letters and digits make a prefix, so nothing typed reaches `to_tsquery`'s own
syntax (which raises on what it cannot parse)."""

from __future__ import annotations

import re

import msgspec

# A word of letters or digits (any script) followed by `*`, not inside a longer token;
# three characters at least: "a*" would match most of the record and rank all of it.
_PREFIX = re.compile(r"(?<![\w\"'-])(\w{3,})\*+(?=\s|$)")
_QUOTED = re.compile(r'"[^"]*"?')
# What may be corrected: plain words, not phrases, exclusions, `or` or prefixes.
_WORD = re.compile(r"(?<![\w\"*-])([^\W\d_]{3,40})(?![\w*])")


# A closed quoted phrase; it is excluded when a `-` comes before it, even with spaces
# between (`- "a b"` is `!('a' <-> 'b')` to websearch_to_tsquery).
_CLOSED_PHRASE = re.compile(r'"([^"]*)"')
_OR = re.compile(r"(?<![\w-])or(?!\w)", re.IGNORECASE)


class TextQuery(msgspec.Struct, frozen=True):
    """A query as the database takes it: `text` in web-search syntax, `prefixes` to
    match as the start of a word (lower case), `phrases` the quoted phrases of `text`
    that every match holds (none when the query has an `or`, which may make any of
    them optional): what the index of word pairs narrows a search by."""

    text: str
    prefixes: list[str]
    phrases: list[str] = []


def parse(q: str) -> TextQuery:
    prefixes = [match.lower() for match in _PREFIX.findall(_QUOTED.sub(" ", q))]
    text = " ".join((_PREFIX.sub(" ", q) if prefixes else q).split())
    return TextQuery(text=text, prefixes=prefixes, phrases=_required_phrases(text))


def _required_phrases(text: str) -> list[str]:
    if _OR.search(_QUOTED.sub(" ", text)):
        return []
    return [
        match.group(1)
        for match in _CLOSED_PHRASE.finditer(text)
        if match.group(1).strip() and not text[: match.start()].rstrip().endswith("-")
    ]


def correctable_words(q: str) -> list[str]:
    """The plain words of `q` (outside quotes; not excluded, not prefixes, not `or`), in
    order, lower case: what a spelling suggestion may replace."""
    outside_quotes = _QUOTED.sub(" ", q)
    return [w.lower() for w in _WORD.findall(outside_quotes) if w.lower() != "or"]


def replace_words(q: str, corrections: dict[str, str]) -> str:
    """`q` with each corrected plain word replaced (case-insensitively), the rest as typed."""

    def fix(match: re.Match[str]) -> str:
        return corrections.get(match.group(1).lower(), match.group(1))

    parts = re.split(r'("[^"]*"?)', q)
    return "".join(part if part.startswith('"') else _WORD.sub(fix, part) for part in parts)
