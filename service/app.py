"""The application factory: the one place that wires settings, the database, routes,
error handling and the OpenAPI document."""

from __future__ import annotations

import gc
from typing import Any

from litestar import Litestar, Request
from litestar.config.response_cache import ResponseCacheConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, Server

from service.domain.assessments.controller import AssessmentController
from service.domain.documents.controller import DocumentController
from service.domain.imports.controller import ImportController
from service.domain.organizations.controller import OrganizationController
from service.domain.people.controller import PersonController
from service.domain.relations.controller import RelationController
from service.domain.statements.controller import StatementController
from service.integrations.api_keys.controller import ApiKeyController
from service.integrations.api_keys.repository import find_live_key
from service.integrations.webhooks.controller import OPENAPI_WEBHOOKS, WebhookController
from service.integrations.webhooks.worker import worker_lifespan
from service.kit.db import pool_lifespan
from service.kit.errors import EXCEPTION_HANDLERS
from service.kit.links import DocumentLinks
from service.kit.notifications import Listener, listener_lifespan
from service.kit.struct_schemas import StrictStructSchemaPlugin
from service.settings import Settings
from service.views.badges.answers import BadgeAnswers
from service.views.badges.cache import NOTIFICATION_KIND, BadgeCache, SettleBadgesAfterWrites
from service.views.badges.controller import BadgeController
from service.views.changes.controller import ChangeController
from service.views.claimreview.controller import ClaimReviewController
from service.views.embeds.controller import EmbedController
from service.views.export.controller import ExportController
from service.views.oembed.controller import OEmbedController
from service.views.records.controller import RecordController
from service.views.search.controller import SearchController
from service.views.similar.controller import SimilarController
from service.web import idempotency, logs, metrics, ratelimit, shutdown
from service.web import read_cache as read_cache_module
from service.web.auth import (
    OPENAPI_SECURITY,
    OPENAPI_SECURITY_SCHEMES,
    ApiKeyAuthentication,
    DocumentSecurity,
    KeyCache,
    guard_without_copies,
    provide_actor,
    provide_audience,
    provide_caller,
)
from service.web.connections import CloseUnreadBodies
from service.web.forwarded import ForwardedClient
from service.web.headers import ProblemPreflights, cors_config, response_headers
from service.web.health import HealthController
from service.web.http import AllowEveryMethod, strict_body, strict_query
from service.web.memory_answers import MemoryAnswers
from service.web.metrics import Metrics, MetricsController
from service.web.read_cache import ReadCache
from service.web.telemetry import RequestTelemetry, route_templates
from service.web.transactions import provide_read_connection, provide_transaction

API_DESCRIPTION = """\
The system of record for what was said, what was documented, and what the newsroom
verified: statements, documents, the relations between them and their verification.

Conventions: JSON bodies with snake_case fields; errors are application/problem+json
(RFC 9457); lists page with an opaque `cursor`; every resource has a strong `ETag` and
`PATCH`/`DELETE` require `If-Match`; `DELETE` is a soft delete; every `POST` honours
`Idempotency-Key`.

Limits: requests per minute per API key (per client address without a key), reported
in `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the
window resets) on every response, and 429 with `Retry-After` when used up. Request
bodies over 1 MiB (`MAX_BODY_BYTES`) are 413, except on
`POST /v1/imports/claimreview`, which takes feeds up to 32 MiB. An answer given before the request's body
was read (413, and 401, 403 or 429 to a request with a body) comes with
`Connection: close`: send the next request on a new connection.
"""

ROUTES = [
    HealthController,
    MetricsController,
    OrganizationController,
    PersonController,
    DocumentController,
    StatementController,
    RelationController,
    AssessmentController,
    ImportController,
    RecordController,
    SearchController,
    SimilarController,
    ChangeController,
    ExportController,
    ApiKeyController,
    WebhookController,
    BadgeController,
    EmbedController,
    OEmbedController,
    ClaimReviewController,
]


async def before_request(request: Request[Any, Any, Any]) -> None:
    """Every request: note a POST's Idempotency-Key (which also clears the previous
    request's), then validate a JSON body and the query's timestamps strictly."""
    await idempotency.start(request)
    await strict_body(request)
    strict_query(request)


def freeze_startup_objects() -> None:
    """The last start-up hook: everything allocated so far (modules, routes, the OpenAPI
    document, the pools) is moved out of the garbage collector's sight (`gc.freeze`),
    so that its collections walk only what requests allocate (a full collection over
    the start-up objects takes tens of milliseconds: a latency spike under load)."""
    gc.freeze()


