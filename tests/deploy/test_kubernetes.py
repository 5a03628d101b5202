"""deploy/kubernetes rendered by the real kustomize (tests/infra/kustomize.py) and
checked offline: every built-in object against the Kubernetes API's own schemas
(kubernetes-validate, strict), the custom resources (KEDA's ScaledObject, the
Prometheus Operator's ServiceMonitor) for the structure their controllers read,
and the whole against the code: each service's settings, ports, probes, consumer
groups and topics."""

from __future__ import annotations

import copy
import importlib
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from ccshared import bus as buses
from ccshared import config
from ccshared import contracts as c
from ccshared import store as stores
from ccshared.calendar import CLOSURE_CALENDAR
from ccshared.timeutil import SystemClock
from cryptography.fernet import Fernet

from tests.deploy.test_deploy_compose import COMMON, SERVICES
from tests.infra import pytest_support as support
from tests.infra.kustomize import build, install_kustomize, missing_tools
from tests.infra.tokens import key_env
from tests.infra.variables import known_variables

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE_ROOT = ROOT / "deploy" / "kubernetes"
KUSTOMIZATIONS = {
    "base": KUSTOMIZE_ROOT / "base",
    "production": KUSTOMIZE_ROOT / "overlays" / "production",
}
# The oldest Kubernetes release the manifests are for (README.md says so), and the newest
# whose schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.32.0", "1.37.0")
# Custom resources: no schema of the Kubernetes API has them, so
# test_custom_resources_have_what_their_controllers_read checks them instead.
CUSTOM_KINDS = {("keda.sh/v1alpha1", "ScaledObject"), ("monitoring.coreos.com/v1", "ServiceMonitor")}
# The services the Ingress sends the public to (deploy/caddy/Caddyfile's two sites).
PUBLIC = {"web", "contacts", "directory"}
# What the partner API host serves, and from which service.
PARTNER_PATHS = {
    ("/api/v1/referrals", "Prefix", "contacts"),
    ("/healthz", "Exact", "contacts"),
    ("/oruk", "Prefix", "directory"),
    ("/api/v1/centres", "Prefix", "directory"),
    ("/api/v1/centres/stale", "Exact", "not-public"),
    ("/api/v1/services-list", "Exact", "directory"),
}
# Where a request on the partner API host ends up (None: the controller's 404), as
# deploy/caddy/Caddyfile sends it, but for the directory's staff calls under /api/v1/centres/
# that Ingress paths cannot tell apart (they need a staff token there).
PARTNER_ROUTES = {
    "/api/v1/referrals": "contacts",
    "/api/v1/referrals/a-referral": "contacts",
    "/api/v1/referrals/openapi.json": "contacts",
    "/openapi.json": None,
    "/healthz": "contacts",
    "/oruk": "directory",
    "/oruk/services": "directory",
    "/oruk/openapi.json": "directory",
    "/api/v1/services-list": "directory",
    "/api/v1/centres": "directory",
    "/api/v1/centres/a-centre": "directory",
    "/api/v1/centres/stale": None,
    "/api/v1/partner-feeds": None,
    "/api/v1/partner-services/a-service/hide": None,
    "/api/v1/contacts": None,
    "/api/v1/internal/agencies/an-agency": None,
    "/metrics": None,
    "/readyz": None,
}
HIDDEN_FROM_THE_SITE = {"/metrics", "/readyz"}
# How each service's process loads its settings (module, function), as its entry points do.
LOADERS = {
    "directory": ("directory.config", "Settings.from_env"),
    "contacts": ("contacts.config", "Settings.from_env"),
    "sla-monitor": ("sla_monitor.config", "Settings.from_env"),
    "notifier": ("notifier.config", "Settings.from_env"),
    "web": ("frontend.config", "Settings.from_env"),
}


@dataclass
class Rendered:
    name: str
    objects: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.name}: {len(found)} {kind} named {name}"
        return found[0]

    def config_map(self, name: str) -> dict[str, str]:
        """A ConfigMap by the name a Deployment refers to it (kustomize's hashed name)."""
        return self.get("ConfigMap", name).get("data", {})

    def deployment(self, service: str) -> dict[str, Any]:
        return self.get("Deployment", service)


