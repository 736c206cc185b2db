"""Lessons on their way: scheduling, claiming, recording outcomes, nudges and the send budget.

Every query takes the session as a keyword-only argument."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.domain.course import CourseStatus
from bot.storage.db import dialect_insert
from bot.storage.models import (
    CheckinAnswer,
    Delivery,
    Enrollment,
    SendBudget,
    Subscriber,
)

# A lesson promised to someone now (day 1 after onboarding, after /restart or a resume) is pending
# with `claimed_by` ASKED: the process that promised it sends it at once, in the replies' lane
# (`DeliveryEngine.deliver_now`). The fan-out leaves it alone for ASKED_GRACE, so it never waits
# behind a fan-out, and then takes it like any other lesson (the promising process died).
ASKED = "asked"


ASKED_GRACE = timedelta(seconds=10)


async def schedule_lessons(
    *, session: AsyncSession, lessons: list[tuple[int, int, datetime]], asked_at: datetime | None = None
) -> None:
    """Insert each (enrollment, day, due) delivery row unless it exists: a day is delivered at most
    once. With `asked_at` the lessons were promised to their people at that moment (see ASKED)."""
    promise = dict(claimed_by=ASKED, claimed_at=asked_at) if asked_at else dict(claimed_by=None, claimed_at=None)
    connection = await session.connection()
    await connection.execute(
        dialect_insert(session, Delivery).on_conflict_do_nothing(index_elements=["enrollment_id", "day"]),
        [
            dict(enrollment_id=enrollment_id, day=day, due_at=due_at, status="pending", attempts=0, **promise)
            for enrollment_id, day, due_at in lessons
        ],
    )


async def pending_lesson(*, session: AsyncSession, enrollment_id: int) -> Delivery | None:
    result = await session.execute(
        select(Delivery).where(Delivery.enrollment_id == enrollment_id, Delivery.status == "pending")
    )
    return result.scalar_one_or_none()


async def cancel_pending(*, session: AsyncSession, enrollment_id: int) -> None:
    """Cancel the waiting lesson (pause, stop, hold, restart): a resume schedules the next day again."""
    pending = await pending_lesson(session=session, enrollment_id=enrollment_id)
    if pending is not None:
        await session.delete(pending)
        await session.flush()


def _due_lessons(now: datetime, *, asked_too: bool = False):
    """Pending lessons due by `now` for active courses in reachable chats (the partial index's query);
    for the fan-out not those just promised to someone (ASKED), unless `asked_too`."""
    due = (
        select(Delivery.id)
        .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
        .join(Subscriber, Subscriber.chat_id == Enrollment.chat_id)
        .where(
            Delivery.status == "pending",
            Delivery.due_at <= now,
            Enrollment.status == CourseStatus.ACTIVE,
            Subscriber.reachable.is_(True),
        )
    )
    if asked_too:
        return due
    return due.where(or_(Delivery.claimed_by.is_(None), Delivery.claimed_at <= now - ASKED_GRACE))


@dataclass(frozen=True)
class ClaimedLesson:
    delivery_id: int
    enrollment_id: int
    day: int
    chat_id: int
    profile: str | None
    lesson_time: str | None
    timezone: str | None
    attempts: int
    kind: str = "private"  # the chat's type: a group, supergroup or channel gets the group lesson
    history: tuple[CheckinAnswer, ...] = ()  # a person's answers that ended in advice: what adapts the lesson


async def claim_due(
    *, session: AsyncSession, now: datetime, limit: int, worker: str, enrollment_id: int | None = None
) -> list[ClaimedLesson]:
    """Mark up to `limit` due rows as being sent by this worker and return them; with
    `enrollment_id` only that enrollment's, a lesson promised to its person included.

    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several processes claim disjoint rows at once;
    SQLite runs the single UPDATE atomically. Commit before sending so others see the claim.
    """
    due = (
        _due_lessons(now, asked_too=enrollment_id is not None)
        .order_by(Delivery.due_at)
        .limit(limit)
        .with_for_update(of=Delivery, skip_locked=True)
    )
    if enrollment_id is not None:
        due = due.where(Delivery.enrollment_id == enrollment_id)
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()), Delivery.status == "pending")
        .values(status="sending", claimed_by=worker, claimed_at=now, attempts=Delivery.attempts + 1)
        .returning(Delivery.id)
    )
    ids = [row[0] for row in result]
    if not ids:
        return []
    rows = await session.execute(
        select(
            Delivery.id,
            Delivery.enrollment_id,
            Delivery.day,
            Subscriber.chat_id,
            Subscriber.profile,
            Subscriber.lesson_time,
            Subscriber.timezone,
            Delivery.attempts,
            Subscriber.kind,
        )
        .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
        .join(Subscriber, Subscriber.chat_id == Enrollment.chat_id)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.due_at)
    )
    lessons = [ClaimedLesson(*row) for row in rows]
    histories = await advice_histories(
        session=session, enrollment_ids=[lesson.enrollment_id for lesson in lessons if lesson.kind == "private"]
    )
    return [replace(lesson, history=tuple(histories.get(lesson.enrollment_id, ()))) for lesson in lessons]


async def release_stale_claims(*, session: AsyncSession, now: datetime, lease: timedelta) -> int:
    """Claims older than the lease belong to a process that died mid-send: make them due again.

    This is the one place a lesson can arrive twice, bounded by what was in flight at the crash.
    """
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == "sending", Delivery.claimed_at < now - lease)
        .values(status="pending", claimed_by=None)
    )
    return result.rowcount or 0


@dataclass(frozen=True)
class LessonOutcome:
    """A lesson that went out (or may have), and what it changes."""

    delivery_id: int
    enrollment_id: int
    day: int
    status: str  # 'sent' or 'uncertain'
    at: datetime
    message_id: int | None
    error: str | None
    current_day: int
    checkin_node: str | None  # the lesson's check-in question, now the open one
    remind_at: datetime | None
    finished: bool  # the graduation message: the course is over
    next_due: datetime | None  # when the next lesson falls due, if the course is still running then


# The statements `record_outcomes` runs, built once: building them costs more than running them
# for a handful of rows.
_RECORD_DELIVERY = (
    update(Delivery)
    .where(Delivery.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        sent_at=bindparam("b_at"),
        message_id=bindparam("b_message_id"),
        error=bindparam("b_error"),
        remind_at=bindparam("b_remind_at"),
    )
)


_MOVED = dict(current_day=bindparam("b_day"), last_sent_at=bindparam("b_at"))


# A press on the lesson's buttons may have come first (`enrollments_with_lesson_out`): the question
# it answered stays answered.
_ANSWERED = func.coalesce(Enrollment.checkin_day, 0) >= bindparam("b_day")


_ADVANCE_ENROLLMENT = {  # what a lesson changes in its enrollment, by kind of lesson
    kind: update(Enrollment).where(Enrollment.id == bindparam("b_id")).values(values)
    for kind, values in {
        "question": _MOVED
        | dict(
            checkin_day=case((_ANSWERED, Enrollment.checkin_day), else_=bindparam("b_day")),
            checkin_node=case((_ANSWERED, Enrollment.checkin_node), else_=bindparam("b_node")),
        ),
        "plain": _MOVED,
        "finished": _MOVED | dict(status=CourseStatus.FINISHED),
    }.items()
}


async def record_outcomes(*, session: AsyncSession, outcomes: list[LessonOutcome]) -> None:
    """Record many sent lessons at once and schedule each next lesson (for courses still active):
    a few statements for the whole list, each run for every row (executemany)."""
    outcomes = sorted(outcomes, key=lambda o: o.delivery_id)  # one lock order for every process
    connection = await session.connection()
    await connection.execute(
        _RECORD_DELIVERY,
        [
            dict(
                b_id=o.delivery_id,
                b_status=o.status,
                b_at=o.at,
                b_message_id=o.message_id,
                b_error=o.error[:200] if o.error else None,
                b_remind_at=o.remind_at,
            )
            for o in outcomes
        ],
    )
    rows: dict[str, list[dict]] = {kind: [] for kind in _ADVANCE_ENROLLMENT}
    for o in outcomes:
        kind = "finished" if o.finished else "question" if o.checkin_node else "plain"
        rows[kind].append(dict(b_id=o.enrollment_id, b_day=o.current_day, b_at=o.at, b_node=o.checkin_node))
    for kind, statement in _ADVANCE_ENROLLMENT.items():
        if rows[kind]:
            await connection.execute(statement, rows[kind])
    scheduled = [o for o in outcomes if o.next_due is not None]
    if not scheduled:
        return
    active = set(
        await session.scalars(
            select(Enrollment.id).where(
                Enrollment.id.in_([o.enrollment_id for o in scheduled]), Enrollment.status == CourseStatus.ACTIVE
            )
        )
    )
    lessons = [(o.enrollment_id, o.day + 1, o.next_due) for o in scheduled if o.enrollment_id in active]
    if lessons:
        await schedule_lessons(session=session, lessons=lessons)


async def fail_delivery(*, session: AsyncSession, delivery_id: int, error: str) -> None:
    """Given up on: rejected by Telegram, or out of attempts."""
    await session.execute(update(Delivery).where(Delivery.id == delivery_id).values(status="failed", error=error[:200]))


async def retry_delivery(*, session: AsyncSession, delivery_id: int, due_at: datetime, error: str) -> None:
    """A transient failure: back to pending, due again after the backoff."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status="pending", due_at=due_at, claimed_by=None, error=error[:200])
    )


