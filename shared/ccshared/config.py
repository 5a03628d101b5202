"""Configuration from environment variables, validated once at start.

A settings class is a `@group(PREFIX)`: a frozen, keyword-only dataclass whose fields give their default,
parser and help. A field reads PREFIX + its name in capitals, unless it names its variable or is a shared
`Var` (the bus, the keys: variables several services read):

    @config.group("CONTACTS_")
    class Settings:
        retention_days: int = setting(365, positive_int, "days kept")  # CONTACTS_RETENTION_DAYS
        bus_url: str = setting(config.BUS_URL)  # EVENT_BUS_URL

`Settings.from_env()` reads every variable the class and its sections declare and raises one `ConfigError`
naming every missing or malformed one, so an operator fixes them in one go.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from types import ModuleType
from typing import Any, TypeVar, dataclass_transform

from . import bus, keys, logs, store
from .urls import http_url, without_credentials
from .urls import port as port  # the services' *_PORT variables

REQUIRED = object()
S = TypeVar("S")
N = TypeVar("N", int, float)
_FIELD = "ccshared.config"  # a settings field's metadata: its _Source


class ConfigError(Exception):
    """One or more environment variables are missing or malformed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("configuration error: " + "; ".join(problems))


@dataclass(frozen=True)
class Var:
    name: str
    default: Any = REQUIRED
    parse: Callable[[str], Any] = str
    help: str = ""
    sensitive: bool = False  # a secret or key: an error names the variable, never echoes its value
    # A value that may hold a secret (a URL's password): what an error may echo of it instead.
    redact: Callable[[str], str] | None = None

    def shown(self, raw: str) -> str:
        """The variable as an error names it: its value too, unless that is secret."""
        if self.redact is not None:
            return f"{self.name}={self.redact(raw)!r}"
        return self.name if self.sensitive else f"{self.name}={raw!r}"


def load(variables: Iterable[Var], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return {name: parsed value}, or raise ConfigError naming every bad variable."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for var in variables:
        raw = env.get(var.name)
        if not raw and var.default is REQUIRED:
            problems.append(f"{var.name} is required ({var.help or 'no default'})")
        elif not raw:
            values[var.name] = var.default
        else:
            try:
                values[var.name] = var.parse(raw)
            except (TypeError, ValueError) as exc:
                problems.append(f"{var.shown(raw)} is invalid: {exc}")
    if problems:
        raise ConfigError(problems)
    return values


@dataclass
class _Source:
    """The variables a settings field reads and how the field is built from their values."""

    variables: tuple[Var, ...]
    build: Callable[[Mapping[str, Any]], Any]


def _field(source: _Source, default: Any = REQUIRED, shown: bool = True) -> Any:
    if default is REQUIRED:
        return field(metadata={_FIELD: source}, repr=shown)
    return field(default_factory=default, metadata={_FIELD: source}, repr=shown)


def setting(
    default: Any = REQUIRED,
    parse: Callable = str,
    help: str = "",
    *,
    name: str = "",
    sensitive: bool = False,
    redact: Callable[[str], str] | None = None,
) -> Any:
    """A settings field read from one variable: a shared `Var`, `name`, or its group's PREFIX + FIELD_NAME."""
    var = default if isinstance(default, Var) else Var(name, default, parse, help, sensitive, redact)
    source = _Source((var,), lambda values: values[source.variables[0].name])
    factory = REQUIRED if var.default is REQUIRED else lambda: var.default
    return _field(source, factory, shown=not var.sensitive)


def derived(variables: Iterable[Var], build: Callable[[Mapping], Any], default: Any = REQUIRED) -> Any:
    """A settings field made from several variables at once (the working-day calendar)."""
    return _field(_Source(tuple(variables), build), default)


def section(cls: type) -> Any:
    """A field that is a group of settings of its own; may be left out if each of them has a default."""
    optional = all(f.default is not MISSING or f.default_factory is not MISSING for f in fields(cls))
    return _field(
        _Source(tuple(variables(cls)), lambda values: _build(cls, values)), cls if optional else REQUIRED
    )


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(setting, derived, section))
def group(prefix: str = "") -> Callable[[type[S]], type[S]]:
    """A settings class: a frozen keyword-only dataclass with `from_env`, its unnamed fields read PREFIX+NAME."""

    def make(cls: type[S]) -> type[S]:
        made = dataclass(frozen=True, kw_only=True)(cls)
        for item in fields(made):
            source = item.metadata.get(_FIELD)
            if source and not source.variables[0].name:
                source.variables = (replace(source.variables[0], name=prefix + item.name.upper()),)
        made.from_env = classmethod(from_env)  # type: ignore[attr-defined]
        return made

    return make


def variables(cls: type) -> list[Var]:
    """Every variable a settings class reads, its sections' too, each once, in declaration order."""
    sources = [item.metadata[_FIELD] for item in fields(cls) if _FIELD in item.metadata]
    return list({var.name: var for source in sources for var in source.variables}.values())


