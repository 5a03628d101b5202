"""One contact followed end to end: a trace across the web front end, contacts, the SLA
monitor and the notifier, exported over OTLP/HTTP to a local receiver (tests/infra/otlp.py).

The system runs as separate processes on the embedded defaults (one run). A coordinator
logs a letter a fortnight late through the web front end's form: it breaches at once, and
the breach e-mail goes out. A partner sends a referral through the partner pages: the SLA
monitor starts its clock, and the referrer's receipt goes out, its address asked of the
contacts service at send time. Each POST's trace is checked: every span's parent is in
it, one path runs hop by hop as LETTER_CHAIN (REFERRAL_CHAIN) says, and no span carries
anything typed about the family, nor the contact's id or reference.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import requests
from ccshared import contracts as c
from ccshared import events, tracing
from ccshared.timeutil import LONDON

from tests.infra.otlp import OtlpReceiver, ReceivedSpan, otlp_receiver
from tests.infra.system import BACKEND, System
from tests.infra.waiting import wait_for

DEADLINE = 90.0
PERSONAL = {
    "name": "Zebedee Qx9tracer",
    "phone": "07700 900987",
    "subject": "Qx9 worry about nursery place",
    "summary": "Qx9 private circumstances of the family",
    "family_name": "Ysolde Qx9carer",
    "family_phone": "07700 900654",
    "referrer_name": "Quentin Qx9referrer",
    "referrer_email": "qx9.referrer@example.org",
    "notes": "Qx9 note about the family's situation",
}
AGENCY_ID = "qx9-health-visitors"
# From the root down: (service, span kind, name).
LETTER_CHAIN = [
    ("web", "server", "POST /staff/contacts/new"),
    ("contacts", "server", "POST /api/v1/contacts"),
    ("contacts", "producer", f"publish {c.CONTACT_RECEIVED}"),
    ("sla-monitor", "consumer", f"handle {c.CONTACT_RECEIVED}"),
    ("sla-monitor", "internal", "clocks transition"),
    ("sla-monitor", "producer", f"publish {c.SLA_BREACHED}"),
    ("notifier", "consumer", f"handle {c.SLA_BREACHED}"),
    ("notifier", "client", "notifier send"),
]
# The referrer's receipt, with the due date the SLA monitor announced: the notifier asks
# the contacts service for the referrer's address as it sends.
REFERRAL_CHAIN = [
    ("web", "server", "POST /partners/refer"),
    ("contacts", "server", "POST /api/v1/referrals"),
    ("contacts", "producer", f"publish {c.CONTACT_RECEIVED}"),
    ("sla-monitor", "consumer", f"handle {c.CONTACT_RECEIVED}"),
    ("sla-monitor", "internal", "clocks transition"),
    ("sla-monitor", "producer", f"publish {c.SLA_STARTED}"),
    ("notifier", "consumer", f"handle {c.SLA_STARTED}"),
    ("notifier", "client", "notifier send"),
    ("contacts", "server", "GET /api/v1/internal/referrals/"),
]


@pytest.fixture
def receiver():
    with otlp_receiver() as receiver:
        yield receiver


def _form_token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10)
    assert page.status_code == 200, page.text[:300]
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _user(system: System, username: str, *args: str) -> str:
    created = system.command("web", "create-user", username, *args)
    return re.search(r"^Password: (\S+)$", created.stdout, re.MULTILINE).group(1)


def _sign_in(system: System, username: str, password: str) -> requests.Session:
    session = requests.Session()
    token = _form_token(session, f"{system.url('web')}/sign-in")
    form = {"username": username, "password": password, "csrf_token": token}
    signed = session.post(f"{system.url('web')}/sign-in", data=form, timeout=10, allow_redirects=False)
    assert signed.status_code in (302, 303), signed.text[:300]
    return session


def _log_overdue_letter(system: System, session: requests.Session) -> str:
    """The coordinator's form, posted a fortnight after the letter came; returns the contact id."""
    centres = requests.get(f"{system.url('directory')}/api/v1/centres", params={"area": "north"}, timeout=10)
    centre = next(item for item in centres.json()["items"] if item["status"] == "open")
    received = (datetime.now(UTC) - timedelta(days=14)).astimezone(LONDON)
    form = {
        "csrf_token": _form_token(session, f"{system.url('web')}/staff/contacts/new"),
        "channel": c.LETTER,
        "centre_id": centre["id"],
        "received_date": received.date().isoformat(),
        "received_time": "10:00",
        "subject": PERSONAL["subject"],
        "summary": PERSONAL["summary"],
        "name": PERSONAL["name"],
        "reply_by": "telephone",
        "phone": PERSONAL["phone"],
        "idempotency_key": "trace-test-letter",
    }
    logged = session.post(
        f"{system.url('web')}/staff/contacts/new", data=form, timeout=30, allow_redirects=False
    )
    assert logged.status_code in (302, 303), logged.text[:500]
    return logged.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def _send_referral(system: System, session: requests.Session) -> str:
    """A partner's referral through the front end's partner pages; returns its id."""
    centres = requests.get(f"{system.url('directory')}/api/v1/centres", params={"area": "north"}, timeout=10)
    centre = next(item for item in centres.json()["items"] if item["status"] == "open" and item["services"])
    today = datetime.now(UTC).astimezone(LONDON)
    form = {
        "csrf_token": _form_token(session, f"{system.url('web')}/partners/refer"),
        "idempotency_key": "0123456789abcdef0123456789abcdef",
        "family_name": PERSONAL["family_name"],
        "family_phone": PERSONAL["family_phone"],
        "child_rows": "1",
        "child_1_age": "2",
        "child_1_unit": "years",
        "support_needed": centre["services"][0]["id"],
        "urgency": "urgent",
        "notes": PERSONAL["notes"],
        "referrer_name": PERSONAL["referrer_name"],
        "referrer_email": PERSONAL["referrer_email"],
        "consent_given": "yes",
        "consent_by": PERSONAL["referrer_name"],
        "consent_date": today.date().isoformat(),
        "consent_time": "00:00",
        "centre_choice": "named",
        "centre_id": centre["id"],
        "action": "send",
    }
    sent = session.post(f"{system.url('web')}/partners/refer", data=form, timeout=30, allow_redirects=False)
    assert sent.status_code in (302, 303), sent.text[:500]
    return sent.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def _ancestry(spans: dict[str, ReceivedSpan], leaf: ReceivedSpan) -> list[ReceivedSpan] | None:
    """leaf and its ancestors, root first; None while a parent has not arrived yet."""
    chain = [leaf]
    while chain[0].parent_id:
        parent = spans.get(chain[0].parent_id)
        if parent is None:
            return None
        chain.insert(0, parent)
    return chain