@pytest.fixture(scope="session")
def kustomize() -> Path:
    """Skipped without Go locally; under CI=true a missing Go fails instead (no hollow pass)."""
    support.require_tools("kustomize", missing_tools())
    return install_kustomize()


@pytest.fixture(scope="module", params=sorted(KUSTOMIZATIONS))
def rendered(request: pytest.FixtureRequest, kustomize: Path) -> Rendered:
    stream = build(kustomize, KUSTOMIZATIONS[request.param])
    return Rendered(request.param, [obj for obj in yaml.safe_load_all(stream) if obj])


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{deployment['metadata']['name']}: one container per pod"
    return containers[0]


def environment(rendered: Rendered, service: str) -> dict[str, dict[str, Any]]:
    """Each variable the service's container gets: {name: {"value": ...} or {"secret": (name, key)}}."""
    spec = container(rendered.deployment(service))
    env: dict[str, dict[str, Any]] = {}
    for source in spec.get("envFrom", []):
        assert set(source) == {"configMapRef"}, (
            f"{service}: envFrom only from ConfigMaps; a Secret's keys are named one by one (secretKeyRef)"
        )
        for key, value in rendered.config_map(source["configMapRef"]["name"]).items():
            env[key] = {"value": value}
    for item in spec.get("env", []):
        if "value" in item:
            env[item["name"]] = {"value": item["value"]}
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = {"secret": (ref["name"], ref["key"]), "optional": ref.get("optional", False)}
    return env


def container_port(service: str, spec: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in spec["ports"]}
    assert port in named, f"{service}: no container port named {port!r}"
    return named[port]