async def advice_histories(*, session: AsyncSession, enrollment_ids: list[int]) -> dict[int, list[CheckinAnswer]]:
    """Each enrollment's own answers (not a group member's) that ended in advice, oldest first: the
    history the adaptation rules read. One query for a whole batch of lessons."""
    if not enrollment_ids:
        return {}
    result = await session.execute(
        select(CheckinAnswer)
        .join(Enrollment, Enrollment.id == CheckinAnswer.enrollment_id)
        .where(
            CheckinAnswer.enrollment_id.in_(enrollment_ids),
            CheckinAnswer.user_id == Enrollment.chat_id,
            CheckinAnswer.advice.is_not(None),
        )
        .order_by(CheckinAnswer.day, CheckinAnswer.answered_at)
    )
    histories: dict[int, list[CheckinAnswer]] = {}
    for answer in result.scalars():
        histories.setdefault(answer.enrollment_id, []).append(answer)
    return histories


@dataclass(frozen=True)
class DueReminder:
    enrollment_id: int
    day: int
    chat_id: int
    node: str
    kind: str = "private"  # for a group the check-in window closed: its coaches get the digest


async def claim_due_reminders(
    *, session: AsyncSession, now: datetime, limit: int, delay: timedelta
) -> list[DueReminder]:
    """Take the check-in nudges that are due, clearing them so each is sent at most once; keep only
    those whose question is still open (answered check-ins need no nudge) and that are not overdue
    by more than the delay itself (after downtime a nudge about yesterday would only confuse)."""
    due = (
        select(Delivery.id)
        .where(Delivery.remind_at.is_not(None), Delivery.remind_at <= now)
        .order_by(Delivery.remind_at)  # oldest first, and PostgreSQL reads the partial index instead of every row
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.execute(
        update(Delivery).where(Delivery.id.in_(due.scalar_subquery())).values(remind_at=None).returning(Delivery.id)
    )
    ids = [row[0] for row in claimed]
    if not ids:
        return []
    rows = await session.execute(
        select(Enrollment.id, Delivery.day, Enrollment.chat_id, Enrollment.checkin_node, Subscriber.kind)
        .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
        .join(Subscriber, Subscriber.chat_id == Enrollment.chat_id)
        .where(
            Delivery.id.in_(ids),
            Enrollment.status == CourseStatus.ACTIVE,
            Enrollment.checkin_day == Delivery.day,
            Enrollment.checkin_node.is_not(None),
            Subscriber.reachable.is_(True),
            Delivery.sent_at >= now - 2 * delay,
        )
    )
    return [DueReminder(*row) for row in rows]


async def release_claims(*, session: AsyncSession, worker: str) -> int:
    """On shutdown: this worker's claims go back to pending, due as they were, for the next tick anywhere."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == "sending", Delivery.claimed_by == worker)
        .values(status="pending", claimed_by=None)
    )
    return result.rowcount or 0


async def book_send_slots(*, session: AsyncSession | AsyncConnection, scope: str, span: float) -> tuple[float, float]:
    """Book `span` seconds of a shared send schedule (PostgreSQL): one atomic upsert, so processes
    booking at once get back-to-back stretches. Returns the schedule's new end and the database's
    clock, both epoch seconds; the booked stretch ends at the first and is `span` long. Runs on an
    autocommit connection too, where it is a single round trip."""
    clock = func.extract("epoch", func.statement_timestamp())
    result = await session.execute(
        pg_insert(SendBudget)
        .values(scope=scope, tat=clock + span)
        .on_conflict_do_update(index_elements=["scope"], set_={"tat": func.greatest(SendBudget.tat, clock) + span})
        .returning(SendBudget.tat, clock)
    )
    tat, now = result.one()
    return float(tat), float(now)


async def work_waiting(*, session: AsyncSession, now: datetime, lease: timedelta) -> bool:
    """Whether a tick has anything to do: a claim gone stale, a lesson due to an active, reachable
    chat, or a check-in nudge due. Read only, each part answered from its partial index, so an idle
    tick over a million enrollments costs one round trip and writes nothing."""
    stale = select(Delivery.id).where(Delivery.status == "sending", Delivery.claimed_at < now - lease)
    due = _due_lessons(now)
    nudge = select(Delivery.id).where(Delivery.remind_at.is_not(None), Delivery.remind_at <= now)
    return bool(await session.scalar(select(or_(stale.exists(), due.exists(), nudge.exists()))))
