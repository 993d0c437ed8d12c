"""Headless Chromium driven through the DevTools protocol, with nothing but the stdlib.

Chromium speaks the protocol over a pipe (`--remote-debugging-pipe`: it reads commands
from file descriptor 3 and writes answers and events to 4, each a JSON message ended by
a NUL byte), so no port, websocket client or browser download is needed: Debian's
`chromium` package is enough. When the test process dies, the pipe closes and Chromium
exits with it.

Frames from another origin are separate targets (out-of-process iframes): the page's
session auto-attaches to them, and `frame_session(url)` finds the one showing a URL.
Every session's errors (console errors, uncaught exceptions, and Log entries such as
CSP violations and X-Frame-Options refusals) are collected in `errors`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
]


# argv: the read end of the commands, the write end of the answers, then Chromium's argv.
# The descriptors are first copied above 9, so that neither lands on the other's target.
MOVE_PIPE_AND_EXEC = """
import fcntl, os, sys
commands, answers = (fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3])
os.dup2(commands, 3)
os.dup2(answers, 4)
for fd in {commands, answers, *map(int, sys.argv[1:3])} - {3, 4}:
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""


def find_chromium() -> str | None:
    """The Chromium binary (CHROMIUM overrides), or None when there is none."""
    if override := os.environ.get("CHROMIUM"):
        return shutil.which(override)
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    return None


class DevToolsError(AssertionError):
    pass


