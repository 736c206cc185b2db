"""Check-in answers that arrive together are written together (group commit).

After a fan-out many people answer at once. Each answer on its own takes a transaction of three
statements; while one transaction is being written, the answers that come in meanwhile wait, and
the next transaction takes them all: one read of their enrollments, one statement for all the
answers, one for all the open questions (`checkins.store_answers`). A lone answer is written at once,
so nobody waits for a batch to fill, and every answer is committed before it is acknowledged.
When a shared transaction fails, each of its answers is tried again on its own: one bad answer
fails alone and the honest answers beside it are stored.

A button can be pressed before its lesson's outcome is written (a moment after Telegram's answer,
perhaps by another process): the lesson is then still claimed, and `decide` sees the enrollment as
that outcome will leave it (`as_on_screen`), so the press counts.

A red-flag answer holds its run in the same transaction (`bot.services.course.hold_runs`).
Also here: an answer as stored (`answer_write`) and a typed answer as read (`read_typed`), for
private check-ins and group members' follow-ups alike; and the writer's smaller errands, each one
transaction: whether a fix helped, a typed answer the coach could not read, the /checkins history
(and a group run's, for its links), the group answer a private follow-up waits on, and what a
person's cues are about (`focus`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.models import PAIN_OPTION
from bot.domain.checkin import CheckinMatcher, Step, TypedAnswer, answer_typed, descendants
from bot.domain.checkin import Decision as MatchDecision
from bot.services.course import hold_runs
from bot.storage import checkins, courses
from bot.storage.checkins import AnswerWrite
from bot.storage.db import Database
from bot.storage.models import CheckinAnswer, Enrollment

# What to write for an enrollment as read in the transaction (None when it no longer exists), or a
# refusal to show the person instead.
Decision = Callable[[Enrollment | None], AnswerWrite | str]
# The check-in question a day's lesson opens (None: it asks none, or there is no such day).
QuestionOf = Callable[[int], str | None]


def as_on_screen(enrollment: Enrollment, day_out: int | None, question_of: QuestionOf) -> Enrollment:
    """The enrollment as the person sees it: with the lesson claimed for sending (`day_out`) as
    delivered, as its recorded outcome will make it. A copy; the stored row is not changed."""
    if day_out is None or day_out <= enrollment.current_day:
        return enrollment
    seen = Enrollment.model_validate(enrollment.model_dump())
    seen.current_day = day_out
    if question := question_of(day_out):
        seen.checkin_day, seen.checkin_node = day_out, question
    return seen


async def enrollments_on_screen(
    session: AsyncSession, ids: list[int], question_of: QuestionOf
) -> dict[int, Enrollment]:
    """The enrollments with these ids as their people see them (`as_on_screen`), in one statement."""
    found = await checkins.enrollments_with_lesson_out(session=session, ids=ids)
    return {key: as_on_screen(*row, question_of) for key, row in found.items()}


@dataclass(frozen=True)
class Recorded:
    """An answer written; `changed` is False for a button pressed again with the same answer."""

    write: AnswerWrite
    changed: bool


@dataclass(eq=False)
class _Waiting:
    enrollment_id: int
    decide: Decision
    member: int | None  # a group member answering: members of one group are written together
    outcome: asyncio.Future[Recorded | str] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass(frozen=True)
class PastAnswer:
    """One answer in /checkins: the option chosen (or the words typed) and the advice it led to."""

    day: int
    node: str
    option: str
    text: str | None
    advice: str | None
    fix_helped: str | None  # yes|partly|no, asked at the next check-in


@dataclass(frozen=True)
class Focus:
    """What a person's own cues are about: the lesson their run is on (0: none sent yet, or no
    run) and the advice of their newest check-in answer that led to one, in any chat."""

    day: int
    advice: str | None


class AnswerWriter:
    def __init__(self, db: Database, question_of: QuestionOf) -> None:
        self._db = db
        self._question_of = question_of
        self._waiting: list[_Waiting] = []
        self._writing = asyncio.Lock()

    async def write(self, enrollment_id: int, decide: Decision, member: int | None = None) -> Recorded | str:
        """Write the answer `decide` makes of the enrollment; returns what was written, or the refusal.
        A group's answers name the `member` answering: one answer per member of the group's run goes
        in each transaction (a group answer never moves or holds the run)."""
        waiting = _Waiting(enrollment_id, decide, member)
        self._waiting.append(waiting)
        async with self._writing:
            if not waiting.outcome.done():  # not taken by the transaction that just ended
                await self._write_waiting()
        return waiting.outcome.result()

    async def fix_helped(self, answer_id: int, user_id: int, helped: str) -> bool:
        """Whether yesterday's fix helped, stored with the answer it follows; False when the answer
        is gone or someone else's."""
        async with self._db.session() as session:
            answer = await checkins.set_fix_helped(session=session, answer_id=answer_id, user_id=user_id, helped=helped)
            return answer is not None

    async def note_unread(self, enrollment_id: int, user_id: int, node_id: str, text: str, at: datetime) -> None:
        """A typed answer the coach could not read, kept without a name so the lexicon can learn it."""
        async with self._db.session() as session:
            await checkins.note_unread(
                session=session, enrollment_id=enrollment_id, user_id=user_id, node=node_id, text=text, at=at
            )

    async def history(self, chat_id: int, user_id: int) -> list[PastAnswer]:
        """The person's answers in the chat's current run of the course, day by day."""
        async with self._db.session() as session:
            enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
            if enrollment is None:
                return []
            return await _answers_in_run(session, enrollment.id, user_id)

    async def history_of_run(self, enrollment_id: int, user_id: int) -> list[PastAnswer]:
        """The person's answers in one run of the course (a group's, from its link), day by day."""
        async with self._db.session() as session:
            return await _answers_in_run(session, enrollment_id, user_id)

    async def waiting_follow_up(self, user_id: int) -> tuple[Enrollment, PastAnswer] | None:
        """The member's newest answer in a group, with the group's run, while it is today's there and
        has led to no advice yet (a follow-up may wait on it in private); None otherwise."""
        async with self._db.session() as session:
            latest = await checkins.latest_group_answer(session=session, user_id=user_id)
            enrollment = None if latest is None else await session.get(Enrollment, latest.enrollment_id)
        if latest is None or latest.advice is not None or enrollment is None or latest.day != enrollment.current_day:
            return None
        return enrollment, _past_answer(latest)

    async def read_typed(
        self, matcher: CheckinMatcher, enrollment_id: int, user_id: int, day: int, node_id: str, text: str
    ) -> tuple[MatchDecision, TypedAnswer | None]:
        """How a typed answer to `node_id` was read, and what it is stored as and leads to (None when
        the coach must ask), for private check-ins and group members' follow-ups alike. An answer to
        the pain-check is read with the answer that led to it."""
        decision = matcher.read(node_id, text)
        first = None
        if node_id == matcher.tree.pain_check:
            rows = await self.history_of_run(enrollment_id, user_id)
            opened = [r for r in rows if r.day == day and r.option == PAIN_OPTION and r.text]
            first = (opened[-1].node, opened[-1].text) if opened else None
        return decision, answer_typed(matcher, node_id, decision, first)

    async def focus(self, chat_id: int, user_id: int) -> Focus:
        """What /cue offers the person first (`Focus`)."""
        async with self._db.session() as session:
            enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
            advice = await checkins.latest_checkin_advice(session=session, user_id=user_id)
        return Focus(0 if enrollment is None else enrollment.current_day, advice)

    async def _write_waiting(self) -> None:
        """One transaction for what is waiting, one answer per enrollment and member (a second waits
        its turn)."""
        batch: list[_Waiting] = []
        seen: set[tuple[int, int | None]] = set()
        for waiting in self._waiting:
            if (waiting.enrollment_id, waiting.member) not in seen:
                seen.add((waiting.enrollment_id, waiting.member))
                batch.append(waiting)
        self._waiting = [waiting for waiting in self._waiting if waiting not in batch]
        try:
            await self._write_batch(batch)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].outcome.set_exception(exc)
                return
            for waiting in batch:  # find the one that failed: every other answer is stored
                try:
                    await self._write_batch([waiting])
                except Exception as alone:
                    waiting.outcome.set_exception(alone)

    async def _write_batch(self, batch: list[_Waiting]) -> None:
        """One transaction for these answers; their outcomes are set once it has committed."""
        async with self._db.session() as session:
            ids = sorted({waiting.enrollment_id for waiting in batch})
            enrollments = await enrollments_on_screen(session, ids, self._question_of)
            outcomes = [waiting.decide(enrollments.get(waiting.enrollment_id)) for waiting in batch]
            writes = [outcome for outcome in outcomes if not isinstance(outcome, str)]
            fresh = await checkins.store_answers(session=session, writes=writes) if writes else []
            await hold_runs(session, [write.enrollment_id for write in fresh if write.holds])
        for waiting, outcome in zip(batch, outcomes, strict=True):
            waiting.outcome.set_result(outcome if isinstance(outcome, str) else Recorded(outcome, outcome in fresh))


