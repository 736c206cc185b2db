"""Rest between sets: reading '/rest 3m', '/rest 90s', '/rest 2:30' and showing a length back."""

from __future__ import annotations

import re

MIN_REST_SECONDS, MAX_REST_SECONDS = 10, 15 * 60  # a heavy deadlift triple may want 5-10 minutes
REST_BUTTONS = (90, 180, 300)  # under a logged set: 1:30, 3:00, 5:00
_CLOCK = re.compile(r"([0-9]{1,2}):([0-5][0-9])")
_PARTS = re.compile(r"(?:([0-9]{1,3})\s*(?:m|min|mins|minutes?))?\s*(?:([0-9]{1,4})\s*(?:s|sec|secs|seconds?))?")


def read_rest(text: str) -> int | None:
    """Seconds of rest, or None when it is not a rest length within bounds. A bare number is
    minutes up to 15 ('/rest 3') and seconds above ('/rest 90')."""
    text = text.strip().lower()
    seconds: int | None = None
    if match := _CLOCK.fullmatch(text):
        seconds = int(match.group(1)) * 60 + int(match.group(2))
    elif re.fullmatch(r"[0-9]{1,4}", text):
        value = int(text)
        seconds = value * 60 if value <= MAX_REST_SECONDS // 60 else value
    elif text and (match := _PARTS.fullmatch(text)) and (match.group(1) or match.group(2)):
        seconds = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    if seconds is None or not MIN_REST_SECONDS <= seconds <= MAX_REST_SECONDS:
        return None
    return seconds


def rest_text(seconds: int) -> str:
    """90 -> '1:30', 300 -> '5:00': how a gym clock shows it."""
    return f"{seconds // 60}:{seconds % 60:02d}"
