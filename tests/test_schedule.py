"""The course engine's timing rules, with explicit instants instead of a running clock."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.app import CONTENT_DIR
from bot.content import load_content
from bot.content.languages import load_library
from bot.domain.schedule import DueKind, DueWhen, LessonSchedule, describe_due, next_due
from bot.render import when_text

LIBRARY = load_library(CONTENT_DIR)

BERLIN_7AM = LessonSchedule(time(7, 0), "Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_after_a_send_the_next_lesson_is_tomorrow_at_the_local_time():
    sent = utc(2026, 6, 1, 5, 0)  # 07:00 in Berlin (UTC+2)
    assert next_due(BERLIN_7AM, now=sent, last_sent=sent) == utc(2026, 6, 2, 5, 0)


def test_day_one_sent_late_evening_still_gives_day_two_next_morning():
    sent = utc(2026, 6, 1, 20, 0)  # 22:00 Berlin
    assert next_due(BERLIN_7AM, now=sent, last_sent=sent) == utc(2026, 6, 2, 5, 0)


def test_day_one_sent_before_lesson_time_does_not_give_a_second_lesson_that_day():
    sent = utc(2026, 6, 1, 3, 0)  # 05:00 Berlin, before 07:00
    assert next_due(BERLIN_7AM, now=sent, last_sent=sent) == utc(2026, 6, 2, 5, 0)


@pytest.mark.parametrize(
    ("zone", "sent", "expected"),
    [
        # Spring forward in Berlin on 29 March 2026: 07:00 is UTC+1 before, UTC+2 after.
        ("Europe/Berlin", utc(2026, 3, 28, 6, 0), utc(2026, 3, 29, 5, 0)),
        # Fall back in Berlin on 25 October 2026.
        ("Europe/Berlin", utc(2026, 10, 24, 5, 0), utc(2026, 10, 25, 6, 0)),
        # New York: DST starts 8 March 2026.
        ("America/New_York", utc(2026, 3, 7, 12, 0), utc(2026, 3, 8, 11, 0)),
    ],
)
def test_a_7am_lesson_stays_at_7am_local_across_dst(zone, sent, expected):
    schedule = LessonSchedule(time(7, 0), zone)
    due = next_due(schedule, now=sent, last_sent=sent)
    assert due == expected
    assert due.astimezone(__import__("zoneinfo").ZoneInfo(zone)).hour == 7


def test_a_lesson_time_inside_the_spring_gap_moves_an_hour_later():
    schedule = LessonSchedule(time(2, 30), "Europe/Berlin")
    sent = utc(2026, 3, 28, 1, 30)  # 02:30 local on the 28th
    due = next_due(schedule, now=sent, last_sent=sent)
    assert due == utc(2026, 3, 29, 1, 30)  # 03:30 CEST: the same instant as "02:30 CET"


def test_catch_up_after_downtime_sends_one_lesson_then_keeps_the_normal_time():
    # Day 3 was due on 3 June 07:00 but the bot was down until 5 June 12:00 and sent it then.
    sent_late = utc(2026, 6, 5, 10, 0)
    assert next_due(BERLIN_7AM, now=sent_late, last_sent=sent_late) == utc(2026, 6, 6, 5, 0)


def test_resume_in_the_morning_before_lesson_time_gets_todays_slot():
    last_sent = utc(2026, 6, 1, 5, 0)
    resumed = utc(2026, 6, 4, 4, 0)  # 06:00 Berlin, three days later
    assert next_due(BERLIN_7AM, now=resumed, last_sent=last_sent) == utc(2026, 6, 4, 5, 0)


def test_resume_after_lesson_time_gets_tomorrows_slot():
    last_sent = utc(2026, 6, 1, 5, 0)
    resumed = utc(2026, 6, 4, 9, 0)
    assert next_due(BERLIN_7AM, now=resumed, last_sent=last_sent) == utc(2026, 6, 5, 5, 0)


def test_resume_on_the_same_day_as_the_last_lesson_waits_for_tomorrow():
    last_sent = utc(2026, 6, 1, 5, 0)
    assert next_due(BERLIN_7AM, now=utc(2026, 6, 1, 4, 0), last_sent=last_sent) == utc(2026, 6, 2, 5, 0)


def test_time_zone_far_from_utc_uses_the_local_date():
    schedule = LessonSchedule(time(7, 0), "Pacific/Auckland")  # UTC+12 in June
    sent = utc(2026, 6, 1, 19, 0)  # already 07:00 on 2 June in Auckland
    assert next_due(schedule, now=sent, last_sent=sent) == utc(2026, 6, 2, 19, 0)


def test_short_course_day_spaces_lessons_one_short_day_apart():
    schedule = LessonSchedule(time(12, 0), "Europe/Berlin", day_seconds=20)
    sent = utc(2026, 6, 1, 0, 0, 3)
    due = next_due(schedule, now=sent, last_sent=sent)
    # Noon is half a day: the slot sits 10 s into the next 20-second day.
    assert due == utc(2026, 6, 1, 0, 0, 30)
    assert timedelta(seconds=20) <= due - sent < timedelta(seconds=40)


def test_describe_due_speaks_in_local_terms():
    now = utc(2026, 6, 1, 8, 0)
    texts = load_content(CONTENT_DIR).texts
    assert when_text(texts, describe_due(BERLIN_7AM, utc(2026, 6, 2, 5, 0), now)) == "tomorrow at 07:00"
    assert when_text(texts, describe_due(BERLIN_7AM, utc(2026, 6, 1, 15, 0), now)) == "today at 17:00"
    assert describe_due(BERLIN_7AM, utc(2026, 6, 4, 5, 0), now) == DueWhen(DueKind.LATER, "07:00", date(2026, 6, 4))
    assert when_text(texts, describe_due(BERLIN_7AM, utc(2026, 6, 4, 5, 0), now)) == "on Thu 4 Jun at 07:00"


def test_describe_due_speaks_each_language():
    now, later = utc(2026, 6, 1, 8, 0), describe_due(BERLIN_7AM, utc(2026, 6, 4, 5, 0), utc(2026, 6, 1, 8, 0))
    assert when_text(LIBRARY["es"].texts, later) == "el jue 4 jun a las 07:00"
    assert when_text(LIBRARY["ru"].texts, later) == "чт 4 июн. в 07:00"
    fast = LessonSchedule(time(7, 0), "Europe/Berlin", day_seconds=20)
    soon = [describe_due(fast, now + timedelta(seconds=s), now) for s in (1, 3, 5, 21)]
    in_seconds = [when_text(LIBRARY["ru"].texts, when) for when in soon]
    assert in_seconds == ["через 1 секунду", "через 3 секунды", "через 5 секунд", "через 21 секунду"]