def answer_write(
    matcher: CheckinMatcher,
    at: datetime,
    *,
    enrollment_id: int,
    chat_id: int,
    user_id: int,
    day: int,
    node_id: str,
    option_id: str,
    text: str | None,
    next_step: Step,
    clear_follow_ups: bool = True,
    **enrollment_changes: Any,
) -> AnswerWrite:
    """An answer as stored, with the advice it led to, clearing the answers to the follow-ups
    below it (a changed answer makes them stale), and what it changes in the enrollment."""
    advice = next_step.advice
    return AnswerWrite(
        enrollment_id=enrollment_id,
        chat_id=chat_id,
        user_id=user_id,
        day=day,
        node=node_id,
        option=option_id,
        text=text,
        advice=advice.id if advice else None,
        effect=advice.effect if advice else None,
        at=at,
        clear_nodes=frozenset(descendants(matcher, node_id)) if clear_follow_ups else frozenset(),
        **enrollment_changes,
    )


async def _answers_in_run(session: AsyncSession, enrollment_id: int, user_id: int) -> list[PastAnswer]:
    rows = await checkins.checkin_history(session=session, enrollment_id=enrollment_id, user_id=user_id)
    return [_past_answer(row) for row in rows]


def _past_answer(row: CheckinAnswer) -> PastAnswer:
    return PastAnswer(row.day, row.node, row.option, row.text, row.advice, row.fix_helped)
