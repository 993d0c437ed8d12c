"""Structured logs: one JSON object per line, each carrying the request id.

`serve` (and `worker`) install `logging_config(level)` once per process: granian applies
it in its main process and in every worker, so granian's own lines, the per-request
lines of `service.telemetry` and every `service.*` logger come out the same way, on
standard error. The request id is taken from `REQUEST_ID`, a context variable that the
telemetry middleware sets for the duration of a request: anything logged while a
request is handled (an error mapped in service/kit/errors.py, a warning from the pool)
carries the id that the client sees in `X-Request-ID`.

Nothing here logs request bodies or headers; the per-request line names the caller by
key name and id, never by its secret.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import msgspec

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# The attributes every LogRecord has; anything else on a record came in through
# `extra=` and is written as a field of its own.
_STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime"}
)

# Extra fields of any type: what JSON cannot hold natively is written as its str().
_encoder = msgspec.json.Encoder(enc_hook=str)


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id", ...extra fields}` per line;
    an exception's traceback goes into `exception` (logs are for operators, never
    shown to callers)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = record.__dict__.get("request_id") or REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        for name, value in record.__dict__.items():
            if name not in _STANDARD_ATTRIBUTES and name not in line:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return _encoder.encode(line).decode()


def plain_json_handlers(
    logger: logging.Logger, level: int
) -> list[logging.StreamHandler[Any]] | None:
    """The handlers a record of `level` from `logger` would reach, when every one of them
    is a plain `StreamHandler` with a `JsonFormatter` and nothing filters on the way (what
    `logging_config` sets up); None otherwise, or when no handler would take it.

    With these, `write_json_line` writes exactly what `logging` would, without making a
    LogRecord or going through the handler machinery: a seventh of a badge request's
    CPU time went to `log.info` (bench/, profiled with py-spy)."""
    if logger.disabled or not logger.isEnabledFor(level):
        return None  # `log.info` then drops it, as the level asks
    found: list[logging.StreamHandler[Any]] = []
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        for handler in current.handlers:
            if (
                type(handler) is not logging.StreamHandler
                or type(handler.formatter) is not JsonFormatter
                or handler.filters
            ):
                return None
            if level >= handler.level:
                found.append(handler)
        if not current.propagate:
            break
        current = current.parent
    return found or None


class LineBatch:
    """Lines written together, at most `seconds` after the first of them: one write
    (and one flush) for every line a process logs in that time instead of one each.

    For the per-request access lines (service/web/telemetry.py): written one by one,
    their writes were a quarter of a cached badge's CPU time under load (bench/, the
    same run with LOG_LEVEL=warning: 240 -> 176 us a request), two workers contending
    for the same file. What it costs: an access line reaches the log up to `seconds`
    after its request, possibly after a warning logged since (each line has its time),
    and a process killed with SIGKILL loses what it held. Everything else `logging`
    writes at once. Flushed at shutdown (the app's lifespan, and at exit) and above
    `max_bytes`; outside an event loop lines are written at once."""

    def __init__(self, seconds: float = 0.05, max_bytes: int = 64 * 1024) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self._lines: dict[logging.StreamHandler[Any], list[str]] = {}
        self._bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, handlers: list[logging.StreamHandler[Any]], text: str, logger: str) -> None:
        if self.seconds <= 0:
            _write(handlers, text, logger)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            _write(handlers, text, logger)
            return
        if self._loop is not loop:
            self.flush()  # held by a loop that has gone (tests run one loop after another)
        if self._timer is None:
            self._loop = loop
            self._timer = loop.call_later(self.seconds, self.flush)
        for handler in handlers:
            self._lines.setdefault(handler, []).append(text + handler.terminator)
        self._bytes += len(text)
        if self._bytes >= self.max_bytes:
            self.flush()

    def flush(self) -> None:
        """Write every line held now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._loop = None
        held, self._lines, self._bytes = self._lines, {}, 0
        for handler, lines in held.items():
            _write([handler], "".join(lines), "service.access", terminator="")


# The access lines of this process (service/web/telemetry.py).
ACCESS_LINES = LineBatch()
atexit.register(ACCESS_LINES.flush)


def write_json_line(
    handlers: list[logging.StreamHandler[Any]],
    logger: str,
    level: str,
    message: str,
    fields: dict[str, Any],
    *,
    batch: LineBatch | None = None,
) -> None:
    """Write the line `JsonFormatter` makes of a record without exception or stack, whose
    `extra=` was `fields`, to each of `handlers` as `StreamHandler.emit` does (through
    `batch`, if given)."""
    line: dict[str, Any] = {
        "time": datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "logger": logger,
        "message": message,
    }
    request_id = REQUEST_ID.get()
    if request_id is not None:
        line["request_id"] = request_id
    for name, value in fields.items():
        if name not in line:
            line[name] = value
    text = _encoder.encode(line).decode()
    if batch is not None:
        batch.add(handlers, text, logger)
    else:
        _write(handlers, text, logger)


def _write(
    handlers: list[logging.StreamHandler[Any]],
    text: str,
    logger: str,
    *,
    terminator: str | None = None,
) -> None:
    for handler in handlers:
        handler.acquire()
        try:
            handler.stream.write(text + (handler.terminator if terminator is None else terminator))
            handler.flush()
        except RecursionError:
            raise
        except Exception:
            handler.handleError(logging.makeLogRecord({"msg": text, "name": logger}))
        finally:
            handler.release()


def logging_config(level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` for every process of the service: JSON lines on
    standard error; the service's loggers at `level`, granian's at info, everything
    else (libraries) at warning. Also what `Granian(log_dictconfig=...)` takes."""
    return {
        "version": 1,
        # Loggers created at import time (service.*, asyncpg) must keep working.
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "service.web.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
            }
        },
        "loggers": {
            "service": {"level": level.upper()},
            # granian's own loggers write plain text to stdout unless told otherwise;
            # send them through the JSON handler instead. Its access log stays off
            # (`log_access=False`): the service writes one line per request itself.
            "_granian": {"level": "INFO", "handlers": [], "propagate": True},
            "granian.access": {"level": "WARNING", "handlers": [], "propagate": True},
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
    }
