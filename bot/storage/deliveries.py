"""Lessons on their way: scheduling, claiming, recording outcomes, nudges and the send budget.

Every query takes the session as a keyword-only argument."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import msgspec
from sqlalchemy import Dialect, Float, Insert, Row, TextClause, bindparam, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.domain.chats import ChatKind
from bot.domain.course import CourseStatus
from bot.storage.db import dialect_insert
from bot.storage.models import (
    CheckinAnswer,
    Delivery,
    Enrollment,
    SendBudget,
    SendStatus,
    Subscriber,
    UTCDateTime,
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
            dict(enrollment_id=enrollment_id, day=day, due_at=due_at, status=SendStatus.PENDING, attempts=0, **promise)
            for enrollment_id, day, due_at in lessons
        ],
    )


async def pending_lesson(*, session: AsyncSession, enrollment_id: int) -> Delivery | None:
    result = await session.execute(
        select(Delivery).where(Delivery.enrollment_id == enrollment_id, Delivery.status == SendStatus.PENDING)
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
            Delivery.status == SendStatus.PENDING,
            Delivery.due_at <= now,
            Enrollment.status == CourseStatus.ACTIVE,
            Subscriber.reachable.is_(True),
        )
    )
    if asked_too:
        return due
    return due.where(or_(Delivery.claimed_by.is_(None), Delivery.claimed_at <= now - ASKED_GRACE))


async def _connection(session: AsyncSession | AsyncConnection) -> AsyncConnection:
    """The connection under a session, or the connection itself: the fan-out's batch statements run
    on a bare connection (`Database.connection`), without a session's bookkeeping."""
    return session if isinstance(session, AsyncConnection) else await session.connection()


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
    kind: str = ChatKind.PRIVATE  # the chat's type: a group, supergroup or channel gets the group lesson
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
        .where(Delivery.id.in_(due.scalar_subquery()), Delivery.status == SendStatus.PENDING)
        .values(status=SendStatus.SENDING, claimed_by=worker, claimed_at=now, attempts=Delivery.attempts + 1)
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
        session=session, enrollment_ids=[row.enrollment_id for row in rows if row.kind == ChatKind.PRIVATE]
    )
    return [ClaimedLesson(*row, history=tuple(histories.get(row.enrollment_id, ()))) for row in rows]


async def release_stale_claims(*, session: AsyncSession, now: datetime, lease: timedelta) -> int:
    """Claims older than the lease belong to a process that died mid-send: make them due again.

    This is the one place a lesson can arrive twice, bounded by what was in flight at the crash.
    """
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == SendStatus.SENDING, Delivery.claimed_at < now - lease)
        .values(status=SendStatus.PENDING, claimed_by=None)
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
    """The outcome rows as a query, from the JSON array bound as :rows."""
    if dialect == "postgresql":
        fields = ", ".join(f"(value->>{i})::{kind} AS {name}" for i, (name, kind) in enumerate(_OUTCOME_COLUMNS))
        return f"SELECT {fields} FROM jsonb_array_elements(CAST(:rows AS jsonb))"
    fields = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(_OUTCOME_COLUMNS))
    return f"SELECT {fields} FROM json_each(:rows)"


def _record_statements(rows: str) -> tuple[str, str, str]:
    """What a batch of outcomes changes, three statements whatever its size, reading the rows from
    `rows` (named r): the deliveries; their enrollments (the day moves on; the lesson's question
    becomes the open one unless a press on its buttons came first, `enrollments_with_lesson_out`;
    past the last day the course is finished); and each next lesson, for courses still active
    (and not finished by this batch), unless it exists."""
    answered = "COALESCE(enrollment.checkin_day, 0) >= r.current_day"
    question = f"r.node IS NOT NULL AND NOT ({answered})"
    return (
        f"UPDATE delivery SET status = r.status, sent_at = r.at, message_id = r.message_id, error = r.error,"
        f" remind_at = r.remind_at FROM {rows} WHERE delivery.id = r.delivery_id",
        f"UPDATE enrollment SET current_day = r.current_day, last_sent_at = r.at,"
        f" checkin_day = CASE WHEN {question} THEN r.current_day ELSE enrollment.checkin_day END,"
        f" checkin_node = CASE WHEN {question} THEN r.node ELSE enrollment.checkin_node END,"
        f" status = CASE WHEN r.finished THEN '{CourseStatus.FINISHED}' ELSE enrollment.status END"
        f" FROM {rows} WHERE enrollment.id = r.enrollment_id",
        f"INSERT INTO delivery (enrollment_id, day, due_at, status, attempts)"
        f" SELECT r.enrollment_id, r.day + 1, r.next_due, 'pending', 0 FROM {rows}"
        f" JOIN enrollment ON enrollment.id = r.enrollment_id"
        f" WHERE r.next_due IS NOT NULL AND NOT r.finished AND enrollment.status = '{CourseStatus.ACTIVE}'"
        f" ON CONFLICT (enrollment_id, day) DO NOTHING",
    )


def _recorded_in_one(dialect: str) -> TextClause:
    """PostgreSQL's three statements as one, a round trip instead of three (five with a transaction
    of its own): the two updates as data-modifying CTEs before the insert. All three see the tables
    as they were before the statement, as the insert's `NOT r.finished` allows for."""
    deliveries_sent, enrollments_moved, next_lessons = _record_statements("r")
    return text(
        f"WITH r AS ({_json_rows(dialect)}), sent AS ({deliveries_sent}), moved AS ({enrollments_moved}) {next_lessons}"
    )


