"""HTTP routes for webhooks (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.enums import ParamType
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    Reference,
    RequestBody,
    Schema,
)
from litestar.params import JSONBody, QueryParameter

from service.integrations.webhooks import service
from service.integrations.webhooks.schemas import (
    DeliveryStatus,
    NewWebhook,
    Webhook,
    WebhookCreate,
    WebhookDeliveryPage,
    WebhookPage,
    WebhookPatch,
)
from service.kit.db import ReadDb, WriteTx
from service.web import http
from service.web.auth import requires_admin


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["Webhooks"]
    guards = [requires_admin]

    @post(
        "/",
        operation_id="CreateWebhook",
        summary="Register a webhook; its signing secret is in this response only",
        description=(
            "Refused (422) when the URL's host is, or resolves to, a private, loopback, "
            "link-local or otherwise non-public address, unless WEBHOOK_ALLOW_PRIVATE is "
            "set. The `ETag` is that of the webhook as GET serves it (without the secret)."
        ),
        responses=http.responses(http.CREATE),
        response_headers=[http.ETAG_HEADER, http.LOCATION_HEADER],
    )
    async def create_webhook(
        self, request: Request[Any, Any, Any], data: JSONBody[WebhookCreate], tx: WriteTx
    ) -> Response[NewWebhook]:
        created = await service.create_webhook(tx, data, request.app.state.settings)
        public = Webhook(**{f: getattr(created, f) for f in Webhook.__struct_fields__})
        _, etag = http.represent(public)
        return Response(
            created,
            status_code=201,
            headers={
                **http.location(request, f"{self.path}/{created.id}"),
                "ETag": etag,
                # Holds a secret: no cache may keep it, nor may an idempotent replay.
                "Cache-Control": "no-store",
            },
        )

    @get(
        "/",
        operation_id="ListWebhooks",
        summary="List webhooks, newest first (never their secrets)",
        responses=http.responses(http.LIST),
    )
    async def list_webhooks(
        self, db: ReadDb, cursor: http.Cursor = None, limit: http.Limit = 25
    ) -> WebhookPage:
        return await service.list_webhooks(db, cursor, limit)

    @get(
        "/{id:uuid}",
        operation_id="GetWebhook",
        summary="Get a webhook (never its secret)",
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=[http.ETAG_HEADER],
    )
    async def get_webhook(
        self, request: Request[Any, Any, Any], db: ReadDb, id: http.ResourceId
    ) -> Response[Webhook]:
        return http.entity_response(request, await service.get_webhook(db, id))

    @patch(
        "/{id:uuid}",
        operation_id="UpdateWebhook",
        summary="Change a webhook's URL, events or active flag (If-Match required)",
        responses=http.responses(http.UPDATE),
        response_headers=[http.ETAG_HEADER],
    )
    async def update_webhook(
        self,
        request: Request[Any, Any, Any],
        tx: WriteTx,
        id: http.ResourceId,
        data: JSONBody[WebhookPatch],
        if_match: http.IfMatchHeader = None,
    ) -> Response[Webhook]:
        updated = await service.update_webhook(
            tx, id, data, http.IfMatch(if_match), request.app.state.settings
        )
        return http.entity_response(request, updated)

    @delete(
        "/{id:uuid}",
        operation_id="DeleteWebhook",
        summary="Delete a webhook (soft; If-Match required): nothing more is delivered",
        responses=http.responses(http.DELETE),
    )
    async def delete_webhook(
        self, tx: WriteTx, id: http.ResourceId, if_match: http.IfMatchHeader = None
    ) -> None:
        await service.delete_webhook(tx, id, http.IfMatch(if_match))

    @get(
        "/{id:uuid}/deliveries",
        operation_id="ListWebhookDeliveries",
        summary="A webhook's deliveries, newest event first, each with its attempts",
        description=(
            "Every delivery of the webhook's events with its attempts (status codes, "
            "errors, durations). Deliveries still to be made (`pending`, `failed`) stay "
            "listed until they end; finished ones (`succeeded`, `dead`) are kept for "
            "`WEBHOOK_DELIVERY_RETENTION_DAYS` (30 by default) after they ended, then "
            "deleted with their attempts."
        ),
        responses=http.responses(http.HISTORY),
    )
    async def list_webhook_deliveries(
        self,
        db: ReadDb,
        id: http.ResourceId,
        status: Annotated[
            DeliveryStatus | None, QueryParameter(description="Only deliveries in this state.")
        ] = None,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> WebhookDeliveryPage:
        return await service.list_deliveries(db, id, status, cursor, limit)


# ---- what receivers get, for the `webhooks` section of the OpenAPI document ---------------


def _header(name: str, description: str, example: str) -> Parameter:
    return Parameter(
        name=name,
        param_in=ParamType.HEADER,
        required=True,
        description=description,
        schema=Schema(type=OpenAPIType.STRING, examples=[example]),
    )


OPENAPI_WEBHOOKS: dict[str, PathItem | Reference] = {
    "event": PathItem(
        post=Operation(
            operation_id="ReceiveEvent",
            tags=["Webhooks"],
            summary="A change, POSTed to every webhook subscribed to its event type",
            description=(
                "Sent after the change commits, following Standard Webhooks 1.0. Verify "
                "`webhook-signature` with the webhook's secret (the `standardwebhooks` "
                "libraries do) and reject timestamps more than a few minutes off. Answer "
                "2xx quickly; any other answer, or none in time (10 s by default), is "
                "retried with exponential backoff (5 s, 30 s, 2 min, 10 min, 30 min, 1 h, "
                "3 h; then given up), or after `Retry-After` when you send one. 410 Gone "
                "disables the webhook. Delivery is at least once: deduplicate on "
                "`webhook-id`. "
                "The body names the changed resource; GET it for its content."
            ),
            parameters=[
                _header(
                    "webhook-id",
                    "The delivery's id, the same on every retry.",
                    "0b6a1c36-8f05-4a4e-9d38-5b1a6a4e2f10",
                ),
                _header(
                    "webhook-timestamp",
                    "When this attempt was sent, in Unix seconds.",
                    "1795435200",
                ),
                _header(
                    "webhook-signature",
                    "`v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`"
                    " keyed with the base64-decoded part of the `whsec_` secret.",
                    "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
                ),
            ],
            request_body=RequestBody(
                required=True,
                content={
                    http.JSON: OpenAPIMediaType(
                        schema=Reference(ref="#/components/schemas/WebhookPayload")
                    )
                },
            ),
            responses={
                "2XX": OpenAPIResponse(description="Received."),
                "410": OpenAPIResponse(description="Gone: the webhook is disabled."),
            },
        )
    )
}