def quantity(raw: str | int) -> Decimal:
    """A Kubernetes resource quantity (the forms these manifests use) as a number."""
    text = str(raw)
    units = {"m": Decimal("0.001"), "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return Decimal(text[: -len(suffix)]) * Decimal(factor)
    return Decimal(text)


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if set(selector) - {"matchLabels", "matchExpressions"}:
        raise AssertionError(f"unexpected selector {selector}")
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"]["labels"]


def kafka_hosts(rendered: Rendered, service: str) -> str:
    url = environment(rendered, service)["EVENT_BUS_URL"]["value"]
    assert url.startswith("kafka://") and "?" not in url, (
        f"{service}: EVENT_BUS_URL {url!r}: KEDA's triggers copy the brokers from it, so no options"
    )
    return url.removeprefix("kafka://").rstrip("/")


def mounted_files(rendered: Rendered, service: str) -> dict[str, str]:
    """The files the container sees from ConfigMap volumes: {path in the container: content}."""
    pod = rendered.deployment(service)["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    files = {}
    for mount in container(rendered.deployment(service)).get("volumeMounts", []):
        config_map = volumes[mount["name"]].get("configMap")
        if config_map is None:
            continue
        assert mount.get("readOnly"), f"{service}: a ConfigMap is mounted read-only"
        for key, content in rendered.config_map(config_map["name"]).items():
            files[f"{mount['mountPath']}/{key}"] = content
    return files


def embedded_environment(rendered: Rendered, service: str, tmp_path: Path) -> dict[str, str]:
    """The Deployment's settings as its process would see them, with made-up secrets, the
    embedded engines in place of Kafka and MongoDB, and the files its ConfigMap volumes mount
    written under tmp_path (a setting naming one names the copy)."""
    made_up = {
        **key_env(service),
        "STORE_URL": f"sqlite:///{tmp_path}/{service}.db",
        "EVENT_BUS_URL": f"sqlite:///{tmp_path}/events.db",
        "CONTACTS_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "CONTACTS_BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        "WEB_SECRET_KEY": secrets.token_urlsafe(32),
    }
    copies = {}
    for path, content in mounted_files(rendered, service).items():
        copies[path] = tmp_path / service / path.lstrip("/")
        copies[path].parent.mkdir(parents=True, exist_ok=True)
        copies[path].write_text(content)
    env = {}
    for key, source in environment(rendered, service).items():
        if key in made_up:
            env[key] = made_up[key]
        elif "value" in source:
            env[key] = str(copies.get(source["value"], source["value"]))
        else:
            assert source["optional"], f"{service}: no made-up value for the Secret's {key}"
    return env


class NotingSubscriptions:
    """The real embedded bus, noting each consumer group that joins, then stopping the task."""

    def __init__(self, inner: buses.Bus, stop: threading.Event):
        self.inner, self.stop = inner, stop
        self.seen: set[tuple[str, str]] = set()

    def consumer(self, group: str, topics):
        self.seen |= {(group, topic) for topic in topics}
        self.stop.set()
        return self.inner.consumer(group, topics)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def sla_monitor_subscriptions(rendered: Rendered, tmp_path: Path) -> set[tuple[str, str]]:
    """Run the SLA monitor's consume task, as its worker wires it, until it joins its group."""
    from sla_monitor import config as sla_config
    from sla_monitor import worker as sla_worker

    env = embedded_environment(rendered, "sla-monitor", tmp_path)
    settings = sla_config.WorkerSettings.from_env(env)
    stop = threading.Event()
    bus = NotingSubscriptions(buses.connect(settings.bus_url), stop)
    store = stores.connect(settings.store_url)
    tasks = sla_worker.tasks(settings, store=store, bus=bus, clock=SystemClock())
    (consume,) = [task for task in tasks if task.__name__ == "consume"]
    consume(stop)
    return bus.seen


def subscriptions_in_the_code(rendered: Rendered, tmp_path: Path) -> dict[str, set[tuple[str, str]]]:
    """(consumer group, topic) of every consumer each service runs, read from its code."""
    from contacts import worker as contacts_worker
    from notifier import worker as notifier_worker

    group_var = known_variables("notifier")["NOTIFIER_CONSUMER_GROUP"]
    notifier_group = (
        environment(rendered, "notifier").get(group_var.name, {}).get("value") or group_var.default
    )
    return {
        "contacts": {
            (each.group, each.topic)
            for each in (contacts_worker.CENTRES, contacts_worker.WEBHOOKS, contacts_worker.DUE_DATES)
        },
        "sla-monitor": sla_monitor_subscriptions(rendered, tmp_path),
        "notifier": {(notifier_group, topic) for topic in notifier_worker.TOPICS},
    }


def ingress_backend(paths: list[dict[str, Any]], request_path: str) -> str | None:
    """The Service the Ingress spec sends `request_path` to: an Exact path by equality, a Prefix
    by whole path elements; the longest path wins, Exact before Prefix at one length. None: the
    controller answers 404 (no path matches, or the pod-less not-public)."""
    best: tuple[tuple[int, bool], str] | None = None
    for entry in paths:
        path, kind = entry["path"], entry["pathType"]
        prefix = path.rstrip("/")
        if kind == "Exact":
            hit = request_path == path
        else:
            hit = request_path == prefix or request_path.startswith(prefix + "/")
        rank = (len(prefix), kind == "Exact")
        if hit and (best is None or rank > best[0]):
            best = (rank, entry["backend"]["service"]["name"])
    backend = best[1] if best else None
    return None if backend == "not-public" else backend


def autoscalers(rendered: Rendered, service: str) -> Iterator[dict[str, Any]]:
    for hpa in rendered.of_kind("HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        if (ref["kind"], ref["name"]) == ("Deployment", service):
            yield hpa
    for scaled in rendered.of_kind("ScaledObject"):
        ref = scaled["spec"]["scaleTargetRef"]
        if ref.get("kind", "Deployment") == "Deployment" and ref["name"] == service:
            yield scaled


# --- the Kubernetes API's schemas ---------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_built_in_object_is_valid_against_the_kubernetes_schemas(rendered, version):
    checked = 0
    for obj in rendered.objects:
        kind = (obj["apiVersion"], obj["kind"])
        if kind in CUSTOM_KINDS:
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(obj, version, strict=True)
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{rendered.name}: {obj['kind']}/{obj['metadata']['name']}: {exc.message} at {exc.path}"
            )
        checked += 1
    assert checked >= 20, f"{rendered.name}: only {checked} objects validated"


def test_the_strict_schemas_refuse_a_misspelt_field_and_a_wrong_type(kustomize):
    """The check above would catch a typo: the validator is not a pass-through."""
    rendered = Rendered("base", list(yaml.safe_load_all(build(kustomize, KUSTOMIZATIONS["base"]))))
    deployment = rendered.deployment("contacts")
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"path": "/healthz"}}
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "two"
    for broken in (misspelt, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


def test_custom_resources_have_what_their_controllers_read(rendered):
    deployments = {d["metadata"]["name"] for d in rendered.of_kind("Deployment")}
    custom = [obj for obj in rendered.objects if (obj["apiVersion"], obj["kind"]) in CUSTOM_KINDS]
    assert custom, f"{rendered.name}: no custom resources rendered"
    for obj in custom:
        assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}, obj
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", obj["metadata"]["name"])
    for scaled in rendered.of_kind("ScaledObject"):
        spec = scaled["spec"]
        name = scaled["metadata"]["name"]
        assert set(spec) <= {
            "scaleTargetRef", "minReplicaCount", "maxReplicaCount", "pollingInterval",
            "cooldownPeriod", "advanced", "triggers",
        }, f"{name}: fields KEDA's ScaledObject does not have"  # fmt: skip
        assert spec["scaleTargetRef"]["name"] in deployments
        assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
        assert isinstance(spec["minReplicaCount"], int) and isinstance(spec["maxReplicaCount"], int)
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        for key in ("pollingInterval", "cooldownPeriod"):
            assert isinstance(spec[key], int) and spec[key] > 0
        behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
        assert set(behavior) <= {"scaleUp", "scaleDown"}
        assert spec["triggers"]
        for trigger in spec["triggers"]:
            assert trigger["type"] in {"kafka", "cpu"}, trigger
            metadata = trigger["metadata"]
            assert all(isinstance(v, str) for v in metadata.values()), (
                f"{name}: KEDA reads trigger metadata as strings: {metadata}"
            )
            if trigger["type"] == "kafka":
                assert {"bootstrapServers", "consumerGroup", "topic", "lagThreshold"} <= set(metadata)
                assert int(metadata["lagThreshold"]) > 0
                assert metadata.get("offsetResetPolicy", "latest") in {"earliest", "latest"}
            else:
                assert trigger["metricType"] == "Utilization" and 0 < int(metadata["value"]) <= 100
    for monitor in rendered.of_kind("ServiceMonitor"):
        spec = monitor["spec"]
        selected = [
            s for s in rendered.of_kind("Service") if selects(spec["selector"], s["metadata"]["labels"])
        ]
        assert {s["metadata"]["name"] for s in selected} == set(SERVICES)
        assert spec["jobLabel"] == "app.kubernetes.io/name", "job = the service's name, as the alerts expect"
        for endpoint in spec["endpoints"]:
            assert endpoint["path"] == "/metrics"
            for service in selected:
                assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}


