"""The public read of one statement or document, which embeds, oEmbed and ClaimReview
share: the subject, or 404 unless it is published, and the public URLs that name it.

Badges, the embeddable card, oEmbed and ClaimReview are how verification leaves the
service for other people's pages. All of it is public content: it is read with the
public audience whoever asks, so an internal leak or a draft never shows, not even to a
newsroom key. What they share lives in this folder, which imports none of theirs:

- this module: the published subject and its URLs;
- `schemas.py`: `PublicSubject` and its parts, as the read returns them;
- `repository.py`: the SQL of that read (and the live-and-public condition that the
  badges' own query uses too);
- `responses.py`: the response with its ETag and public cache policy;
- `presentation.py`: a verdict's label and colour, the same on the badge and the card.
"""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

from service.domain.subjects import SubjectType
from service.kit.db import Connection
from service.kit.errors import NotFound
from service.views.published import repository
from service.views.published.schemas import PublicSubject

COLLECTIONS = {SubjectType.STATEMENT: "statements", SubjectType.DOCUMENT: "documents"}
SUBJECT_TYPES = {collection: subject_type for subject_type, collection in COLLECTIONS.items()}

PROVIDER_NAME = "Verification Record"


def record_url(base_url: str, subject_type: SubjectType, id: UUID) -> str:
    return f"{base_url}/v1/{COLLECTIONS[subject_type]}/{id}/record"


def embed_url(base_url: str, subject_type: SubjectType, id: UUID) -> str:
    return f"{base_url}/embed/{COLLECTIONS[subject_type]}/{id}"


def oembed_url(base_url: str, url: str) -> str:
    """The oEmbed endpoint's answer for `url`, as the card's discovery link names it."""
    return f"{base_url}/v1/oembed?{urlencode({'url': url, 'format': 'json'})}"


async def published_subject(conn: Connection, subject_type: SubjectType, id: UUID) -> PublicSubject:
    subject = await repository.public_subject(conn, subject_type, id)
    if subject is None:
        raise NotFound(f"no published {subject_type} with id {id}")
    return subject
