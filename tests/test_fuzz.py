"""Schemathesis against the app, in-process (ASGI), on a real database.

Every operation of the app's own OpenAPI document is called with generated data, valid
and invalid (positive and negative modes; the examples, coverage and fuzzing phases),
and every response is held to every check: no server error, a documented status code,
content type and headers, a body that matches its schema, invalid input rejected,
valid input accepted. A stateful run then follows the document's links (create a
resource, then read, change and delete what it returned).

The run in the suite is bounded and deterministic (a fixed seed, derandomized); `make
fuzz` runs the same tests with many more examples: FUZZ_EXAMPLES=500.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import hypothesis
import msgspec
import pytest
import schemathesis
from litestar import Litestar
from schemathesis import BaseSchema
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    ensure_resource_availability,
    negative_data_rejection,
    positive_data_acceptance,
    use_after_free,
)

from service.app import create_app
from service.commands.openapi import render_schema
from service.settings import Settings
from tests import keys
from tests.conftest import Databases, _with_database

# The coverage phase sends every boundary case the schema defines whatever this is;
# this bounds the random (fuzzing) phase per operation and the stateful scenarios.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
STATEFUL_SCENARIOS = EXAMPLES
SEED = 20261123


def _config(max_examples: int, *, generate_keys: bool) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",  # positive and negative
                "max-examples": max_examples,
                "deterministic": True,
                # No example database: nothing written into the checkout, same run every time.
                "database": "none",
                # Generated `Authorization` headers (made-up keys, or none where one is
                # needed), unless the test sends a real key.
                "with-security-parameters": generate_keys,
            },
        }
    )


@pytest.fixture(scope="module")
async def fuzz_database_url(server_url: str, databases: Databases) -> AsyncIterator[str]:
    """One fresh database for the whole module: the run builds on what it created."""
    name = await databases.take()
    try:
        yield _with_database(server_url, name)
    finally:
        databases.give_back(name)


class AppUnderTest:
    """The ASGI app the schemas call. The schemas are loaded at import, to collect one
    test per operation; the app can only be made once its database exists (a fixture)."""

    app: Litestar | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "the `app` fixture sets the app under test"
        await self.app(scope, receive, send)


APP = AppUnderTest()


def _schema(max_examples: int, *, generate_keys: bool) -> BaseSchema:
    """The app's own schema (as served; test_openapi.py checks), calling APP in-process."""
    config = _config(max_examples, generate_keys=generate_keys)
    schema = schemathesis.openapi.from_dict(OPENAPI, config=config)
    schema.app = APP
    return schema


