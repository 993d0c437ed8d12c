"""Settings read from the environment once, at start-up.

A bad value stops start-up with a message that names the variable, so an operator
never has to guess which of a dozen variables is wrong.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

import msgspec

LOG_LEVELS = ("debug", "info", "warning", "error")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    database_url: str
    database_read_url: str | None = None
    # The notification listener's one session-level LISTEN connection per process; it
    # must reach PostgreSQL directly (or a session-mode pool) when DATABASE_URL goes
    # through PgBouncer in transaction mode (docs/scaling.md). Unset: DATABASE_URL.
    database_listen_url: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    public_read: bool = True
    max_body_bytes: int = 1_048_576
    rate_limit_anonymous: int = 600
    rate_limit_key: int = 6000
    cors_allow_origins: tuple[str, ...] = ()
    # Networks of the load balancers, proxies and CDNs in front: a request from one of
    # them is rate-limited and logged under the client address its X-Forwarded-For names
    # (service/web/forwarded.py). Empty: the peer's address, whatever the header says.
    trusted_proxies: tuple[str, ...] = ()
    webhook_allow_private: bool = False
    # The webhook delivery worker: how often an idle worker looks for due deliveries,
    # how long one delivery may take in all, and whether `serve` runs a worker in each
    # process (turn it off when dedicated `python -m service worker` processes run).
    webhook_poll_seconds: float = 1.0
    webhook_timeout_seconds: float = 10.0
    webhook_worker: bool = True
    # Succeeded and dead deliveries (and their attempts) older than this are deleted by
    # the workers; 0 keeps them forever.
    webhook_delivery_retention_days: int = 30
    # Pool sizing and timeouts: a request that cannot get a connection or whose query
    # runs away must fail fast (503) rather than pile up behind a sick database.
    db_pool_max_size: int = 16
    db_acquire_timeout_seconds: float = 2.0
    db_statement_timeout_ms: int = 5000
    # asyncpg's prepared-statement cache per connection (its default, 100). 0 turns it
    # off, which PgBouncer in transaction mode older than 1.21 needs (docs/scaling.md).
    db_statement_cache_size: int = 100
    # Seconds between SIGTERM and closing the listener, during which /health/ready
    # answers 503 so that a load balancer stops sending traffic first (0: close at once).
    shutdown_drain_seconds: float = 0.0
    # The read cache of public GET-one and record bytes per process
    # (service/web/read_cache.py), least recently used out first; 0 turns it off.
    read_cache_max_bytes: int = 64 * 1024 * 1024
    # Whether the read cache's and the badge cache's hits are answered before Litestar's
    # pipeline (service/web/memory_answers.py); off, they go through it as any request.
    memory_answers: bool = True
    # Level of the service's own loggers; `warning` also silences the per-request lines.
    log_level: str = "info"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise SettingsError naming the bad variable."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        database_url = env.get("DATABASE_URL", "").strip()
        if not database_url:
            raise SettingsError(
                "DATABASE_URL is not set: give a postgresql:// URL (make run sets one)"
            )
        values["database_url"] = _postgres_url("DATABASE_URL", database_url)
        if read_url := env.get("DATABASE_READ_URL", "").strip():
            values["database_read_url"] = _postgres_url("DATABASE_READ_URL", read_url)
        if listen_url := env.get("DATABASE_LISTEN_URL", "").strip():
            values["database_listen_url"] = _postgres_url("DATABASE_LISTEN_URL", listen_url)
        if base := env.get("PUBLIC_BASE_URL", "").strip():
            parts = urlsplit(base)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SettingsError(
                    f"PUBLIC_BASE_URL must be an absolute http(s) URL, got {base!r}"
                )
            values["public_base_url"] = base.rstrip("/")
        for name, field in (
            ("PUBLIC_READ", "public_read"),
            ("WEBHOOK_ALLOW_PRIVATE", "webhook_allow_private"),
            ("WEBHOOK_WORKER", "webhook_worker"),
            ("MEMORY_ANSWERS", "memory_answers"),
        ):
            if name in env:
                values[field] = _boolean(name, env[name])
        for name, field, minimum in (
            ("MAX_BODY_BYTES", "max_body_bytes", 1024),
            ("RATE_LIMIT_ANONYMOUS", "rate_limit_anonymous", 1),
            ("RATE_LIMIT_KEY", "rate_limit_key", 1),
            ("DB_POOL_MAX_SIZE", "db_pool_max_size", 1),
            ("DB_STATEMENT_TIMEOUT_MS", "db_statement_timeout_ms", 1),
            ("DB_STATEMENT_CACHE_SIZE", "db_statement_cache_size", 0),
            ("WEBHOOK_DELIVERY_RETENTION_DAYS", "webhook_delivery_retention_days", 0),
            ("READ_CACHE_MAX_BYTES", "read_cache_max_bytes", 0),
        ):
            if name in env:
                values[field] = _integer(name, env[name], minimum)
        for name, field in (
            ("DB_ACQUIRE_TIMEOUT_SECONDS", "db_acquire_timeout_seconds"),
            ("WEBHOOK_POLL_SECONDS", "webhook_poll_seconds"),
            ("WEBHOOK_TIMEOUT_SECONDS", "webhook_timeout_seconds"),
        ):
            if name in env:
                values[field] = _positive_float(name, env[name])
        if "SHUTDOWN_DRAIN_SECONDS" in env:
            values["shutdown_drain_seconds"] = _seconds_or_zero(
                "SHUTDOWN_DRAIN_SECONDS", env["SHUTDOWN_DRAIN_SECONDS"]
            )
        if "LOG_LEVEL" in env:
            level = env["LOG_LEVEL"].strip().lower()
            if level not in LOG_LEVELS:
                raise SettingsError(
                    f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {env['LOG_LEVEL']!r}"
                )
            values["log_level"] = level
        if origins := env.get("CORS_ALLOW_ORIGINS", "").strip():
            values["cors_allow_origins"] = tuple(o.strip() for o in origins.split(",") if o.strip())
        if proxies := env.get("TRUSTED_PROXIES", "").strip():
            values["trusted_proxies"] = _networks("TRUSTED_PROXIES", proxies)
        return cls(**values)  # type: ignore[arg-type]


def _postgres_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("postgresql", "postgres") or (not parts.hostname and not parts.query):
        raise SettingsError(f"{name} must be a postgresql:// URL, got scheme {parts.scheme!r}")
    return value


def _networks(name: str, value: str) -> tuple[str, ...]:
    networks = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise SettingsError(
                f"{name} must be comma-separated IP addresses or networks "
                f"(10.0.0.0/8), got {part!r}"
            ) from None
    return tuple(networks)


def _boolean(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name} must be true or false, got {value!r}")


def _integer(name: str, value: str, minimum: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {number}")
    return number


def _positive_float(name: str, value: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {value!r}") from None
    if number <= 0:
        raise SettingsError(f"{name} must be positive, got {number}")
    return number


def _seconds_or_zero(name: str, value: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {value!r}") from None
    if not 0 <= number <= 300:
        raise SettingsError(f"{name} must be between 0 and 300, got {number}")
    return number
