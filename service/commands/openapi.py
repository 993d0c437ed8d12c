"""The committed OpenAPI document (openapi/openapi.json) is rendered from the app, with
default settings, so that it is the same file on every machine."""

from __future__ import annotations

import json

from service.app import create_app
from service.settings import Settings


def render_schema() -> str:
    # The URL is never connected to: building the schema touches no database.
    app = create_app(Settings(database_url="postgresql://localhost/unused"))
    # Keys sorted: Litestar emits some maps (response headers) in set order.
    schema = app.openapi_schema.to_schema()
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
