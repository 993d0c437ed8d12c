"""The oEmbed 1.0 answer, in the spec's own field names: consumers match them exactly."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec


class OEmbed(msgspec.Struct, kw_only=True):
    """An oEmbed 1.0 `rich` response (https://oembed.com): `html` is an iframe of the card."""

    version: Literal["1.0"]
    type: Literal["rich"]
    html: str
    width: int
    height: int
    title: str
    provider_name: str
    provider_url: str
    cache_age: Annotated[int, msgspec.Meta(description="Seconds a consumer may keep this.")]
