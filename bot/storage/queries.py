"""Every query the bot runs, each taking the session as a keyword-only argument."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import msgspec
from sqlalchemy import (
    ColumnElement,
    Dialect,
    Row,
    Table,
    TextClause,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import SQLModel

from bot.storage.models import (
    CheckinAnswer,
    Delivery,
    Enrollment,
    GroupMember,
    LogEntry,
    PendingLog,
    Preference,
    ProcessedUpdate,
    ScheduledMessage,
    SendBudget,
    Subscriber,
    UnreadAnswer,
    UTCDateTime,
)

LIVE = ("active", "paused", "stopped")
# A lesson promised to someone now (day 1 after onboarding, after /restart or a resume) is pending
# with `claimed_by` ASKED: the process that promised it sends it at once, in the replies' lane
# (`DeliveryEngine.deliver_now`). The fan-out leaves it alone for ASKED_GRACE, so it never waits
# behind a fan-out, and then takes it like any other lesson (the promising process died).
ASKED = "asked"
ASKED_GRACE = timedelta(seconds=10)


async def get_subscriber(*, session: AsyncSession, chat_id: int) -> Subscriber | None:
    return await session.get(Subscriber, chat_id)


async def get_or_create_subscriber(
    *, session: AsyncSession, chat_id: int, name: str, kind: str, now: datetime
) -> tuple[Subscriber, bool]:
    """The subscriber for this chat, created on first contact; marks it reachable again."""
    subscriber = await session.get(Subscriber, chat_id)
    if subscriber is not None:
        subscriber.name = name[:128]
        subscriber.reachable = True
        return subscriber, False
    subscriber = Subscriber(chat_id=chat_id, name=name[:128], kind=kind, created_at=now)
    session.add(subscriber)
    await session.flush()
    return subscriber, True


async def current_enrollment(*, session: AsyncSession, chat_id: int) -> Enrollment | None:
    """The newest enrollment of the chat, whatever its status."""
    result = await session.execute(
        select(Enrollment).where(Enrollment.chat_id == chat_id).order_by(Enrollment.id.desc()).limit(1)
    )
    return result.scalar_one_or_none()


async def start_enrollment(*, session: AsyncSession, chat_id: int, now: datetime) -> Enrollment:
    """A fresh run from day 1, due now; any earlier run is kept as history, its lessons cancelled."""
    previous = await current_enrollment(session=session, chat_id=chat_id)
    if previous is not None and previous.status in LIVE:
        previous.status = "replaced"
        await cancel_pending(session=session, enrollment_id=previous.id)
    enrollment = Enrollment(chat_id=chat_id, status="active", started_at=now)
    session.add(enrollment)
    await session.flush()
    await schedule_lessons(session=session, lessons=[(enrollment.id, 1, now)], asked_at=now)
    return enrollment


async def restart_enrollment(
    *, session: AsyncSession, chat_id: int, replacing: int, now: datetime
) -> Enrollment | None:
    """Start over: the run `replacing` gives way to a fresh one from day 1, due now. None when that
    run was replaced already: the same confirmation pressed twice, or in two processes at once,
    starts over once (the conditional UPDATE is the lock)."""
    result = await session.execute(
        update(Enrollment)
        .where(Enrollment.id == replacing, Enrollment.chat_id == chat_id, Enrollment.status != "replaced")
        .values(status="replaced")
    )
    if not result.rowcount:
        return None
    await cancel_pending(session=session, enrollment_id=replacing)
    return await start_enrollment(session=session, chat_id=chat_id, now=now)


async def change_status(*, session: AsyncSession, enrollment: Enrollment, to: str, from_: tuple[str, ...]) -> bool:
    """Move a run to `to` if it is still in one of `from_`; False when another press or process
    moved it first. The database decides, so a confirmation pressed twice acts once."""
    result = await session.execute(
        update(Enrollment).where(Enrollment.id == enrollment.id, Enrollment.status.in_(from_)).values(status=to)
    )
    return bool(result.rowcount)


async def finish_onboarding(*, session: AsyncSession, chat_id: int) -> bool:
    """Mark the person onboarded; False when that happened already (a double tap on the last
    answer), so only one press starts the course."""
    result = await session.execute(
        update(Subscriber).where(Subscriber.chat_id == chat_id, Subscriber.onboarded.is_(False)).values(onboarded=True)
    )
    return bool(result.rowcount)


async def _connection(session: AsyncSession | AsyncConnection) -> AsyncConnection:
    """The connection under a session, or the connection itself: the fan-out's batch statements run
    on a bare connection (`Database.connection`), without a session's bookkeeping."""
    return session if isinstance(session, AsyncConnection) else await session.connection()


