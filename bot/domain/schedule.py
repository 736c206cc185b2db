"""When is the next lesson due? Pure functions of the person's schedule and an instant.

A course day is a calendar day in the person's IANA time zone, so a 07:00 lesson arrives at
07:00 local on both sides of a DST change. For demos and tests a course day can be shortened
(`COURSE_DAY_SECONDS`); a short day is a fixed slice of UTC time and the lesson falls at the
same fraction of it as the chosen time falls in a real day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

REAL_DAY_SECONDS = 86400


@dataclass(frozen=True)
class LessonSchedule:
    lesson_time: time
    timezone: str
    day_seconds: int = REAL_DAY_SECONDS

    def day_of(self, instant: datetime) -> int:
        """The course-day number containing `instant` (a local calendar date, as an ordinal)."""
        if self.day_seconds == REAL_DAY_SECONDS:
            return instant.astimezone(ZoneInfo(self.timezone)).date().toordinal()
        return int(instant.timestamp() // self.day_seconds)

    def slot(self, day: int) -> datetime:
        """The UTC instant of the lesson on course-day `day`.

        A local time that does not exist (the hour skipped in spring) resolves to the same
        wall-clock reading in the old offset, i.e. one hour later; a repeated hour in autumn
        resolves to its first occurrence.
        """
        if self.day_seconds == REAL_DAY_SECONDS:
            local = datetime.combine(date.fromordinal(day), self.lesson_time, ZoneInfo(self.timezone))
            return local.astimezone(UTC)
        seconds_into_day = self.lesson_time.hour * 3600 + self.lesson_time.minute * 60
        offset = seconds_into_day * self.day_seconds / REAL_DAY_SECONDS
        return datetime.fromtimestamp(day * self.day_seconds + offset, UTC)


def next_due(schedule: LessonSchedule, *, now: datetime, last_sent: datetime | None) -> datetime:
    """The earliest lesson slot that is not in the past and falls on a later day than the last
    lesson. After a send (`last_sent == now`) that is tomorrow's slot; after a pause, a restart or
    a settings change it is the next slot, never a second lesson on the same day."""
    day = schedule.day_of(now)
    if last_sent is not None:
        day = max(day, schedule.day_of(last_sent) + 1)
    due = schedule.slot(day)
    if due < now:
        due = schedule.slot(day + 1)
    return due


def local_now(timezone: str, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(timezone))


class DueKind(StrEnum):
    """How far off a lesson is, in the person's own terms; each names a text (content/texts.yaml)."""

    SECONDS = "due_in_seconds"  # a shortened course day (demos, tests)
    TODAY = "due_today"
    TOMORROW = "due_tomorrow"
    LATER = "due_on_date"


@dataclass(frozen=True)
class DueWhen:
    """When a lesson comes, ready to be put into words in any language: 'today at 07:00', 'on Thu
    4 Jun at 07:00'. The date stays a date: its weekday and month are named in the reader's language."""

    kind: DueKind
    clock: str = ""  # the local time, 07:00
    day: date | None = None  # the local date, for LATER
    seconds: int = 0


def describe_due(schedule: LessonSchedule, due: datetime, now: datetime) -> DueWhen:
    """When `due` falls, in the person's zone, relative to `now`."""
    if schedule.day_seconds != REAL_DAY_SECONDS:
        return DueWhen(DueKind.SECONDS, seconds=max(0, round((due - now).total_seconds())))
    zone = ZoneInfo(schedule.timezone)
    local_due, today = due.astimezone(zone), now.astimezone(zone).date()
    clock = local_due.strftime("%H:%M")
    if local_due.date() == today:
        return DueWhen(DueKind.TODAY, clock)
    if local_due.date() == today + timedelta(days=1):
        return DueWhen(DueKind.TOMORROW, clock)
    return DueWhen(DueKind.LATER, clock, local_due.date())