# --- one Deployment per service, as in docker-compose.yml ------------------------------------


def test_one_deployment_per_service_each_from_its_own_pinned_image(rendered):
    assert {d["metadata"]["name"] for d in rendered.of_kind("Deployment")} == set(SERVICES)
    for name, (package, _, port) in SERVICES.items():
        spec = container(rendered.deployment(name))
        image, _, tag = spec["image"].rpartition(":")
        assert image.endswith(f"childrens-centres/{name}") and tag and tag != "latest", spec["image"]
        assert "command" not in spec and "args" not in spec, (
            f"{name}: the image's own `python -m {package} run`"
        )
        assert [p["containerPort"] for p in spec["ports"]] == [port]
        assert "replicas" not in rendered.deployment(name)["spec"], f"{name}: its autoscaler owns replicas"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_gets_every_variable_it_requires_and_no_unknown_one(rendered, name):
    package, port_var, port = SERVICES[name]
    declared = known_variables(package)
    env = environment(rendered, name)
    required = {var.name for var in declared.values() if var.default is config.REQUIRED}
    assert required <= set(env), f"{rendered.name}: {name} lacks {sorted(required - set(env))}"
    unknown = set(env) - set(declared) - COMMON - {port_var}
    assert not unknown, f"{rendered.name}: {name} is given variables it never reads: {sorted(unknown)}"
    assert env[port_var] == {"value": str(port)}
    assert env["EVENT_BUS_URL"]["value"].startswith("kafka://")
    expected_hops = {"value": "1"} if name in PUBLIC else None
    assert env.get("TRUSTED_PROXY_HOPS") == expected_hops, f"{name}: trust the Ingress's one hop, or none"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_services_settings_load_from_the_rendered_environment(rendered, name, tmp_path):
    """The ConfigMaps' values parse as the service reads them (a bad one would stop it at start)."""
    module, function = LOADERS[name]
    loader = importlib.import_module(module)
    for part in function.split("."):
        loader = getattr(loader, part)
    loader(embedded_environment(rendered, name, tmp_path))


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_secrets_come_from_the_services_own_secret_never_from_the_manifests(rendered, name):
    package, _, _ = SERVICES[name]
    declared = known_variables(package)
    env = environment(rendered, name)
    secret_names = {"STORE_URL"} | {v.name for v in declared.values() if v.sensitive}
    secret_names |= {key for key in env if re.search(r"(KEY|PASSWORD|USERNAME)$", key)}
    for key in secret_names & set(env):
        assert env[key].get("secret") == (f"{name}-secrets", key), (
            f"{rendered.name}: {name}'s {key} must come from the Secret {name}-secrets"
        )
    for source in env.values():
        if "secret" in source:
            assert source["secret"][0] == f"{name}-secrets", f"{name} reads another service's Secret"
    assert not rendered.of_kind("Secret"), "no Secret (and so no secret value) is in the repository"