class Chromium:
    """One headless Chromium with one page; use as a context manager (it is killed, with
    every process it started, on exit)."""

    def __init__(self, binary: str, *, width: int = 1280, height: int = 900) -> None:
        self.binary = binary
        self.size = (width, height)
        self.events: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.frames: dict[str, dict[str, Any]] = {}  # session id -> its target's info
        self.page = ""  # the page's session id
        self._profile = tempfile.mkdtemp(prefix="vr-chromium-")
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the browser)
        self._to_browser = self._from_browser = -1
        self._buffer = b""
        self._next_id = 0

    # ---- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> Chromium:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        commands_read, self._to_browser = os.pipe()
        self._from_browser, answers_write = os.pipe()
        width, height = self.size
        # Chromium wants the pipe on descriptors 3 and 4 exactly: a small Python moves them
        # there and becomes Chromium (exec), so the process we hold is the browser.
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                MOVE_PIPE_AND_EXEC,
                str(commands_read),
                str(answers_write),
                self.binary,
                *FLAGS,
                f"--user-data-dir={self._profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            pass_fds=(commands_read, answers_write),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one in stop()
        )
        os.close(commands_read)
        os.close(answers_write)
        targets = self.call("Target.getTargets", timeout=30)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.page = self.call(
            "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}
        )["sessionId"]
        self._enable(self.page)
        self.call("Page.enable", session=self.page)
        # Frames of other origins run in other processes: attach to each as it appears.
        self.call(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": False, "flatten": True},
            session=self.page,
        )

    def stop(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            try:
                self._post("Browser.close")
                process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if process is not None:
            # The browser's helpers (zygote, renderers, GPU) are in its process group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        for fd in (self._to_browser, self._from_browser):
            if fd >= 0:
                os.close(fd)
        self._to_browser = self._from_browser = -1
        shutil.rmtree(self._profile, ignore_errors=True)

    def output(self) -> str:
        """What Chromium wrote on stdout and stderr (for failure messages)."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    # ---- the protocol -----------------------------------------------------------------------

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """Send a command and wait for its answer (events read meanwhile are handled)."""
        id = self._post(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            message = self._read(deadline, f"{method} got no answer in {timeout} s")
            if message.get("id") == id:
                if "error" in message:
                    raise DevToolsError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    def pump(self, seconds: float) -> None:
        """Handle the events that arrive in the next `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._read(deadline, None)

    def wait_for_event(
        self,
        method: str,
        where: Callable[[dict[str, Any]], bool] = lambda event: True,
        *,
        since: int = 0,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """The first event `method` from the `since`-th on (seen or to come) that passes
        `where`."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[since:]:
                if event.get("method") == method and where(event):
                    return event
            self._read(deadline, f"no {method} event in {timeout} s")

    def _post(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._to_browser, data) :]
        return self._next_id

    def _read(self, deadline: float, timeout_message: str | None) -> dict[str, Any]:
        """The next message; an event is also recorded and handled. When nothing comes
        before the deadline: raise with `timeout_message`, or return {} if it is None."""
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(left, 0))
            if not ready:
                if timeout_message is None:
                    return {}
                raise DevToolsError(f"{timeout_message}\n{self.output()[-3000:]}")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise DevToolsError(f"Chromium closed the pipe:\n{self.output()[-3000:]}")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        if "method" in message:
            self.events.append(message)
            self._handle(message)
        return message

    def _enable(self, session: str) -> None:
        # Without waiting for the answers: this also runs while another call is waiting.
        # Enabling Log and Runtime replays what was logged before, so nothing is missed.
        for method in ("Runtime.enable", "Log.enable"):
            self._post(method, session=session)

    def _handle(self, event: dict[str, Any]) -> None:
        method, params = event["method"], event.get("params", {})
        where = self.frames.get(event.get("sessionId", ""), {}).get("url") or "page"
        if method == "Target.attachedToTarget" and params["targetInfo"]["type"] == "iframe":
            self.frames[params["sessionId"]] = dict(params["targetInfo"])
            self._enable(params["sessionId"])
        elif method == "Target.targetInfoChanged":
            for info in self.frames.values():
                if info["targetId"] == params["targetInfo"]["targetId"]:
                    info.update(params["targetInfo"])
        elif method == "Target.detachedFromTarget":
            self.frames.pop(params.get("sessionId", ""), None)
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            self.errors.append(f"{where}: [{entry['source']}] {entry['text']}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            texts = [str(a.get("value", a.get("description", ""))) for a in params["args"]]
            self.errors.append(f"{where}: console.{params['type']}: {' '.join(texts)}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details["text"]
            self.errors.append(f"{where}: uncaught {text}")

    # ---- pages and frames -------------------------------------------------------------------

    def navigate(self, url: str, timeout: float = 10.0) -> None:
        """Open `url` in the page and wait for its load event."""
        since = len(self.events)
        self.frames.clear()  # the frames of the page being left are going away
        answer = self.call("Page.navigate", {"url": url}, session=self.page)
        if answer.get("errorText"):
            raise DevToolsError(f"navigating to {url}: {answer['errorText']}")
        self.wait_for_event(
            "Page.loadEventFired",
            lambda event: event.get("sessionId") == self.page,
            since=since,
            timeout=timeout,
        )

    def evaluate(self, expression: str, *, session: str | None = None) -> Any:
        """The value of a JavaScript expression (awaited if a promise) in the page, or in
        the frame whose session is given."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=session or self.page,
        )
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_until(
        self, expression: str, *, session: str | None = None, timeout: float = 10.0
    ) -> Any:
        """Poll a JavaScript expression until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression, session=session)
            if value:
                return value
            if time.monotonic() > deadline:
                raise DevToolsError(f"{expression!r} still falsy after {timeout} s")
            self.pump(0.05)

    def frame_session(
        self, url_prefix: str, timeout: float = 10.0, *, besides: frozenset[str] = frozenset()
    ) -> str:
        """The session of the out-of-process frame showing a URL that starts with
        `url_prefix`, once it is there; none of `besides` (the frames of a page navigated
        away from stay listed until the browser says they detached)."""
        deadline = time.monotonic() + timeout
        while True:
            for session, info in self.frames.items():
                if session not in besides and info.get("url", "").startswith(url_prefix):
                    return session
            if time.monotonic() > deadline:
                raise DevToolsError(
                    f"no frame showing {url_prefix} after {timeout} s; frames: {self.frames}"
                )
            self.pump(0.05)

    def set_viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        """Emulate a window of this size (a phone with `mobile`: viewport meta honoured)."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
            session=self.page,
        )

    def screenshot(self) -> bytes:
        """A PNG of the page's viewport as composited, frames included."""
        answer = self.call(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": False},
            session=self.page,
            timeout=20,
        )
        return base64.b64decode(answer["data"])