def _insert(session: AsyncSession, model: type[SQLModel]):
    """INSERT in the session's dialect, which knows ON CONFLICT."""
    return (pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert)(model)


async def schedule_lessons(
    *, session: AsyncSession, lessons: list[tuple[int, int, datetime]], asked_at: datetime | None = None
) -> None:
    """Insert each (enrollment, day, due) delivery row unless it exists: a day is delivered at most
    once. With `asked_at` the lessons were promised to their people at that moment (see ASKED)."""
    promise = dict(claimed_by=ASKED, claimed_at=asked_at) if asked_at else dict(claimed_by=None, claimed_at=None)
    connection = await session.connection()
    await connection.execute(
        _insert(session, Delivery).on_conflict_do_nothing(index_elements=["enrollment_id", "day"]),
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


async def cancel_pending(*, session: AsyncSession, enrollment_id: int) -> int | None:
    """Cancel the waiting lesson (pause, stop, restart); returns its day so it can come back."""
    pending = await pending_lesson(session=session, enrollment_id=enrollment_id)
    if pending is None:
        return None
    day = pending.day
    await session.delete(pending)
    await session.flush()
    return day


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
            Enrollment.status == "active",
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
    history: tuple[Row, ...] = ()  # a person's answers that ended in advice: what adapts the lesson


async def claim_due(
    *, session: AsyncSession | AsyncConnection, now: datetime, limit: int, worker: str, enrollment_id: int | None = None
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
    connection = await _connection(session)  # Core statements: no ORM bookkeeping for a batch of rows
    result = await connection.execute(
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()), Delivery.status == "pending")
        .values(status="sending", claimed_by=worker, claimed_at=now, attempts=Delivery.attempts + 1)
        .returning(Delivery.id)
    )
    ids = [row[0] for row in result]
    if not ids:
        return []
    rows = await connection.execute(
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
    rows = rows.all()
    histories = await advice_histories(
        session=session, enrollment_ids=[row.enrollment_id for row in rows if row.kind == "private"]
    )
    return [ClaimedLesson(*row, history=tuple(histories.get(row.enrollment_id, ()))) for row in rows]


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


# `record_outcomes` passes a batch's rows as one JSON array (one bound parameter, however many
# rows: no per-row parameter processing), read back as a table by each database's JSON functions.
_OUTCOME_COLUMNS = (  # (name, PostgreSQL type) of each outcome row, in order
    ("delivery_id", "bigint"),
    ("enrollment_id", "bigint"),
    ("day", "int"),
    ("status", "text"),
    ("at", "timestamp"),
    ("message_id", "bigint"),
    ("error", "text"),
    ("remind_at", "timestamp"),
    ("current_day", "int"),
    ("node", "text"),
    ("finished", "boolean"),
    ("next_due", "timestamp"),
)


def _json_rows(dialect: str) -> str:
    """The outcome rows as a subquery, from the JSON array bound as :rows."""
    if dialect == "postgresql":
        fields = ", ".join(f"(value->>{i})::{kind} AS {name}" for i, (name, kind) in enumerate(_OUTCOME_COLUMNS))
        return f"(SELECT {fields} FROM jsonb_array_elements(CAST(:rows AS jsonb))) AS r"
    fields = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(_OUTCOME_COLUMNS))
    return f"(SELECT {fields} FROM json_each(:rows)) AS r"


def _record_statements(dialect: str) -> tuple[TextClause, ...]:
    """What a batch of outcomes changes, three statements whatever its size: the deliveries; their
    enrollments (the day moves on; the lesson's question becomes the open one unless a press on its
    buttons came first, `enrollments_with_lesson_out`; past the last day the course is finished);
    and each next lesson, for courses still active, unless it exists."""
    rows = _json_rows(dialect)
    answered = "COALESCE(enrollment.checkin_day, 0) >= r.current_day"
    question = f"r.node IS NOT NULL AND NOT ({answered})"
    return tuple(
        text(statement)
        for statement in (
            f"UPDATE delivery SET status = r.status, sent_at = r.at, message_id = r.message_id, error = r.error,"
            f" remind_at = r.remind_at FROM {rows} WHERE delivery.id = r.delivery_id",
            f"UPDATE enrollment SET current_day = r.current_day, last_sent_at = r.at,"
            f" checkin_day = CASE WHEN {question} THEN r.current_day ELSE enrollment.checkin_day END,"
            f" checkin_node = CASE WHEN {question} THEN r.node ELSE enrollment.checkin_node END,"
            f" status = CASE WHEN r.finished THEN 'finished' ELSE enrollment.status END"
            f" FROM {rows} WHERE enrollment.id = r.enrollment_id",
            f"INSERT INTO delivery (enrollment_id, day, due_at, status, attempts)"
            f" SELECT r.enrollment_id, r.day + 1, r.next_due, 'pending', 0 FROM {rows}"
            f" JOIN enrollment ON enrollment.id = r.enrollment_id"
            f" WHERE r.next_due IS NOT NULL AND enrollment.status = 'active'"
            f" ON CONFLICT (enrollment_id, day) DO NOTHING",
        )
    )


