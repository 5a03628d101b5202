"""The escalation ladder: when a breached contact still unanswered is raised again.

Who hears what is the notifier's routing: at risk goes to the assignee (or the
area coordinator when nobody is assigned), a breach and each reminder to the
area coordinator and the Principal Officer. This module decides when each
reminder falls due, on the one working-day calendar (ccshared.calendar) of the
contact's area:

- reminder k falls due at the first instant after the (k x N)th working day
  that follows the due day, as the breach falls due after the due day itself;
  N is SLA_ESCALATION_REMINDER_DAYS, and 0 means no reminders;
- a ladder planned for the first time (a breach just raised, even one raised
  late by a monitor catching up, reminders just turned on) or planned again
  under another calendar or N counts the steps already past as done: a breach
  notice is never followed by a burst of reminders for the days before it;
- a monitor that was down when a planned reminder fell due raises only the
  latest step due, as a catch-up raises a breach without its stale at-risk event;
- each step is claimed once per contact and N (`SlaEvent.once_per`, see
  repository.py), so restarts and several monitor instances raise it once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ccshared.calendar import WorkingCalendar
from ccshared.timeutil import LONDON

from .domain import BREACHED, ContactClock

DEFAULT_REMINDER_WORKING_DAYS = 3


@dataclass(frozen=True)
class Ladder:
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    reminder_working_days: int = DEFAULT_REMINDER_WORKING_DAYS

    @property
    def fingerprint(self) -> str:
        """Changes whenever a rule that moves a reminder changes (the calendar, N)."""
        return f"{self.calendar.fingerprint}|every={self.reminder_working_days}"

    def reminder_at(self, clock: ContactClock, step: int) -> datetime:
        """The first instant of reminder `step`: after step x N working days past the due day."""
        assert clock.due_at is not None
        days = step * self.reminder_working_days
        return self.calendar.deadline(clock.due_at, days, clock.area).breach_at

    def steps_due(self, clock: ContactClock, now: datetime) -> int:
        """How many reminders have fallen due by `now` (whole N working days since the due day)."""
        assert clock.due_at is not None
        due_day = clock.due_at.astimezone(LONDON).date()
        yesterday = now.astimezone(LONDON).date() - timedelta(days=1)
        passed = self.calendar.working_days_between(due_day, yesterday, clock.area)
        return max(0, passed // self.reminder_working_days)

    def escalate(self, clock: ContactClock, now: datetime) -> None:
        """Plan a breached clock's next reminder, raising the one due now if any (the clock records it)."""
        if clock.state != BREACHED or clock.due_at is None:
            return
        every = self.reminder_working_days
        if not every:
            clock.remind(0, None, self.fingerprint, now, once_per="")
            return
        step = self.steps_due(clock, now)
        if clock.next_reminder_at is None:
            clock.restart_reminders(step)
        next_at = self.reminder_at(clock, max(step, clock.reminders_sent) + 1)
        clock.remind(step, next_at, self.fingerprint, now, once_per=f"reminder-{step}-every-{every}")

    def replan(self, clock: ContactClock, now: datetime) -> None:
        """Plan again from now, under this ladder's calendar and N."""
        clock.next_reminder_at = None
        self.escalate(clock, now)