def test_the_readme_creates_every_secret_key_the_deployments_read(rendered):
    wanted: dict[str, set[str]] = {}
    for name in SERVICES:
        for source in environment(rendered, name).values():
            if "secret" in source:
                secret, key = source["secret"]
                wanted.setdefault(secret, set()).add(key)
    assert readme_secrets() == wanted


def readme_secrets() -> dict[str, set[str]]:
    """The keys of each Secret that README.md's `kubectl create secret generic` commands make."""
    text = (ROOT / "README.md").read_text()
    made: dict[str, set[str]] = {}
    for command in re.findall(r"kubectl[^\n]*create secret generic (?:[^\n]*\\\n)*[^\n]*", text):
        name = re.search(r"create secret generic (\S+)", command)[1]
        made.setdefault(name, set()).update(re.findall(r"--from-(?:literal|file)=(\w+)=", command))
    return made


def test_settings_that_name_another_service_point_at_its_service_and_port(rendered):
    ports = {
        s["metadata"]["name"]: {p["port"] for p in s["spec"]["ports"]} for s in rendered.of_kind("Service")
    }
    seen = 0
    for name in SERVICES:
        for key, source in environment(rendered, name).items():
            found = re.fullmatch(r"http://([a-z-]+):(\d+)", source.get("value", ""))
            if key.endswith("_URL") and found:
                assert int(found[2]) in ports.get(found[1], set()), f"{name}: {key}={source['value']}"
                seen += 1
    assert seen >= 6


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_the_closure_calendar_file_is_mounted_where_the_setting_points(rendered, name):
    """SLA_CLOSURE_CALENDAR is a path and the root filesystem is read-only: the file comes from a
    ConfigMap volume, the same for every service that reads the calendar, and it parses."""
    path = environment(rendered, name).get(CLOSURE_CALENDAR.name, {}).get("value")
    if not path:
        assert CLOSURE_CALENDAR.name not in known_variables(SERVICES[name][0]), f"{name} reads no calendar"
        return
    files = mounted_files(rendered, name)
    assert path in files, f"{rendered.name}: {name}'s {path} is not mounted"
    assert files == mounted_files(rendered, "sla-monitor"), "one calendar for all three"


