"""docker-compose.yml checked without a Docker engine: what a `docker compose up`
would trip over first, found here instead."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml
from ccshared import config

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = {
    "directory": ("directory", "DIRECTORY_PORT", 8001),
    "contacts": ("contacts", "CONTACTS_PORT", 8002),
    "sla-monitor": ("sla_monitor", "SLA_MONITOR_PORT", 8003),
    "notifier": ("notifier", "NOTIFIER_PORT", 8004),
    "web": ("frontend", "WEB_PORT", 8000),
}
COMMON = {"EVENT_BUS_URL", "STORE_URL", "STAFF_TOKEN_SECRET", "LOG_LEVEL", "BIND_HOST", "WEB_CONCURRENCY"}
ENGINES = {"kafka", "mongo", "mailpit"}


def known_variables(package: str) -> dict[str, config.Var]:
    """Every environment variable the service's config module declares."""
    module = importlib.import_module(f"{package}.config")
    found: dict[str, config.Var] = {}
    for value in vars(module).values():
        candidates = value if isinstance(value, (list, tuple)) else [value]
        for candidate in candidates:
            if isinstance(candidate, config.Var):
                found[candidate.name] = candidate
    return found


def environment(name: str) -> dict[str, str]:
    return {key: str(value) for key, value in COMPOSE["services"][name].get("environment", {}).items()}


def test_every_part_of_the_system_has_a_container():
    assert set(COMPOSE["services"]) == set(SERVICES) | ENGINES


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_engines_use_pinned_images_with_health_checks(name):
    service = COMPOSE["services"][name]
    assert re.match(r"^[\w./-]+:[\w.-]+$", service["image"]) and not service["image"].endswith(":latest")
    assert service["healthcheck"]["test"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_builds_from_a_dockerfile_that_exists(name):
    package, port_var, port = SERVICES[name]
    build = COMPOSE["services"][name]["build"]
    dockerfile = ROOT / build["context"] / build["dockerfile"]
    text = dockerfile.read_text()
    for source in re.findall(r"^COPY\s+(\S+)\s", text, flags=re.M):
        assert (ROOT / build["context"] / source).exists(), f"{dockerfile}: COPY {source} does not exist"
    assert f'"-m", "{package}", "run"' in text
    assert f"EXPOSE {port}" in text


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_gets_every_variable_it_requires_and_no_unknown_one(name):
    package, port_var, port = SERVICES[name]
    declared = known_variables(package)
    env = environment(name)
    required = {var.name for var in declared.values() if var.default is config.REQUIRED} | {
        "STAFF_TOKEN_SECRET"
    }
    assert required <= set(env), f"{name} lacks {sorted(required - set(env))}"
    unknown = set(env) - set(declared) - COMMON - {port_var}
    assert not unknown, f"{name} is given variables it never reads: {sorted(unknown)}"
    assert env[port_var] == str(port)
    assert env["EVENT_BUS_URL"].startswith("kafka://kafka:")
    assert env["STORE_URL"].startswith("mongodb://mongo:27017/")


def test_each_service_has_its_own_database():
    databases = [environment(name)["STORE_URL"].rsplit("/", 1)[1] for name in SERVICES]
    assert len(set(databases)) == len(databases)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_health_checks_probe_the_port_the_service_listens_on(name):
    package, port_var, port = SERVICES[name]
    probe = " ".join(COMPOSE["services"][name]["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/healthz" in probe


def test_published_host_ports_do_not_clash_and_scalable_apis_publish_none_fixed():
    fixed = []
    for name, service in COMPOSE["services"].items():
        for mapping in service.get("ports", []):
            parts = str(mapping).split(":")
            if len(parts) > 1:
                fixed.append(parts[-2])
                assert name not in {"directory", "contacts", "sla-monitor", "notifier"}, (
                    f"{name} publishes a fixed host port, so `--scale {name}=2` would clash"
                )
    assert len(fixed) == len(set(fixed)), fixed


def test_secrets_come_from_the_environment_not_the_file():
    text = (ROOT / "docker-compose.yml").read_text()
    for secret in (
        "STAFF_TOKEN_SECRET",
        "CONTACTS_ENCRYPTION_KEY",
        "CONTACTS_BLIND_INDEX_KEY",
        "WEB_SECRET_KEY",
    ):
        assert re.search(rf"{secret}: \$\{{{secret}:\?", text), (
            f"{secret} must be required from the environment"
        )
