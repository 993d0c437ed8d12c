"""The one error vocabulary of the service and its mapping to problem+json (RFC 9457).

Services raise the domain errors below; `EXCEPTION_HANDLERS` turns them, Litestar's own
HTTP errors and database errors into problem details. Nothing here ever echoes a stack
trace or SQL text to the caller.
"""

from __future__ import annotations

import asyncio
import logging
import re
from http import HTTPStatus
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

log = logging.getLogger("service.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(msgspec.Struct, kw_only=True):
    """One invalid input: `field` is a dotted path into the body or a parameter name."""

    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem details object."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


class ApiError(Exception):
    """Base of the domain errors; each subclass fixes a status and a problem type."""

    status: int = 500
    slug: str = "internal-error"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class BadRequest(ApiError):
    status, slug = 400, "bad-request"


class NotFound(ApiError):
    status, slug = 404, "not-found"


class Conflict(ApiError):
    status, slug = 409, "conflict"


class PreconditionFailed(ApiError):
    status, slug = 412, "precondition-failed"


class UnsupportedMediaType(ApiError):
    status, slug = 415, "unsupported-media-type"


class InvalidInput(ApiError):
    status, slug = 422, "invalid-input"


class PreconditionRequired(ApiError):
    status, slug = 428, "precondition-required"


class TooManyRequests(ApiError):
    status, slug = 429, "too-many-requests"


class ServiceUnavailable(ApiError):
    status, slug = 503, "service-unavailable"


class DatabaseSettingsError(ConnectionError):
    """A database session lacks a setting the service relies on (service/kit/db.py,
    `check_session`); the message names each one and the statements that fix it.

    A ConnectionError, so that everything that copes with a database it cannot use
    (readiness, the rate limiter's sync, the webhook worker, the replica's fallback)
    copes with this too; start-up fails on it instead, and a request answers 503."""


def invalid_field(field: str, message: str) -> InvalidInput:
    """An InvalidInput for a single field, with the field named in `errors`."""
    return InvalidInput(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


def problem_response(
    request: Request[Any, Any, Any] | None,
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    phrase = HTTPStatus(status).phrase
    problem = Problem(
        type=f"/problems/{slug or _slugify(phrase)}",
        title=phrase,
        status=status,
        detail=detail,
        instance=request.url.path if request is not None else None,
        errors=errors,
    )
    return Response(problem, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# ---- handlers --------------------------------------------------------------------------


def _api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Problem]:
    return problem_response(
        request, exc.status, exc.detail, slug=exc.slug, errors=exc.errors, headers=exc.headers
    )


_MISSING_PARAMETER = re.compile(r"Missing required \w+ parameter '(?P<name>[^']+)'")


def _validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Problem]:
    errors = [
        FieldError(
            field=str(item.get("key") or "body"), message=str(item.get("message", "invalid"))
        )
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    if not errors:
        if missing := _MISSING_PARAMETER.match(str(exc.detail)):
            field = missing.group("name")
            return problem_response(
                request,
                422,
                f"{field}: required",
                slug="invalid-input",
                errors=[FieldError(field=field, message="required")],
            )
        # Litestar reports undecodable JSON as a ValidationException without details.
        return problem_response(request, 400, str(exc.detail), slug="bad-request")
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return problem_response(request, 422, detail, slug="invalid-input", errors=errors)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    detail = exc.detail if status < 500 else HTTPStatus(status).phrase
    headers = dict(exc.headers or {})
    if status == 413:
        # Litestar's own detail does not say what the limit is; the client needs it.
        # A route may set its own (the ClaimReview import takes large feeds).
        limit = (
            request.route_handler.resolve_request_max_body_size()
            or request.app.state.settings.max_body_bytes
        )
        detail = f"the request body is larger than the limit of {limit} bytes"
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="verification-record"')
    return problem_response(request, status, detail, headers=headers)


# SQLSTATE classes the API can explain to a caller; everything else is a 500.
_DATABASE_ERRORS: dict[type[Exception], tuple[int, str, str]] = {
    asyncpg.ForeignKeyViolationError: (
        422,
        "invalid-reference",
        "a referenced resource does not exist",
    ),
    asyncpg.CheckViolationError: (422, "invalid-input", "a value breaks a rule of the record"),
    asyncpg.NotNullViolationError: (422, "invalid-input", "a required value is missing"),
    asyncpg.UniqueViolationError: (409, "conflict", "that resource already exists"),
    asyncpg.ExclusionViolationError: (409, "conflict", "that resource conflicts with another"),
    asyncpg.InvalidTextRepresentationError: (422, "invalid-input", "a value has the wrong format"),
    asyncpg.DataError: (422, "invalid-input", "a value is out of range or malformed"),
    asyncpg.ObjectNotInPrerequisiteStateError: (
        409,
        "conflict",
        "the resource is not in a state that allows this",
    ),
    asyncpg.RaiseError: (409, "conflict", "the change is not allowed"),
    asyncpg.SerializationError: (409, "conflict", "a concurrent change won; retry the request"),
    asyncpg.DeadlockDetectedError: (409, "conflict", "a concurrent change won; retry the request"),
    asyncpg.QueryCanceledError: (
        503,
        "service-unavailable",
        "the database took too long to answer",
    ),
    asyncpg.TooManyConnectionsError: (503, "service-unavailable", "the database is overloaded"),
    asyncpg.CannotConnectNowError: (
        503,
        "service-unavailable",
        "the database is starting or stopping",
    ),
    asyncpg.AdminShutdownError: (503, "service-unavailable", "the database is restarting"),
}


def database_failure(exc: asyncpg.PostgresError) -> tuple[int, str, str] | None:
    """The status, problem slug and detail the API answers for a database error; None
    for one it cannot explain (a 500)."""
    for error_type in type(exc).__mro__:
        if mapped := _DATABASE_ERRORS.get(error_type):
            return mapped
    return None


def _database_error(
    request: Request[Any, Any, Any], exc: asyncpg.PostgresError
) -> Response[Problem]:
    mapped = database_failure(exc)
    if mapped is None:
        return _internal_error(request, exc)
    status, slug, detail = mapped
    if status >= 500:
        log.warning("database unavailable: %s", type(exc).__name__)
        return problem_response(request, status, detail, slug=slug, headers={"Retry-After": "1"})
    return problem_response(request, status, detail, slug=slug)


def _unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.warning("database unreachable: %s", type(exc).__name__)
    return problem_response(
        request,
        503,
        "the database is unreachable; retry shortly",
        slug="service-unavailable",
        headers={"Retry-After": "1"},
    )


def _misconfigured(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    # The operator needs the whole message (it says what to run); the caller only needs
    # to know that it is not their request.
    log.error("%s", exc)
    return _misconfigured_response(request)


def _prepared_statement_lost(
    request: Request[Any, Any, Any], exc: asyncpg.PostgresError
) -> Response[Problem]:
    # Nothing here prepares statements by SQL: a statement asyncpg prepared on its
    # connection is missing (or another client's is in the way) only when a pooler
    # handed the connection's next transaction to another server session.
    log.error(
        "a prepared statement went missing on the server (%s): behind PgBouncer in "
        "transaction mode, give it max_prepared_statements (1.21 or later) or set "
        "DB_STATEMENT_CACHE_SIZE=0 (docs/scaling.md, Behind PgBouncer)",
        type(exc).__name__,
    )
    return _misconfigured_response(request)


def _misconfigured_response(request: Request[Any, Any, Any]) -> Response[Problem]:
    return problem_response(
        request,
        503,
        "the database is not configured as the service needs; its log says how to fix it",
        slug="service-unavailable",
        headers={"Retry-After": "10"},
    )


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, "an unexpected error occurred", slug="internal-error")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ApiError: _api_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    asyncpg.PostgresError: _database_error,
    asyncpg.InvalidSQLStatementNameError: _prepared_statement_lost,
    asyncpg.DuplicatePreparedStatementError: _prepared_statement_lost,
    asyncpg.InterfaceError: _unavailable,
    asyncpg.PostgresConnectionError: _unavailable,
    # A pooled connection whose server went away while it was idle can be used in the
    # instant between the server's goodbye and the socket's close: asyncpg then says
    # "cannot switch to state ...". Retrying works (the pool reconnects: service/kit/db.py).
    asyncpg.InternalClientError: _unavailable,
    DatabaseSettingsError: _misconfigured,
    ConnectionError: _unavailable,
    OSError: _unavailable,
    asyncio.TimeoutError: _unavailable,
    Exception: _internal_error,
}