# --- probes, resources, disruption budgets -------------------------------------------------


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_probes_ask_readyz_and_healthz_on_the_container_port(rendered, name):
    _, _, port = SERVICES[name]
    spec = container(rendered.deployment(name))
    expected = {"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"}
    for probe, path in expected.items():
        if probe == "startupProbe" and probe not in spec:
            continue
        get = spec[probe]["httpGet"]
        assert get["path"] == path, f"{name}: {probe} asks {get['path']}"
        assert container_port(name, spec, get["port"]) == port
        assert get.get("scheme", "HTTP") == "HTTP"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_container_has_requests_and_limits(rendered, name):
    resources = container(rendered.deployment(name))["resources"]
    for resource in ("cpu", "memory"):
        request = quantity(resources["requests"][resource])
        limit = quantity(resources["limits"][resource])
        assert 0 < request <= limit, f"{name}: {resource} request {request} over its limit {limit}"


def test_every_deployment_has_one_disruption_budget_selecting_it_alone(rendered):
    budgets = rendered.of_kind("PodDisruptionBudget")
    for deployment in rendered.of_kind("Deployment"):
        name = deployment["metadata"]["name"]
        mine = [b for b in budgets if selects(b["spec"]["selector"], pod_labels(deployment))]
        assert len(mine) == 1, f"{name}: {len(mine)} PodDisruptionBudgets select its pods"
        others = [d for d in rendered.of_kind("Deployment") if d is not deployment]
        assert not any(selects(mine[0]["spec"]["selector"], pod_labels(d)) for d in others)
        assert selects(deployment["spec"]["selector"], pod_labels(deployment))
        for autoscaler in autoscalers(rendered, name):
            least = autoscaler["spec"].get("minReplicas", autoscaler["spec"].get("minReplicaCount"))
            assert least >= 2, (
                f"{name}: with one replica its budget would block every drain or allow an outage"
            )


# --- Services and the Ingress ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_answers_behind_a_service_on_its_port(rendered, name):
    _, _, port = SERVICES[name]
    deployment = rendered.deployment(name)
    service = rendered.get("Service", name)
    assert selects({"matchLabels": service["spec"]["selector"]}, pod_labels(deployment))
    spec = container(deployment)
    assert [(p["port"], container_port(name, spec, p["targetPort"])) for p in service["spec"]["ports"]] == [
        (port, port)
    ]


def test_the_ingress_serves_the_two_public_sites_over_tls(rendered):
    (ingress,) = rendered.of_kind("Ingress")
    rules = ingress["spec"]["rules"]
    hosts = [rule["host"] for rule in rules]
    covered = {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}
    assert set(hosts) <= covered and all(tls["secretName"] for tls in ingress["spec"]["tls"])
    services = {s["metadata"]["name"]: s for s in rendered.of_kind("Service")}
    routes: dict[str, set[tuple[str, str, str]]] = {}
    for rule in rules:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            target = services[backend["name"]]
            assert backend["port"]["name"] in {p["name"] for p in target["spec"]["ports"]}
            routes.setdefault(rule["host"], set()).add((path["path"], path["pathType"], backend["name"]))
    site, partner_api = hosts
    assert ("/", "Prefix", "web") in routes[site]
    hidden = {path for path, kind, backend in routes[site] if backend == "not-public" and kind == "Exact"}
    assert hidden == HIDDEN_FROM_THE_SITE
    assert "selector" not in services["not-public"]["spec"], "no pod behind the paths kept inside"
    assert routes[partner_api] == PARTNER_PATHS
    if rendered.name == "production":
        assert "localhost" not in " ".join(hosts)
        base_url = environment(rendered, "notifier")["NOTIFIER_WEB_BASE_URL"]["value"]
        assert base_url == f"https://{site}", "the e-mails' links go to the public site"
        feed_url = environment(rendered, "directory")["DIRECTORY_PUBLIC_URL"]["value"]
        assert feed_url == f"https://{partner_api}", "the feed's links name the host that publishes it"


