"""The shields.io endpoint badge, in shields.io's own field names (`schemaVersion`), not
this API's snake_case: shields.io matches them exactly."""

from __future__ import annotations

from typing import Annotated

import msgspec


class ShieldsBadge(msgspec.Struct, kw_only=True):
    """A shields.io endpoint badge: https://img.shields.io/endpoint?url=<this URL>."""

    schema_version: Annotated[int, msgspec.Meta(examples=[1])] = msgspec.field(name="schemaVersion")
    label: Annotated[str, msgspec.Meta(examples=["Verification Record"])]
    message: Annotated[
        str,
        msgspec.Meta(
            description='The verdict label; "Unverified" while unassessed.',
            examples=["Mostly false"],
        ),
    ]
    color: Annotated[str, msgspec.Meta(description="Hex colour, without `#`.", examples=["bc4c00"])]
