"""HTTP conventions shared by every resource: strict bodies, ETags and preconditions,
opaque keyset cursors, and the documented problem responses.

Litestar validates with msgspec in lax mode ("1" passes as an integer) and has no
If-Match handling, so both are done here, once, for every route.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec
from litestar import Request, Response
from litestar.datastructures import ResponseHeader
from litestar.enums import ParamType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import HeaderParameter, ParameterKwarg, PathParameter, QueryParameter
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from service.kit.errors import (
    PROBLEM_MEDIA_TYPE,
    BadRequest,
    FieldError,
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
    Problem,
    UnsupportedMediaType,
    invalid_field,
)
from service.kit.fields import Timestamp

JSON = "application/json"
T = TypeVar("T", bound=msgspec.Struct)

# ---- strict request bodies ---------------------------------------------------------------

_JSON_CONTENT_TYPE = re.compile(r"^application/([a-z0-9.+-]+\+)?json$")
_AT_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_NAMED_FIELD = re.compile(r"(unknown|required) field `(?P<name>[^`]+)`")


async def strict_body(request: Request[Any, Any, Any]) -> None:
    """Validate a JSON body strictly before Litestar's lax conversion sees it.

    Runs as a `before_request` hook: rejects a wrong content type (415), malformed JSON
    (400) and any type mismatch, unknown or read-only field (422 with `errors`).
    """
    data_field = request.route_handler.parsed_data_field
    if data_field is None:
        return None
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not body and not content_type:
        content_type = JSON  # an empty body is judged by its (missing) fields below
    if not _JSON_CONTENT_TYPE.match(content_type):
        raise UnsupportedMediaType(f"send the body as {JSON}, not {content_type or 'nothing'}")
    try:
        msgspec.json.decode(body or b"null", type=data_field.annotation, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidInput(str(exc), errors=[_field_error(str(exc))]) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    return None


def _field_error(message: str) -> FieldError:
    path = ""
    if match := _AT_PATH.search(message):
        path = match.group("path")
        message = message[: match.start()]
    if match := _NAMED_FIELD.search(message):
        path = f"{path}.{match.group('name')}" if path else match.group("name")
    if message.startswith("Expected `object`, got `null`") and not path:
        message = "a JSON object body is required"
    return FieldError(field=path or "body", message=message)


def strict_query(request: Request[Any, Any, Any]) -> None:
    """Refuse a timestamp in the query that is not RFC 3339 with an offset (422).

    Runs as a `before_request` hook: lax conversion would read `updated_since=0.5` as
    a Unix time, and a timestamp without an offset in the server's zone.
    """
    if not request.scope.get("query_string"):
        return
    for name, field in request.route_handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition
        if isinstance(kwarg, ParameterKwarg):
            if kwarg.param_type is not ParamType.QUERY:
                continue
            name = kwarg.name or name
        types = (
            [t.annotation for t in field.inner_types] if field.is_optional else [field.annotation]
        )
        if datetime not in types:
            continue
        for value in request.query_params.getall(name, []):
            try:
                msgspec.json.decode(msgspec.json.encode(value), type=Timestamp, strict=True)
            except msgspec.ValidationError as exc:
                raise invalid_field(name, f"{exc}: use RFC 3339 with an offset") from None


# ---- ETags and preconditions -----------------------------------------------------------------


def etag_for(body: bytes) -> str:
    """A strong ETag: a digest of the exact representation, so anything that changes
    the bytes (the resource or what is derived from it) changes the tag."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _tags(header: str, *, weak: bool = True) -> list[str]:
    """The entity tags of a header. If-None-Match compares weakly (a `W/` prefix is
    ignored); If-Match compares strongly (RFC 9110, 13.1.1), so a weak tag never matches."""
    tags = [t.strip() for t in header.split(",") if t.strip()]
    return [t.removeprefix("W/") for t in tags] if weak else tags


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header already has `etag` (or is `*`): answer 304."""
    if not if_none_match:
        return False
    tags = _tags(if_none_match)
    return "*" in tags or etag in tags


def encode(resource: msgspec.Struct) -> bytes:
    return msgspec.json.encode(resource)


def represent(resource: msgspec.Struct) -> tuple[bytes, str]:
    body = encode(resource)
    return body, etag_for(body)


def entity_response(
    request: Request[Any, Any, Any],
    resource: msgspec.Struct,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    """Serve a resource with its ETag; answer 304 when If-None-Match already has it."""
    body, etag = represent(resource)
    return encoded_response(request, body, etag, status_code=status_code, headers=headers)


def encoded_response(
    request: Request[Any, Any, Any],
    body: bytes,
    etag: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    """`entity_response` of a representation already encoded (service/web/read_cache.py)."""
    all_headers = {"ETag": etag, **(headers or {})}
    if status_code == 200 and none_match(request.headers.get("if-none-match"), etag):
        return Response(b"", status_code=304, headers=all_headers)
    return Response(body, status_code=status_code, media_type=JSON, headers=all_headers)


class IfMatch:
    """The If-Match precondition of a PATCH or DELETE, checked inside the transaction
    against the locked current representation, so the check and the write are atomic."""

    def __init__(self, header: str | None) -> None:
        if header is None or not header.strip():
            raise PreconditionRequired(
                "this request needs an If-Match header with the resource's current ETag"
            )
        self.tags = _tags(header, weak=False)

    def check(self, current: msgspec.Struct) -> None:
        if "*" in self.tags:
            return
        _, etag = represent(current)
        if etag not in self.tags:
            raise PreconditionFailed(
                "the resource has changed since you read it; fetch it again and retry"
            )


class OptionalIfMatch(IfMatch):
    """An If-Match that may be absent (workflow actions honour it when given)."""

    def __init__(self, header: str | None) -> None:
        self.tags = _tags(header, weak=False) if header and header.strip() else ["*"]


# ---- keyset cursors ----------------------------------------------------------------------------


def encode_cursor(position: msgspec.Struct) -> str:
    """Make an opaque cursor from the position after the last item of a page."""
    raw = msgspec.json.encode(position)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


Item = TypeVar("Item")


def trim_page(
    items: list[Item], limit: int, position_of: Callable[[Item], msgspec.Struct]
) -> tuple[list[Item], str | None]:
    """A page that was fetched with one row more than `limit`: the first `limit` rows,
    and the cursor after the last of them when the extra row says there is more."""
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    return items, encode_cursor(position_of(items[-1]))


def decode_cursor(cursor: str | None, position_type: type[T]) -> T | None:
    """Parse an opaque cursor; a tampered or foreign one is a 422 naming `cursor`."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=position_type)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidInput(
            "cursor is not one this service issued",
            errors=[FieldError(field="cursor", message="not a cursor this service issued")],
        ) from None


