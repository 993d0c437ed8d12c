"""The API keys every test database starts with (inserted into the template once).

The secrets are made fresh for each test run; tests send them as `Bearer` tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime

from service.integrations.api_keys import repository
from service.integrations.api_keys.service import new_secret
from service.kit.db import Connection
from service.web.auth import Scope, secret_digest

ADMIN_PREFIX, ADMIN = new_secret()
WRITE_PREFIX, WRITE = new_secret()
READ_PREFIX, READ = new_secret()
REVOKED_PREFIX, REVOKED = new_secret()
EXPIRED_PREFIX, EXPIRED = new_secret()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def install(conn: Connection) -> None:
    for name, scope, prefix, secret, expires_at in (
        ("test-admin", Scope.ADMIN, ADMIN_PREFIX, ADMIN, None),
        ("test-editor", Scope.WRITE, WRITE_PREFIX, WRITE, None),
        ("test-partner", Scope.READ, READ_PREFIX, READ, None),
        ("test-revoked", Scope.ADMIN, REVOKED_PREFIX, REVOKED, None),
        ("test-expired", Scope.ADMIN, EXPIRED_PREFIX, EXPIRED, datetime(2020, 1, 1, tzinfo=UTC)),
    ):
        key = await repository.insert(conn, name, scope, prefix, secret_digest(secret), expires_at)
        if name == "test-revoked":
            await repository.revoke(conn, key.id)
