"""CPU time and memory of process trees, read from /proc (Linux)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (field 3 onwards)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def tree(root: int) -> list[int]:
    """`root` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, ()))
    return found


def cpu_seconds(pids: list[int]) -> tuple[float, float]:
    """User and system CPU time of these processes (the ones that still exist)."""
    user = system = 0
    for pid in pids:
        if (fields := _stat(pid)) is not None:
            user += int(fields[11])  # utime
            system += int(fields[12])  # stime
    return user / _TICKS, system / _TICKS


def rss_bytes(pid: int) -> int | None:
    if (fields := _stat(pid)) is None:
        return None
    return int(fields[21]) * _PAGE


def postmaster_pid(backend_pid: int) -> int | None:
    """The PostgreSQL server's pid, from one of its backends' (`pg_backend_pid()`):
    None when that is not a process of this machine (a server in a container, say)."""
    try:
        command = Path(f"/proc/{backend_pid}/cmdline").read_bytes()
    except OSError:
        return None
    fields = _stat(backend_pid)
    if b"postgres" not in command or fields is None:
        return None
    return int(fields[1])


@dataclass
class RssSeries:
    """Resident memory of one process over a run."""

    pid: int
    samples: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        mib = 1024 * 1024
        if not self.samples:
            return {"pid": self.pid, "start_mib": None, "peak_mib": None, "end_mib": None}
        start, end, peak = self.samples[0], self.samples[-1], max(self.samples)
        return {
            "pid": self.pid,
            "start_mib": round(start / mib, 1),
            "peak_mib": round(peak / mib, 1),
            "end_mib": round(end / mib, 1),
            "growth_percent": round((end - start) / start * 100, 1),
            "samples": len(self.samples),
        }


class RssSampler:
    """Samples the resident memory of `pids` every `interval` seconds in a thread."""

    def __init__(self, pids: list[int], interval: float = 0.5) -> None:
        self.series = [RssSeries(pid) for pid in pids]
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _sample(self) -> None:
        for series in self.series:
            if (rss := rss_bytes(series.pid)) is not None:
                series.samples.append(rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()


def wait_for(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `check()` until true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return False
