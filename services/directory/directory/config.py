"""The directory's settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ccshared import calendar, config, contracts
from ccshared.config import Var, derived, positive_int, section, setting
from joserfc.jwk import OKPKey

from .partners import Feed, parse_feeds

SERVICE = contracts.SERVICE_DIRECTORY
PORT = Var("DIRECTORY_PORT", 8001, positive_int, "HTTP port")


@dataclass(frozen=True, kw_only=True)
class ImportSettings:
    """Which partner feeds the worker imports, how often, and within what limits."""

    feeds: tuple[Feed, ...] = setting(
        "ORUK_IMPORT_FEEDS",
        (),
        parse_feeds,
        "partners' ORUK 3.0 feed base URLs (the part before /services), separated by commas or spaces, "
        "each optionally named name=URL (the name labels metrics and the staff page; default: the host); "
        "unset = import nothing",
    )
    interval_seconds: float = setting(
        "ORUK_IMPORT_INTERVAL_SECONDS", 3600, positive_int, "seconds between fetches of each partner feed"
    )
    timeout_seconds: float = setting(
        "ORUK_IMPORT_TIMEOUT_SECONDS",
        10.0,
        config.positive_float,
        "seconds allowed for each request to a feed",
    )
    max_bytes: int = setting(
        "ORUK_IMPORT_MAX_BYTES", 5_000_000, positive_int, "largest answer accepted from a partner feed"
    )
    backoff_seconds: float = setting(
        "ORUK_IMPORT_BACKOFF_SECONDS",
        60,
        positive_int,
        "wait before retrying a feed after a failed fetch; doubles with each failure in a row",
    )
    backoff_max_seconds: float = setting(
        "ORUK_IMPORT_BACKOFF_MAX_SECONDS",
        86400,
        positive_int,
        "longest wait between retries of a failing feed",
    )


@dataclass(frozen=True, kw_only=True)
class Settings:
    store_url: str = setting(config.store_url(SERVICE))
    bus_url: str = setting(config.BUS_URL)
    # The keys it holds: the front end's public key only.
    staff_token_public_key: OKPKey = setting(config.STAFF_TOKEN_PUBLIC_KEY)
    stale_days: int = setting(
        "DIRECTORY_STALE_DAYS", 90, positive_int, "days after which an unverified entry is stale"
    )
    geocoder_url: str = setting(
        "GEOCODER_URL",
        "",
        config.url_with_scheme("http", "https"),
        "Postcodes.io-compatible base URL, e.g. https://api.postcodes.io; unset = match postcode districts",
    )
    geocoder_timeout: float = setting(
        "GEOCODER_TIMEOUT_SECONDS", 2.0, config.positive_float, "seconds to wait for the geocoder"
    )
    public_url: str = setting(
        "DIRECTORY_PUBLIC_URL",
        "",
        config.url_with_scheme("http", "https"),
        "external base URL of this service, used in /oruk/ links; unset = the request's own host",
    )
    organization_name: str = setting(
        "ORUK_ORGANIZATION_NAME", "Liverpool Children's Centres", str, "organisation named in the /oruk/ feed"
    )
    log_level: str = setting(config.LOG_LEVEL)
    trusted_proxy_hops: int = setting(config.TRUSTED_PROXY_HOPS)
    load_sample: bool = setting(
        "DIRECTORY_LOAD_SAMPLE",
        False,
        config.boolean,
        "load the SAMPLE centres (idempotently) when `run` starts",
    )
    # The closure days centre pages show as closed: the same settings, and calendar, as
    # the SLA monitor's and the notifier's.
    calendar: calendar.WorkingCalendar = derived(
        calendar.VARS, calendar.from_values, default=calendar.WorkingCalendar
    )
    partner_import: ImportSettings = section(ImportSettings)


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment; raises ccshared.config.ConfigError naming every bad variable."""
    return config.from_env(Settings, environ)
