"""Group coaching as pure functions: link formats, the short tip in an alert, anonymous
tallies, and the coach's per-day summary with its trend. No Telegram, no database."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bot.callback_data import MAX_ROW_ID
from bot.domain.text import plain_text

ALERT_LIMIT = 200  # Telegram's limit for the text of a callback answer
FIX_EFFECTS = ("regress", "activate", "none")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
# ASCII digits only, no leading zero, within the ids buttons may name (as in bot/callback_data.py)
_MEMBER_LINK = re.compile(r"g([1-9][0-9]{0,9})_([1-9][0-9]{0,2})", re.ASCII)
_SUMMARY_LINK = re.compile(r"s([1-9][0-9]{0,9})", re.ASCII)


@dataclass(frozen=True)
class StartLink:
    """What a `t.me/<bot>?start=...` link from a group asks for: a member's advice ('g') for one
    group day, or a coach's summary ('s')."""

    kind: str
    enrollment_id: int
    day: int = 0


def member_link_payload(enrollment_id: int, day: int) -> str:
    return f"g{enrollment_id}_{day}"


def summary_link_payload(enrollment_id: int) -> str:
    return f"s{enrollment_id}"


def start_link(bot_username: str, payload: str) -> str:
    """A link that opens the private chat with the bot and sends it `/start <payload>`."""
    return f"https://t.me/{bot_username}?start={payload}"


def parse_start_payload(payload: str) -> StartLink | None:
    """What a link asks for, or None for anything else (forged ids out of range included)."""
    if match := _MEMBER_LINK.fullmatch(payload):
        link = StartLink("g", int(match[1]), int(match[2]))
    elif match := _SUMMARY_LINK.fullmatch(payload):
        link = StartLink("s", int(match[1]))
    else:
        return None
    return link if link.enrollment_id <= MAX_ROW_ID else None


def plain(html: str) -> str:
    """Telegram HTML as the plain text an alert can show."""
    return " ".join(plain_text(html).split())


def first_sentence(text: str) -> str:
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0]


def fit(template: str, value: str, limit: int = ALERT_LIMIT) -> str:
    """`template` filled with `value`, the value shortened with an ellipsis until it all fits."""
    text = template.format(tip=value)
    if len(text) <= limit:
        return text
    room = max(1, len(value) - (len(text) - limit) - 1)
    return template.format(tip=value[:room].rstrip() + "…")[:limit]


def short_tip(title: str, do: str) -> str:
    """The advice in one line for an alert: its title and the first sentence of what to do."""
    return f"{plain(title)}: {first_sentence(plain(do))}"


def tally(options: Iterable[tuple[str, str]], chosen: Iterable[str]) -> list[tuple[str, int]]:
    """(label, count) for every option someone chose, in the question's order."""
    counts = Counter(chosen)
    return [(label, counts[option]) for option, label in options if counts[option]]


@dataclass(frozen=True)
class GroupAnswer:
    """One stored answer in a group's run of the course, as the summary needs it."""

    user_id: int
    day: int
    node: str
    option: str
    effect: str | None


@dataclass(frozen=True)
class DayTrend:
    day: int
    checked_in: int
    clean: int
    fix: int
    red_flags: int


@dataclass(frozen=True)
class DaySummary:
    """What a coach needs about one course day: the answers to its question, who raised a red flag
    (and with which answer), who of the roster has not checked in, and every day so far."""

    day: int
    counts: list[tuple[str, int]]
    red_flags: list[tuple[int, str, str]]  # (user id, node id, option id)
    missing: list[int]
    trend: list[DayTrend]


def summarise(
    answers: list[GroupAnswer],
    *,
    day: int,
    entry_nodes: dict[int, str | None],
    options: Iterable[tuple[str, str]],
    roster: Iterable[int],
) -> DaySummary:
    """`entry_nodes` maps each course day to its check-in question (None: no question that day);
    `options` are (id, label) of that day's question; `roster` are the members to account for."""
    today = [a for a in answers if a.day == day]
    entry = entry_nodes.get(day)
    counts = tally(options, [a.option for a in today if a.node == entry])
    red_flags = [(a.user_id, a.node, a.option) for a in today if a.effect == "red_flag"]
    answered = {a.user_id for a in today}
    missing = [user for user in dict.fromkeys(roster) if user not in answered]
    return DaySummary(day, counts, red_flags, missing, [_trend(answers, d) for d in sorted(entry_nodes) if d <= day])


def _trend(answers: list[GroupAnswer], day: int) -> DayTrend:
    """Per member, the outcome of their answers that day: on target, working on a fix, or a red flag."""
    effects: dict[int, set[str]] = {}
    for answer in answers:
        if answer.day == day:
            effects.setdefault(answer.user_id, set()).add(answer.effect or "")
    return DayTrend(
        day,
        checked_in=len(effects),
        clean=sum("clean" in found for found in effects.values()),
        fix=sum(bool(found & set(FIX_EFFECTS)) for found in effects.values()),
        red_flags=sum("red_flag" in found for found in effects.values()),
    )


def split_time_and_zone(args: list[str], read_time) -> tuple[str | None, str]:
    """'/groupcourse start 6:30 pm New York' -> ('6:30 pm', 'New York'): the longest leading run of
    words (one or two) that `read_time` accepts is the time, the rest the zone. No time: (None, all)."""
    for size in (2, 1):
        if len(args) >= size and read_time(" ".join(args[:size])) is not None:
            return " ".join(args[:size]), " ".join(args[size:])
    return None, " ".join(args)
