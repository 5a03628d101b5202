"""The contact model's rules, references and the nearest-centre choice, without I/O."""

from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from ccshared.auth import StaffUser
from ccshared.geo import outward_code
from ccshared.outbox import VERSION
from ccshared.timeutil import FixedClock
from contacts.blind_index import BlindIndex
from contacts.crypto import PersonalDataCipher, UnreadableToken
from contacts.domain import Centre, InvalidTransition, Referral, RuleBroken, new_reference, receive
from contacts.idempotency import idempotent_requests
from contacts.nearest import Place, nearest_suitable
from contacts.repository import AuditLog, ContactRepository, contact_doc, contact_from_doc
from contacts.service import ContactService
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from tests.infra.payloads import LETTER

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CENTRE = Centre("centre-1", "Test Centre", "north", "L4 0AA", "open", 1)


def a_referral(**changes) -> object:
    referral = Referral(
        agency_id="example",
        agency_name="Example",
        urgency="routine",
        support_needed=["childcare"],
        consent_recorded_at=NOW,
    )
    return receive(
        contact_id="c-1",
        reference="R-2611-AAAAA",
        channel="referral",
        centre=CENTRE,
        received_at=NOW,
        now=NOW,
        by="agency:example",
        personal="token",
        referral=referral,
        **changes,
    )


@given(
    st.sampled_from(["letter", "telephone", "email", "referral"]),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)),
)
def test_references_are_channel_yymm_and_unambiguous_base32(channel, received_at):
    reference = new_reference(channel, received_at, lambda alphabet: alphabet[-1])
    letter = {"letter": "L", "telephone": "T", "email": "E", "referral": "R"}[channel]
    assert re.fullmatch(rf"{letter}-{received_at:%y%m}-[0-9A-HJKMNP-TV-Z]{{5}}", reference)


def test_a_clashing_reference_is_drawn_again(doc_store, centres, settings):
    clock = FixedClock(NOW)
    draws = itertools.chain("AAAAA", "AAAAA", itertools.repeat("B"))
    service = ContactService(
        contacts=ContactRepository(doc_store, clock),
        centres=centres,
        audit=AuditLog(doc_store),
        cipher=PersonalDataCipher(Fernet.generate_key().decode()),
        index=BlindIndex(secrets.token_urlsafe(32)),
        clock=clock,
        requests=idempotent_requests(settings, doc_store, clock),
        choose=lambda alphabet: next(draws),
    )
    user = StaffUser("test.staff", "staff", "north")

    first, _ = service.receive_contact(user, dict(LETTER))
    second, _ = service.receive_contact(user, dict(LETTER))

    assert first.reference == "L-2611-AAAAA"
    assert second.reference == "L-2611-BBBBB"


def test_accepting_a_referral_is_its_response():
    contact = a_referral()
    contact.collect_events()

    contact.accept_referral("test.staff", NOW + timedelta(hours=3))

    assert contact.status == "responded" and contact.response_method == "referral_outcome"
    assert contact.responded_at == NOW + timedelta(hours=3)
    assert [event.type for event in contact.events] == ["contact.responded.v1", "referral.accepted.v1"]


def test_a_referral_already_answered_keeps_its_response_time_when_decided():
    contact = a_referral()
    contact.respond("test.staff", NOW + timedelta(hours=1), "telephone")
    contact.collect_events()

    contact.decline_referral("test.staff", NOW + timedelta(days=2), "duplicate", "token")

    assert contact.responded_at == NOW + timedelta(hours=1)
    assert [event.type for event in contact.events] == ["referral.declined.v1"]
    assert [event.reason_code for event in contact.events] == ["duplicate"]


def test_a_withdrawn_referral_cannot_be_accepted():
    contact = a_referral()
    contact.withdraw("test.staff", NOW)

    with pytest.raises(InvalidTransition) as raised:
        contact.accept_referral("test.staff", NOW)
    assert raised.value.current_status == "withdrawn"


def test_a_closed_centre_takes_no_contacts():
    with pytest.raises(RuleBroken) as raised:
        receive(
            contact_id="c",
            reference="L-2611-AAAAA",
            channel="letter",
            centre=Centre("x", "Test", "south", "L8 0AA", "closed", 2),
            received_at=NOW,
            now=NOW,
            by="s",
            personal="token",
        )
    assert raised.value.field == "centre_id"


@pytest.mark.parametrize(
    ("given_postcode", "district"),
    [
        ("L8 1AB", "L8"),
        ("l81ab", "L8"),
        ("L8", "L8"),
        ("L18", "L18"),
        ("EC1A 1BB", "EC1A"),
        ("", None),
        ("not a postcode", None),
        ("12345", None),
    ],
)
def test_postcode_districts(given_postcode, district):
    assert outward_code(given_postcode) == district


def nearest_id(centres, district=None, wanted=("childcare",), lat=None, lon=None):
    choice = nearest_suitable(centres, Place(district, lat, lon), list(wanted))
    return choice.centre.id if choice else None


def test_nearest_prefers_the_same_district_then_the_closest_number_and_skips_closed():
    centres = [
        Centre("a", "Test A", "north", "L4 0AA", "open", 1),
        Centre("b", "Test B", "south", "L9 0AA", "closed", 1),
        Centre("c", "Test C", "south", "L12 0AA", "open", 1),
        Centre("d", "Test D", "central", "L1 0AA", "temporarily_closed", 1),
    ]
    assert nearest_id(centres, "L4") == "a"
    assert nearest_id(centres, "L9") == "c"
    assert nearest_id(centres, "L1") == "a"
    assert nearest_id(centres, "CH41") is None


