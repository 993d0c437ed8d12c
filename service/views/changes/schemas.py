from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from service.domain.history.schemas import EventAction, FeedPosition, ResourceType


class Change(msgspec.Struct, kw_only=True):
    """One change to one resource. The feed says what changed, not how: fetch the
    resource (`GET /v1/{collection}/{resource_id}`) for its current state, or its
    history for the changed fields."""

    id: Annotated[int, msgspec.Meta(description="The event's id (unique, not a position).")]
    type: Annotated[ResourceType, msgspec.Meta(description="The type of the changed resource.")]
    resource_id: UUID
    action: EventAction
    version: Annotated[int, msgspec.Meta(description="The resource's version after the change.")]
    at: datetime


class ChangePage(msgspec.Struct, kw_only=True):
    items: list[Change]
    next_cursor: Annotated[
        str,
        msgspec.Meta(
            description="Where to continue. Always present: the feed has no last page; "
            "keep it and ask again later when `items` is empty."
        ),
    ]


class FeedSlice(msgspec.Struct, kw_only=True):
    """What one read of the log found (internal, not part of the API).

    `last` is the position of the last item; `end` that of the newest event below the
    horizon whatever the audience and filters, so a reader can step over events it may
    not see instead of scanning them again on every call.
    """

    items: list[Change]
    last: FeedPosition | None
    end: FeedPosition | None
