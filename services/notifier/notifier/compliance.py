"""Last month's compliance figures, asked of the SLA monitor, which owns them.

The notifier keeps no clocks, so it does not count anything itself: it asks
the SLA monitor's compliance report with a short-lived service token (the SLA
monitor checks it with SERVICE_TOKEN_PUBLIC_KEY and answers with every figure,
as it does for staff). The answer holds counts by centre, never a contact, and
nothing of it is stored here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

import requests
from ccshared.contracts import SERVICE_SLA_MONITOR

from .mail import PermanentFailure, TemporaryFailure
from .service_api import ServiceApi

GROUP_BY = "centre"
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass(frozen=True)
class Month:
    first: date

    @classmethod
    def before(cls, day: date) -> Month:
        return cls((day.replace(day=1) - timedelta(days=1)).replace(day=1))

    @property
    def last(self) -> date:
        following = date(self.first.year + self.first.month // 12, self.first.month % 12 + 1, 1)
        return following - timedelta(days=1)

    @property
    def key(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def label(self) -> str:
        return f"{self.first:%B %Y}"


@dataclass(frozen=True)
class Report:
    totals: dict[str, Any]
    centres: int
    workbook: bytes


def filename(month: Month, area: str | None) -> str:
    """What the attachment saves as: compliance-report-2026-06-north.xlsx, or ...-all-areas.xlsx."""
    return f"compliance-report-{month.key}-{area or 'all-areas'}.xlsx"


@dataclass(eq=False)
class ComplianceReports(ServiceApi):
    audience: ClassVar[str] = SERVICE_SLA_MONITOR
    timeout: float = 30.0

    def report(self, month: Month, area: str | None) -> Report:
        """The month's figures (of one area, or of every area) and the same as a workbook."""
        figures = self._get(month, area, "json").json()
        workbook = self._get(month, area, "xlsx").content
        return Report(totals=figures["totals"], centres=len(figures["groups"]), workbook=workbook)

    def received(self, month: Month) -> int:
        """How many contacts came in during the month, in every area."""
        return self._get(month, None, "json").json()["totals"]["total"]

    def _get(self, month: Month, area: str | None, format: str) -> requests.Response:
        query = {"from": month.first.isoformat(), "to": month.last.isoformat(), "group_by": GROUP_BY}
        if area:
            query["area"] = area
        query["format"] = format
        headers = {"Authorization": self._bearer()}
        url = f"{self.base_url}/api/v1/reports/compliance"
        try:
            reply = self.session.get(url, params=query, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise TemporaryFailure(f"SLA monitor unreachable: {type(exc).__name__}") from exc
        if reply.status_code == 422:
            raise PermanentFailure(f"SLA monitor refused the report query: {reply.text[:300]}")
        if reply.status_code != 200:
            raise TemporaryFailure(f"SLA monitor answered {reply.status_code}")
        return reply
