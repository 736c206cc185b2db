"""The numbers behind the Mini App's coach and operator pages, as pure functions over stored
answers: a group's funnel by course day, who needs the coach's attention, what each piece of advice
did to the next check-in, and how far each cohort got. No Telegram, no database."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

SILENT_LESSONS = 2  # a member who let this many lessons with a question pass unanswered needs a nudge


class DayOutcome(StrEnum):
    """Where one person's check-in on one day ended, the most serious answer winning."""

    RED_FLAG = "red_flags"
    LOWER_BACK = "lower_back"
    OTHER_FAULT = "other_faults"
    CLEAN = "clean"


_BY_EFFECT = {
    "red_flag": DayOutcome.RED_FLAG,
    "regress": DayOutcome.LOWER_BACK,
    "activate": DayOutcome.OTHER_FAULT,
    "none": DayOutcome.OTHER_FAULT,
    "clean": DayOutcome.CLEAN,
}
_SEVERITY = list(DayOutcome)  # most serious first


@dataclass(frozen=True)
class Answer:
    """One stored check-in answer, as the dashboards need it."""

    user_id: int
    day: int
    node: str
    option: str
    advice: str | None = None
    effect: str | None = None
    fix_helped: str | None = None
    answered_at: datetime | None = None
    enrollment_id: int = 0


@dataclass(frozen=True)
class FunnelDay:
    day: int
    sent: int
    answered: int
    clean: int = 0
    lower_back: int = 0
    other_faults: int = 0
    red_flags: int = 0


def outcome_of(effects: Iterable[str | None]) -> DayOutcome | None:
    """The outcome of one person's answers on a day; None while no answer reached advice."""
    found = {_BY_EFFECT[effect] for effect in effects if effect in _BY_EFFECT}
    return next((outcome for outcome in _SEVERITY if outcome in found), None)


def _by_person_day(answers: Iterable[Answer]) -> dict[tuple[int, int], list[Answer]]:
    grouped: dict[tuple[int, int], list[Answer]] = defaultdict(list)
    for answer in answers:
        grouped[(answer.user_id, answer.day)].append(answer)
    return grouped


def funnel(answers: Iterable[Answer], *, delivered_days: Iterable[int], audience: int) -> list[FunnelDay]:
    """One row per course day whose lesson went out: `audience` people reached, how many answered,
    and where their answers ended (each person counted once, under their most serious outcome)."""
    per_day: dict[int, Counter] = defaultdict(Counter)
    for (_, day), rows in _by_person_day(answers).items():
        per_day[day]["answered"] += 1
        outcome = outcome_of(row.effect for row in rows)
        if outcome is not None:
            per_day[day][outcome.value] += 1
    return [
        FunnelDay(day=day, sent=audience, **{key: per_day[day][key] for key in ("answered", *_SEVERITY)})
        for day in sorted(set(delivered_days))
    ]


@dataclass(frozen=True)
class Attention:
    red_flags: list[Answer]  # the red-flag answers, latest day first
    silent: list[tuple[int, int]]  # (user id, lessons in a row left unanswered), longest first


def attention(answers: Iterable[Answer], *, question_days: Iterable[int], roster: Iterable[int]) -> Attention:
    """Red flags to follow up, and members silent for the last SILENT_LESSONS lessons or more
    (`question_days`: the days sent so far whose lesson asked a question)."""
    answers = list(answers)
    red = sorted((a for a in answers if a.effect == "red_flag"), key=lambda a: (-a.day, a.user_id))
    answered = {(a.user_id, a.day) for a in answers}
    days = sorted(set(question_days), reverse=True)
    silent = []
    for user in dict.fromkeys(roster):
        run = next((i for i, day in enumerate(days) if (user, day) in answered), len(days))
        if run >= SILENT_LESSONS:
            silent.append((user, run))
    return Attention(red, sorted(silent, key=lambda item: -item[1]))


class NextCheckin(StrEnum):
    """What the check-in after a piece of advice said."""

    CLEAN = "clean"
    SAME = "same"
    OTHER = "other"
    RED_FLAG = "red"
    NONE = "none"  # no later check-in yet


@dataclass
class AdviceEffect:
    advice: str
    given: int = 0
    next: Counter = field(default_factory=Counter)  # NextCheckin -> count
    helped: Counter = field(default_factory=Counter)  # yes|partly|no -> count


def advice_effects(answers: Iterable[Answer]) -> list[AdviceEffect]:
    """For every piece of advice: how often it was given, what the same person's next check-in
    (a later day of the same run) came to, and what they said when asked whether the fix helped.
    A day answered twice counts its latest answer, as the bot acts on it."""
    latest: dict[tuple[int, int], dict[int, Answer]] = defaultdict(dict)
    for answer in sorted((a for a in answers if a.effect), key=lambda a: (a.answered_at or datetime.min, a.day)):
        latest[(answer.enrollment_id, answer.user_id)][answer.day] = answer
    effects: dict[str, AdviceEffect] = {}
    for per_day in latest.values():
        ordered = [per_day[day] for day in sorted(per_day)]
        for given, following in zip(ordered, [*ordered[1:], None], strict=True):
            if given.advice is None:
                continue
            effect = effects.setdefault(given.advice, AdviceEffect(given.advice))
            effect.given += 1
            effect.next[_next_kind(given, following)] += 1
            if given.fix_helped:
                effect.helped[given.fix_helped] += 1
    return sorted(effects.values(), key=lambda e: (-e.given, e.advice))


def _next_kind(given: Answer, following: Answer | None) -> NextCheckin:
    if following is None:
        return NextCheckin.NONE
    if following.effect == "red_flag":
        return NextCheckin.RED_FLAG
    if following.effect == "clean":
        return NextCheckin.CLEAN
    return NextCheckin.SAME if following.advice == given.advice else NextCheckin.OTHER


@dataclass(frozen=True)
class Cohort:
    """People who started together: one group's run, or the private learners of one week."""

    kind: str  # "group" | "private"
    name: str  # the group's title, or the Monday of the week (ISO date)
    started: int
    reached: list[int]  # reached[d - 1]: how many were still there on course day d


def private_cohorts(runs: Iterable[tuple[datetime, int]], *, days: int) -> list[Cohort]:
    """Private runs (started at, furthest day sent) by the week they started, newest first."""
    weeks: dict[date, list[int]] = defaultdict(list)
    for started_at, furthest in runs:
        monday = started_at.date() - timedelta(days=started_at.weekday())
        weeks[monday].append(furthest)
    return [
        Cohort("private", monday.isoformat(), len(furthest), _reached(furthest, days))
        for monday, furthest in sorted(weeks.items(), reverse=True)
    ]


def group_cohort(name: str, answers: Iterable[Answer], *, members: int, days: int) -> Cohort:
    """A group's run: still there on day d means checking in on day d or later."""
    last_day: dict[int, int] = {}
    for answer in answers:
        last_day[answer.user_id] = max(answer.day, last_day.get(answer.user_id, 0))
    return Cohort("group", name, max(members, len(last_day)), _reached(list(last_day.values()), days))


def _reached(furthest: list[int], days: int) -> list[int]:
    return [sum(1 for best in furthest if best >= day) for day in range(1, days + 1)]
