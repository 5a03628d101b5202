"""An open contact follows its centre into another area (contact.area_moved.v1): what the
notifier has not sent about it goes to the new area's recipients; what went stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ccshared import contracts as c
from notifier import bootstrap, domain
from notifier.worker import TOPICS
from notifier_testkit import (
    MONDAY_MORNING,
    Interleaved,
    area_moved_event,
    handle,
    personal_erased_event,
    sla_event,
    wire,
)

NORTH_COORDINATOR = "coordinator.north@example.org"
SOUTH_COORDINATOR = "coordinator.south@example.org"
PRINCIPAL = "principal.officer@example.org"
TUESDAY_DIGEST = datetime(2026, 7, 7, 7, 0, tzinfo=UTC)  # Tuesday 08:00 BST


def log_of(notifier) -> dict[tuple[str, str], domain.Notification]:
    """Contact notices by (event type, recipient), of contact-0001."""
    return {
        (n.event_type, n.recipient): n
        for n in notifier.notifications.search()
        if n.kind == domain.EVENT and n.data.get("contact_id") == "contact-0001"
    }


def test_notices_not_sent_go_to_the_new_areas_coordinator_and_what_went_stays(tmp_path):
    """Queued notices of a contact moved to another area still went to the old area's coordinator."""
    notifier = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=NORTH_COORDINATOR)
    notifier.receive(sla_event(c.SLA_AT_RISK))  # held for the north coordinator's digest
    notifier.receive(sla_event(c.SLA_BREACHED))  # the coordinator's held; the Principal's goes
    notifier.receive(sla_event(c.SLA_AT_RISK, contact_id="contact-0002", reference="LCC-TEST-0002"))
    notifier.deliver()
    principal_copy = log_of(notifier)[(c.SLA_BREACHED, PRINCIPAL)]
    assert principal_copy.status == domain.SENT

    move = area_moved_event()
    notifier.receive(move)
    notifier.deliver()

    log = log_of(notifier)
    assert set(log) == {
        (c.SLA_AT_RISK, SOUTH_COORDINATOR),
        (c.SLA_BREACHED, SOUTH_COORDINATOR),
        (c.SLA_BREACHED, PRINCIPAL),
    }
    for type_ in (c.SLA_AT_RISK, c.SLA_BREACHED):
        moved = log[(type_, SOUTH_COORDINATOR)]
        assert (moved.status, moved.area, moved.data["area"]) == (domain.SENT, c.SOUTH, c.SOUTH)
    assert log[(c.SLA_BREACHED, SOUTH_COORDINATOR)].to == (SOUTH_COORDINATOR,)
    assert log[(c.SLA_BREACHED, SOUTH_COORDINATOR)].cc == (PRINCIPAL,)
    assert log[(c.SLA_BREACHED, PRINCIPAL)] == principal_copy  # what went stays as it was
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 3

    before = notifier.notifications.search()
    notifier.receive(move)  # redelivered
    notifier.deliver()
    assert notifier.notifications.search() == before

    notifier.clock.at = TUESDAY_DIGEST
    assert notifier.digest.run_once() == 1
    [digest] = notifier.notifications.search(event_type=domain.DIGEST_TYPE)
    [other] = notifier.notifications.many(list(digest.item_ids))
    assert other.data["contact_id"] == "contact-0002"


def test_a_notice_in_a_digest_not_yet_claimed_leaves_it_for_the_new_area(tmp_path):
    notifier = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=NORTH_COORDINATOR)
    notifier.receive(sla_event(c.SLA_AT_RISK))
    notifier.receive(sla_event(c.SLA_AT_RISK, contact_id="contact-0002", reference="LCC-TEST-0002"))
    notifier.clock.at = TUESDAY_DIGEST
    assert notifier.digest.run_once() == 1

    notifier.receive(area_moved_event(at=TUESDAY_DIGEST))
    notifier.deliver()

    moved = log_of(notifier)[(c.SLA_AT_RISK, SOUTH_COORDINATOR)]
    assert (moved.status, moved.digest_id) == (domain.SENT, None)
    [digest] = notifier.notifications.search(event_type=domain.DIGEST_TYPE)
    assert digest.status == domain.SENT and digest.left_out == (moved.id,)
    digest_mail = (tmp_path / "mail" / f"{digest.message_key}.eml").read_text()
    assert "LCC-TEST-0002" in digest_mail and "LCC-TEST-0001" not in digest_mail


