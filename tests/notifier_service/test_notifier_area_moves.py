"""An open contact follows its centre into another area (contact.area_moved.v1): what the
notifier has not sent about it goes to the new area's recipients; what went stays."""

from __future__ import annotations

from datetime import UTC, datetime

from ccshared import contracts as c
from notifier import bootstrap, domain
from notifier.worker import TOPICS
from notifier_testkit import Interleaved, area_moved_event, handle, sla_event, wire

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