def _matches(chain: list[ReceivedSpan], expected: list[tuple[str, str, str]]) -> bool:
    return [(s.service, s.kind) for s in chain] == [(svc, kind) for svc, kind, _ in expected] and all(
        span.name.endswith(name) or span.name.startswith(name)
        for span, (_, _, name) in zip(chain, expected, strict=True)
    )


def _followed(receiver: OtlpReceiver, expected: list[tuple[str, str, str]]) -> Callable:
    """A check for wait_for: the trace of the root `expected` names, once every span in it has
    its parent there and a path from the root to a leaf like expected's last is as expected."""
    root_service, _, root_name = expected[0]
    leaf_service, leaf_kind, leaf_name = expected[-1]

    def check() -> tuple[dict[str, ReceivedSpan], list[ReceivedSpan]] | None:
        roots = [s for s in receiver.snapshot() if (s.service, s.name) == (root_service, root_name)]
        if not roots:
            return None
        spans = receiver.trace(roots[0].trace_id)
        if not all(not s.parent_id or s.parent_id in spans for s in spans.values()):
            return None
        leaves = [
            s
            for s in spans.values()
            if (s.service, s.kind) == (leaf_service, leaf_kind) and s.name.startswith(leaf_name)
        ]
        chains = [chain for leaf in leaves if (chain := _ancestry(spans, leaf)) and _matches(chain, expected)]
        return (spans, chains[0]) if chains else None

    return check


def _roots(spans: dict[str, ReceivedSpan]) -> list[tuple[str, str]]:
    return [(span.service, span.name) for span in spans.values() if not span.parent_id]