def test_a_notice_whose_digest_went_while_the_move_was_handled_stays_carried(tmp_path):
    notifier = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=NORTH_COORDINATOR)
    notifier.receive(sla_event(c.SLA_AT_RISK))
    notifier.clock.at = TUESDAY_DIGEST
    assert notifier.digest.run_once() == 1

    racing = bootstrap.intake(
        notifier.settings, Interleaved(notifier.store, notifier.deliver), notifier.clock
    )
    handle(racing, area_moved_event(at=TUESDAY_DIGEST))

    [digest] = notifier.notifications.search(event_type=domain.DIGEST_TYPE)
    [notice] = log_of(notifier).values()
    assert (notice.recipient, notice.status, notice.area) == (NORTH_COORDINATOR, domain.DIGESTED, c.NORTH)
    assert digest.status == domain.SENT and notice.carried_by == digest.message_id


def test_a_move_sends_nothing_itself_and_changes_nothing_with_nothing_queued(tmp_path):
    notifier = wire(tmp_path)
    notifier.receive(sla_event(c.SLA_BREACHED))
    notifier.deliver()
    before = notifier.notifications.search()

    notifier.receive(area_moved_event())
    notifier.receive(area_moved_event(contact_id="contact-0404"))
    notifier.deliver()

    assert notifier.notifications.search() == before
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 2


def test_the_worker_consumes_area_moves_from_the_contacts_topic(tmp_path):
    notifier = wire(tmp_path)
    assert c.CONTACTS_TOPIC in TOPICS
    assert c.CONTACT_AREA_MOVED in notifier.intake.handlers()
    assert c.CONTACT_AREA_MOVED not in domain.NOTICE_TYPES


def mails_about(tmp_path, reference: str = "LCC-TEST-0001") -> list[str]:
    """The To: of each e-mail written that names the contact."""
    written = [path.read_text() for path in (tmp_path / "mail").glob("*.eml")]
    return [
        line for text in written if reference in text for line in text.splitlines() if line.startswith("To:")
    ]


@pytest.mark.parametrize("readers", [NORTH_COORDINATOR, f"{NORTH_COORDINATOR},{SOUTH_COORDINATOR}"])
def test_a_move_between_a_digests_two_writes_sends_the_notice_once_to_the_new_area(tmp_path, readers):
    """A digest is stored with its items, then marks them digested. A move handled in between
    readdressed a still-held item, which the old coordinator's digest went on carrying (a second
    e-mail, to the old area) or, where both read digests, took into its own."""
    notifier = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=readers)
    notifier.receive(sla_event(c.SLA_AT_RISK))
    notifier.clock.at = TUESDAY_DIGEST
    moving = Interleaved(notifier.store, lambda: notifier.receive(area_moved_event(at=TUESDAY_DIGEST)))
    assert bootstrap.digest(notifier.settings, moving, notifier.clock).run_once() == 1
    notifier.digest.run_once()  # the south coordinator's digest, where they read one
    notifier.deliver()

    assert mails_about(tmp_path) == [f"To: {SOUTH_COORDINATOR}"]


