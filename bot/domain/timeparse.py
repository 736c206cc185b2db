"""Read a lesson time the way people type it: '7', '7am', '7:30 pm', '18:30', '0630', 'noon'."""

from __future__ import annotations

import re
from datetime import time

_TIME = re.compile(r"^(?:at\s+)?(?P<hour>\d{1,2})(?:[:.h\s]?(?P<minute>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?$")
_WORDS = {"noon": time(12, 0), "midday": time(12, 0), "midnight": time(0, 0)}


def parse_lesson_time(text: str) -> time | None:
    """A wall-clock time, or None when the text is not one (never a guess)."""
    cleaned = " ".join(text.strip().lower().split())
    if cleaned in _WORDS:
        return _WORDS[cleaned]
    match = _TIME.match(cleaned)
    if match is None:
        return None
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    ampm = (match["ampm"] or "").replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def format_time(value: time) -> str:
    return value.strftime("%H:%M")
