"""The application factory: the one place that wires settings, the database, routes,
error handling and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.config.response_cache import ResponseCacheConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Server

from service import idempotency
from service.api_keys.controller import ApiKeyController
from service.assessments.controller import AssessmentController
from service.auth import ApiKeyAuthentication, KeyCache, provide_actor, provide_caller
from service.db import pool_lifespan, provide_read_connection, provide_transaction
from service.documents.controller import DocumentController
from service.errors import EXCEPTION_HANDLERS
from service.health import HealthController
from service.http import strict_body
from service.notifications import Listener, listener_lifespan
from service.organizations.controller import OrganizationController
from service.people.controller import PersonController
from service.records.controller import RecordController
from service.relations.controller import RelationController
from service.search.controller import SearchController
from service.settings import Settings
from service.statements.controller import StatementController
from service.visibility import provide_audience

API_DESCRIPTION = """\
The system of record for what was said, what was documented, and what the newsroom
verified: statements, documents, the relations between them and their verification.

Conventions: JSON bodies with snake_case fields; errors are application/problem+json
(RFC 9457); lists page with an opaque `cursor`; every resource has a strong `ETag` and
`PATCH`/`DELETE` require `If-Match`; `DELETE` is a soft delete; every `POST` honours
`Idempotency-Key`.
"""

ROUTES = [
    HealthController,
    OrganizationController,
    PersonController,
    DocumentController,
    StatementController,
    RelationController,
    AssessmentController,
    RecordController,
    SearchController,
    ApiKeyController,
]


async def before_request(request: Request[Any, Any, Any]) -> None:
    """Every request: note a POST's Idempotency-Key (which also clears the previous
    request's), then validate a JSON body strictly."""
    await idempotency.start(request)
    await strict_body(request)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app; settings come from the environment unless given."""
    settings = settings or Settings.from_env()
    key_cache = KeyCache()
    listener = Listener(settings.database_url)
    listener.on("api_keys", lambda _: key_cache.forget_all())
    return Litestar(
        route_handlers=ROUTES,
        lifespan=[pool_lifespan(settings), listener_lifespan],
        state=State({"settings": settings, "key_cache": key_cache, "listener": listener}),
        middleware=[DefineMiddleware(ApiKeyAuthentication)],
        dependencies={
            "db": Provide(provide_read_connection),
            "tx": Provide(provide_transaction),
            "actor": Provide(provide_actor, sync_to_thread=False),
            "caller": Provide(provide_caller, sync_to_thread=False),
            "audience": Provide(provide_audience, sync_to_thread=False),
        },
        # The key is claimed inside `tx` (service/db.py) and the first response recorded
        # by the after_request hook, which Litestar runs while `tx` is still open.
        before_request=before_request,
        after_request=idempotency.record,
        exception_handlers={**EXCEPTION_HANDLERS, **idempotency.EXCEPTION_HANDLERS},
        plugins=[idempotency.IdempotentPosts()],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Verification Record API",
            version="1.0.0",
            description=API_DESCRIPTION,
            servers=[Server(url=settings.public_base_url)],
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            use_handler_docstrings=False,
        ),
        response_cache_config=ResponseCacheConfig(),
        logging_config=None,
        debug=False,
    )
