"""Configuration from environment variables, validated once at start.

A setting is declared once, as a field of a frozen settings dataclass:

    retention_days: int = setting("CONTACTS_RETENTION_DAYS", 365, positive_int, "days kept")

names the variable, its default, its parser, its help and the typed field together.
`from_env(Settings)` (or `Settings.from_env()` on a `FromEnv` class) parses every
variable the class and its sections declare and raises one `ConfigError` naming
every missing or malformed one, so an operator fixes them in one go instead of
one restart per mistake. A variable several services read (the bus, the keys) is
a `Var` here, given to `setting(VAR)`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from . import keys

REQUIRED = object()


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


def load(variables: Iterable[Var], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return {name: parsed value}, or raise ConfigError naming every bad variable."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for var in variables:
        raw = env.get(var.name)
        if raw is None or raw == "":
            if var.default is REQUIRED:
                problems.append(f"{var.name} is required ({var.help or 'no default'})")
            else:
                values[var.name] = var.default
            continue
        try:
            values[var.name] = var.parse(raw)
        except (TypeError, ValueError) as exc:
            shown = var.name if var.sensitive else f"{var.name}={raw!r}"
            problems.append(f"{shown} is invalid: {exc}")
    if problems:
        raise ConfigError(problems)
    return values


_VAR, _DERIVED, _SECTION = "ccshared.var", "ccshared.derived", "ccshared.section"
S = TypeVar("S")


def setting(
    var: Var | str,
    default: Any = REQUIRED,
    parse: Callable[[str], Any] = str,
    help: str = "",  # noqa: A002 - the word the README uses
    *,
    sensitive: bool = False,
) -> Any:
    """A settings field read from one variable: a shared `Var`, or the Var's own arguments."""
    if not isinstance(var, Var):
        var = Var(var, default, parse, help, sensitive)
    repr_ = not var.sensitive
    if var.default is REQUIRED:
        return dataclasses.field(metadata={_VAR: var}, repr=repr_)
    return dataclasses.field(default_factory=lambda: var.default, metadata={_VAR: var}, repr=repr_)


def derived(
    variables: Iterable[Var], build: Callable[[Mapping[str, Any]], Any], default: Any = REQUIRED
) -> Any:
    """A settings field made from several variables at once (the working-day calendar)."""
    metadata = {_DERIVED: (tuple(variables), build)}
    if default is REQUIRED:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default_factory=default, metadata=metadata)


def section(cls: type) -> Any:
    """A settings field that is a group of settings of its own (a dataclass of settings fields);
    a group whose every setting has a default may be left out where settings are built by hand."""
    if all(_has_default(item) for item in dataclasses.fields(cls)):
        return dataclasses.field(default_factory=cls, metadata={_SECTION: cls})
    return dataclasses.field(metadata={_SECTION: cls})


def _has_default(item: dataclasses.Field) -> bool:
    return item.default is not dataclasses.MISSING or item.default_factory is not dataclasses.MISSING


def variables(cls: type) -> list[Var]:
    """Every variable a settings class reads, its sections' too, each once, in declaration order."""
    found: dict[str, Var] = {}
    for item in dataclasses.fields(cls):
        if _VAR in item.metadata:
            found.setdefault(item.metadata[_VAR].name, item.metadata[_VAR])
        elif _DERIVED in item.metadata:
            for var in item.metadata[_DERIVED][0]:
                found.setdefault(var.name, var)
        elif _SECTION in item.metadata:
            for var in variables(item.metadata[_SECTION]):
                found.setdefault(var.name, var)
    return list(found.values())


