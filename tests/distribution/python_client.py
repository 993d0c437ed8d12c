"""The generated Python partner client (`make client`), for the tests that use it: the
`generated` fixture (tests/distribution/conftest.py) and its modules."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "openapi" / "openapi.json"
CONFIG = ROOT / "openapi" / "client-config.yaml"
PACKAGE = "verification_record_client"


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, imported (as `make client` writes it, into a tmp dir).
    Once a session: generating it takes seconds, and every test only reads it."""
    output = tmp_path_factory.mktemp("client") / "verification-record-client"
    # The generator runs ruff on its output: the one installed beside this Python.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(SCHEMA),
            "--config",
            str(CONFIG),
            "--output-path",
            str(output),
            "--meta",
            "uv",
            "--fail-on-warning",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed
    # Not a word of warning (about a schema it could not read, or a hook that failed).
    assert printed.split() == ["Generating", str(output)], printed
    sys.path.insert(0, str(output))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(output))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def generated_module(name: str) -> ModuleType:
    """A module of the generated package (`api.changes.list_changes`, `models`)."""
    return importlib.import_module(f"{PACKAGE}.{name}")