def test_nearest_suitable_offers_every_service_asked_for_before_being_nearest():
    centres = [
        Centre("near", "Test Near", "north", "L4 0AA", "open", 1, services=("childcare",)),
        Centre("far", "Test Far", "south", "L19 0AA", "open", 1, services=("childcare", "send-support")),
    ]
    choice = nearest_suitable(centres, Place("L4"), ["childcare", "send-support"])
    assert choice.centre.id == "far" and choice.offers_all and choice.missing == ()
    assert "offers every service asked for" in choice.reason
    assert nearest_id(centres, "L4", ("childcare",)) == "near"


def test_when_no_centre_offers_them_all_the_one_offering_most_wins_and_the_reason_says_so():
    centres = [
        Centre("one", "Test One", "north", "L4 0AA", "open", 1, services=("childcare",)),
        Centre("two", "Test Two", "south", "L19 0AA", "open", 1, services=("childcare", "stay-and-play")),
    ]
    choice = nearest_suitable(centres, Place("L4"), ["childcare", "stay-and-play", "send-support"])
    assert choice.centre.id == "two" and not choice.offers_all
    assert choice.missing == ("send-support",)
    assert "SEND support" in choice.reason


def test_a_service_no_centre_offers_goes_to_the_nearest_centre_with_a_note():
    centres = [
        Centre("near", "Test Near", "north", "L4 0AA", "open", 1, services=("childcare",)),
        Centre("far", "Test Far", "south", "L19 0AA", "open", 1, services=("childcare",)),
    ]
    choice = nearest_suitable(centres, Place("L5"), ["send-support"])
    assert choice.centre.id == "near"
    assert "no open centre offers SEND support" in choice.reason


def test_coordinates_rank_by_distance_when_the_centre_has_them():
    centres = [
        # Same district as given, but 6 km away by coordinates.
        Centre(
            "a",
            "Test A",
            "north",
            "L4 0AA",
            "open",
            1,
            latitude=53.48,
            longitude=-2.96,
            services=("childcare",),
        ),
        Centre(
            "b",
            "Test B",
            "south",
            "L8 0AA",
            "open",
            1,
            latitude=53.40,
            longitude=-2.97,
            services=("childcare",),
        ),
        Centre("c", "Test C", "south", "L9 0AA", "open", 1, services=("childcare",)),
    ]
    choice = nearest_suitable(centres, Place("L4", 53.401, -2.971), ["childcare"])
    assert choice.centre.id == "b"
    assert choice.distance_km is not None and choice.distance_km < 1
    assert "km from the location given" in choice.reason
    assert nearest_id(centres, "L4") == "a"
    # Without a district, a centre with no coordinates cannot be compared.
    assert nearest_id([centres[2]], None, lat=53.4, lon=-2.97) is None


def test_a_district_alone_ranks_centres_beyond_it_by_distance_from_the_centres_known_in_it():
    def located(centre_id, postcode, lat, lon, status="open", services=("childcare",)):
        return Centre(centre_id, f"Test {centre_id}", "central", postcode, status, 1, lat, lon, services)

    centres = [
        # L8's two centres lack the service; L9 has the closest number but lies across the city.
        located("l8-a", "L8 0AB", 53.3921, -2.9748, services=()),
        located("l8-b", "L8 0AD", 53.3932, -2.9598, status="closed"),
        located("l7", "L7 0AE", 53.4069, -2.9497),
        located("l9", "L9 0AH", 53.4679, -2.9388),
    ]
    choice = nearest_suitable(centres, Place("L8"), ["childcare"])
    assert choice.centre.id == "l7"
    assert choice.distance_km is None  # not measured from the family's own location
    assert "about 2.0 km from the centres in L8 (L7)" in choice.reason

    # A centre in the family's own district still comes first, wherever its neighbours are.
    in_district = located("l8-c", "L8 0AF", 53.38, -2.99)
    assert nearest_suitable([*centres, in_district], Place("L8"), ["childcare"]).centre.id == "l8-c"
    # A district where no centre is known falls back to district numbers.
    assert nearest_suitable(centres, Place("L10"), ["childcare"]).centre.id == "l9"
    assert "nearest postcode district to L10 (L9)" in nearest_suitable(centres, Place("L10"), []).reason


def test_personal_data_needs_the_right_key():
    token = PersonalDataCipher(Fernet.generate_key().decode()).encrypt({"name": "Test Parent"})
    with pytest.raises(UnreadableToken):
        PersonalDataCipher(Fernet.generate_key().decode()).decrypt(token)


def test_a_stored_contact_reads_back_as_it_was_and_a_damaged_one_is_refused():
    contact = a_referral()
    contact.collect_events()
    contact.accept_referral("test.staff", NOW + timedelta(hours=3))
    doc = contact_doc(contact) | {VERSION: 4}

    again = contact_from_doc(doc)

    assert again == replace(contact, version=4)
    for needed in ("reference", "received_at"):
        with pytest.raises(KeyError, match=needed):  # not a contact with no reference
            contact_from_doc({name: value for name, value in doc.items() if name != needed})
    broken_referral = doc | {"referral": {k: v for k, v in doc["referral"].items() if k != "agency_id"}}
    with pytest.raises(KeyError, match="agency_id"):
        contact_from_doc(broken_referral)


def test_an_assignment_keeps_whom_it_went_to_and_a_step_stored_before_that_still_reads():
    contact = a_referral()
    contact.assign("test.worker", "test.staff", NOW + timedelta(hours=1))
    doc = contact_doc(contact) | {VERSION: 1}

    assert contact_from_doc(doc).history[-1].assigned_to == "test.worker"
    older = doc | {
        "history": [{k: v for k, v in step.items() if k != "assigned_to"} for step in doc["history"]]
    }
    assert [step.assigned_to for step in contact_from_doc(older).history] == [None, None]