def from_env(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
    """The settings from the environment; one ConfigError names every bad variable."""
    return _build(cls, load(variables(cls), environ))


def _build(cls: type[S], values: Mapping[str, Any]) -> S:
    given: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        if _VAR in item.metadata:
            given[item.name] = values[item.metadata[_VAR].name]
        elif _DERIVED in item.metadata:
            given[item.name] = item.metadata[_DERIVED][1](values)
        elif _SECTION in item.metadata:
            given[item.name] = _build(item.metadata[_SECTION], values)
    return cls(**given)


def declared_in(module: object) -> dict[str, Var]:
    """Every variable a config module declares: its Vars and its settings classes' fields."""
    found: dict[str, Var] = {}
    for value in vars(module).values():
        for candidate in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(candidate, Var):
                found[candidate.name] = candidate
            elif isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
                found.update((var.name, var) for var in variables(candidate))
    return found


class FromEnv:
    """Gives a settings dataclass `from_env(environ=None)`."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Any:
        return from_env(cls, environ)


def boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive whole number")
    return value


def non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be 0 or a positive whole number")
    return value


MIN_SECRET_BYTES = 32


def secret(raw: str) -> str:
    """A secret that keys an HMAC or a cipher: refuse one too short to resist guessing."""
    size = len(raw.encode())
    if size < MIN_SECRET_BYTES:
        raise ValueError(
            f"is {size} bytes; a secret needs at least {MIN_SECRET_BYTES} bytes "
            "(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return raw


def url_with_scheme(*schemes: str) -> Callable[[str], str]:
    """A URL with one of these schemes; a base URL's trailing slash is dropped (paths are appended)."""

    def parse(raw: str) -> str:
        scheme = raw.split(":", 1)[0]
        if scheme not in schemes:
            raise ValueError(f"scheme must be one of {', '.join(schemes)}")
        return raw.rstrip("/") if scheme in ("http", "https") else raw

    return parse


def non_negative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        raise ValueError("must be zero or a positive number")
    return value


def positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be a positive number")
    return value


def one_of(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse


BUS_URL = Var(
    "EVENT_BUS_URL",
    "sqlite:///var/events.db",
    url_with_scheme("sqlite", "kafka"),
    "sqlite:///path/to/events.db or kafka://host:9092[,host2:9092]",
)
LOG_LEVEL = Var("LOG_LEVEL", "INFO", lambda raw: raw.upper(), "DEBUG, INFO, WARNING or ERROR")
OTEL_EXPORTER_OTLP_ENDPOINT = Var(
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "",
    url_with_scheme("http", "https"),
    "OpenTelemetry collector's OTLP/HTTP base URL (spans go to <it>/v1/traces); empty: tracing off",
)
PROCESSED_RETENTION_DAYS = Var(
    "PROCESSED_RETENTION_DAYS",
    30,
    positive_int,
    "how many days a consumer remembers the ids of events it handled, to skip redeliveries; "
    "keep it longer than the topics' retention and any replay window",
)
TRUSTED_PROXY_HOPS = Var(
    "TRUSTED_PROXY_HOPS",
    0,
    non_negative_int,
    "how many reverse proxies in front of this service append to X-Forwarded-For and set "
    "X-Forwarded-Proto (1 behind the Caddy of docker-compose.yml); 0 trusts no forwarded header",
)
# Staff tokens: the front end alone signs them (private key); each service checks
# them with the public key. Service tokens: a service calling another's internal
# API signs with a key pair of its own, which staff tokens cannot stand in for.
STAFF_TOKEN_PRIVATE_KEY = Var(
    "STAFF_TOKEN_PRIVATE_KEY",
    REQUIRED,
    keys.private_key,
    "Ed25519 private key (PEM text or the path of a PEM file) with which the front end signs staff tokens",
    sensitive=True,
)
STAFF_TOKEN_PUBLIC_KEY = Var(
    "STAFF_TOKEN_PUBLIC_KEY",
    REQUIRED,
    keys.public_key,
    "the front end's Ed25519 public key (PEM text or file path); checks staff tokens",
    sensitive=True,  # a private key put here by mistake must not reach the logs
)
SERVICE_TOKEN_PRIVATE_KEY = Var(
    "SERVICE_TOKEN_PRIVATE_KEY",
    REQUIRED,
    keys.private_key,
    "Ed25519 private key (PEM text or file path) with which this service signs calls to another's internal API",
    sensitive=True,
)
SERVICE_TOKEN_PUBLIC_KEY = Var(
    "SERVICE_TOKEN_PUBLIC_KEY",
    REQUIRED,
    keys.public_key,
    "the calling services' Ed25519 public key (PEM text or file path); checks tokens on the internal API",
    sensitive=True,  # a private key put here by mistake must not reach the logs
)
# Where the contacts service answers, for the services that call it (front end, notifier).
CONTACTS_URL = Var(
    "CONTACTS_URL",
    "http://127.0.0.1:8002",
    url_with_scheme("http", "https"),
    "the contacts service's base URL",
)
# Where the SLA monitor answers, for the services that call it (front end, notifier).
SLA_MONITOR_URL = Var(
    "SLA_MONITOR_URL",
    "http://127.0.0.1:8003",
    url_with_scheme("http", "https"),
    "the SLA monitor's base URL",
)


def store_url(service: str) -> Var:
    return Var(
        "STORE_URL",
        f"sqlite:///var/{service}.db",
        url_with_scheme("sqlite", "mongodb", "mongodb+srv", "ferretdb"),
        "sqlite:///path/to/file.db or mongodb://host:27017/dbname (ferretdb://host/dbname: test engine)",
    )
