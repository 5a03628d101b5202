"""docker-compose.yml checked without a Docker engine: what a `docker compose up`
would trip over first, found here instead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ccshared import config
from ccshared.calendar import CLOSURE_CALENDAR, read_icalendar

from tests.infra.variables import known_variables

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = {
    "directory": ("directory", "DIRECTORY_PORT", 8001),
    "contacts": ("contacts", "CONTACTS_PORT", 8002),
    "sla-monitor": ("sla_monitor", "SLA_MONITOR_PORT", 8003),
    "notifier": ("notifier", "NOTIFIER_PORT", 8004),
    "web": ("frontend", "WEB_PORT", 8000),
}
COMMON = {"EVENT_BUS_URL", "STORE_URL", "LOG_LEVEL", "BIND_HOST", "WEB_CONCURRENCY", "TRUSTED_PROXY_HOPS"}
ENGINES = {"kafka", "mongo", "mailpit", "proxy", "prometheus", "grafana"}
BEHIND_THE_PROXY = {
    "web": "PROXY_WEB_UPSTREAM",
    "contacts": "PROXY_PARTNER_API_UPSTREAM",
    "directory": "PROXY_DIRECTORY_UPSTREAM",
}
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
TOKEN_KEYS = (
    "STAFF_TOKEN_PRIVATE_KEY",
    "STAFF_TOKEN_PUBLIC_KEY",
    "SERVICE_TOKEN_PRIVATE_KEY",
    "SERVICE_TOKEN_PUBLIC_KEY",
)


def environment(name: str) -> dict[str, str]:
    return {key: str(value) for key, value in COMPOSE["services"][name].get("environment", {}).items()}


def test_every_part_of_the_system_has_a_container():
    assert set(COMPOSE["services"]) == set(SERVICES) | ENGINES


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_engines_use_pinned_images_with_health_checks(name):
    service = COMPOSE["services"][name]
    assert re.match(r"^[\w./-]+:[\w.-]+$", service["image"]) and not service["image"].endswith(":latest")
    assert service["healthcheck"]["test"]


def image_recipe(name: str) -> str:
    """The Dockerfile a service's build uses, with its build arguments put in as Docker does."""
    build = COMPOSE["services"][name]["build"]
    text = (ROOT / build["context"] / build.get("dockerfile", "Dockerfile")).read_text()
    return re.sub(r"\$\{(\w+)\}", lambda match: str(build["args"].get(match[1], match[0])), text)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_builds_from_a_dockerfile_that_exists(name):
    package, port_var, port = SERVICES[name]
    build = COMPOSE["services"][name]["build"]
    assert build["args"]["SERVICE"] == name
    text = image_recipe(name)
    for source in re.findall(r"^COPY\s+(\S+)\s", text, flags=re.M):
        assert (ROOT / build["context"] / source).exists(), f"{name}: COPY {source} does not exist"
    # The image runs `python -m <package> run` as its process, so SIGTERM reaches the service.
    assert f"SERVICE_PACKAGE={package}" in text
    assert 'CMD ["sh", "-c", "exec python -m \\"$SERVICE_PACKAGE\\" run"]' in text
    assert (ROOT / "services" / name / package / "__main__.py").exists()
    assert f"EXPOSE {port}" in text


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_gets_every_variable_it_requires_and_no_unknown_one(name):
    package, port_var, port = SERVICES[name]
    declared = known_variables(package)
    env = environment(name)
    required = {var.name for var in declared.values() if var.default is config.REQUIRED}
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


