"""Prometheus metrics, served on /metrics. Other modules call the small functions, never the objects.

Counters live in the process (each process of a webhook fleet reports its own; Prometheus sums
them). The active-people gauge is read from the database at scrape time, so every process reports
the same, whole number.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

LESSONS = Counter("coach_lessons_total", "Lessons handed to Telegram, by outcome", ["outcome"])
TOO_MANY_REQUESTS = Counter("coach_telegram_429_total", "Answers 'Too Many Requests' (429) from Telegram")
CHECKINS = Counter("coach_checkins_total", "Check-in answers recorded")
DUPLICATE_UPDATES = Counter("coach_duplicate_updates_total", "Updates Telegram delivered again, skipped")
TICK_SECONDS = Histogram(
    "coach_delivery_tick_seconds",
    "Duration of one delivery tick",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
ACTIVE_PEOPLE = Gauge("coach_active_people", "Chats whose course is running (not paused, stopped or finished)")
for _outcome in ("sent", "failed", "uncertain", "retried"):
    LESSONS.labels(_outcome)  # every series exists from the start, at 0, so rates work at once


def lesson_sent() -> None:
    LESSONS.labels("sent").inc()


def lesson_failed() -> None:
    LESSONS.labels("failed").inc()


def lesson_uncertain() -> None:
    """Sent, but Telegram's answer was lost: counted apart so lost answers show up."""
    LESSONS.labels("uncertain").inc()


def lesson_retried() -> None:
    LESSONS.labels("retried").inc()


def rate_limited() -> None:
    TOO_MANY_REQUESTS.inc()


def checkin_recorded() -> None:
    CHECKINS.inc()


def duplicate_update() -> None:
    DUPLICATE_UPDATES.inc()


def tick_timer() -> Any:
    """`with tick_timer():` around one delivery tick."""
    return TICK_SECONDS.time()


def set_active_people(count: int) -> None:
    ACTIVE_PEOPLE.set(count)


def exposition() -> tuple[bytes, str]:
    """The /metrics body and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
