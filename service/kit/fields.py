"""Constrained field types shared by the request Structs of every resource.

The same rules stand in the database as CHECK constraints; these give the caller a
precise 422 before the database is asked.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

# Each pattern is read by two regex engines: Python's `re` (msgspec, on the way in) and
# ECMA 262 (the JSON Schema of the OpenAPI document, in clients and validators). They
# disagree on `\s` (only Python counts \x1c-\x1f and \x85 as space, only ECMA \ufeff)
# and on `$` (Python's also matches before a final newline), so the patterns here spell
# both out: BLANK is every character either engine calls white space, END the very end.
BLANK = r"\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NON_BLANK = f"[^{BLANK}]"
END = r"$(?!\n)"

Name = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=500,
        pattern=NON_BLANK,
        description="Non-blank, at most 500 characters.",
    ),
]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=1000, pattern=NON_BLANK)]
ShortText = Annotated[str, msgspec.Meta(max_length=2000)]
LongText = Annotated[str, msgspec.Meta(max_length=200_000)]
Quote = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=20_000,
        pattern=NON_BLANK,
        description="The verbatim quote, non-blank.",
    ),
]
HttpUrl = Annotated[
    str,
    msgspec.Meta(
        pattern=f"^[hH][tT][tT][pP][sS]?://[^{BLANK}/$.?#][^{BLANK}]*{END}",
        max_length=2048,
        description="An absolute http(s) URL.",
        examples=["https://www.wikidata.org/wiki/Q11209"],
    ),
]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=f"^[^{BLANK},][^,]*{END}")]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=50)]
UrlList = Annotated[list[HttpUrl], msgspec.Meta(max_length=50)]
Aliases = Annotated[list[Name], msgspec.Meta(max_length=50)]
LanguageTag = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*" + END,
        max_length=35,
        description="A BCP 47 language tag.",
        examples=["en", "ar-IQ"],
    ),
]
# RFC 3339 demands an offset; a timestamp without one would be read in the server's
# local zone when stored, so it is refused rather than guessed.
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
Sha256 = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9a-f]{64}" + END,
        description="SHA-256 of the original file, 64 lowercase hex digits.",
    ),
]


class Visibility(StrEnum):
    """`internal` keeps a leak under verification private to the newsroom."""

    PUBLIC = "public"
    INTERNAL = "internal"