# ---- OPTIONS ---------------------------------------------------------------------------------

# Litestar's automatic OPTIONS handler, which answers with `Allow`.
_AUTOMATIC_OPTIONS = f"{HTTPRoute.create_options_handler.__qualname__}.<locals>.options_handler"


class AllowEveryMethod(ReceiveRoutePlugin):
    """`Allow` (on OPTIONS) names every method of the path.

    Litestar 2 builds a path's automatic OPTIONS handler with the first route made for
    it, so `Allow` lists only the first method registered (litestar#4169, fixed in 3.0).
    This points each automatic handler at its finished route.
    """

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            return
        handler, _ = route.route_handler_map["OPTIONS"]
        if handler.fn.__qualname__ == _AUTOMATIC_OPTIONS:
            handler._fn = route.create_options_handler(route.path).fn


# ---- documented responses ------------------------------------------------------------------

_PROBLEM_DESCRIPTIONS = {
    400: "The request is malformed (for example, the body is not valid JSON).",
    401: "No API key where one is needed, or the key is unknown, revoked or expired.",
    403: "The API key lacks the scope this needs.",
    404: "No such resource, or it was deleted.",
    409: "The request conflicts with the resource's current state.",
    412: "If-Match does not match the current ETag: the resource changed since it was read.",
    413: "The body is larger than the service accepts (MAX_BODY_BYTES, 1 MiB by default).",
    415: "The body is not JSON.",
    422: "Invalid input: `errors` names each bad field.",
    428: "If-Match is required.",
    429: (
        "Too many requests: this API key (or, without a key, this client address) has used "
        "up its requests for the current minute. Retry after `Retry-After` seconds; every "
        "response carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`."
    ),
    503: "The database is unreachable; retry shortly.",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries documenting each status as application/problem+json."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            description=_PROBLEM_DESCRIPTIONS.get(status, "An error."),
            generate_examples=False,
            examples=[
                Example(
                    summary=_PROBLEM_DESCRIPTIONS.get(status, "An error."),
                    value=_example_problem(status),
                )
            ],
        )
        for status in statuses
    }