def test_a_letter_and_a_referral_are_each_followed_through_all_four_services(tmp_path, receiver):
    system = System(
        tmp_path / "system",
        f"sqlite:///{tmp_path}/events.db",
        lambda name: f"sqlite:///{tmp_path}/{name}.db",
        services=(*BACKEND, "web"),
        extra_env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "200"},
    )
    password = _user(system, "tracer-north", "--role", "coordinator", "--area", "north")
    system.command(
        "contacts",
        "agency-key",
        "create",
        "--agency",
        "Qx9 Health Visitors",
        "--agency-id",
        AGENCY_ID,
        "--notify-email",
        "agency@example.org",
    )
    partner_password = _user(system, "tracer-partner", "--role", "partner", "--agency", AGENCY_ID)
    system.command("directory", "load-sample")
    try:
        system.start()
        system.settle()
        contact_id = _log_overdue_letter(system, _sign_in(system, "tracer-north", password))
        referral_id = _send_referral(system, _sign_in(system, "tracer-partner", partner_password))
        letter, letter_chain = wait_for(
            _followed(receiver, LETTER_CHAIN), DEADLINE, "the breach e-mail's send, traced back to the POST"
        )
        referral, referral_chain = wait_for(
            _followed(receiver, REFERRAL_CHAIN), DEADLINE, "the referral's receipt, traced back to its POST"
        )
        staff = system.staff("contacts", "coordinator", "north", "tracer-north")
        references = [
            requests.get(
                f"{system.url('contacts')}/api/v1/contacts/{each}", headers=staff, timeout=10
            ).json()["reference"]
            for each in (contact_id, referral_id)
        ]
    finally:
        system.stop()

    for spans in (letter, referral):
        assert {"web", "contacts", "sla-monitor", "notifier"} <= {span.service for span in spans.values()}
    assert _roots(letter) == [("web", LETTER_CHAIN[0][2])]
    assert _roots(referral) == [("web", REFERRAL_CHAIN[0][2])]
    assert letter_chain[-1].attributes["cc.notification.status"] == "sent"
    assert letter_chain[3].attributes["messaging.destination.name"] == c.CONTACTS_TOPIC
    assert referral_chain[-2].attributes["cc.notification.status"] == "sent"

    # Nothing about the member of the public, nor the contact's id or reference, in any span.
    recorded = json.dumps(
        [[s.name, s.attributes, s.resource] for s in receiver.snapshot()], ensure_ascii=False
    ).lower()
    ids = {
        "letter's id": contact_id,
        "referral's id": referral_id,
        "letter's reference": references[0],
        "referral's reference": references[1],
    }
    for label, value in {**PERSONAL, **ids}.items():
        for variant in {value.lower(), value.replace(" ", "").lower()}:
            assert variant not in recorded, f"a span holds the {label}"


def test_without_an_endpoint_nothing_is_traced_or_exported(tmp_path, receiver):
    """No OTEL_EXPORTER_OTLP_ENDPOINT: a traced caller's requests are served, no span leaves
    the process (not even when it stops and flushes), and the log has no error."""
    assert not tracing.enabled()
    system = System(
        tmp_path / "system",
        f"sqlite:///{tmp_path}/events.db",
        lambda name: f"sqlite:///{tmp_path}/{name}.db",
        services=("directory",),
        # Empty is unset; the SDK's own variable for the traces endpoint does not turn it on.
        extra_env={
            tracing.OTEL_EXPORTER_OTLP_ENDPOINT.name: "",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{receiver.url}/v1/traces",
        },
    )
    caller = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    try:
        system.start()
        for _ in range(3):
            answer = requests.get(f"{system.url('directory')}/api/v1/centres", headers=caller, timeout=10)
            assert answer.status_code == 200
    finally:
        system.stop()
    assert receiver.requests == 0 and receiver.snapshot() == []
    assert '"level": "error"' not in system.log("directory")


def test_a_malformed_endpoint_stops_the_service_at_start_naming_it(tmp_path):
    system = System(
        tmp_path / "system",
        f"sqlite:///{tmp_path}/events.db",
        lambda name: f"sqlite:///{tmp_path}/{name}.db",
        services=("contacts",),
        extra_env={tracing.OTEL_EXPORTER_OTLP_ENDPOINT.name: "collector:4318"},
    )
    started = system.command("contacts", "run", check=False)
    assert started.returncode == 2
    assert "OTEL_EXPORTER_OTLP_ENDPOINT='collector:4318' is invalid" in started.stderr


