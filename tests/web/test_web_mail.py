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
