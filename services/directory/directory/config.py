"""The directory's settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ccshared import calendar, config, contracts
from joserfc.jwk import OKPKey

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
    )
