"""The directory's settings, read once from the environment."""

from __future__ import annotations

from ccshared import calendar, config, contracts
from ccshared.calendar import WorkingCalendar
from ccshared.config import Var, derived, group, positive_float, positive_int, section, setting
from joserfc.jwk import OKPKey

from .partners import Feed, parse_feeds

SERVICE = contracts.SERVICE_DIRECTORY
PORT = Var("DIRECTORY_PORT", 8001, config.port, "HTTP port")


@group("ORUK_IMPORT_")
class ImportSettings:
    """Which partner feeds the worker imports, how often, and within what limits."""

    # A feed's URL may carry its key: a bad value is named, never echoed.
    feeds: tuple[Feed, ...] = setting(
        (), parse_feeds, "partners' ORUK 3.0 feeds: [name=]base URL, ...", sensitive=True
    )
    interval_seconds: float = setting(3600, positive_int, "seconds between fetches of each partner feed")
    timeout_seconds: float = setting(10.0, positive_float, "seconds allowed for each request to a feed")
    max_bytes: int = setting(5_000_000, positive_int, "largest answer accepted")
    backoff_seconds: float = setting(60, positive_int, "first wait after a failed fetch; doubles each time")
    backoff_max_seconds: float = setting(86400, positive_int, "longest wait between retries of a feed")


@group("DIRECTORY_")
class Settings:
    store_url: str = setting(config.store_url(SERVICE))
    bus_url: str = setting(config.BUS_URL)
    # The keys it holds: the front end's public key only.
    staff_token_public_key: OKPKey = setting(config.STAFF_TOKEN_PUBLIC_KEY)
    stale_days: int = setting(90, positive_int, "days after which an unverified entry is stale")
    geocoder_url: str = setting(
        config.url("GEOCODER_URL", "", "Postcodes.io-compatible; unset: postcodes placed by their district")
    )
    geocoder_timeout: float = setting(2.0, positive_float, "seconds", name="GEOCODER_TIMEOUT_SECONDS")
    public_url: str = setting(
        config.url("DIRECTORY_PUBLIC_URL", "", "base of /oruk/ links; unset: the request's")
    )
    organization_name: str = setting(
        "Liverpool Children's Centres",
        str,
        "organisation the /oruk/ feed names",
        name="ORUK_ORGANIZATION_NAME",
    )
    log_level: str = setting(config.LOG_LEVEL)
    trusted_proxy_hops: int = setting(config.TRUSTED_PROXY_HOPS)
    load_sample: bool = setting(False, config.boolean, "load the SAMPLE centres, idempotently, at `run`")
    # The closure days centre pages show as closed: the calendar the SLA monitor and notifier read.
    calendar: WorkingCalendar = derived(calendar.VARS, calendar.from_values, WorkingCalendar)
    partner_import: ImportSettings = section(ImportSettings)
