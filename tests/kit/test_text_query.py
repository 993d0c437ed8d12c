"""Splitting what people type into web-search text and `word*` prefixes."""

from __future__ import annotations

import pytest

from service.kit.text_query import TextQuery, correctable_words, parse, replace_words


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("withdr*", TextQuery(text="", prefixes=["withdr"])),
        ("leave Iraq Withdr* -denial", TextQuery(text="leave Iraq -denial", prefixes=["withdr"])),
        ("العرا*", TextQuery(text="", prefixes=["العرا"])),
        # Inside a phrase, too short, or inside a token: not a prefix, left as typed.
        (
            '"troops withdr*" esper',
            TextQuery(text='"troops withdr*" esper', prefixes=[], phrases=["troops withdr*"]),
        ),
        ("ab* x-ray* a*b", TextQuery(text="ab* x-ray* a*b", prefixes=[])),
        ("it's o'brien*", TextQuery(text="it's o'brien*", prefixes=[])),
    ],
)
def test_prefixes_are_split_from_the_rest(typed: str, parsed: TextQuery) -> None:
    assert parse(typed) == parsed


@pytest.mark.parametrize(
    ("typed", "phrases"),
    [
        ('"leave Iraq" decision', ["leave Iraq"]),
        ('"a b" "c d" withdr*', ["a b", "c d"]),
        # Excluded (with or without a space after the minus), or possibly optional
        # beside an `or`: not a phrase every match holds.
        ('-"a b" c', []),
        ('- "a b" c', []),
        ('"a b" or c', []),
        ('c OR "a b"', []),
        # Unclosed or empty: nothing to require.
        ('"a b', []),
        ('"" x', []),
        # "or" inside the phrase is a word of it.
        ('"this or that"', ["this or that"]),
    ],
)
def test_required_phrases_are_found(typed: str, phrases: list[str]) -> None:
    assert parse(typed).phrases == phrases


def test_only_plain_words_are_corrected() -> None:
    assert correctable_words('Withdrawl "from Iraq" -troops or lettr*') == ["withdrawl"]
    assert replace_words('Withdrawl "withdrawl" or', {"withdrawl": "withdrawal"}) == (
        'withdrawal "withdrawl" or'
    )
