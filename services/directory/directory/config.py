"""The directory's settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from ccshared import calendar, config, contracts
from ccshared.config import FromEnv, Var, derived, http_url, positive_float, positive_int, section, setting
from joserfc.jwk import OKPKey

from .partners import Feed, parse_feeds

SERVICE = contracts.SERVICE_DIRECTORY
PORT = Var("DIRECTORY_PORT", 8001, positive_int, "HTTP port")


@dataclass(frozen=True, kw_only=True)
class ImportSettings:
    """Which partner feeds the worker imports, how often, and within what limits."""

    feeds: tuple[Feed, ...] = setting(
        "ORUK_IMPORT_FEEDS", (), parse_feeds, "partners' ORUK 3.0 feeds: [name=]base URL, ...; unset: none"
    )
    interval_seconds: float = setting(
        "ORUK_IMPORT_INTERVAL_SECONDS", 3600, positive_int, "seconds between fetches of each partner feed"
    )
    timeout_seconds: float = setting(
        "ORUK_IMPORT_TIMEOUT_SECONDS", 10.0, positive_float, "seconds allowed for each request to a feed"
    )
    max_bytes: int = setting("ORUK_IMPORT_MAX_BYTES", 5_000_000, positive_int, "largest answer accepted")
    backoff_seconds: float = setting(
        "ORUK_IMPORT_BACKOFF_SECONDS", 60, positive_int, "first wait after a failed fetch; doubles each time"
    )
    backoff_max_seconds: float = setting(
        "ORUK_IMPORT_BACKOFF_MAX_SECONDS", 86400, positive_int, "longest wait between retries of a feed"
    )


@dataclass(frozen=True, kw_only=True)
class Settings(FromEnv):
    store_url: str = setting(config.store_url(SERVICE))
    bus_url: str = setting(config.BUS_URL)
    # The keys it holds: the front end's public key only.
    staff_token_public_key: OKPKey = setting(config.STAFF_TOKEN_PUBLIC_KEY)
    stale_days: int = setting(
        "DIRECTORY_STALE_DAYS", 90, positive_int, "days after which an unverified entry is stale"
    )
    geocoder_url: str = setting(
        "GEOCODER_URL", "", http_url, "Postcodes.io-compatible base URL; unset: match postcode districts"
    )
    geocoder_timeout: float = setting("GEOCODER_TIMEOUT_SECONDS", 2.0, positive_float, "geocoder timeout")
    public_url: str = setting(
        "DIRECTORY_PUBLIC_URL", "", http_url, "external base URL in /oruk/ links; unset: the request's host"
    )
    organization_name: str = setting(
        "ORUK_ORGANIZATION_NAME", "Liverpool Children's Centres", str, "organisation named in the /oruk/ feed"
    )
    log_level: str = setting(config.LOG_LEVEL)
    trusted_proxy_hops: int = setting(config.TRUSTED_PROXY_HOPS)
    load_sample: bool = setting(
        "DIRECTORY_LOAD_SAMPLE", False, config.boolean, "load the SAMPLE centres, idempotently, at `run`"
    )
    # The closure days centre pages show as closed: the calendar the SLA monitor and notifier read.
    calendar: calendar.WorkingCalendar = derived(
        calendar.VARS, calendar.from_values, calendar.WorkingCalendar
    )
    partner_import: ImportSettings = section(ImportSettings)