def unfreeze_objects() -> None:
    """At shutdown, hand the frozen objects back to the collector: a process that starts
    and stops many apps (the tests) must not keep each one's objects forever."""
    gc.unfreeze()


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app; settings come from the environment unless given."""
    settings = settings or Settings.from_env()
    key_cache = KeyCache()
    # LISTEN is session state: behind PgBouncer it needs a direct connection.
    listener = Listener(settings.database_listen_url or settings.database_url)
    listener.on("api_keys", lambda _: key_cache.forget_all())
    # Badges are served from memory; the trigger of migration 0005 announces changes.
    badge_cache = BadgeCache(listener.connected)
    listener.on(NOTIFICATION_KIND, badge_cache.on_notification)
    # So are the public's GET-one and record bytes; migration 0015 announces their ids.
    read_cache = ReadCache(listener.connected, max_bytes=settings.read_cache_max_bytes)
    listener.on(read_cache_module.NOTIFICATION_KIND, read_cache.on_notification)
    # A verification can change with no event of its subject's (an organization deleted
    # stops corroborating): the read model announces it, and both caches drop it.
    listener.on(read_cache_module.VERIFICATION_KIND, read_cache.on_verification)
    listener.on(read_cache_module.VERIFICATION_KIND, badge_cache.on_notification)
    limiter = ratelimit.RateLimiter(
        key_limit=settings.rate_limit_key, anonymous_limit=settings.rate_limit_anonymous
    )
    request_metrics = Metrics()
    request_metrics.read_cache = read_cache
    app = Litestar(
        route_handlers=ROUTES,
        # In order: the worker uses the pool, and stops before the pool closes.
        lifespan=[
            pool_lifespan(settings),
            metrics.lifespan(request_metrics),
            listener_lifespan,
            worker_lifespan,
            ratelimit.lifespan(limiter),
            # Last, so that its exit runs first: readiness fails as shutdown begins.
            shutdown.lifespan,
        ],
        state=State(
            {
                "settings": settings,
                "key_cache": key_cache,
                "listener": listener,
                "badge_cache": badge_cache,
                "read_cache": read_cache,
                "rate_limiter": limiter,
                "metrics": request_metrics,
            }
        ),
        # The rate limit comes after authentication: it counts per API key.
        middleware=[
            DefineMiddleware(ApiKeyAuthentication, find_key=find_live_key),
            DefineMiddleware(ratelimit.RateLimitMiddleware, limiter=limiter),
            # A write's response waits until this process's badges and read cache
            # reflect it.
            SettleBadgesAfterWrites(badge_cache, also=(read_cache,)),
        ],
        dependencies={
            "db": Provide(provide_read_connection),
            "tx": Provide(provide_transaction),
            "actor": Provide(provide_actor, sync_to_thread=False),
            "caller": Provide(provide_caller, sync_to_thread=False),
            "audience": Provide(provide_audience, sync_to_thread=False),
        },
        # The key is claimed inside `tx` (service/web/transactions.py) and the first response recorded
        # by the after_request hook, which Litestar runs while `tx` is still open.
        on_startup=[freeze_startup_objects],
        on_shutdown=[unfreeze_objects, logs.ACCESS_LINES.flush],
        before_request=before_request,
        after_request=idempotency.record,
        exception_handlers={**EXCEPTION_HANDLERS, **idempotency.EXCEPTION_HANDLERS},
        plugins=[
            idempotency.IdempotentPosts(),
            ratelimit.DocumentRateLimits(),
            AllowEveryMethod(),
            StrictStructSchemaPlugin(),
            DocumentSecurity(),
            # Last: it extends the operation classes the plugins before it set.
            DocumentLinks(),
        ],
        request_max_body_size=settings.max_body_bytes,
        cors_config=cors_config(settings),
        openapi_config=OpenAPIConfig(
            title="Verification Record API",
            version="1.0.0",
            description=API_DESCRIPTION,
            servers=[Server(url=settings.public_base_url)],
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            use_handler_docstrings=False,
            webhooks=OPENAPI_WEBHOOKS,
            components=Components(security_schemes=OPENAPI_SECURITY_SCHEMES),
            security=OPENAPI_SECURITY,
        ),
        response_cache_config=ResponseCacheConfig(),
        # Logging is configured once per process by `serve` (service/web/logs.py); the
        # telemetry wrapper below writes the one line per request.
        logging_config=None,
        debug=False,
    )
    guard_without_copies(app.routes)
    # Outside everything Litestar runs (router, exception handling, CORS), so that
    # every response is counted, logged and given its X-Request-ID, 404s and 401s too.
    handler = app.asgi_handler
    if app.cors_config is not None:
        # Around Litestar's CORS middleware: a refused preflight is problem+json too.
        handler = ProblemPreflights(handler)
    # Held answers (the public's read cache, badges) are sent before Litestar's pipeline,
    # inside the telemetry, which gives them their id, log line, metrics and headers.
    if settings.memory_answers:
        handler = app.state.memory_answers = MemoryAnswers(
            handler,
            routes=app.routes,
            sources=[read_cache, BadgeAnswers(badge_cache)],
            settings=settings,
            key_cache=key_cache,
            limiter=limiter,
            misses=read_cache,
            router=app.asgi_router.handle_routing,
            state=app.state,
        )
    # Its one send wrapper also adds the security, cache and rate-limit headers: outside
    # the router, so that responses that matched no route (404, 405) and refused CORS
    # preflights get them too.
    app.asgi_handler = RequestTelemetry(
        handler, request_metrics, route_templates(app.routes), response_headers(settings)
    )
    # Around everything that may answer before a body is read (413, 401, 403, 429):
    # such an answer closes its connection cleanly (service/web/connections.py).
    # Outside the telemetry, so that reading the refused body's rest is not timed.
    app.asgi_handler = CloseUnreadBodies(app.asgi_handler)
    if settings.trusted_proxies:
        # Outermost: the rate limit and the log line see the client behind the proxies.
        app.asgi_handler = ForwardedClient(app.asgi_handler, settings.trusted_proxies)
    return app