def test_the_envelope_carries_a_traceparent_only_when_tracing_is_on():
    assert not tracing.enabled()
    now = datetime.now(UTC)
    data = {
        "contact_id": "c-1",
        "reference": "LC-1",
        "channel": c.LETTER,
        "centre_id": "centre-1",
        "area": "north",
        "received_at": now,
        "status": "received",
        "occurred_at": now,
    }
    made = events.make(c.CONTACT_RECEIVED, "c-1", data, source="contacts", time=now)
    assert tracing.TRACEPARENT not in made
    assert events.decode(events.encode(made)).traceparent is None  # an event from before tracing

    traced = {**made, "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    assert events.decode(events.encode(traced)).traceparent == traced["traceparent"]

    with pytest.raises(events.InvalidEvent, match="traceparent"):
        events.decode(events.encode({**made, "traceparent": "not a trace context"}))


# The SLA monitor as its worker wires it, in a process of its own with tracing on: a
# contact event (staged inside a request's span) handled by the real consumer loop, then,
# ten days later, the clock found overdue by the timer's scan, where no span is current.
TIMER_RUN = textwrap.dedent(
    """
    import json, sys
    from datetime import UTC, datetime
    from ccshared import bus, events, store, tracing
    from ccshared import contracts as c
    from ccshared.consumer import ConsumerLoop
    from ccshared.timeutil import FixedClock
    from sla_monitor.policy import Policy
    from sla_monitor.repository import repositories
    from sla_monitor.service import Monitor
    from tests.sla_monitor_service.sla_testkit import received

    workdir = sys.argv[1]
    assert tracing.configure("sla-monitor")
    clock = FixedClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    db = store.connect(f"sqlite:///{workdir}/sla-monitor.db")
    log = bus.connect(f"sqlite:///{workdir}/events.db")
    clocks, centres = repositories(db, clock)
    monitor = Monitor(clocks, centres, Policy(), clock)
    with tracing.span("POST /api/v1/contacts", kind=tracing.SERVER):
        envelope = received("c-timer", clock.now())
    producer = log.producer()
    producer.publish(c.CONTACTS_TOPIC, "c-timer", events.encode(envelope))
    loop = ConsumerLoop(
        name="sla-monitor",
        consumer=log.consumer("sla-monitor", [c.CONTACTS_TOPIC]),
        handlers=monitor.handlers(),
        dead_letters=producer,
        processed=db.collection("processed"),
        clock=clock,
    )
    while not clocks.get("c-timer"):
        loop.run_once(0.2)
    breached_at_receipt = db.collection("sla_events").count({"type": c.SLA_BREACHED})
    clock.advance(days=10)
    monitor.scan()
    breaches = db.collection("sla_events").find({"type": c.SLA_BREACHED})
    tracing.flush()
    print(json.dumps({
        "received": envelope["traceparent"],
        "breached_at_receipt": breached_at_receipt,
        "breach": [env.get("traceparent") for doc in breaches for env in doc["_outbox"]],
    }))
    """
)


def _span_id(traceparent: str) -> tuple[str, str]:
    _, trace_id, span_id, _ = traceparent.split("-")
    return trace_id, span_id


def test_a_breach_the_timer_finds_later_stays_in_the_contacts_trace(tmp_path, receiver):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "PYTHONPATH": root}
    run = subprocess.run(
        [sys.executable, "-c", TIMER_RUN, str(tmp_path)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["breached_at_receipt"] == 0 and len(found["breach"]) == 1, found
    trace_id, post_id = _span_id(found["received"])
    breach_trace, transition_id = _span_id(found["breach"][0])
    assert breach_trace == trace_id, "the breach event carries the contact's trace"

    spans = receiver.trace(trace_id)
    transition = spans[transition_id]
    assert transition.name.endswith("clocks transition")
    assert c.SLA_BREACHED in transition.attributes["cc.event.types"]
    handled = spans[transition.parent_id]
    assert (handled.kind, handled.name) == ("consumer", f"sla-monitor handle {c.CONTACT_RECEIVED}")
    assert handled.parent_id == post_id and spans[post_id].parent_id == ""