_RECORD_SQLITE = _record_statements(f"({_json_rows('sqlite')}) AS r")
_RECORD_POSTGRESQL = _recorded_in_one("postgresql")
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
    three statements for the whole list (one on PostgreSQL), its rows bound as one JSON array."""
    connection = await _connection(session)
    rows = _outcome_rows(connection.dialect, outcomes)
    if connection.dialect.name == "sqlite":
        # The three statements in one trip to aiosqlite's thread, in the transaction SQLAlchemy began
        # and will commit, where SQLAlchemy's cursor takes three trips a statement (open, execute,
        # close). At 30/s each trip wakes the thread and then the event loop from idle.
        await _in_sqlite_thread(connection, rows, commit=False)
        return
    await connection.execute(_RECORD_POSTGRESQL, {"rows": rows})


async def commit_outcomes(*, connection: AsyncConnection, outcomes: list[LessonOutcome]) -> None:
    """`record_outcomes` in a transaction of its own, on a connection that is in none, in one round
    trip: on PostgreSQL its one statement in autocommit (a transaction by itself); on SQLite the
    statements and the commit in one trip to aiosqlite's thread (a batch took 10 trips, then 4),
    the transaction SQLite's own, begun by the first statement, which SQLAlchemy never sees."""
    rows = _outcome_rows(connection.dialect, outcomes)
    if connection.dialect.name != "sqlite":
        if connection.sync_connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(_RECORD_POSTGRESQL, {"rows": rows})
        await connection.commit()  # SQLAlchemy's own bookkeeping: in autocommit, nothing to send
        return
    await _in_sqlite_thread(connection, rows, commit=True)


def _outcome_rows(dialect: Dialect, outcomes: list[LessonOutcome]) -> str:
    stored = _stored_time(dialect)
    return _JSON_ENCODE(
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


async def _in_sqlite_thread(connection: AsyncConnection, rows: str, *, commit: bool) -> None:
    """The outcome statements run by aiosqlite's thread in one trip. `_execute` is how aiosqlite runs
    each of its own methods there; the tests of both callers break should it change."""
    driver = (await connection.get_raw_connection()).driver_connection
    await driver._execute(_run_outcome_statements, driver._conn, {"rows": rows}, commit)


def _run_outcome_statements(connection: sqlite3.Connection, params: dict[str, str], commit: bool) -> None:
    try:
        for statement in _RECORD_SQLITE:
            connection.execute(statement, params)
        if commit:
            connection.commit()
    except BaseException:
        if commit:
            connection.rollback()
        raise


async def fail_delivery(*, session: AsyncSession, delivery_id: int, error: str) -> None:
    """Given up on: rejected by Telegram, or out of attempts."""
    await session.execute(update(Delivery).where(Delivery.id == delivery_id).values(status="failed", error=error[:200]))


async def retry_delivery(*, session: AsyncSession, delivery_id: int, due_at: datetime, error: str) -> None:
    """A transient failure: back to pending, due again after the backoff."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=SendStatus.PENDING, due_at=due_at, claimed_by=None, error=error[:200])
    )


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


@dataclass(frozen=True)
class DueReminder:
    enrollment_id: int
    day: int
    chat_id: int
    node: str
    kind: str = ChatKind.PRIVATE  # for a group the check-in window closed: its coaches get the digest


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
        .where(Delivery.status == SendStatus.SENDING, Delivery.claimed_by == worker)
        .values(status=SendStatus.PENDING, claimed_by=None)
    )
    return result.rowcount or 0


def _booking() -> Insert:
    """The booking statement, built once: built per call, SQLAlchemy's construction and cache key
    cost 575 µs of CPU a booking, against 183 µs."""
    clock = func.extract("epoch", func.statement_timestamp())
    span = bindparam("span", type_=Float)
    return (
        pg_insert(SendBudget)
        .values(scope=bindparam("scope"), tat=clock + span)
        .on_conflict_do_update(index_elements=["scope"], set_={"tat": func.greatest(SendBudget.tat, clock) + span})
        .returning(SendBudget.tat, clock)
    )


_BOOKING = _booking()


async def book_send_slots(*, session: AsyncSession | AsyncConnection, scope: str, span: float) -> tuple[float, float]:
    """Book `span` seconds of a shared send schedule (PostgreSQL): one atomic upsert, so processes
    booking at once get back-to-back stretches. Returns the schedule's new end and the database's
    clock, both epoch seconds; the booked stretch ends at the first and is `span` long. Runs on an
    autocommit connection too, where it is a single round trip."""
    tat, now = (await session.execute(_BOOKING, {"scope": scope, "span": span})).one()
    return float(tat), float(now)


async def work_waiting(*, session: AsyncSession, now: datetime, lease: timedelta) -> bool:
    """Whether a tick has anything to do: a claim gone stale, a lesson due to an active, reachable
    chat, or a check-in nudge due. Read only, each part answered from its partial index, so an idle
    tick over a million enrollments costs one round trip and writes nothing."""
    stale = select(Delivery.id).where(Delivery.status == SendStatus.SENDING, Delivery.claimed_at < now - lease)
    due = _due_lessons(now)
    nudge = select(Delivery.id).where(Delivery.remind_at.is_not(None), Delivery.remind_at <= now)
    return bool(await session.scalar(select(or_(stale.exists(), due.exists(), nudge.exists()))))
