"""docker-compose.yml, deploy/ and docs/scaling.md against the code: every variable the
compose services set is a setting the service reads (with a value it accepts), the
`scale` profile is the stack docs/scaling.md describes, and every upper-case name that
document quotes exists. Read, not run: no Docker engine is needed (the file is checked
by `docker compose config` too, where a compose command is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PROFILE = "scale"
# Read by `serve` (service/__main__.py), not by Settings.
READ_ELSEWHERE = {"HOST", "PORT", "PROMETHEUS_MULTIPROC_DIR"}
# A setting's or a constant's name: DB_POOL_MAX_SIZE, READ_FROM_PRIMARY.
UPPER_NAME = r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b"


def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def interpolated(value: object) -> str:
    """`${NAME:-default}` as compose writes it with NAME unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))


def environment(service: dict[str, Any]) -> dict[str, str]:
    return {name: interpolated(value) for name, value in service.get("environment", {}).items()}


def command(service: dict[str, Any]) -> str:
    value = service.get("command", "")
    return " ".join(value) if isinstance(value, list) else str(value)


def ours(service: dict[str, Any]) -> bool:
    """A service running this repository's image."""
    return service.get("build") == "."


def in_profile(service: dict[str, Any]) -> bool:
    return PROFILE in service.get("profiles", [])


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""


def mounted(service: dict[str, Any]) -> dict[str, str]:
    """Files of this repository a service mounts: container path -> repository path."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *_ = str(volume).split(":")
        if source.startswith("./"):
            mounts[target] = source[2:]
    return mounts


class Reads(dict[str, str]):
    """An environment that remembers which names were asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, name: str, default: Any = None) -> Any:
        self.asked.add(name)
        return super().get(name, default)

    def __contains__(self, name: object) -> bool:
        self.asked.add(str(name))
        return super().__contains__(name)

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return super().__getitem__(name)


def setting_names() -> set[str]:
    """Every variable Settings.from_env reads (it asks for each, set or not)."""
    env = Reads({"DATABASE_URL": "postgresql://localhost/vr"})
    Settings.from_env(env)
    return env.asked


def test_every_variable_our_services_set_is_a_setting_with_a_valid_value() -> None:
    known = setting_names() | READ_ELSEWHERE
    checked = 0
    for name, service in services().items():
        if not ours(service):
            continue
        env = environment(service)
        assert not set(env) - known, f"{name} sets variables the service never reads"
        Settings.from_env(env)  # raises SettingsError, naming the variable, on a bad value
        checked += 1
    assert checked >= 4  # api, migrate, api-1, api-2


def test_the_default_stack_is_unchanged_by_the_profile() -> None:
    all_services = services()
    default = {name for name, service in all_services.items() if not service.get("profiles")}
    assert default == {"db", "api"}
    for name in default:
        for dependency in all_services[name].get("depends_on", {}):
            assert dependency in default, f"{name} depends on {dependency} of a profile"
    # The single instance migrates and loads the example itself, as before.
    assert "python -m service migrate" in command(all_services["api"])


def test_the_scale_profile_has_two_instances_behind_a_proxy_and_a_read_replica() -> None:
    all_services = services()
    scale = {name: service for name, service in all_services.items() if in_profile(service)}
    apis = {
        name: service
        for name, service in scale.items()
        if ours(service) and "python -m service serve" in command(service)
    }
    assert len(apis) >= 2

    primaries = {host_of(environment(api)["DATABASE_URL"]) for api in apis.values()}
    replicas = {host_of(environment(api).get("DATABASE_READ_URL", "")) for api in apis.values()}
    assert len(primaries) == len(replicas) == 1
    (primary,), (replica,) = primaries, replicas
    assert primary in scale and replica in scale and primary != replica

    # The replica: the primary's image, copied from it with pg_basebackup -R.
    assert scale[replica]["image"] == scale[primary]["image"]
    assert primary in scale[replica]["depends_on"]
    script = ROOT / mounted(scale[replica])[command(scale[replica]).split()[-1]]
    assert "--write-recovery-conf" in script.read_text()
    assert "pg_basebackup" in script.read_text()
    assert environment(scale[replica])["PRIMARY_HOST"] == primary
    # The primary lets it stream: a replication role and its pg_hba.conf line.
    (init,) = (
        path
        for target, path in mounted(scale[primary]).items()
        if target.startswith("/docker-entrypoint-initdb.d/")
    )
    assert "REPLICATION" in (ROOT / init).read_text()
    assert "host replication replicator" in (ROOT / init).read_text()

    # Migrations once, before any instance starts; the instances never migrate.
    (migrate,) = (name for name, s in scale.items() if "python -m service migrate" in command(s))
    assert host_of(environment(scale[migrate])["DATABASE_URL"]) == primary
    for name, api in apis.items():
        assert api["depends_on"][migrate]["condition"] == "service_completed_successfully"
        assert "migrate" not in command(api), name
        assert "/health/ready" in " ".join(api["healthcheck"]["test"]), name
        assert "ports" not in api, f"{name} is reachable only through the proxy"
        assert environment(api)["TRUSTED_PROXIES"]

    # The proxy balances over exactly these instances, passing the client's address and
    # the request id on, and leaves caching headers alone.
    (proxy,) = (name for name, s in scale.items() if str(s.get("image", "")).startswith("nginx"))
    for name in apis:
        assert scale[proxy]["depends_on"][name]["condition"] == "service_healthy"
    config = (ROOT / mounted(scale[proxy])["/etc/nginx/nginx.conf"]).read_text()
    live = "\n".join(line.split("#")[0] for line in config.splitlines())
    upstream = set(re.findall(r"^\s*server\s+([\w.-]+:\d+)", live, re.MULTILINE))
    assert upstream == {f"{name}:8000" for name in apis}
    assert re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for", live)
    assert re.search(r"proxy_set_header\s+X-Request-ID\s", live)
    for directive in ("gzip on", "proxy_cache ", "expires ", "add_header", "proxy_hide_header"):
        assert directive not in live, directive


def test_every_name_the_scaling_document_quotes_exists() -> None:
    """Settings, constants, services and files that docs/scaling.md names in code spans."""
    text = (ROOT / "docs/scaling.md").read_text()
    quoted = set(re.findall(r"`([^`\n]+)`", text))
    sources = "\n".join(
        path.read_text()
        for pattern in ("service/**/*.py", "migrations/**/*.py", "deploy/**/*", "*.yml")
        for path in ROOT.glob(pattern)
        if path.is_file()
    )
    known = setting_names() | READ_ELSEWHERE | set(re.findall(UPPER_NAME, sources))
    for span in quoted:
        for name in re.findall(UPPER_NAME, span):
            assert name in known, f"docs/scaling.md quotes unknown {name}"
        for path in re.findall(r"(?:service|deploy|tests|migrations)/[\w./-]+", span):
            assert (ROOT / path.rstrip("/.")).exists(), f"docs/scaling.md names missing {path}"
    for name in ("api-1", "api-2", "primary", "replica", "migrate", "proxy"):
        assert f"`{name}`" in text and name in services()


def compose_command() -> list[str] | None:
    for candidate in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(candidate[0]) is None:
            continue
        probe = subprocess.run([*candidate, "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    return None


def test_compose_accepts_the_file_with_and_without_the_profile() -> None:
    compose = compose_command()
    if compose is None:
        pytest.skip("no docker compose (or docker-compose) here")
    for profile in ([], ["--profile", PROFILE]):
        result = subprocess.run(
            [*compose, *profile, "config", "--quiet"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
