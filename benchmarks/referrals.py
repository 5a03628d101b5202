"""Referral POST throughput and latency through gunicorn, on the MongoDB-wire database and on SQLite.

The contacts service runs as `python -m contacts serve` (gunicorn with the
settings of ccshared.runner.gunicorn_command) on FerretDB; partners' keys come
from `python -m contacts agency-key create`; the centres are put into its
centre read model by applying centre.created.v1 events, as its worker would.
The baseline is a bare Flask endpoint under the same gunicorn command.

Each request carries an Idempotency-Key, as the partner API's callers and the
web frontend send one. The contacts service is measured twice: on a fresh
database, then again once the database holds `stored referrals` (the first
run's referrals copied with new ids, references and Idempotency-Key records,
as a relay would have left them), so a cost that grows with data shows as a
ratio below 1 between the two. Last, the same load runs against the service on the
embedded SQLite store (what `make run` uses), fresh, for the cost of the service alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import requests
from ccshared import events
from ccshared import store as ccstore
from ccshared.runner import gunicorn_command
from cryptography.fernet import Fernet

from tests.infra import tokens
from tests.infra.common import free_port

from .common import (
    REPO_ROOT,
    Context,
    Figure,
    Report,
    base_env,
    group_cpu_seconds,
    rss_note,
    start_process,
    stop_process,
    tree_cpu_seconds,
)
from .common import wait_until as wait
from .load import LoadResult, post_load

NAME = "referrals"
TITLE = "Referral POST through gunicorn on FerretDB and on SQLite"
CENTRES = [
    ("bench-centre-north", "Bench North Centre", "north", "L4 0AA"),
    ("bench-centre-central", "Bench Central Centre", "central", "L1 0AA"),
    ("bench-centre-south", "Bench South Centre", "south", "L8 0AA"),
]


def sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {
            "requests": 300,
            "warm-up requests": 30,
            "concurrency": 8,
            "gunicorn workers": 2,
            "partner agencies": 10,
            "stored referrals": 2000,
        }
    return {
        "requests": 3000,
        "warm-up requests": 100,
        "concurrency": 16,
        "gunicorn workers": 2,
        "partner agencies": 40,
        "stored referrals": 20000,
    }


def referral(index: int) -> dict:
    centre_id = CENTRES[index % len(CENTRES)][0]
    return {
        "centre_id": centre_id,
        "referrer": {"name": "Test Referrer", "role": "health visitor", "email": "referrer@example.org"},
        "family": {"name": "Test Family Carer", "phone": "07700 900123", "postcode": "L8 0AA"},
        "children": [{"age_years": 2}],
        "support_needed": ["stay_and_play"],
        "urgency": "soon",
        "consent": {
            "given": True,
            "recorded_by": "Test Referrer",
            "recorded_at": "2026-01-05T09:30:00+00:00",
        },
        "notes": f"Test note {index}",
    }


def run(ctx: Context, size: dict[str, int] | None = None) -> Report:
    size = size or sizes(ctx.quick)
    report = Report(NAME, TITLE, dict(size))
    database = ctx.engines.ferretdb()
    store_url = database.store_url(f"bench_{uuid.uuid4().hex[:8]}_contacts")
    env = base_env(
        STORE_URL=store_url,
        EVENT_BUS_URL=f"sqlite:///{ctx.workdir}/referrals-events.db",
        **tokens.key_env("contacts"),
        CONTACTS_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        CONTACTS_BLIND_INDEX_KEY=uuid.uuid4().hex * 2,
        WEB_CONCURRENCY=str(size["gunicorn workers"]),
        # Every hit is still counted; the limit is only set above what the load sends.
        CONTACTS_PARTNER_RATE_LIMIT="1000000/60",
        PROMETHEUS_MULTIPROC_DIR=tempfile.mkdtemp(prefix="cc-bench-metrics-"),
    )
    _seed_centres(store_url)
    keys = [_agency_key(env), *_more_agency_keys(store_url, size["partner agencies"] - 1)]

    bare = _measure_bare(ctx, env, size, report)
    report.add(Figure("bare Flask POST throughput", bare.throughput, "req/s"))
    fresh, grown = _measure_contacts(ctx, env, size, keys, store_url, report)
    for label, contacts in (("", fresh), (f" at {size['stored referrals']:,} stored", grown)):
        report.add(
            Figure(
                f"referral POST throughput{label}",
                contacts.throughput,
                "req/s",
                "bare Flask",
                bare.throughput,
            )
        )
        for pct in (50, 99):
            report.add(
                Figure(
                    f"referral POST p{pct} latency{label}",
                    contacts.p(pct) * 1000,
                    "ms",
                    f"bare Flask p{pct}",
                    bare.p(pct) * 1000,
                    higher_is_better=False,
                )
            )
    report.add(
        Figure(
            f"referral POST throughput at {size['stored referrals']:,} stored, against a fresh database",
            grown.throughput,
            "req/s",
            "fresh database",
            fresh.throughput,
        )
    )
    on_sqlite = _measure_on_sqlite(ctx, env, size, report)
    report.add(
        Figure(
            "referral POST throughput, SQLite store",
            on_sqlite.throughput,
            "req/s",
            "bare Flask",
            bare.throughput,
        )
    )
    report.add(
        Figure(
            "referral POST p99 latency, SQLite store",
            on_sqlite.p(99) * 1000,
            "ms",
            "bare Flask p99",
            bare.p(99) * 1000,
            higher_is_better=False,
        )
    )
    contacts = grown
    report.notes.append(
        f"statuses: referrals {dict(fresh.statuses)} fresh, {dict(contacts.statuses)} at "
        f"{size['stored referrals']:,} stored, {dict(on_sqlite.statuses)} on SQLite, bare Flask "
        f"{dict(bare.statuses)}; "
        "the load generator runs on the same machine and takes its share of the cores"
    )
    return report


def _seed_centres(store_url: str) -> None:
    from contacts.read_model import CentreReadModel
    from contacts.repository import CentreRepository

    store = ccstore.connect(store_url)
    read_model = CentreReadModel(CentreRepository(store))
    for centre_id, name, area, postcode in CENTRES:
        data = {
            "centre_id": centre_id,
            "name": name,
            "area": area,
            "ward": "Bench Ward",
            "postcode": postcode,
            "status": "open",
            "version": 1,
        }
        envelope = events.make(
            "centre.created.v1", centre_id, data, source="directory", time=datetime.now(UTC)
        )
        read_model.apply(events.decode(events.encode(envelope)))
    store.close()


def _more_agency_keys(store_url: str, count: int) -> list[str]:
    """Further agencies' keys, made in-process by the same code as `agency-key create`."""
    from ccshared.timeutil import SystemClock
    from contacts.agencies import AgencyKeys
    from contacts.repository import AgencyRepository

    store = ccstore.connect(store_url)
    keys = AgencyKeys(AgencyRepository(store), SystemClock())
    made = [keys.create(f"Bench Agency {index}").key for index in range(count)]
    store.close()
    return made


