"""The directory's own vocabulary: the iCalendar names of the weekdays. The
weekdays themselves (ccshared.contracts) and the list of services a centre can
offer (ccshared.service_types) are shared by every service."""

from __future__ import annotations

from ccshared.contracts import WEEKDAYS

RRULE_DAYS = dict(zip(WEEKDAYS, ("MO", "TU", "WE", "TH", "FR", "SA", "SU"), strict=True))
