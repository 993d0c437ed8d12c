"""Graceful shutdown under granian: fail readiness first, then stop accepting, let
in-flight requests finish, then close the pools.

What granian does on SIGTERM (or SIGINT) to its main process: it stops its workers
with SIGTERM; each worker stops accepting connections at once (new ones are refused),
waits for the requests in flight, and only then runs the ASGI lifespan shutdown (our
lifespans exit in reverse order: the webhook worker and the listener stop, the pool
closes within 10 s). A worker that has not stopped after WORKER_STOP_TIMEOUT_SECONDS is
killed.

That leaves a load balancer no moment to notice that an instance is going away before
its connections are refused. With SHUTDOWN_DRAIN_SECONDS > 0, `serve` intercepts the
first SIGTERM in granian's main process (`install_drain`): it sends DRAIN_SIGNAL to every
worker, whose handler (`lifespan`) sets `app.state.shutting_down`, so `/health/ready`
answers 503 while every other request is still served; after the drain delay it lets
granian's shutdown proceed as above. A second SIGTERM, or SIGINT (Ctrl-C), skips the
rest of the delay. Without a drain delay, `shutting_down` is set when the lifespan
shutdown begins.

The whole shutdown is bounded by drain + WORKER_STOP_TIMEOUT_SECONDS: set the
orchestrator's grace period (Kubernetes `terminationGracePeriodSeconds`) above that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from litestar import Litestar

log = logging.getLogger("service.shutdown")

# Sent by granian's main process to its workers when draining begins. `serve` makes
# every process ignore it until a worker's lifespan handles it: its default action
# would kill a worker still starting up.
DRAIN_SIGNAL = signal.SIGUSR1
# In-flight requests are bounded by the statement timeout (5 s by default); an export
# stream may run longer and is cut off then. Leaves room for the pool's 10 s close.
WORKER_STOP_TIMEOUT_SECONDS = 20


def ignore_drain_signal() -> None:
    """Called by `serve` before the workers start; they inherit the disposition."""
    signal.signal(DRAIN_SIGNAL, signal.SIG_IGN)


def install_drain(stop: Callable[..., Any], seconds: float) -> None:
    """In granian's main process (from its startup hook): on the first SIGTERM tell the
    workers to fail readiness and call `stop` (granian's own handler) `seconds` later;
    on a second SIGTERM or on SIGINT, call it at once."""
    draining = threading.Event()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if draining.is_set():
            stop(signum, frame)
            return
        draining.set()
        log.info("SIGTERM: draining for %.1f s before closing the listener", seconds)
        for worker in multiprocessing.active_children():
            if worker.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, DRAIN_SIGNAL)
        timer = threading.Timer(seconds, stop, args=(signum, frame))
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, on_sigterm)


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Sets `app.state.shutting_down` when DRAIN_SIGNAL arrives, or else when the app's
    shutdown begins. List it last, so that its exit runs first."""
    app.state.shutting_down = False

    def begin_draining() -> None:
        if not app.state.shutting_down:
            log.info("draining: /health/ready answers 503 from now on")
        app.state.shutting_down = True

    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(DRAIN_SIGNAL, begin_draining)
        handled = True
    except (NotImplementedError, RuntimeError, ValueError):
        handled = False  # not the main thread (a test's app), or no signals here
    try:
        yield
    finally:
        app.state.shutting_down = True
        if handled:
            loop.remove_signal_handler(DRAIN_SIGNAL)
            with contextlib.suppress(ValueError):
                signal.signal(DRAIN_SIGNAL, signal.SIG_IGN)