def test_a_digest_made_before_a_crash_does_not_take_an_item_readdressed_since(tmp_path, monkeypatch):
    """The digest stored, the process gone before it marked its items: the next run settles
    them, and took the item readdressed in between into the old coordinator's digest."""
    notifier = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=f"{NORTH_COORDINATOR},{SOUTH_COORDINATOR}")
    notifier.receive(sla_event(c.SLA_AT_RISK))
    notifier.clock.at = TUESDAY_DIGEST
    with monkeypatch.context() as crash:
        crash.setattr(notifier.digest, "_settle_items", lambda digest, now: None)
        assert notifier.digest.run_once() == 1
    notifier.receive(area_moved_event(at=TUESDAY_DIGEST))
    notifier.digest.run_once()
    notifier.deliver()

    assert mails_about(tmp_path) == [f"To: {SOUTH_COORDINATOR}"]
    [moved] = log_of(notifier).values()
    assert moved.recipient == SOUTH_COORDINATOR and moved.carried_by is not None


def test_a_move_between_a_group_mails_two_writes_sends_the_notice_once_to_the_new_area(tmp_path):
    notifier = wire(tmp_path, NOTIFIER_GROUP_INTERVAL_SECONDS="300", NOTIFIER_GROUP_WAIT_SECONDS="30")
    start = notifier.clock.now()
    for n in range(3):  # a storm: the first goes, the others wait for the group mail
        notifier.receive(sla_event(contact_id=f"contact-{n:04d}", reference=f"LCC-TEST-{n:04d}"))
        notifier.clock.advance(milliseconds=10)
    notifier.clock.at = start
    notifier.deliver()
    assert mails_about(tmp_path) == []  # contact-0001's is not due yet

    notifier.clock.at = start + timedelta(seconds=30)
    grouper = notifier.delivery.grouper
    settle = grouper._settle
    moved = []

    def moved_first(group, now):
        if group.recipient == NORTH_COORDINATOR and not moved:
            moved.append(notifier.receive(area_moved_event(at=notifier.clock.now())))
        settle(group, now)

    grouper._settle = moved_first
    notifier.deliver()
    notifier.clock.advance(seconds=1)
    notifier.deliver()

    coordinators = [to for to in mails_about(tmp_path) if "coordinator" in to]  # the Principal has a copy
    assert moved and coordinators == [f"To: {SOUTH_COORDINATOR}"]


def test_an_item_of_a_digest_cut_off_mid_send_is_not_left_out_since_it_may_have_gone(tmp_path):
    """A digest whose send was interrupted (the process died mid-send) is tried again; the server
    may have accepted the first: it carries what it carried, neither readdressed nor skipped."""
    notifier = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=NORTH_COORDINATOR)
    notifier.receive(sla_event(c.SLA_AT_RISK))
    notifier.clock.at = TUESDAY_DIGEST
    assert notifier.digest.run_once() == 1
    [digest] = notifier.notifications.search(event_type=domain.DIGEST_TYPE)
    now = notifier.clock.now()
    assert notifier.notifications.transition(digest, lambda mail: mail.claim(now))  # then the process died
    notifier.clock.advance(seconds=notifier.settings.delivery.sending_timeout_seconds + 1)
    assert notifier.delivery.recover_interrupted() == 1

    notifier.receive(area_moved_event(at=notifier.clock.now()))
    notifier.receive(sla_event(c.SLA_MET))

    [notice] = log_of(notifier).values()
    assert (notice.recipient, notice.status) == (NORTH_COORDINATOR, domain.DIGESTED)
    [digest] = notifier.notifications.search(event_type=domain.DIGEST_TYPE)
    assert (digest.status, digest.left_out, digest.maybe_delivered) == (domain.RETRYING, (), True)


