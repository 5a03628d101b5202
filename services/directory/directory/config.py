"""The directory's settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ccshared import calendar, config, contracts
from joserfc.jwk import OKPKey

from .partners import Feed, parse_feeds

SERVICE = contracts.SERVICE_DIRECTORY

# The keys it holds: the front end's public key only.
STAFF_TOKEN_PUBLIC_KEY = config.STAFF_TOKEN_PUBLIC_KEY
STALE_DAYS = config.Var(
    "DIRECTORY_STALE_DAYS", 90, config.positive_int, "days after which an unverified entry is stale"
)
GEOCODER_URL = config.Var(
    "GEOCODER_URL",
    "",
    config.url_with_scheme("http", "https"),
    "Postcodes.io-compatible base URL, e.g. https://api.postcodes.io; unset = match postcode districts",
)
GEOCODER_TIMEOUT = config.Var("GEOCODER_TIMEOUT_SECONDS", 2.0, float, "seconds to wait for the geocoder")
PUBLIC_URL = config.Var(
    "DIRECTORY_PUBLIC_URL",
    "",
    config.url_with_scheme("http", "https"),
    "external base URL of this service, used in /oruk/ links; unset = the request's own host",
)
# The closure days centre pages show as closed: the same settings, and calendar, as
# the SLA monitor's and the notifier's.
CALENDAR_VARS = calendar.VARS
LOAD_SAMPLE = config.Var(
    "DIRECTORY_LOAD_SAMPLE", False, config.boolean, "load the SAMPLE centres (idempotently) when `run` starts"
)
ORGANIZATION = config.Var(
    "ORUK_ORGANIZATION_NAME", "Liverpool Children's Centres", str, "organisation named in the /oruk/ feed"
)

IMPORT_FEEDS = config.Var(
    "ORUK_IMPORT_FEEDS",
    (),
    parse_feeds,
    "partners' ORUK 3.0 feed base URLs (the part before /services), separated by commas or spaces, "
    "each optionally named name=URL (the name labels metrics and the staff page; default: the host); "
    "unset = import nothing",
)
IMPORT_INTERVAL = config.Var(
    "ORUK_IMPORT_INTERVAL_SECONDS", 3600, config.positive_int, "seconds between fetches of each partner feed"
)


def _positive_seconds(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be a positive number of seconds")
    return value


IMPORT_TIMEOUT = config.Var(
    "ORUK_IMPORT_TIMEOUT_SECONDS",
    10.0,
    _positive_seconds,
    "seconds allowed for each request to a partner feed",
)
IMPORT_MAX_BYTES = config.Var(
    "ORUK_IMPORT_MAX_BYTES", 5_000_000, config.positive_int, "largest answer accepted from a partner feed"
)
IMPORT_BACKOFF = config.Var(
    "ORUK_IMPORT_BACKOFF_SECONDS",
    60,
    config.positive_int,
    "wait before retrying a feed after a failed fetch; doubles with each failure in a row",
)
IMPORT_BACKOFF_MAX = config.Var(
    "ORUK_IMPORT_BACKOFF_MAX_SECONDS",
    86400,
    config.positive_int,
    "longest wait between retries of a failing feed",
)
IMPORT_VARS = (
    IMPORT_FEEDS,
    IMPORT_INTERVAL,
    IMPORT_TIMEOUT,
    IMPORT_MAX_BYTES,
    IMPORT_BACKOFF,
    IMPORT_BACKOFF_MAX,
)


@dataclass(frozen=True)
class ImportSettings:
    """Which partner feeds the worker imports, how often, and within what limits."""

    feeds: tuple[Feed, ...] = ()
    interval_seconds: float = 3600
    timeout_seconds: float = 10.0
    max_bytes: int = 5_000_000
    backoff_seconds: float = 60
    backoff_max_seconds: float = 86400


@dataclass(frozen=True)
class Settings:
    store_url: str
    bus_url: str
    staff_token_public_key: OKPKey
    stale_days: int = 90
    geocoder_url: str = ""
    geocoder_timeout: float = 2.0
    public_url: str = ""
    organization_name: str = "Liverpool Children's Centres"
    log_level: str = "INFO"
    load_sample: bool = False
    calendar: calendar.WorkingCalendar = field(default_factory=calendar.WorkingCalendar)
    partner_import: ImportSettings = field(default_factory=ImportSettings)


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment; raises ccshared.config.ConfigError naming every bad variable."""
    store = config.store_url(SERVICE)
    values = config.load(
        [
            store,
            config.BUS_URL,
            STAFF_TOKEN_PUBLIC_KEY,
            STALE_DAYS,
            GEOCODER_URL,
            GEOCODER_TIMEOUT,
            PUBLIC_URL,
            ORGANIZATION,
            LOAD_SAMPLE,
            config.LOG_LEVEL,
            *CALENDAR_VARS,
            *IMPORT_VARS,
        ],
        environ,
    )
    return Settings(
        store_url=values[store.name],
        bus_url=values[config.BUS_URL.name],
        staff_token_public_key=values[STAFF_TOKEN_PUBLIC_KEY.name],
        stale_days=values[STALE_DAYS.name],
        geocoder_url=values[GEOCODER_URL.name],
        geocoder_timeout=values[GEOCODER_TIMEOUT.name],
        public_url=values[PUBLIC_URL.name].rstrip("/"),
        organization_name=values[ORGANIZATION.name],
        log_level=values[config.LOG_LEVEL.name],
        load_sample=values[LOAD_SAMPLE.name],
        calendar=calendar.from_values(values),
        partner_import=ImportSettings(
            feeds=values[IMPORT_FEEDS.name],
            interval_seconds=values[IMPORT_INTERVAL.name],
            timeout_seconds=values[IMPORT_TIMEOUT.name],
            max_bytes=values[IMPORT_MAX_BYTES.name],
            backoff_seconds=values[IMPORT_BACKOFF.name],
            backoff_max_seconds=values[IMPORT_BACKOFF_MAX.name],
        ),
    )
