"""Numbers for the people who run the bot: who is enrolled, how far they get, where each lesson is
felt, and which corrective advice is followed by a clean check-in. Used by `/stats` and `coach stats`.

Its wording is content like every other sentence (`stats_*` in texts.yaml); only the numbers'
layout is here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts import StatsLabels, stats_chart
from bot.content.models import PAIN_OPTION, Texts
from bot.domain.course import CourseStatus
from bot.storage.checkins import unmatched_answers
from bot.storage.models import CheckinAnswer, Enrollment, LogEntry

FELT_GROUPS = {"clean": "clean", "regress": "back"}  # every other effect counts as "other"


@dataclass(frozen=True)
class AdviceOutcome:
    advice: str
    followed: int  # times the advice was given and another check-in came after it
    clean_next: int  # of those, how often the next check-in was clean

    @property
    def rate(self) -> float:
        return self.clean_next / self.followed if self.followed else 0.0


@dataclass(frozen=True)
class Stats:
    days: int
    enrolled: int  # people (chats) with a course, running or not
    active: int  # with a course running now
    finished: int  # who reached the graduation
    logging: int  # who logged at least one set
    reached: dict[int, int]  # course day -> people who got at least that far
    answers: dict[int, dict[str, int]]  # course day -> clean / back / other check-in answers
    outcomes: list[AdviceOutcome]
    unmatched: list[tuple[datetime, str, str, str]]  # (time, question, asked|pain-check, text), newest first


async def collect(*, session: AsyncSession, days: int, unmatched: int = 10) -> Stats:
    """Read everything the report needs in a handful of queries; `unmatched` is how many of the
    latest typed answers the bot had to ask about are listed."""
    enrolled = await session.scalar(select(func.count(func.distinct(Enrollment.chat_id))))
    by_status = dict(
        (
            await session.execute(
                select(Enrollment.status, func.count(func.distinct(Enrollment.chat_id))).group_by(Enrollment.status)
            )
        ).all()
    )
    loggers = await session.scalar(select(func.count(func.distinct(LogEntry.user_id))))
    furthest = list(
        (await session.execute(select(func.max(Enrollment.current_day)).group_by(Enrollment.chat_id))).scalars()
    )
    reached = {day: sum(1 for best in furthest if best >= day) for day in range(1, days + 1)}
    leaves = (
        await session.execute(
            select(
                CheckinAnswer.enrollment_id,
                CheckinAnswer.user_id,
                CheckinAnswer.day,
                CheckinAnswer.advice,
                CheckinAnswer.effect,
            )
            .where(CheckinAnswer.effect.is_not(None))
            .order_by(CheckinAnswer.enrollment_id, CheckinAnswer.user_id, CheckinAnswer.day, CheckinAnswer.answered_at)
        )
    ).all()
    answers: dict[int, Counter] = defaultdict(Counter)
    for leaf in leaves:
        answers[leaf.day][FELT_GROUPS.get(leaf.effect, "other")] += 1
    return Stats(
        days=days,
        enrolled=enrolled or 0,
        active=by_status.get(CourseStatus.ACTIVE, 0),
        finished=by_status.get(CourseStatus.FINISHED, 0),
        logging=loggers or 0,
        reached=reached,
        answers={day: dict(counts) for day, counts in sorted(answers.items())},
        outcomes=_outcomes(leaves),
        unmatched=await unmatched_answers(session=session, pain_option=PAIN_OPTION, limit=unmatched),
    )


def _outcomes(leaves) -> list[AdviceOutcome]:
    """For each corrective advice, how often the person's next check-in (a later day) was clean."""
    last_per_day: dict[tuple[int, int], dict[int, tuple[str | None, str]]] = defaultdict(dict)
    for leaf in leaves:  # ordered by time: a later answer on the same day replaces the earlier one
        last_per_day[(leaf.enrollment_id, leaf.user_id)][leaf.day] = (leaf.advice, leaf.effect)
    followed: Counter = Counter()
    clean_next: Counter = Counter()
    for per_day in last_per_day.values():
        ordered = [per_day[day] for day in sorted(per_day)]
        for (advice, effect), (_, next_effect) in zip(ordered, ordered[1:], strict=False):
            if effect == "clean" or advice is None:
                continue
            followed[advice] += 1
            clean_next[advice] += next_effect == "clean"
    return sorted(
        (AdviceOutcome(advice, followed[advice], clean_next[advice]) for advice in followed),
        key=lambda outcome: (-outcome.followed, outcome.advice),
    )


def stats_text(stats: Stats, texts: Texts) -> str:
    """A plain-text report that reads the same in a terminal and in a Telegram <pre> block."""
    lines = [
        texts.stats_heading,
        texts.stats_people.format(enrolled=stats.enrolled, active=stats.active, finished=stats.finished),
        texts.stats_logging.format(logging=stats.logging),
        "",
        texts.stats_reached,
        "  " + "  ".join(f"d{day}:{count}" for day, count in stats.reached.items()),
        "",
        texts.stats_answers,
    ]
    if not stats.answers:
        lines.append(f"  {texts.stats_none_yet}")
    for day, counts in stats.answers.items():
        clean, back, other = counts.get("clean", 0), counts.get("back", 0), counts.get("other", 0)
        share = back / (clean + back + other)
        line = texts.stats_answers_day.format(
            day=day, counts=f"{clean:3d} / {back:3d} / {other:3d}", share=f"{share:4.0%}"
        )
        lines.append(f"  {line}")
    lines += ["", texts.stats_advice]
    if not stats.outcomes:
        lines.append(f"  {texts.stats_none_yet}")
    width = max((len(outcome.advice) for outcome in stats.outcomes), default=0)
    for outcome in stats.outcomes:
        line = texts.stats_advice_line.format(
            advice=f"{outcome.advice:<{width}}",
            clean_next=outcome.clean_next,
            followed=outcome.followed,
            rate=f"{outcome.rate:.0%}",
        )
        lines.append(f"  {line}")
    return "\n".join([*lines, "", unmatched_text(stats, texts)])


def unmatched_text(stats: Stats, texts: Texts) -> str:
    """Typed answers the reader could not place (asked with buttons) or that needed the pain-check,
    without names: the words to add to content/lexicons/."""
    lines = [texts.stats_unmatched]
    if not stats.unmatched:
        lines.append(f"  {texts.stats_none_yet}")
    for at, node, how, text in stats.unmatched:
        flat = " ".join(text.split())
        lines.append(f"  {at:%Y-%m-%d %H:%M}  {node:<22} {how:<10} {flat[:200]}")
    return "\n".join(lines)


def stats_png(stats: Stats, texts: Texts) -> bytes:
    labels = StatsLabels(
        reached=texts.stats_chart_reached,
        answers=texts.stats_chart_answers,
        clean=texts.stats_chart_clean,
        back=texts.stats_chart_back,
        other=texts.stats_chart_other,
        day=texts.stats_chart_day,
    )
    return stats_chart(stats.reached, stats.answers, stats.days, labels)