def _defaults(text: str) -> str:
    """`${NAME:-default}` as compose would read it with NAME unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)


def _published(name: str) -> list[tuple[str, str, str]]:
    """(host address, host port, container port) for each published port of a container."""
    found = []
    for mapping in COMPOSE["services"][name].get("ports", []):
        parts = _defaults(str(mapping)).split(":")
        host = parts[0] if len(parts) == 3 else ""
        host_port = parts[-2] if len(parts) >= 2 else ""
        found.append((host, host_port, parts[-1]))
    return found


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_services_publish_no_port_and_expose_only_their_own(name):
    package, port_var, port = SERVICES[name]
    service = COMPOSE["services"][name]
    assert "ports" not in service, f"{name} publishes ports on the host; only the proxy may"
    assert [str(p) for p in service["expose"]] == [str(port)]


def test_only_the_proxy_publishes_on_every_interface_and_mailpit_on_loopback():
    everywhere = {
        name for name in COMPOSE["services"] for host, _, _ in _published(name) if host not in ("127.0.0.1",)
    }
    assert everywhere == {"proxy"}
    assert _published("mailpit") == [("127.0.0.1", "8025", "8025")]
    assert {(port, inside) for _, port, inside in _published("proxy")} == {
        ("80", "80"),
        ("443", "443"),
    }


def test_published_host_ports_do_not_clash():
    fixed = [
        (port, inside.partition("/")[2])
        for name in COMPOSE["services"]
        for _, port, inside in _published(name)
    ]
    assert len(fixed) == len(set(fixed)), fixed


def test_the_proxy_runs_the_repositorys_caddyfile_in_front_of_web_and_the_partner_api():
    proxy = COMPOSE["services"]["proxy"]
    assert re.match(r"^caddy:2\.\d+\.\d+$", proxy["image"]), "the official image, pinned"
    assert "./deploy/caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    env = environment("proxy")
    for name, upstream in BEHIND_THE_PROXY.items():
        package, port_var, port = SERVICES[name]
        assert env[upstream] == f"{name}:{port}"
        assert environment(name)["TRUSTED_PROXY_HOPS"] == "1", f"{name} must trust the proxy's one hop"
        assert proxy["depends_on"][name]["condition"] == "service_healthy"
    for name in set(SERVICES) - set(BEHIND_THE_PROXY):
        assert "TRUSTED_PROXY_HOPS" not in environment(name), f"nothing forwards to {name}: trust no header"
    placeholders = set(re.findall(r"\{\$(\w+)", CADDYFILE.read_text()))
    assert {"SITE_DOMAIN", "PARTNER_API_DOMAIN", "PROXY_TLS"} <= placeholders
    assert set(env) <= placeholders, (
        f"the proxy is given variables the Caddyfile never reads: {set(env) - placeholders}"
    )
    assert _defaults(env["PROXY_TLS"]) == "internal", "local use gets Caddy's own CA unless told a domain"


def test_secrets_come_from_the_environment_not_the_file():
    text = (ROOT / "docker-compose.yml").read_text()
    for secret in (*TOKEN_KEYS, "CONTACTS_ENCRYPTION_KEY", "CONTACTS_BLIND_INDEX_KEY", "WEB_SECRET_KEY"):
        assert re.search(rf"{secret}: \$\{{{secret}:\?", text), (
            f"{secret} must be required from the environment"
        )


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"### {title}\n")
    return text[start : text.index("\n#", start + 1)]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_reads_its_own_optional_settings_file(name):
    """Settings compose does not pass (SLA_TARGET_*, NOTIFIER_FROM...) can still be set, one
    service's file at a time, so no container gets another's settings or secrets."""
    assert COMPOSE["services"][name]["env_file"] == [
        {"path": f"./deploy/compose/{name}.env", "required": False}
    ]
    ignored = (ROOT / "deploy" / "compose" / ".gitignore").read_text().splitlines()
    assert "*.env" in ignored, "a service's settings file may hold a secret: git must ignore it"
    assert "deploy/compose/<service>.env" in " ".join(_readme_section("Settings of one service").split())


def test_the_readme_names_the_defaults_that_are_wrong_in_production():
    section = " ".join(_readme_section("Settings of one service").split())
    notifier = known_variables("notifier")
    for name in ("NOTIFIER_FROM", "NOTIFIER_STAFF_EMAIL_DOMAIN"):
        assert f"`{name}` (`{notifier[name].default}`)" in section, name


def test_the_readme_examples_set_only_variables_their_service_reads():
    section = _readme_section("Settings of one service")
    for name, body in re.findall(
        r"cat > deploy/compose/([\w-]+)\.env <<'ENV'\n(.*?)\nENV", section, flags=re.S
    ):
        declared = known_variables(SERVICES[name][0])
        for line in body.splitlines():
            assert line.split("=", 1)[0] in declared, f"{name} never reads {line}"


@pytest.mark.parametrize("name", sorted(n for n in SERVICES if CLOSURE_CALENDAR.name in environment(n)))
def test_the_closure_calendar_is_a_file_mounted_in_the_container(name):
    """SLA_CLOSURE_CALENDAR is a path: the file must be in the container, the same for the three."""
    path = _defaults(environment(name)[CLOSURE_CALENDAR.name])
    mounts = [str(volume).split(":") for volume in COMPOSE["services"][name].get("volumes", [])]
    (source,) = [
        ROOT / host / path.removeprefix(inside + "/")
        for host, inside, *options in mounts
        if path.startswith(inside + "/") and options == ["ro"]
    ]
    assert read_icalendar(source) is not None, "the shipped calendar parses"