def test_the_partner_api_host_publishes_the_public_reads_and_keeps_the_rest_inside(rendered):
    """README promises a public API: the directory's centres and services list, beside the partner
    API and the feed; the services' staff and internal routes are not published."""
    (ingress,) = rendered.of_kind("Ingress")
    paths = ingress["spec"]["rules"][1]["http"]["paths"]
    reached = {path: ingress_backend(paths, path) for path in PARTNER_ROUTES}
    assert reached == PARTNER_ROUTES


# --- scaling --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_has_one_autoscaler_and_scales_on_cpu(rendered, name):
    (autoscaler,) = autoscalers(rendered, name)
    if autoscaler["kind"] == "HorizontalPodAutoscaler":
        assert autoscaler["apiVersion"] == "autoscaling/v2"
        metrics = autoscaler["spec"]["metrics"]
        assert [(m["type"], m["resource"]["name"]) for m in metrics] == [("Resource", "cpu")]
    else:
        assert [t for t in autoscaler["spec"]["triggers"] if t["type"] == "cpu"], f"{name}: no CPU trigger"


def test_consumers_scale_on_the_lag_of_their_real_groups_and_topics(rendered, tmp_path):
    expected = subscriptions_in_the_code(rendered, tmp_path)
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in rendered.of_kind("ScaledObject")}
    assert set(scaled) == set(expected), "the services that consume, and no other, scale on lag"
    for name, subscriptions in expected.items():
        triggers = [t["metadata"] for t in scaled[name]["spec"]["triggers"] if t["type"] == "kafka"]
        assert {(t["consumerGroup"], t["topic"]) for t in triggers} == subscriptions
        assert len(triggers) == len(subscriptions)
        for trigger in triggers:
            assert trigger["bootstrapServers"] == kafka_hosts(rendered, name)
        assert all(topic in c.ALL_TOPICS for _, topic in subscriptions)


# --- the documents ---------------------------------------------------------------------------


def test_the_readme_makes_the_certificate_issuer_the_production_ingress_asks_for(kustomize):
    """cert-manager gives no certificate for an issuer that does not exist: README says which to make."""
    rendered = Rendered(
        "production", list(yaml.safe_load_all(build(kustomize, KUSTOMIZATIONS["production"])))
    )
    (ingress,) = rendered.of_kind("Ingress")
    issuer = ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    text = (ROOT / "README.md").read_text()
    (manifest,) = re.findall(r"kubectl apply -f - <<'EOF'\n(.*?)\n\s*EOF\n", text, flags=re.S)
    made = yaml.safe_load(manifest)
    assert (made["kind"], made["metadata"]["name"]) == ("ClusterIssuer", issuer)
    (solver,) = made["spec"]["acme"]["solvers"]
    assert solver["http01"]["ingress"]["ingressClassName"] == ingress["spec"]["ingressClassName"]
    assert f"ClusterIssuer named `{issuer}`" in " ".join(text.split())


def test_the_readme_makes_topics_with_a_partition_for_every_replica_and_three_copies(rendered):
    """KEDA and the consumer groups stop at the partitions: the documented topics have enough."""
    text = (ROOT / "README.md").read_text()
    (command,) = re.findall(r"kafka-topics\.sh (?:[^\n]*\\\n)*[^\n]*", text)
    partitions = int(re.search(r"--partitions (\d+)", command)[1])
    assert re.search(r"--replication-factor 3\b", command) and "min.insync.replicas=2" in command
    topics = set(re.search(r"for t in ([^;]+);", text)[1].split())
    assert topics == set(c.ALL_TOPICS)
    most = max(s["spec"]["maxReplicaCount"] for s in rendered.of_kind("ScaledObject"))
    assert partitions >= most
    assert "## Sizing Kafka and replicas" in (ROOT / "docs" / "OPERATIONS.md").read_text()