def declared(module: ModuleType) -> dict[str, Var]:
    """Every variable a service's config module declares, by name: its own Vars (its port) and
    every variable its settings classes read. What a process running the service is given."""
    found: dict[str, Var] = {}
    for value in vars(module).values():
        for candidate in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(candidate, Var):
                found[candidate.name] = candidate
            elif isinstance(candidate, type) and is_dataclass(candidate):
                found.update((var.name, var) for var in variables(candidate))
    return found


def _build(cls: type[S], values: Mapping[str, Any]) -> S:
    given = [item for item in fields(cls) if _FIELD in item.metadata]
    return cls(**{item.name: item.metadata[_FIELD].build(values) for item in given})


def from_env(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
    """The settings from the environment; one ConfigError names every bad variable."""
    return _build(cls, load(variables(cls), environ))


def boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _at_least(kind: Callable[[str], N], zero_allowed: bool, message: str) -> Callable[[str], N]:
    def parse(raw: str) -> N:
        try:
            value = kind(raw)
        except ValueError:
            raise ValueError(message) from None
        if not (value >= 0 if zero_allowed else value > 0):  # a NaN is neither
            raise ValueError(message)
        return value

    return parse


positive_int = _at_least(int, False, "must be a positive whole number")
non_negative_int = _at_least(int, True, "must be 0 or a positive whole number")
positive_float = _at_least(float, False, "must be a positive number")
non_negative_float = _at_least(float, True, "must be zero or a positive number")


def one_of(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse


def url(name: str, default: str, help: str = "", parse: Callable[[str], str] = http_url) -> Var:
    """A URL variable (an http(s) base URL unless `parse` says otherwise); errors mask its password."""
    return Var(name, default, parse, help, redact=without_credentials)


def _key(name: str, help: str) -> Var:
    """An Ed25519 key, private or public as its name says; never echoed, nor a key put by mistake."""
    parse = keys.private_key if name.endswith("PRIVATE_KEY") else keys.public_key
    return Var(name, REQUIRED, parse, help, sensitive=True)


BUS_URL = url(
    "EVENT_BUS_URL",
    "sqlite:///var/events.db",
    "sqlite:///path/to/events.db or kafka://host:9092[,host2:9092]",
    bus.check_url,
)
# How `python -m <service> run|serve` starts gunicorn (each service's port is its own Var).
BIND_HOST = Var("BIND_HOST", "127.0.0.1", help="address the HTTP API listens on; 0.0.0.0 in a container")
WEB_CONCURRENCY = Var("WEB_CONCURRENCY", 2, positive_int, "gunicorn worker processes per service")
LOG_LEVEL = Var("LOG_LEVEL", "INFO", logs.parse_level, "DEBUG, INFO, WARNING or ERROR")
OTEL_EXPORTER_OTLP_ENDPOINT = url("OTEL_EXPORTER_OTLP_ENDPOINT", "", "OTLP/HTTP collector; empty: no tracing")
PROCESSED_RETENTION_DAYS = Var(
    "PROCESSED_RETENTION_DAYS", 30, positive_int, "days handled event ids are kept, to skip redeliveries"
)
TRUSTED_PROXY_HOPS = Var("TRUSTED_PROXY_HOPS", 0, non_negative_int, "proxies in front setting X-Forwarded-*")
# Staff tokens: the front end alone signs them (private key); each service checks
# them with the public key. Service tokens: a service calling another's internal
# API signs with a key pair of its own, which staff tokens cannot stand in for.
STAFF_TOKEN_PRIVATE_KEY = _key(
    "STAFF_TOKEN_PRIVATE_KEY",
    "Ed25519 private key (PEM text or the path of a PEM file) with which the front end signs staff tokens",
)
STAFF_TOKEN_PUBLIC_KEY = _key(
    "STAFF_TOKEN_PUBLIC_KEY",
    "the front end's Ed25519 public key (PEM text or file path); checks staff tokens",
)
SERVICE_TOKEN_PRIVATE_KEY = _key(
    "SERVICE_TOKEN_PRIVATE_KEY",
    "Ed25519 private key (PEM text or file path) with which this service signs calls to another's internal API",
)
SERVICE_TOKEN_PUBLIC_KEY = _key(
    "SERVICE_TOKEN_PUBLIC_KEY",
    "the calling services' Ed25519 public key (PEM text or file path); checks tokens on the internal API",
)
# Where the other services answer, for the front end and the notifier.
DIRECTORY_URL = url("DIRECTORY_URL", "http://127.0.0.1:8001", "the directory's base URL")
CONTACTS_URL = url("CONTACTS_URL", "http://127.0.0.1:8002", "the contacts service's base URL")
SLA_MONITOR_URL = url("SLA_MONITOR_URL", "http://127.0.0.1:8003", "the SLA monitor's base URL")
NOTIFIER_URL = url("NOTIFIER_URL", "http://127.0.0.1:8004", "the notifier's base URL")


def store_url(service: str) -> Var:
    """The service's store; the URL may carry the database's password, so it stays out of reprs too."""
    help_ = "sqlite:///path/to/file.db or mongodb://host:27017/dbname (ferretdb://host/dbname: test engine)"
    return replace(url("STORE_URL", f"sqlite:///var/{service}.db", help_, store.check_url), sensitive=True)
