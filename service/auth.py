"""Who is calling. Until API keys arrive every caller is anonymous; the event log
already records the actor so that history shows key names once they exist."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency

Actor = NamedDependency[str | None]


def provide_actor(request: Request[Any, Any, Any]) -> str | None:
    """The name recorded as `actor` in the event log for this request's changes."""
    user = request.scope.get("user")
    return getattr(user, "name", None)
