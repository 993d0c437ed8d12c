"""Webhook subscriptions, their deliveries, and the payload they receive."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from service.domain.history.schemas import EventAction, ResourceType


class EventType(StrEnum):
    """`{type}.{action}` for each change the event log records, or `*` for all.

    Only pairs that can happen are listed (relations are never updated; only
    assessments are published, superseded or retracted), so that a subscription to an
    event that never fires is refused instead of silently receiving nothing.
    """

    ALL = "*"
    ORGANIZATION_CREATED = "organization.created"
    ORGANIZATION_UPDATED = "organization.updated"
    ORGANIZATION_DELETED = "organization.deleted"
    PERSON_CREATED = "person.created"
    PERSON_UPDATED = "person.updated"
    PERSON_DELETED = "person.deleted"
    DOCUMENT_CREATED = "document.created"
    DOCUMENT_UPDATED = "document.updated"
    DOCUMENT_DELETED = "document.deleted"
    STATEMENT_CREATED = "statement.created"
    STATEMENT_UPDATED = "statement.updated"
    STATEMENT_DELETED = "statement.deleted"
    RELATION_CREATED = "relation.created"
    RELATION_DELETED = "relation.deleted"
    ASSESSMENT_CREATED = "assessment.created"
    ASSESSMENT_UPDATED = "assessment.updated"
    ASSESSMENT_DELETED = "assessment.deleted"
    ASSESSMENT_PUBLISHED = "assessment.published"
    ASSESSMENT_SUPERSEDED = "assessment.superseded"
    ASSESSMENT_RETRACTED = "assessment.retracted"


# An absolute http(s) URI (RFC 3986: ASCII only; an international host name goes in its
# xn-- form), spelled out part by part so that what the schema accepts is what a client
# can parse: userinfo, a host name or bracketed IPv6 address, a port of 1 to 65535, and
# the rest. `$(?!\n)`: the very end, in Python's regex engine and ECMA 262's alike.
_URI_CHAR = r"A-Za-z0-9\-._~!$&'()*+,;=%"
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
WEBHOOK_URL_PATTERN = (
    r"^[hH][tT][tT][pP][sS]?://"
    rf"([{_URI_CHAR}:]*@)?"
    rf"([{_URI_CHAR}]+|\[[0-9A-Fa-f:.]+\])"
    rf"(:{_PORT})?"
    rf"([/?#][{_URI_CHAR}:@/?#\[\]]*)?"
    r"$(?!\n)"
)
WebhookUrl = Annotated[
    str,
    msgspec.Meta(
        pattern=WEBHOOK_URL_PATTERN,
        max_length=2048,
        description=(
            "Where deliveries are POSTed: an absolute http(s) URL whose host is, and "
            "resolves to, public addresses only (unless WEBHOOK_ALLOW_PRIVATE is set)."
        ),
        examples=["https://cms.example.org/hooks/verification-record"],
    ),
]
Events = Annotated[
    list[EventType],
    msgspec.Meta(
        min_length=1,
        max_length=50,
        description="The event types to deliver, or `*` for every event.",
        examples=[["statement.created", "assessment.published"]],
    ),
]


class WebhookCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: WebhookUrl
    events: Events
    active: Annotated[bool, msgspec.Meta(description="Deliver events (default true).")] = True


class WebhookPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: WebhookUrl | UnsetType = UNSET
    events: Events | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class Webhook(msgspec.Struct, kw_only=True):
    """A subscription as listed: never its signing secret."""

    id: UUID
    url: str
    events: list[EventType]
    active: Annotated[
        bool,
        msgspec.Meta(description="False when switched off, or after the receiver answered 410."),
    ]
    version: int
    created_at: datetime
    updated_at: datetime


class NewWebhook(Webhook, kw_only=True):
    """The webhook just created, with its signing secret: shown this once."""

    secret: Annotated[
        str,
        msgspec.Meta(
            description=(
                "The Standard Webhooks signing secret (`whsec_` + base64 key). Keep it: it "
                "is never shown again. Verify `webhook-signature` with it."
            ),
            examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        ),
    ]


class WebhookPage(msgspec.Struct, kw_only=True):
    items: list[Webhook]
    next_cursor: str | None


# ---- what a receiver gets -------------------------------------------------------------------


class EventData(msgspec.Struct, kw_only=True):
    """The changed resource: fetch it for its content (a delivery carries none, so it
    can never leak what the receiver should not see, and is never stale)."""

    id: UUID
    type: ResourceType
    version: int
    action: EventAction


class WebhookPayload(msgspec.Struct, kw_only=True):
    """The JSON body of a delivery."""

    type: Annotated[
        str,
        msgspec.Meta(
            description="The event type, `{data.type}.{data.action}`.",
            examples=["statement.created"],
        ),
    ]
    timestamp: Annotated[datetime, msgspec.Meta(description="When the change happened.")]
    data: EventData


# ---- deliveries ------------------------------------------------------------------------------


class DeliveryStatus(StrEnum):
    """`pending`: not tried yet; `failed`: the last attempt failed and another is
    scheduled at `next_attempt_at`; `succeeded`: the receiver answered 2xx; `dead`: given
    up (every attempt failed, the receiver answered 410, or the webhook was disabled)."""

    PENDING = "pending"
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    DEAD = "dead"


class DeliveryAttempt(msgspec.Struct, kw_only=True):
    number: int
    attempted_at: datetime
    duration_ms: int
    status_code: Annotated[
        int | None, msgspec.Meta(description="The receiver's answer; null if none came.")
    ]
    error: Annotated[
        str | None, msgspec.Meta(description="Why the attempt failed; null on success.")
    ]


class WebhookDelivery(msgspec.Struct, kw_only=True):
    """One event for one webhook; `id` is the `webhook-id` header of every attempt."""

    # The body each delivery POSTs: no route returns it, but the `webhooks` section of
    # the OpenAPI document refers to it by name (service/kit/struct_schemas.py).
    openapi_companions: ClassVar[tuple[type[msgspec.Struct], ...]] = (WebhookPayload,)

    id: UUID
    webhook_id: UUID
    event_id: int
    event_type: Annotated[str, msgspec.Meta(examples=["statement.created"])]
    data: EventData
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempt_log: Annotated[
        list[DeliveryAttempt], msgspec.Meta(description="Every attempt, oldest first.")
    ]


class WebhookDeliveryPage(msgspec.Struct, kw_only=True):
    items: list[WebhookDelivery]
    next_cursor: str | None


class DeliveryPosition(msgspec.Struct, array_like=True, frozen=True):
    """Where a page of deliveries ends: they are listed newest event first."""

    event_id: int
