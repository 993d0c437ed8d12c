"""Rules for the embeddable card: what it shows, and when it is 404."""

from __future__ import annotations

from uuid import UUID

from service.domain.subjects import SubjectType
from service.kit.db import Connection
from service.views.embeds import render
from service.views.published.service import embed_url, oembed_url, published_subject, record_url


async def card(conn: Connection, subject_type: SubjectType, id: UUID, base_url: str) -> str:
    """The embeddable HTML card of a published subject."""
    subject = await published_subject(conn, subject_type, id)
    return render.card_html(
        subject,
        record_url=record_url(base_url, subject_type, id),
        oembed_url=oembed_url(base_url, embed_url(base_url, subject_type, id)),
    )
