"""The envelope, the registry of event types, and configuration checks."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from ccshared import config, events, keys
from ccshared import contracts as c

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

# Field names that could only hold a member of the public's personal data.
PERSONAL = {
    "name_of_public",
    "first_name",
    "last_name",
    "full_name",
    "address",
    "phone",
    "telephone_number",
    "date_of_birth",
    "child",
    "children",
    "child_name",
    "summary",
    "notes",
    "reply_to",
    "family",
}


def test_every_event_type_has_a_schema_and_no_personal_field():
    for type_ in (
        *c.CENTRE_EVENTS,
        *c.CONTACT_EVENTS,
        *c.SLA_EVENTS,
        *c.AGENCY_EVENTS,
        c.CONTACT_PERSONAL_ERASED,
        c.CONTACT_AREA_MOVED,
    ):
        fields = set(events.REGISTRY[type_]().fields)
        assert not fields & PERSONAL, (type_, fields & PERSONAL)


def test_an_event_round_trips_through_encode_and_decode():
    data = {
        "contact_id": "k1",
        "reference": "T-2611-AAAAA",
        "channel": "letter",
        "centre_id": "c1",
        "area": "north",
        "received_at": NOW,
        "status": "received",
        "occurred_at": NOW,
    }
    envelope = events.make(c.CONTACT_RECEIVED, "k1", data, source="contacts", time=NOW)

    event = events.decode(events.encode(envelope))

    assert event.type == c.CONTACT_RECEIVED
    assert event.key == "k1"
    assert event.data["received_at"] == NOW
    assert set(envelope) == {
        "id",
        "source",
        "type",
        "time",
        "subject",
        "specversion",
        "datacontenttype",
        "data",
    }


def test_a_made_event_carries_every_data_field_those_left_out_at_their_defaults():
    data = {
        "centre_id": "c1",
        "name": "Test Centre",
        "area": "north",
        "ward": "Test Ward",
        "postcode": "L4 0AA",
        "status": "open",
        "version": "3",
        "latitude": 53,
        "unknown_field": "dropped",
    }

    payload = events.make(c.CENTRE_EVENTS[0], "c1", data, source="directory", time=NOW)["data"]

    assert payload == {
        "centre_id": "c1",
        "name": "Test Centre",
        "area": "north",
        "ward": "Test Ward",
        "postcode": "L4 0AA",
        "status": "open",
        "email": None,
        "last_verified_at": None,
        "latitude": 53.0,
        "longitude": None,
        "services": [],
        "version": 3,
        "changed_fields": [],
    }
    assert list(payload) == list(events.CentreData().fields)


def test_making_an_event_with_bad_data_names_the_field():
    with pytest.raises(events.InvalidEvent, match="channel"):
        events.make(c.CONTACT_RECEIVED, "k1", {"channel": "pigeon"}, source="contacts", time=NOW)


def test_config_names_every_missing_and_malformed_variable():
    variables = [config.Var("A_REQUIRED"), config.Var("A_NUMBER", 3, config.positive_int), config.BUS_URL]

    with pytest.raises(config.ConfigError) as caught:
        config.load(variables, {"A_NUMBER": "-1", "EVENT_BUS_URL": "rabbit://x"})

    message = str(caught.value)
    assert "A_REQUIRED is required" in message
    assert "A_NUMBER='-1' is invalid" in message
    assert "EVENT_BUS_URL='rabbit://x' is invalid" in message


def test_config_applies_defaults_and_parses_values():
    values = config.load(
        [config.Var("A_NUMBER", 3, config.positive_int), config.Var("FLAG", False, config.boolean)],
        {"FLAG": "yes"},
    )
    assert values == {"A_NUMBER": 3, "FLAG": True}


@pytest.mark.parametrize(
    ("variable", "raw", "says"),
    [
        (config.LOG_LEVEL, "LOUD", "expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        (config.Var("T_PORT", 1, config.port), "70000", "must be a whole number from 1 to 65535"),
        (config.Var("T_PORT", 1, config.port), "0", "must be a whole number from 1 to 65535"),
        (config.store_url("t"), "mongodb://host:27017", "names no database"),
        (config.store_url("t"), "mongodb:///t", "names no database host"),
        (config.store_url("t"), "sqlite:var/x.db", "expected sqlite:///path/to/file.db"),
        (config.BUS_URL, "kafka://", "names no broker host"),
        (config.BUS_URL, "kafka://host:99999", "must be a whole number from 1 to 65535"),
        (config.BUS_URL, "kafka://host:9092?prefix=x", "unknown option(s) ['prefix']"),
        (config.BUS_URL, "sqlite://", "expected sqlite:///path/to/file.db"),
        (config.CONTACTS_URL, "http://", "expected http://host[:port][/path]"),
    ],
)
def test_a_value_that_would_fail_later_is_refused_at_start_naming_its_variable(variable, raw, says):
    with pytest.raises(config.ConfigError) as caught:
        config.load([variable], {variable.name: raw})
    [problem] = caught.value.problems
    assert problem.startswith(f"{variable.name}={raw!r} is invalid: ")
    assert says in problem


def test_good_values_of_the_shared_settings_still_load():
    variables = [config.LOG_LEVEL, config.store_url("t"), config.BUS_URL]
    for environ in [
        {
            "LOG_LEVEL": "warning",
            "STORE_URL": "mongodb://a:1,b:2/t?replicaSet=r",
            "EVENT_BUS_URL": "kafka://k:9092,k2",
        },
        {
            "LOG_LEVEL": "DEBUG",
            "STORE_URL": "sqlite:////abs/t.db",
            "EVENT_BUS_URL": "sqlite:///e.db?topic_prefix=x-",
        },
        {"STORE_URL": "ferretdb://127.0.0.1:1/t", "EVENT_BUS_URL": "kafka://k:9092?topic_prefix=x-"},
        {"STORE_URL": "mongodb://[::1]/t", "EVENT_BUS_URL": "kafka://[::1]:9092,[fe80::1]"},  # IPv6
    ]:
        assert set(config.load(variables, environ).values()) >= set(environ.values()) - {"warning"}
    assert config.load([config.LOG_LEVEL], {"LOG_LEVEL": "warning"}) == {"LOG_LEVEL": "WARNING"}
    assert config.load([config.LOG_LEVEL], {"LOG_LEVEL": "warn"}) == {"LOG_LEVEL": "WARNING"}


@pytest.mark.parametrize(
    ("variable", "raw", "shown"),
    [
        (
            config.store_url("t"),
            "mongodbx://dir:S3cretPass@mongo:27017/directory",
            "mongodbx://***@mongo:27017/",
        ),
        (config.store_url("t"), "mongodb://dir:S3cretPass@mongo:27017", "mongodb://***@mongo:27017"),
        (config.store_url("t"), "dir:S3cretPass@mongo/directory", "***@mongo/directory"),
        (config.BUS_URL, "kafka://bus:S3cretPass@kafka:9092", "kafka://***@kafka:9092"),
        (config.OTEL_EXPORTER_OTLP_ENDPOINT, "ftp://otel:S3cretPass@collector", "ftp://***@collector"),
    ],
)
def test_a_password_in_a_malformed_url_is_never_echoed(variable, raw, shown):
    with pytest.raises(config.ConfigError) as caught:
        config.load([variable], {variable.name: raw})
    assert shown in str(caught.value)
    assert "S3cretPass" not in str(caught.value)


def test_a_store_url_stays_out_of_the_settings_repr():
    assert "S3cretPass" not in repr(_Stored.from_env({"STORE_URL": "mongodb://dir:S3cretPass@mongo:27017/d"}))


@config.group("T_")
class _Stored:
    store_url: str = config.setting(config.store_url("t"))


@config.group("T_MAIL_")
class _Mail:
    host: str = config.setting("localhost")
    port: int = config.setting(25, config.positive_int)
    password: str = config.setting(config.REQUIRED, keys.secret, sensitive=True)


@config.group("T_")
class _Settings:
    bus_url: str = config.setting(config.BUS_URL)
    base_url: str = config.setting("http://x", config.http_url)
    timeout: float = config.setting(2.0, config.positive_float, name="T_TIMEOUT_SECONDS")
    mail: _Mail = config.section(_Mail)
    pair: tuple = config.derived(
        [config.Var("T_LEFT", 1, int), config.Var("T_RIGHT", 2, int)], lambda v: (v["T_LEFT"], v["T_RIGHT"])
    )


def test_settings_declared_on_their_fields_load_with_sections_and_derived_values():
    loaded = _Settings.from_env(
        {"T_MAIL_PASSWORD": "p" * 32, "T_MAIL_PORT": "587", "T_BASE_URL": "https://x/api/", "T_RIGHT": "5"}
    )
    assert loaded.mail == _Mail(host="localhost", port=587, password="p" * 32)
    assert loaded.base_url == "https://x/api", "a base URL loses its trailing slash"
    assert loaded.pair == (1, 5)
    assert loaded.bus_url == config.BUS_URL.default
    assert loaded.timeout == 2.0
    assert "p" * 32 not in repr(loaded), "a secret stays out of the settings' repr"
    names = [var.name for var in config.variables(_Settings)]
    assert names == [
        "EVENT_BUS_URL",
        "T_BASE_URL",
        "T_TIMEOUT_SECONDS",
        "T_MAIL_HOST",
        "T_MAIL_PORT",
        "T_MAIL_PASSWORD",
        "T_LEFT",
        "T_RIGHT",
    ]


def test_settings_name_every_bad_variable_of_every_section_at_once():
    with pytest.raises(config.ConfigError) as caught:
        _Settings.from_env(
            {
                "T_MAIL_PORT": "0",
                "T_BASE_URL": "ftp://x",
                "T_MAIL_PASSWORD": "short-secret",
                "T_TIMEOUT_SECONDS": "-1",
            }
        )
    message = str(caught.value)
    assert "T_MAIL_PORT='0' is invalid: must be a positive whole number" in message
    assert "T_BASE_URL='ftp://x' is invalid" in message
    assert "T_MAIL_PASSWORD is invalid" in message and "short-secret" not in message
    assert "T_TIMEOUT_SECONDS='-1' is invalid: must be a positive number" in message


@pytest.mark.parametrize(
    ("package", "variable", "help_"),
    [
        (
            "frontend",
            "WEB_SECRET_KEY",
            "signs the session cookie and keys the CSRF tokens; at least 32 bytes",
        ),
        ("frontend", "STAFF_TOKEN_PRIVATE_KEY", "with which the front end signs staff tokens"),
        ("contacts", "CONTACTS_BLIND_INDEX_KEY", "kept apart from CONTACTS_ENCRYPTION_KEY"),
        ("contacts", "SERVICE_TOKEN_PUBLIC_KEY", "checks tokens on the internal API"),
        ("notifier", "SERVICE_TOKEN_PRIVATE_KEY", "signs calls to another's internal API"),
        ("directory", "STAFF_TOKEN_PUBLIC_KEY", "the front end's Ed25519 public key (PEM text or file path)"),
    ],
)
def test_a_missing_secret_is_named_with_what_it_is_for(package, variable, help_):
    settings = importlib.import_module(f"{package}.config").Settings
    with pytest.raises(config.ConfigError) as caught:
        settings.from_env({})
    [problem] = [p for p in caught.value.problems if p.startswith(f"{variable} is required")]
    assert help_ in problem