_RECORD = {dialect: _record_statements(dialect) for dialect in ("postgresql", "sqlite")}
_JSON_ENCODE = msgspec.json.Encoder().encode


@cache
def _stored_time(dialect: Dialect) -> Callable[[datetime | None], str | None]:
    """A UTC datetime as its column stores it, as text for a JSON row (one function per database)."""
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)

    def stored(value: datetime | None) -> str | None:
        if value is None:
            return None
        value = process(value) if process else value
        return value if isinstance(value, str) else value.isoformat()

    return stored


async def record_outcomes(*, session: AsyncSession | AsyncConnection, outcomes: list[LessonOutcome]) -> None:
    """Record many sent lessons at once and schedule each next lesson (for courses still active):
    three statements for the whole list, its rows bound as one JSON array."""
    connection = await _connection(session)
    stored = _stored_time(connection.dialect)
    rows = _JSON_ENCODE(
        [
            (
                o.delivery_id,
                o.enrollment_id,
                o.day,
                o.status,
                stored(o.at),
                o.message_id,
                o.error[:200] if o.error else None,
                stored(o.remind_at),
                o.current_day,
                o.checkin_node,
                o.finished,
                stored(o.next_due),
            )
            for o in sorted(outcomes, key=lambda o: o.delivery_id)  # one lock order for every process
        ]
    ).decode()
    for statement in _RECORD[connection.dialect.name]:
        await connection.execute(statement, {"rows": rows})


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


async def mark_unreachable(*, session: AsyncSession, chat_id: int) -> None:
    await session.execute(update(Subscriber).where(Subscriber.chat_id == chat_id).values(reachable=False))


@dataclass(frozen=True)
class AnswerWrite:
    """One check-in answer, and what it changes in its enrollment."""

    enrollment_id: int
    chat_id: int
    user_id: int
    day: int
    node: str
    option: str
    text: str | None
    advice: str | None
    effect: str | None
    at: datetime
    clear_nodes: frozenset[str] = frozenset()  # follow-up questions whose answers a changed answer makes stale
    moves_question: bool = False  # the answer is to the enrollment's current day: its open question moves on
    open_node: str | None = None  # ... to this (None: no question open)
    holds: bool = False  # a red flag: an active course is held, its waiting lesson cancelled


async def store_answers(*, session: AsyncSession, writes: list[AnswerWrite]) -> list[AnswerWrite]:
    """Store answers, each replacing that person's earlier answer to the same question that day,
    and apply what they change; returns the writes that changed something. A button pressed again
    with the answer already stored and its question where it left it changes nothing (the database
    decides, so a double tap in two processes counts once); a typed answer always counts. Many
    answers cost a few statements: one for all the answers and one for all the open questions
    (executemany); only stale follow-ups, re-opened questions and red flags go one by one."""
    connection = await session.connection()
    insert = _insert(session, CheckinAnswer)
    stored_answer = CheckinAnswer.__table__.c
    replaced = ("option", "text", "advice", "effect", "answered_at")
    result = await connection.execute(
        insert.on_conflict_do_update(
            index_elements=["enrollment_id", "user_id", "day", "node"],
            set_={column: insert.excluded[column] for column in replaced},
            where=or_(insert.excluded.text.is_not(None), stored_answer.option != insert.excluded.option),
        ).returning(stored_answer.enrollment_id, stored_answer.user_id, stored_answer.day, stored_answer.node),
        [
            dict(
                enrollment_id=w.enrollment_id,
                chat_id=w.chat_id,
                user_id=w.user_id,
                day=w.day,
                node=w.node,
                option=w.option,
                text=w.text[:500] if w.text else None,
                advice=w.advice,
                effect=w.effect,
                answered_at=w.at,
            )
            for w in writes
        ],
    )
    changed = {tuple(row) for row in result}
    fresh = [w for w in writes if (w.enrollment_id, w.user_id, w.day, w.node) in changed]
    reopened = []  # the same answer again, but the question had moved on: it opens its follow-up again
    for write in writes:
        if write.moves_question and write not in fresh:
            moved_back = await session.execute(
                update(Enrollment)
                .where(Enrollment.id == write.enrollment_id, Enrollment.checkin_node.is_distinct_from(write.open_node))
                .values(checkin_day=write.day, checkin_node=write.open_node)
            )
            if moved_back.rowcount:
                reopened.append(write)
    for write in fresh + reopened:
        if write.clear_nodes:
            await session.execute(
                delete(CheckinAnswer).where(
                    CheckinAnswer.enrollment_id == write.enrollment_id,
                    CheckinAnswer.user_id == write.user_id,
                    CheckinAnswer.day == write.day,
                    CheckinAnswer.node.in_(write.clear_nodes),
                )
            )
    moved = [dict(b_id=w.enrollment_id, b_day=w.day, b_node=w.open_node) for w in fresh if w.moves_question]
    if moved:
        await connection.execute(
            update(Enrollment)
            .where(Enrollment.id == bindparam("b_id"))
            .values(checkin_day=bindparam("b_day"), checkin_node=bindparam("b_node")),
            moved,
        )
    for write in fresh + reopened:
        if write.holds:
            held = await session.execute(
                update(Enrollment)
                .where(Enrollment.id == write.enrollment_id, Enrollment.status == "active")
                .values(status="held")
            )
            if held.rowcount:
                await cancel_pending(session=session, enrollment_id=write.enrollment_id)
    return [write for write in writes if write in fresh or write in reopened]


