"""The Sent e-mails page: sending a failed e-mail again."""

from __future__ import annotations

import html

from web_testkit import NOTIFIER, csrf_of, error

FAILED_ID = "test-event-1:coordinator.north@example.org"
FAILED = {
    "id": FAILED_ID,
    "event_type": "sla.breached.v1",
    "reference": "T-2603-AAAAA",
    "recipient": "coordinator.north@example.org",
    "to": ["coordinator.north@example.org"],
    "status": "failed",
    "last_error": "550 5.1.1 Mailbox unavailable",
    "attempts": 1,
    "created_at": "2026-03-18T09:00:00+00:00",
}
SENT_AGAIN = {
    **FAILED,
    "id": "test-event-2:coordinator.north@example.org",
    "reference": "T-2603-BBBBB",
    "status": "sent",
    "last_error": None,
    "resent_by": "t.principal",
    "resent_at": "2026-03-18T10:00:00+00:00",
}
RESEND_PATH = "/api/v1/notifications/test-event-1%3Acoordinator.north%40example.org/resend"


def test_a_failed_email_has_a_send_again_button_that_asks_the_notifier(client, services, sign_in):
    services.on("GET", NOTIFIER, "/api/v1/notifications", (200, {"items": [FAILED, SENT_AGAIN]}))
    services.on("POST", NOTIFIER, RESEND_PATH, (200, {**FAILED, "status": "pending", "attempts": 0}))
    sign_in("t.north", "coordinator", "north")

    page = html.unescape(client.get("/staff/mail/").text)
    assert page.count(">Send again</button>") == 1  # the failed one only
    assert f'action="/staff/mail/notifications/{FAILED_ID}/resend"' in page
    assert "sent again by t.principal" in page

    sent = client.post(f"/staff/mail/notifications/{FAILED_ID}/resend", data={"csrf_token": csrf_of(page)})

    assert sent.status_code == 302 and sent.headers["Location"] == "/staff/mail/"
    asked = services.last("POST", RESEND_PATH)
    assert (asked.user.username, asked.user.role) == ("t.north", "coordinator")
    assert "The e-mail will be sent again in a moment." in client.get("/staff/mail/").text


def test_sending_again_what_is_no_longer_failed_says_its_status(client, services, sign_in):
    message = f"notification {FAILED_ID} is pending, not failed: it is not sent again"
    services.on("POST", NOTIFIER, RESEND_PATH, error(409, message))
    sign_in("t.principal", "principal_officer", None)
    token = csrf_of(client.get("/staff/mail/").text)

    again = client.post(f"/staff/mail/notifications/{FAILED_ID}/resend", data={"csrf_token": token})

    assert again.status_code == 302, "a second click is no error: back to the list, which says why"
    listed = client.get(again.headers["Location"])
    assert "Nothing was changed: notification" in html.unescape(listed.text)
    assert "is pending, not failed" in html.unescape(listed.text)


def test_staff_and_forged_posts_send_nothing_again(client, services, sign_in):
    services.on("POST", NOTIFIER, RESEND_PATH, (200, {**FAILED, "status": "pending"}))
    sign_in("t.staff", "staff", "north")
    token = csrf_of(client.get("/staff/mail/").text)
    assert (
        client.post(f"/staff/mail/notifications/{FAILED_ID}/resend", data={"csrf_token": token}).status_code
        == 403
    )
    client.post("/sign-out", data={"csrf_token": token})
    sign_in("t.north", "coordinator", "north")
    assert client.post(f"/staff/mail/notifications/{FAILED_ID}/resend", data={}).status_code == 400
    assert not [call for call in services.calls if call.method == "POST" and call.path == RESEND_PATH]


REFERRAL_ID = "5b0e7c2a-0000-4000-8000-000000000001"
RECEIPT = {
    **SENT_AGAIN,
    "id": f"test-event-3:agency-of:{REFERRAL_ID}",
    "event_type": "sla.started.v1",
    "reference": "R-2612-CCCCC",
    "recipient": f"agency-of:{REFERRAL_ID}",
    "to": [f"agency-of:{REFERRAL_ID}", f"referrer-of:{REFERRAL_ID}"],
    "resent_by": None,
}
ACCEPTED = {
    **RECEIPT,
    "id": "test-event-4:r",
    "event_type": "referral.accepted.v1",
    "recipient": f"referrer-of:{REFERRAL_ID}",
}
MESSAGE = {
    "id": "m1",
    "subject": "We have your referral: R-2612-CCCCC",
    "to": "hv-team@example.org",
    "delivered_to": None,
    "date": "Thu, 03 Dec 2026 15:17:00 +0000",
}


def test_the_log_names_what_each_email_was_about_and_whom_in_plain_words(client, services, sign_in):
    services.on("GET", NOTIFIER, "/api/v1/notifications", (200, {"items": [RECEIPT, ACCEPTED]}))
    services.on("GET", NOTIFIER, "/api/v1/messages", (200, {"items": [MESSAGE]}))
    sign_in("t.north", "coordinator", "north")

    page = html.unescape(client.get("/staff/mail/").text)

    assert "New referral R-2612-CCCCC" in page and "Referral accepted" in page
    assert "Sla.started" not in page and ".v1" not in page
    assert "agency-of:" not in page and "referrer-of:" not in page
    assert "the referring agency" in page and "the referrer" in page
    assert "referral" in page.split("<h2")[0]  # the intro says partners' mail is here too
    assert "Thu 3 Dec 2026, 3:17pm" in page and "+0000" not in page


def test_every_kind_of_email_the_notifier_sends_has_a_label():
    from frontend.formatting import EVENT_LABELS
    from notifier.domain import DIGEST_TYPE, GROUP_TYPE, NOTICE_TYPES
    from notifier.monthly import EVENT_TYPE as MONTHLY_REPORT

    assert set(NOTICE_TYPES) | {DIGEST_TYPE, GROUP_TYPE, MONTHLY_REPORT} <= set(EVENT_LABELS)


ERASED_AT = "2026-07-09T09:00:00.000000Z"
ERASED_NOTICE = {**ACCEPTED, "erased_at": ERASED_AT}
ERASED_MESSAGE = {
    "id": "m2",
    "subject": "Referral accepted: R-2612-CCCCC",
    "to": "undisclosed-recipients:;",
    "delivered_to": None,
    "date": "Thu, 03 Dec 2026 15:17:00 +0000",
    "erased_at": ERASED_AT,
}


def test_an_email_whose_copy_was_erased_says_so_in_the_log_and_when_opened(client, services, sign_in):
    services.on("GET", NOTIFIER, "/api/v1/notifications", (200, {"items": [RECEIPT, ERASED_NOTICE]}))
    services.on("GET", NOTIFIER, "/api/v1/messages", (200, {"items": [MESSAGE, ERASED_MESSAGE]}))
    note = "This e-mail's words and its recipient's address were erased on 9 July 2026, 10:00."
    services.on("GET", NOTIFIER, "/api/v1/messages/m2", (200, {**ERASED_MESSAGE, "text": note, "html": note}))
    sign_in("t.north", "coordinator", "north")

    page = html.unescape(client.get("/staff/mail/").text)
    opened = html.unescape(client.get("/staff/mail/messages/m2").text)

    assert page.count("Copy erased on Thu 9 Jul 2026, 10:00am") == 2, "the log's row and the message's"
    assert "undisclosed-recipients" not in page
    assert "Copy erased on Thu 9 Jul 2026, 10:00am" in opened
    assert "holds no addresses or words any more" in opened
    assert "undisclosed-recipients" not in opened and "See the HTML version" not in opened