def _agency_key(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "contacts", "agency-key", "create", "--agency", "Bench Health Visitors"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    match = re.search(r"API key: (\S+)", result.stdout)
    if match is None:
        raise RuntimeError(f"no API key in the output of agency-key create:\n{result.stdout}{result.stderr}")
    return match.group(1)


def _measure_bare(ctx: Context, env: dict[str, str], size: dict[str, int], report: Report) -> LoadResult:
    port = free_port()
    command = gunicorn_command(
        "benchmarks.bare_app:create_app()", "127.0.0.1", port, size["gunicorn workers"]
    )
    process = start_process(command, env, ctx.workdir / "bare-flask.log")
    try:
        url = f"http://127.0.0.1:{port}/api/v1/referrals"
        _wait_for(lambda: _answers(url, {}), process, "bare Flask")
        result = _load(url, lambda index: {}, size)
        rss_note(report, "bare Flask", process)
        return result
    finally:
        stop_process(process)


def _measure_contacts(
    ctx: Context, env: dict[str, str], size: dict[str, int], keys: list[str], store_url: str, report: Report
) -> tuple[LoadResult, LoadResult]:
    """(on a fresh database, once it holds `stored referrals`)."""
    process, url = _serve_contacts(ctx, env, "contacts.log")
    try:
        headers = _headers(keys)
        meters = {
            "the contacts service": _group_meter(process.pid),
            "FerretDB": _group_meter(_ferretdb_group(ctx)),
            "PostgreSQL under FerretDB": _postgresql_meter(ctx),
        }
        fresh = _cpu_noted(report, "fresh database", meters, size, lambda: _load(url, headers("fresh"), size))
        stored = _fill(store_url, size["stored referrals"])
        print(f"  (database now holds {stored:,} referrals)", flush=True)
        grown = _cpu_noted(
            report,
            f"{stored:,} stored",
            meters,
            size,
            lambda: _load(url, headers("grown"), size),
        )
        rss_note(report, "contacts (gunicorn)", process)
        return fresh, grown
    finally:
        stop_process(process)


def _measure_on_sqlite(ctx: Context, env: dict[str, str], size: dict[str, int], report: Report) -> LoadResult:
    """The same load against the service on the embedded SQLite store, fresh."""
    store_url = f"sqlite:///{ctx.workdir}/referrals-contacts.db"
    _seed_centres(store_url)
    keys = _more_agency_keys(store_url, size["partner agencies"])
    process, url = _serve_contacts(ctx, {**env, "STORE_URL": store_url}, "contacts-sqlite.log")
    try:
        meters = {"the contacts service": _group_meter(process.pid)}
        result = _cpu_noted(
            report, "SQLite store", meters, size, lambda: _load(url, _headers(keys)("sqlite"), size)
        )
        rss_note(report, "contacts (gunicorn) on SQLite", process)
        return result
    finally:
        stop_process(process)


def _serve_contacts(ctx: Context, env: dict[str, str], log: str) -> tuple[subprocess.Popen, str]:
    """`python -m contacts serve` on a free port, once ready: (its process, the referrals URL)."""
    port = free_port()
    process = start_process(
        [sys.executable, "-m", "contacts", "serve"], {**env, "CONTACTS_PORT": str(port)}, ctx.workdir / log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _ready(f"{base}/readyz"), process, "contacts")
    except BaseException:
        stop_process(process)
        raise
    return process, f"{base}/api/v1/referrals"


def _headers(keys: list[str]) -> Callable[[str], Callable[[int], dict[str, str]]]:
    """Per phase, each request's headers: agencies' keys in turn and a new Idempotency-Key."""
    return lambda phase: (
        lambda index: {
            "X-API-Key": keys[index % len(keys)],
            "Idempotency-Key": f"{phase}-{index}",
        }
    )


def _ferretdb_group(ctx: Context) -> int | None:
    try:
        return os.getpgid(ctx.engines.ferretdb().process._proc.pid)
    except (AttributeError, OSError):
        return None


def _group_meter(pgid: int | None) -> Callable[[], float] | None:
    return None if pgid is None else lambda: group_cpu_seconds(pgid)


def _postgresql_meter(ctx: Context) -> Callable[[], float] | None:
    """CPU of the PostgreSQL cluster under FerretDB's postgresql backend, part of each request's
    database cost; None on the SQLite backend. Each backend process PostgreSQL forks leads a
    session of its own, so this counts the postmaster and its children, not a process group."""
    cluster = getattr(ctx.engines.ferretdb(), "postgresql", None)
    try:
        postmaster = cluster.process._proc.pid
    except AttributeError:
        return None
    return lambda: tree_cpu_seconds(postmaster)


def _cpu_noted(
    report: Report,
    label: str,
    meters: dict[str, Callable[[], float] | None],
    size: dict[str, int],
    load: Callable[[], LoadResult],
) -> LoadResult:
    """Run load; note the CPU each process group spent per request meanwhile (where the time goes)."""
    before = {name: meter() for name, meter in meters.items() if meter is not None}
    result = load()
    requests_ = size["requests"] + size["warm-up requests"]
    spent = [
        f"{name} {(meters[name]() - used) / requests_ * 1000:.1f} ms"  # type: ignore[misc]
        for name, used in before.items()
    ]
    text = f"CPU per referral POST, {label}: " + ", ".join(spent)
    print(f"  {text}", flush=True)
    report.notes.append(text)
    return result


def _load(url: str, headers: Callable[[int], dict[str, str]], size: dict[str, int]) -> LoadResult:
    requests_ = size["requests"]
    post_load(
        url, referral, lambda index: headers(requests_ + index), size["warm-up requests"], size["concurrency"]
    )
    return post_load(url, referral, headers, requests_, size["concurrency"])


def _fill(store_url: str, target: int, chunk: int = 1000) -> int:
    """Copy the referrals made so far, with their Idempotency-Key records, until `target` are stored.

    Copies get new ids, references and record ids, and an empty outbox (as the relay
    leaves one); they go in with insert_many, far faster than through the API.
    """
    import pymongo

    client = pymongo.MongoClient(store_url.replace("ferretdb://", "mongodb://", 1))
    try:
        db = client.get_default_database()
        contacts, records = db["contacts"], db["idempotency"]
        models = list(contacts.find({}, limit=200))
        record_models = {doc["contact_id"]: doc for doc in records.find({}, limit=1000)}
        have = contacts.count_documents({})
        serial = 0
        while have < target:
            batch, made = [], []
            for _ in range(min(chunk, target - have)):
                model = models[serial % len(models)]
                serial += 1
                contact_id = str(uuid.uuid4())
                batch.append(
                    model
                    | {
                        "_id": contact_id,
                        "reference": f"B-{uuid.uuid4().hex[:10].upper()}",
                        "dedupe_key": f"id:{contact_id}",
                        "_outbox": [],
                        "_outbox_pending": False,
                    }
                )
                record = record_models.get(model["_id"])
                if record is not None:
                    made.append(
                        record | {"_id": f"k1-{uuid.uuid4().hex}{uuid.uuid4().hex}", "contact_id": contact_id}
                    )
            contacts.insert_many(batch, ordered=False)
            if made:
                records.insert_many(made, ordered=False)
            have += len(batch)
        return contacts.count_documents({})
    finally:
        client.close()


def _wait_for(check, process: subprocess.Popen, what: str) -> None:  # noqa: ANN001
    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}; see its log in the work directory")
        return check()

    if not wait(up, 60, 0.2):
        raise RuntimeError(f"{what} did not answer within 60 s")


def _answers(url: str, headers: dict[str, str]) -> bool:
    try:
        return requests.post(url, json=referral(0), headers=headers, timeout=2).status_code < 500
    except requests.RequestException:
        return False


def _ready(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