async def enrollments_with_lesson_out(
    *, session: AsyncSession, ids: list[int]
) -> dict[int, tuple[Enrollment, int | None]]:
    """Each enrollment with the day of its lesson claimed for sending and not yet recorded (None
    when there is none): that lesson may already be on the person's screen, its outcome written a
    moment later, perhaps by another process. One statement, so an outcome recorded meanwhile is
    seen in both or in neither."""
    out = (
        select(func.max(Delivery.day))
        .where(Delivery.enrollment_id == Enrollment.id, Delivery.status == "sending")
        .scalar_subquery()
    )
    result = await session.execute(select(Enrollment, out).where(Enrollment.id.in_(ids)))
    return {enrollment.id: (enrollment, day) for enrollment, day in result}


async def advice_histories(
    *, session: AsyncSession | AsyncConnection, enrollment_ids: list[int]
) -> dict[int, list[Row]]:
    """Each enrollment's own answers (not a group member's) that ended in advice, oldest first: the
    history the adaptation rules read, as rows with the answers' fields (a Core query: no ORM objects
    for a batch of lessons). One query for a whole batch."""
    if not enrollment_ids:
        return {}
    connection = await _connection(session)
    result = await connection.execute(
        select(CheckinAnswer.__table__)
        .join(Enrollment, Enrollment.id == CheckinAnswer.enrollment_id)
        .where(
            CheckinAnswer.enrollment_id.in_(enrollment_ids),
            CheckinAnswer.user_id == Enrollment.chat_id,
            CheckinAnswer.advice.is_not(None),
        )
        .order_by(CheckinAnswer.day, CheckinAnswer.answered_at)
    )
    histories: dict[int, list[Row]] = {}
    for answer in result:
        histories.setdefault(answer.enrollment_id, []).append(answer)
    return histories


async def set_fix_helped(*, session: AsyncSession, answer_id: int, user_id: int, helped: str) -> CheckinAnswer | None:
    answer = await session.get(CheckinAnswer, answer_id)
    if answer is None or answer.user_id != user_id:
        return None
    answer.fix_helped = helped
    return answer


async def checkin_history(*, session: AsyncSession, enrollment_id: int, user_id: int) -> list[CheckinAnswer]:
    result = await session.execute(
        select(CheckinAnswer)
        .where(CheckinAnswer.enrollment_id == enrollment_id, CheckinAnswer.user_id == user_id)
        .order_by(CheckinAnswer.day, CheckinAnswer.answered_at)
    )
    return list(result.scalars())


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
            Enrollment.status == "active",
            Enrollment.checkin_day == Delivery.day,
            Enrollment.checkin_node.is_not(None),
            Subscriber.reachable.is_(True),
            Delivery.sent_at >= now - 2 * delay,
        )
    )
    return [DueReminder(*row) for row in rows]


async def count_deliveries(*, session: AsyncSession, enrollment_id: int, status: str) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.enrollment_id == enrollment_id, Delivery.status == status)
    )
    return result.scalar_one()


