"""Constrained field types shared by the request Structs of every resource.

The same rules stand in the database as CHECK constraints; these give the caller a
precise 422 before the database is asked.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

Name = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=500,
        pattern=r"\S",
        description="Non-blank, at most 500 characters.",
    ),
]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=1000, pattern=r"\S")]
ShortText = Annotated[str, msgspec.Meta(max_length=2000)]
LongText = Annotated[str, msgspec.Meta(max_length=200_000)]
Quote = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=20_000, pattern=r"\S", description="The verbatim quote, non-blank."
    ),
]
HttpUrl = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[hH][tT][tT][pP][sS]?://[^\s/$.?#][^\s]*$",
        max_length=2048,
        description="An absolute http(s) URL.",
        examples=["https://www.wikidata.org/wiki/Q11209"],
    ),
]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\s,][^,]*$")]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=50)]
UrlList = Annotated[list[HttpUrl], msgspec.Meta(max_length=50)]
Aliases = Annotated[list[Name], msgspec.Meta(max_length=50)]
LanguageTag = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
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
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the original file, 64 lowercase hex digits.",
    ),
]


class Visibility(StrEnum):
    """`internal` keeps a leak under verification private to the newsroom."""

    PUBLIC = "public"
    INTERNAL = "internal"