def test_a_notice_the_monitor_raised_before_hearing_of_the_move_goes_to_the_new_area(tmp_path):
    """The SLA monitor hears of a move on its own; an at-risk or breach event it raised first
    names the old area, and went to the old area's coordinator though nothing was queued yet."""
    notifier = wire(tmp_path)
    notifier.receive(area_moved_event())
    notifier.receive(area_moved_event())  # redelivered: kept once
    notifier.receive(sla_event(c.SLA_AT_RISK, area=c.NORTH))
    notifier.receive(sla_event(c.SLA_BREACHED, contact_id="contact-0002", reference="LCC-TEST-0002"))
    notifier.deliver()

    assert {recipient for _, recipient in log_of(notifier)} == {SOUTH_COORDINATOR}
    [moved] = log_of(notifier).values()
    assert moved.area == c.SOUTH
    other = [n for n in notifier.notifications.search() if n.data.get("contact_id") == "contact-0002"]
    assert NORTH_COORDINATOR in {n.recipient for n in other}  # not moved: stays in its area


def test_a_contact_moved_back_is_addressed_in_the_area_it_is_in_now(tmp_path):
    notifier = wire(tmp_path)
    notifier.receive(area_moved_event(at=datetime(2026, 7, 6, 9, tzinfo=UTC)))
    notifier.receive(
        area_moved_event(from_area=c.SOUTH, to_area=c.NORTH, at=datetime(2026, 7, 6, 10, tzinfo=UTC))
    )
    notifier.receive(sla_event(c.SLA_AT_RISK, area=c.SOUTH))  # raised between the two, heard after
    notifier.deliver()

    assert {recipient for _, recipient in log_of(notifier)} == {NORTH_COORDINATOR}


def test_moves_arriving_out_of_order_are_followed_in_the_order_they_happened(tmp_path):
    """North to south, then south to central, heard the other way round and stamped by two
    replicas of contacts whose clocks differ: followed by time or arrival, the contact's notices
    stayed in the south, where it no longer is."""
    central_coordinator = "coordinator.central@example.org"
    notifier = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=central_coordinator)
    notifier.receive(sla_event(c.SLA_AT_RISK))  # queued for the north coordinator
    to_south = area_moved_event(at=MONDAY_MORNING, move=1)
    to_central = area_moved_event(
        from_area=c.SOUTH, to_area=c.CENTRAL, at=MONDAY_MORNING - timedelta(seconds=1), move=2
    )

    notifier.receive(to_central)
    notifier.receive(to_south)
    notifier.receive(to_south)  # redelivered: changes nothing
    notifier.receive(sla_event(c.SLA_BREACHED, area=c.NORTH))  # raised before the monitor heard

    log = log_of(notifier)
    assert {recipient for _, recipient in log} == {central_coordinator, PRINCIPAL}
    assert {n.area for n in log.values()} == {c.CENTRAL}
    assert log[(c.SLA_AT_RISK, central_coordinator)].status == domain.HELD


def test_moves_made_before_contacts_counted_them_are_followed_by_their_time(tmp_path):
    notifier = wire(tmp_path)
    notifier.receive(area_moved_event(from_area=c.SOUTH, to_area=c.CENTRAL, at=MONDAY_MORNING))
    notifier.receive(area_moved_event(at=MONDAY_MORNING - timedelta(hours=1)))
    notifier.receive(sla_event(c.SLA_AT_RISK, area=c.NORTH))

    assert {recipient for _, recipient in log_of(notifier)} == {"coordinator.central@example.org"}


def test_a_contacts_moves_are_forgotten_once_all_its_personal_data_is_erased(tmp_path):
    """Retention erases every contact a year after its end; its moves, needed only for the SLA
    events in flight when it moved, went on being kept for ever."""
    notifier = wire(tmp_path)
    notifier.receive(area_moved_event())
    notifier.receive(area_moved_event(contact_id="contact-0002"))
    moves = notifier.store.collection("area_moves")

    notifier.receive(
        personal_erased_event(parts=(c.ERASED_REFERRER,))
    )  # one person's part: the contact stays
    assert moves.get("contact-0001") is not None

    notifier.receive(personal_erased_event())
    notifier.receive(personal_erased_event())  # redelivered
    assert moves.get("contact-0001") is None
    assert moves.get("contact-0002") is not None  # another contact's stay