async def latest_checkin_advice(*, session: AsyncSession, user_id: int) -> str | None:
    """The advice id of the person's newest check-in answer that led to advice, in any chat."""
    result = await session.execute(
        select(CheckinAnswer.advice)
        .where(CheckinAnswer.user_id == user_id, CheckinAnswer.advice.is_not(None))
        .order_by(CheckinAnswer.answered_at.desc(), CheckinAnswer.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def latest_group_answer(*, session: AsyncSession, user_id: int) -> CheckinAnswer | None:
    """The person's newest check-in answer given as a member of a group (asked in another chat)."""
    result = await session.execute(
        select(CheckinAnswer)
        .where(CheckinAnswer.user_id == user_id, CheckinAnswer.chat_id != user_id)
        .order_by(CheckinAnswer.answered_at.desc(), CheckinAnswer.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def first_sighting(*, session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Record the update as handled; False when some process already did (a re-delivery).

    The primary key decides, so two processes given the same update race safely: one wins.
    """
    result = await session.execute(
        _insert(session, ProcessedUpdate)
        .values(update_id=update_id, seen_at=now)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(ProcessedUpdate.update_id)
    )
    return result.first() is not None


async def forget_processed_updates(*, session: AsyncSession, before: datetime) -> int:
    """Telegram gives up re-delivering within a day; older records only take space."""
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.seen_at < before))
    return result.rowcount or 0


async def release_claims(*, session: AsyncSession, worker: str) -> int:
    """On shutdown: this worker's claims go back to pending, due as they were, for the next tick anywhere."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == "sending", Delivery.claimed_by == worker)
        .values(status="pending", claimed_by=None)
    )
    return result.rowcount or 0


async def count_active_people(*, session: AsyncSession) -> int:
    """Chats whose course is running now."""
    result = await session.execute(
        select(func.count(func.distinct(Enrollment.chat_id))).where(Enrollment.status == "active")
    )
    return result.scalar_one()


# ----------------------------------------------------------------------------- training log


async def preference_of(*, session: AsyncSession, chat_id: int) -> Preference:
    """The person's preferences, created with the defaults on first use."""
    preference = await session.get(Preference, chat_id)
    if preference is None:
        preference = Preference(chat_id=chat_id)
        session.add(preference)
        await session.flush()
    return preference


async def add_log_line(*, session: AsyncSession, entries: list[LogEntry]) -> list[LogEntry]:
    """Store one /log line, one row per run of identical sets, tied together by `line`."""
    await add_log_lines(session=session, lines=[entries])
    return entries


async def add_log_lines(*, session: AsyncSession, lines: list[list[LogEntry]]) -> None:
    """Store many lines in the caller's one transaction (an import: all of them or none), in two
    round trips of batched statements whatever their number."""
    session.add_all([entry for entries in lines for entry in entries])
    await session.flush()
    for entries in lines:
        for entry in entries:
            entry.line = entries[0].id
    await session.flush()


async def last_log_entry(*, session: AsyncSession, user_id: int) -> LogEntry | None:
    result = await session.execute(
        select(LogEntry).where(LogEntry.user_id == user_id).order_by(LogEntry.id.desc()).limit(1)
    )
    return result.scalar_one_or_none()


async def line_of(*, session: AsyncSession, entry: LogEntry) -> list[LogEntry]:
    """Every row of the /log line the entry belongs to, in order."""
    if entry.line is None:
        return [entry]
    result = await session.execute(
        select(LogEntry).where(LogEntry.user_id == entry.user_id, LogEntry.line == entry.line).order_by(LogEntry.id)
    )
    return list(result.scalars())


async def whole_log(*, session: AsyncSession, user_id: int) -> list[LogEntry]:
    """Every logged row of a person, oldest first: for /records and the CSV export."""
    result = await session.execute(
        select(LogEntry).where(LogEntry.user_id == user_id).order_by(LogEntry.logged_at, LogEntry.id)
    )
    return list(result.scalars())


async def save_pending_log(*, session: AsyncSession, chat_id: int, user_id: int, text: str, now: datetime) -> int:
    """Keep a line whose exercise is still to be picked; a person has one such line at a time."""
    await session.execute(delete(PendingLog).where(PendingLog.user_id == user_id))
    pending = PendingLog(chat_id=chat_id, user_id=user_id, text=text[:500], created_at=now)
    session.add(pending)
    await session.flush()
    return pending.id


async def take_pending_log(*, session: AsyncSession, pending_id: int, user_id: int) -> str | None:
    """The waiting line, removed as it is taken; None if it is gone or someone else's."""
    result = await session.execute(
        delete(PendingLog).where(PendingLog.id == pending_id, PendingLog.user_id == user_id).returning(PendingLog.text)
    )
    return result.scalar_one_or_none()


async def log_history(*, session: AsyncSession, user_id: int, exercise: str) -> list[tuple[LogEntry, str | None]]:
    """One exercise's log, oldest first, each line with the effect of its linked check-in answer."""
    result = await session.execute(
        select(LogEntry, CheckinAnswer.effect)
        .outerjoin(CheckinAnswer, CheckinAnswer.id == LogEntry.checkin_answer_id)
        .where(LogEntry.user_id == user_id, LogEntry.exercise == exercise)
        .order_by(LogEntry.logged_at, LogEntry.id)
    )
    return [(entry, effect) for entry, effect in result]


async def unlinked_checkins(*, session: AsyncSession, user_id: int) -> list[CheckinAnswer]:
    """Answers that ended in advice but belong to no logged set: still a word on the person's form."""
    linked = select(LogEntry.checkin_answer_id).where(
        LogEntry.user_id == user_id, LogEntry.checkin_answer_id.is_not(None)
    )
    result = await session.execute(
        select(CheckinAnswer)
        .where(CheckinAnswer.user_id == user_id, CheckinAnswer.effect.is_not(None), CheckinAnswer.id.not_in(linked))
        .order_by(CheckinAnswer.answered_at)
    )
    return list(result.scalars())


async def link_checkins(*, session: AsyncSession, user_id: int, day_length: timedelta) -> None:
    """Tie each logged set of a course day to that day's check-in answer, whichever came first."""
    entries = await session.execute(
        select(LogEntry).where(
            LogEntry.user_id == user_id, LogEntry.day.is_not(None), LogEntry.checkin_answer_id.is_(None)
        )
    )
    for entry in entries.scalars():
        entry.checkin_answer_id = await session.scalar(
            select(CheckinAnswer.id)
            .where(
                CheckinAnswer.user_id == user_id,
                CheckinAnswer.day == entry.day,
                CheckinAnswer.effect.is_not(None),
                CheckinAnswer.answered_at.between(entry.logged_at - day_length, entry.logged_at + day_length),
            )
            .order_by(CheckinAnswer.answered_at.desc())
            .limit(1)
        )


async def latest_exercise(*, session: AsyncSession, user_id: int) -> str | None:
    entry = await last_log_entry(session=session, user_id=user_id)
    return None if entry is None else entry.exercise


async def claim_weekly(*, session: AsyncSession, now: datetime, every: timedelta, limit: int = 200) -> list[int]:
    """Chats opted in to the weekly check-in whose last one is a week old, stamped now so each goes
    out at most once (several processes may run this at the same time)."""
    due = (
        select(Preference.chat_id)
        .outerjoin(Subscriber, Subscriber.chat_id == Preference.chat_id)
        .where(
            Preference.weekly.is_(True),
            or_(Preference.last_weekly_at.is_(None), Preference.last_weekly_at <= now - every),
            or_(Subscriber.chat_id.is_(None), Subscriber.reachable.is_(True)),
        )
        .limit(limit)
        .with_for_update(of=Preference, skip_locked=True)
    )
    result = await session.execute(
        update(Preference)
        .where(Preference.chat_id.in_(due.scalar_subquery()))
        .values(last_weekly_at=now)
        .returning(Preference.chat_id)
    )
    return [row[0] for row in result]


# ----------------------------------------------------------------------------- a person's data


def _person_rows(chat_id: int, user_id: int) -> list[tuple[Table, ColumnElement[bool]]]:
    """For every table, the condition picking a person's rows: their chat or user id, or a foreign
    key to rows already picked (a lesson of their enrollment). Parents come before children."""
    picked: dict[str, ColumnElement[bool]] = {}
    tables = SQLModel.metadata.sorted_tables
    for table in tables:
        ids = (("chat_id", chat_id), ("user_id", user_id))
        conditions = [table.c[name] == value for name, value in ids if name in table.c]
        for key in table.foreign_keys:
            if key.column.table.name in picked:
                conditions.append(key.parent.in_(select(key.column).where(picked[key.column.table.name])))
        if conditions:
            picked[table.name] = or_(*conditions)
    return [(table, picked[table.name]) for table in tables if table.name in picked]


async def export_person(*, session: AsyncSession, chat_id: int, user_id: int) -> dict[str, list[dict]]:
    """Every row stored about a person, table by table."""
    exported = {}
    for table, condition in _person_rows(chat_id, user_id):
        rows = await session.execute(select(table).where(condition))
        exported[table.name] = [dict(row._mapping) for row in rows]
    return exported


async def forget_person(*, session: AsyncSession, chat_id: int, user_id: int) -> int:
    """Delete every row stored about a person, children first; returns how many went."""
    deleted = 0
    for table, condition in reversed(_person_rows(chat_id, user_id)):
        result = await session.execute(delete(table).where(condition))
        deleted += result.rowcount or 0
    return deleted


# ----------------------------------------------------------------------------- group coaching


async def lesson_place(*, session: AsyncSession, enrollment_id: int) -> tuple[int, int | None]:
    """Where a group's lessons go now: its chat (a migration may have moved it) and its forum topic."""
    row = (
        await session.execute(
            select(Subscriber.chat_id, Subscriber.thread_id)
            .join(Enrollment, Enrollment.chat_id == Subscriber.chat_id)
            .where(Enrollment.id == enrollment_id)
        )
    ).one()
    return row.chat_id, row.thread_id


async def set_thread(*, session: AsyncSession, chat_id: int, thread_id: int | None) -> None:
    await session.execute(update(Subscriber).where(Subscriber.chat_id == chat_id).values(thread_id=thread_id))


async def move_chat(*, session: AsyncSession, old_chat_id: int, new_chat_id: int) -> bool:
    """A group became a supergroup: its course, answers and roster move to the new chat id.
    False when there was nothing to move (moved already, or never coached)."""
    old = await session.get(Subscriber, old_chat_id)
    if old is None:
        return False
    new = await session.get(Subscriber, new_chat_id)
    if new is None:
        new = Subscriber(chat_id=new_chat_id, created_at=old.created_at)
        session.add(new)
    for name in ("name", "profile", "lesson_time", "timezone", "onboarded", "reachable", "thread_id"):
        setattr(new, name, getattr(old, name))
    new.kind = "supergroup"  # Telegram only ever migrates a group to a supergroup
    await session.flush()
    await session.execute(update(Enrollment).where(Enrollment.chat_id == old_chat_id).values(chat_id=new_chat_id))
    await session.execute(update(CheckinAnswer).where(CheckinAnswer.chat_id == old_chat_id).values(chat_id=new_chat_id))
    seen_in_new = select(GroupMember.user_id).where(GroupMember.chat_id == new_chat_id)
    await session.execute(
        delete(GroupMember).where(GroupMember.chat_id == old_chat_id, GroupMember.user_id.in_(seen_in_new))
    )
    await session.execute(update(GroupMember).where(GroupMember.chat_id == old_chat_id).values(chat_id=new_chat_id))
    await session.delete(old)
    await session.flush()
    return True


async def note_unread(
    *, session: AsyncSession, enrollment_id: int, user_id: int, node: str, text: str, at: datetime
) -> None:
    session.add(UnreadAnswer(enrollment_id=enrollment_id, user_id=user_id, node=node, text=text[:500], answered_at=at))


async def unmatched_answers(
    *, session: AsyncSession, pain_option: str, limit: int
) -> list[tuple[datetime, str, str, str]]:
    """The latest typed answers the bot had to ask about, newest first, as (time, question, what
    the bot did, text): those asked about with buttons and those stored as `pain_option` (they
    needed the pain-check). No names, no ids."""
    asked = await session.execute(
        select(UnreadAnswer.answered_at, UnreadAnswer.node, UnreadAnswer.text)
        .order_by(UnreadAnswer.answered_at.desc())
        .limit(limit)
    )
    checked = await session.execute(
        select(CheckinAnswer.answered_at, CheckinAnswer.node, CheckinAnswer.text)
        .where(CheckinAnswer.option == pain_option, CheckinAnswer.text.is_not(None))
        .order_by(CheckinAnswer.answered_at.desc())
        .limit(limit)
    )
    rows = [(at, node, "asked", text) for at, node, text in asked.all()]
    rows += [(at, node, "pain-check", text) for at, node, text in checked.all()]
    return sorted(rows, reverse=True)[:limit]


async def note_member(*, session: AsyncSession, chat_id: int, user_id: int, name: str, now: datetime) -> None:
    """Put someone on a group's roster, or refresh their name and when they were last seen."""
    await session.execute(
        _insert(session, GroupMember)
        .values(chat_id=chat_id, user_id=user_id, name=name[:128], first_seen=now, last_seen=now)
        .on_conflict_do_update(index_elements=["chat_id", "user_id"], set_=dict(name=name[:128], last_seen=now))
    )


async def roster(*, session: AsyncSession, chat_id: int) -> list[GroupMember]:
    result = await session.execute(
        select(GroupMember).where(GroupMember.chat_id == chat_id).order_by(GroupMember.first_seen, GroupMember.user_id)
    )
    return list(result.scalars())


async def group_answers(*, session: AsyncSession, enrollment_id: int) -> list[CheckinAnswer]:
    """Every member's answers in a group's run of the course, day by day."""
    result = await session.execute(
        select(CheckinAnswer)
        .where(CheckinAnswer.enrollment_id == enrollment_id)
        .order_by(CheckinAnswer.day, CheckinAnswer.answered_at, CheckinAnswer.id)
    )
    return list(result.scalars())


async def chosen_options(*, session: AsyncSession, enrollment_id: int, day: int, node: str) -> list[str]:
    """The option each member chose for one question on one day: what a tally counts."""
    result = await session.execute(
        select(CheckinAnswer.option).where(
            CheckinAnswer.enrollment_id == enrollment_id, CheckinAnswer.day == day, CheckinAnswer.node == node
        )
    )
    return list(result.scalars())


async def private_chats_of(*, session: AsyncSession, user_ids: list[int]) -> list[int]:
    """Of these people, those who started the bot in private and have not blocked it."""
    if not user_ids:
        return []
    result = await session.execute(
        select(Subscriber.chat_id)
        .where(Subscriber.chat_id.in_(user_ids), Subscriber.kind == "private", Subscriber.reachable.is_(True))
        .order_by(Subscriber.chat_id)
    )
    return list(result.scalars())


async def stop_chat(*, session: AsyncSession, chat_id: int) -> None:
    """The bot was removed from a group or channel: nothing more goes there and its run stops."""
    await mark_unreachable(session=session, chat_id=chat_id)
    enrollment = await current_enrollment(session=session, chat_id=chat_id)
    if enrollment is not None and enrollment.status in ("active", "paused", "held"):
        enrollment.status = "stopped"
        await cancel_pending(session=session, enrollment_id=enrollment.id)


async def mark_reachable(*, session: AsyncSession, chat_id: int) -> None:
    await session.execute(update(Subscriber).where(Subscriber.chat_id == chat_id).values(reachable=True))


# ----------------------------------------------------------------------------- send budget


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


# ----------------------------------------------------------------------------- scheduled messages


async def schedule_message(*, session: AsyncSession, chat_id: int, kind: str, seconds: int, due_at: datetime) -> None:
    """A new timer replaces the chat's waiting one of the same kind (one rest runs at a time) and
    clears the finished ones, so a chat keeps a row or two however often it rests."""
    await session.execute(
        delete(ScheduledMessage).where(
            ScheduledMessage.chat_id == chat_id, ScheduledMessage.kind == kind, ScheduledMessage.status != "sending"
        )
    )
    session.add(ScheduledMessage(chat_id=chat_id, kind=kind, seconds=seconds, due_at=due_at, status="pending"))
    await session.flush()


async def cancel_scheduled(*, session: AsyncSession, chat_id: int, kind: str) -> int:
    """Drop the chat's waiting messages of this kind; one already being sent is past stopping."""
    result = await session.execute(
        delete(ScheduledMessage).where(
            ScheduledMessage.chat_id == chat_id, ScheduledMessage.kind == kind, ScheduledMessage.status == "pending"
        )
    )
    return result.rowcount or 0


async def claim_scheduled(
    *, session: AsyncSession, now: datetime, limit: int, worker: str, lease: timedelta
) -> list[ScheduledMessage]:
    """Claim due messages, and claims older than the lease (their process died mid-send), as
    `claim_due` does for lessons: committed as 'sending' before anything is sent."""
    due = (
        select(ScheduledMessage.id)
        .where(
            or_(
                (ScheduledMessage.status == "pending") & (ScheduledMessage.due_at <= now),
                (ScheduledMessage.status == "sending") & (ScheduledMessage.claimed_at < now - lease),
            )
        )
        .order_by(ScheduledMessage.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(ScheduledMessage)
        .where(ScheduledMessage.id.in_(due.scalar_subquery()))
        .values(status="sending", claimed_by=worker, claimed_at=now, attempts=ScheduledMessage.attempts + 1)
        .returning(ScheduledMessage)
    )
    return list(result.scalars())


async def scheduled_waiting(*, session: AsyncSession, now: datetime, lease: timedelta) -> bool:
    """One read: is any scheduled message due, or any claim gone stale?"""
    due = select(ScheduledMessage.id).where(ScheduledMessage.status == "pending", ScheduledMessage.due_at <= now)
    stale = select(ScheduledMessage.id).where(
        ScheduledMessage.status == "sending", ScheduledMessage.claimed_at < now - lease
    )
    return bool(await session.scalar(select(or_(due.exists(), stale.exists()))))


async def finish_scheduled(
    *, session: AsyncSession, message_id: int, status: str, at: datetime, due_at: datetime | None = None
) -> None:
    """Record a send's outcome; 'pending' with a new due time retries it."""
    values: dict[str, object] = dict(status=status, claimed_by=None)
    if status == "pending":
        values["due_at"] = due_at
    else:
        values["sent_at"] = at
    await session.execute(update(ScheduledMessage).where(ScheduledMessage.id == message_id).values(values))
