"""The TypeScript client (clients/typescript/) as a front-end developer builds it: `npm ci`
from the lock file, types generated from the committed openapi/openapi.json, `tsc
--noEmit`, then its Node test against a live server (list, search, a record, a PATCH
with If-Match, a 412). Run in a copy, so that nothing is written into the checkout.
Node and npm are Debian's (`make test` installs them as root); without them the test is
skipped."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import keys
from tests.ops.support import LiveServer

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "clients" / "typescript"
# The `test(...)` calls of clients/typescript/test/client.test.ts.
NODE_TESTS = 6

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="no Node.js (Debian: apt-get install nodejs npm; `make test` installs them as root)",
)


def npm(
    copy: Path, *arguments: str, timeout: float, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npm", *arguments],
        cwd=copy,
        env={
            **os.environ,
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            **env,
        },
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def succeeded(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 0


def tap_summary(output: str) -> dict[str, int]:
    """The closing counts of node's TAP reporter: `# tests 6`, `# pass 6`, `# fail 0`...
    (not its `# duration_ms`)."""
    return {name: int(count) for name, count in re.findall(r"^# (\w+) (\d+)$", output, re.M)}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of clients/typescript beside a copy of openapi/openapi.json (where its
    `generate` script looks), installed, generated, type-checked and compiled."""
    workspace = tmp_path_factory.mktemp("typescript")
    copy = workspace / "clients" / "typescript"
    shutil.copytree(
        PACKAGE, copy, ignore=shutil.ignore_patterns("node_modules", "dist", "generated")
    )
    (workspace / "openapi").mkdir()
    shutil.copy(ROOT / "openapi" / "openapi.json", workspace / "openapi" / "openapi.json")

    # Exactly the locked versions (npm ci refuses a lock file that disagrees with package.json).
    installed = npm(copy, "ci", "--no-audit", timeout=600)
    assert succeeded(installed), installed.stdout + installed.stderr
    generated = npm(copy, "run", "generate", timeout=120)
    assert succeeded(generated), generated.stdout + generated.stderr
    schema = (copy / "src" / "generated" / "schema.ts").read_text(encoding="utf-8")
    assert '"/v1/documents/{id}/record": {' in schema and "UpdateDocument: {" in schema
    # The type check includes lines that must not compile (`@ts-expect-error`).
    checked = npm(copy, "run", "typecheck", timeout=300)
    assert succeeded(checked), checked.stdout + checked.stderr
    compiled = npm(copy, "run", "build", timeout=300)
    assert succeeded(compiled), compiled.stdout + compiled.stderr
    assert (copy / "dist" / "test" / "client.test.js").is_file()
    return copy


def test_the_lock_file_pins_every_package() -> None:
    """package.json names exact versions, and the lock file has the same ones."""
    manifest = json.loads((PACKAGE / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((PACKAGE / "package-lock.json").read_text(encoding="utf-8"))
    wanted = {**manifest["dependencies"], **manifest["devDependencies"]}
    assert set(wanted) == {"openapi-fetch", "openapi-typescript", "typescript", "@types/node"}
    for name, version in wanted.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name


async def test_the_node_test_passes_against_a_live_server(built: Path, database_url: str) -> None:
    server = LiveServer(database_url)
    await asyncio.to_thread(server.start)
    try:
        result = await asyncio.to_thread(
            npm, built, "test", timeout=180, VR_BASE_URL=server.url, VR_API_KEY=keys.ADMIN
        )
    finally:
        server.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    summary = tap_summary(result.stdout)
    assert summary == {
        "tests": NODE_TESTS,
        "suites": 0,
        "pass": NODE_TESTS,
        "fail": 0,
        "cancelled": 0,
        "skipped": 0,
        "todo": 0,
    }, output