_PROBLEM_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    412: "precondition-failed",
    413: "request-entity-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    428: "precondition-required",
    429: "too-many-requests",
    503: "service-unavailable",
}


def _example_problem(status: int) -> dict[str, Any]:
    example: dict[str, Any] = {
        "type": f"/problems/{_PROBLEM_SLUGS.get(status, 'error')}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": _PROBLEM_DESCRIPTIONS.get(status, "An error."),
    }
    if status == 422:
        example["errors"] = [{"field": "name", "message": "Expected `str` of length >= 1"}]
    return example


NOT_MODIFIED = {
    304: ResponseSpec(
        data_container=None, description="Not modified: If-None-Match matched the current ETag."
    )
}

READ_ONE = (404, 503)
LIST = (422, 503)
CREATE = (400, 403, 413, 415, 422, 503)
UPDATE = (400, 403, 404, 412, 413, 415, 422, 428, 503)
DELETE = (403, 404, 412, 428, 503)
HISTORY = (404, 422, 503)


def responses(statuses: Sequence[int]) -> dict[int, ResponseSpec]:
    """Problem responses for these statuses, always with 400 (Litestar documents a 400
    of its own shape for any route with parameters; ours is problem+json) and 401 (a
    bad key is refused on every route but the probes and the metrics). A route that can answer 415 takes a body, so it
    can also answer 413. 429 is added to every rate-limited route by
    `service.ratelimit.DocumentRateLimits` (the health probes are exempt)."""
    body = {413} if 415 in statuses else set()
    return problem_responses(*sorted({400, 401, *body, *statuses}))


ETAG_HEADER = ResponseHeader(
    name="ETag",
    description="Strong entity tag of this representation; send it as If-Match.",
    documentation_only=True,
    value="",  # documents the header as a string; never sent as is
)
LOCATION_HEADER = ResponseHeader(
    name="Location",
    description="The absolute URL of the new resource.",
    documentation_only=True,
    value="",  # documents the header as a string; never sent as is
)


# ---- shared query parameters ----------------------------------------------------------------

Limit = Annotated[
    int, QueryParameter(ge=1, le=100, description="Items per page: 1 to 100 (more is 422).")
]
Cursor = Annotated[
    str | None,
    QueryParameter(
        max_length=1000, description="The `next_cursor` of the previous page, as given."
    ),
]
UpdatedSince = Annotated[
    datetime | None,
    QueryParameter(description="Only items changed at or after this RFC 3339 time."),
]
FullText = Annotated[
    str | None,
    QueryParameter(
        max_length=1000,
        description='Full-text query in every language: words, "quoted phrases", -excluded,'
        " or, and `word*` for words that start with it.",
    ),
]
NameQuery = Annotated[
    str | None,
    QueryParameter(
        max_length=500,
        description=(
            "Typo-tolerant match on names (and aliases), best match first: a name or"
            " alias with exactly these words (in any order), then names holding every"
            " word whole, then names with words starting with them (`word*` asks for"
            " a prefix), then names only similar (typos); within each, closer"
            " trigram similarity first, then by name and id. Names below a similarity"
            " floor are left out. `next_cursor` pages on in this order. Without `q`,"
            " newest first."
        ),
    ),
]
LanguageFilter = Annotated[
    str | None,
    QueryParameter(
        max_length=100,
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
        description="Only items in this language (BCP 47): `ar` also matches `ar-IQ`.",
    ),
]
TagFilter = Annotated[
    str | None, QueryParameter(max_length=100, description="Only items with this tag.")
]
ResourceId = Annotated[UUID, PathParameter(description="The resource's id.")]
IfMatchHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match", required=False, description="The ETag you last read (required)."
    ),
]


def location(request: Request[Any, Any, Any], path: str) -> dict[str, str]:
    """The Location header of a 201, absolute under PUBLIC_BASE_URL."""
    return {"Location": f"{request.app.state.settings.public_base_url}{path}"}
