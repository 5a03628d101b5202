"""The words people read for a shared vocabulary that more than one service shows: the front end's
pages and the notifier's e-mails name a channel or an urgency alike."""

from __future__ import annotations

CHANNELS = {
    "letter": "Letter",
    "telephone": "Telephone message",
    "email": "E-mail",
    "referral": "Partner referral",
}
URGENCIES = {"urgent": "Urgent", "soon": "Soon", "routine": "Routine"}