OPENAPI = json.loads(render_schema())
admin_schema = _schema(EXAMPLES, generate_keys=False)
# The public's view, a smaller run: the reads, without a key.
anonymous_schema = _schema(max(EXAMPLES // 3, 5), generate_keys=True).include(method="GET")


@pytest.fixture(scope="module", autouse=True)
def app(fuzz_database_url: str) -> Iterator[Litestar]:
    """The app with rate limits out of the way. Schemathesis starts its lifespan on its
    own event loop thread at the first call; this stops it before the database goes."""
    settings = Settings(database_url=fuzz_database_url, public_base_url="http://testserver.local")
    settings = msgspec.structs.replace(settings, rate_limit_key=10**9, rate_limit_anonymous=10**9)
    APP.app = create_app(settings)
    yield APP.app
    asgi.shutdown_lifespans()
    APP.app = None


# ---- what cannot hold by design, excluded narrowly ------------------------------------------

_IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,255}")


def prepare(case: schemathesis.Case) -> None:
    """A valid Idempotency-Key made unique: generated keys repeat ("0", "A"...), and the
    same key with another body is a 422 by contract, which would hide the request
    itself. An invalid key (negative data) is sent as generated."""
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and _IDEMPOTENCY_KEY.fullmatch(key):
        headers["Idempotency-Key"] = uuid.uuid4().hex


# 422s for rules that hold between fields or against stored data, which no schema can
# state; generated data breaks them by chance. Each is matched on its exact message.
_SEMANTIC_RULES = re.compile(
    r"no live \w+ with id "  # a reference to a missing resource (the contract's 422)
    r"|a resource cannot be related to itself"
    r"|is not a verdict on a (statement|document)"  # the verdict must fit the subject
    r"|an assessment cannot supersede itself|assessment \S+ is about another subject"
    r"|end_on must not be before start_on"  # an affiliation's dates
    r"|no ClaimReview in the body"  # an import's body is any JSON-LD; it must hold a review
)
# Webhook URLs are resolved when registered; generated hosts do not resolve (or are private).
_WEBHOOK_URL = re.compile(r"not resolve|not a valid host name|non-public address")


def _json(response: schemathesis.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _problem_errors(response: schemathesis.Response) -> list[dict[str, Any]]:
    body = _json(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors or [] if isinstance(e, dict)]


def _revoked(response: schemathesis.Response) -> bool:
    body = _json(response)
    return isinstance(body, dict) and body.get("revoked_at") is not None


def _sent_nul(case: schemathesis.Case) -> bool:
    return "\\u0000" in json.dumps([case.body, case.query, case.path_parameters], default=str)


def excluded_checks(case: schemathesis.Case, response: schemathesis.Response) -> list[Any]:
    """Checks that cannot hold for this response by design (see each reason)."""
    status, operation = response.status_code, case.operation
    if status == 501 and operation.path == "/v1/oembed" and case.query.get("format") != "json":
        # oEmbed 1.0 asks for 501 when the format is not offered (json only); documented.
        return [not_a_server_error]
    if status == 413:
        # A body over MAX_BODY_BYTES (1 MiB) is refused unread, valid or not: the schema
        # allows 200,000 characters of summary, which JSON may escape to 2.4 MB.
        return [positive_data_acceptance, negative_data_rejection]
    if status == 200 and operation.label == "GET /v1/api-keys/{id}" and _revoked(response):
        # Revoking a key is not deleting it: the record stays readable, with revoked_at.
        return [use_after_free]
    if status == 404 and operation.path.endswith("/claimreview"):
        # A ClaimReview needs a published assessment; a resource just created has none.
        return [ensure_resource_availability]
    if status == 200 and operation.path.endswith("/history"):
        # A deleted resource's history stays readable: it ends with the `deleted` event.
        return [use_after_free]
    if status in (412, 428) and operation.get_parameter("If-Match", "header") is not None:
        # If-Match is optional in the schema so that its absence can answer 428 (the
        # contract); no schema can say which ETag is current, so a made-up one is 412.
        return [positive_data_acceptance]
    if status != 422:
        return []
    errors = _problem_errors(response)
    fields = {e.get("field") for e in errors}
    if fields == {"cursor"} and "cursor" in (case.query or {}):
        # A cursor is opaque: any string fits its schema, only one this service issued
        # names a position.
        return [positive_data_acceptance]
    if errors and all(_SEMANTIC_RULES.search(str(e.get("message"))) for e in errors):
        return [positive_data_acceptance]
    if (
        operation.path.startswith("/v1/webhooks")
        and fields == {"url"}
        and all(_WEBHOOK_URL.search(str(e.get("message"))) for e in errors)
    ):
        return [positive_data_acceptance]
    if not errors and _sent_nul(case):
        # PostgreSQL text cannot hold U+0000: any string with it is refused (422) rather
        # than silently cut; the schema does not repeat that on every string.
        return [positive_data_acceptance]
    return []


def call_and_validate(case: schemathesis.Case, headers: dict[str, str]) -> None:
    """`case.call_and_validate()`, but with the exclusions above; the headers (the API
    key) are given to both, so the ignored_auth check knows they were not generated."""
    prepare(case)
    response = case.call(headers=headers)
    case.validate_response(
        response, excluded_checks=excluded_checks(case, response), headers=headers
    )


# ---- the runs ---------------------------------------------------------------------------------


@admin_schema.parametrize()
def test_api_as_admin(case: schemathesis.Case) -> None:
    call_and_validate(case, keys.bearer(keys.ADMIN))


@anonymous_schema.parametrize()
def test_api_as_anonymous(case: schemathesis.Case) -> None:
    call_and_validate(case, {})


def test_stateful_as_admin() -> None:
    """Follows the document's links: create, then read, change (with the ETag it was
    served as If-Match), publish, retract and delete what was created."""
    base: Any = admin_schema.as_state_machine()
    failures: list[Exception] = []

    class Machine(base):  # type: ignore[misc,valid-type]
        def before_call(self, case: schemathesis.Case) -> None:
            prepare(case)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": keys.bearer(keys.ADMIN)}

        def validate_response(
            self,
            response: schemathesis.Response,
            case: schemathesis.Case,
            additional_checks: Any = None,
            **kwargs: Any,
        ) -> None:
            try:
                case.validate_response(
                    response,
                    additional_checks=additional_checks,
                    excluded_checks=excluded_checks(case, response),
                    headers=kwargs.get("headers"),
                    transport_kwargs=kwargs,
                    recorder=self.recorder,
                )
            except Exception as exc:
                failures.append(exc)
                raise

    settings = hypothesis.settings(
        max_examples=STATEFUL_SCENARIOS,
        stateful_step_count=10,
        derandomize=True,
        database=None,
        deadline=None,
        # No shrinking: a scenario replayed against a database that has moved on does
        # not draw the same steps (Hypothesis calls that flaky); the first failure is
        # the finding.
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        # They time generation, which depends on the machine's load; the size of the
        # run is bounded by max_examples and stateful_step_count.
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    try:
        Machine.run(settings=settings)
    except hypothesis.errors.Flaky:
        if failures:
            raise failures[0] from None
        raise
