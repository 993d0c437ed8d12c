from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from service.kit.fields import NON_BLANK
from service.web.auth import Scope

KeyName = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=200,
        pattern=NON_BLANK,
        description="Who uses the key; recorded as `actor` in history.",
        examples=["cms-plugin", "jane.editor"],
    ),
]


Scopes = Annotated[
    list[Scope],
    msgspec.Meta(
        min_length=1,
        max_length=3,
        description="`read`, `write` or `admin`; the highest given counts, and includes the lower.",
        examples=[["write"]],
    ),
]


class ApiKeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: KeyName
    scopes: Scopes
    expires_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None


class ApiKey(msgspec.Struct, kw_only=True):
    """A key as listed: never its secret, only the prefix that identifies it."""

    id: UUID
    name: str
    scopes: list[Scope]
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class NewApiKey(ApiKey, kw_only=True):
    """The key just created, with its secret: shown this once, stored only as a hash."""

    secret: str


class ApiKeyPage(msgspec.Struct, kw_only=True):
    items: list[ApiKey]
    next_cursor: str | None
