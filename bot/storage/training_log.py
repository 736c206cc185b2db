"""The training log, preferences, the weekly check-in and the rest timer's scheduled messages.

Every query takes the session as a keyword-only argument."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import (
    CheckinAnswer,
    LogEntry,
    PendingLog,
    Preference,
    ScheduledMessage,
    SendStatus,
    Subscriber,
)


async def preference_of(*, session: AsyncSession, chat_id: int, units_if_new: str) -> Preference:
    """The person's preferences, created on first use with `units_if_new` and the other defaults."""
    preference = await session.get(Preference, chat_id)
    if preference is None:
        preference = Preference(chat_id=chat_id, units=units_if_new)
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


async def schedule_message(*, session: AsyncSession, chat_id: int, kind: str, seconds: int, due_at: datetime) -> None:
    """A new timer replaces the chat's waiting one of the same kind (one rest runs at a time) and
    clears the finished ones, so a chat keeps a row or two however often it rests."""
    await session.execute(
        delete(ScheduledMessage).where(
            ScheduledMessage.chat_id == chat_id,
            ScheduledMessage.kind == kind,
            ScheduledMessage.status != SendStatus.SENDING,
        )
    )
    session.add(ScheduledMessage(chat_id=chat_id, kind=kind, seconds=seconds, due_at=due_at, status=SendStatus.PENDING))
    await session.flush()


async def cancel_scheduled(*, session: AsyncSession, chat_id: int, kind: str) -> int:
    """Drop the chat's waiting messages of this kind; one already being sent is past stopping."""
    result = await session.execute(
        delete(ScheduledMessage).where(
            ScheduledMessage.chat_id == chat_id,
            ScheduledMessage.kind == kind,
            ScheduledMessage.status == SendStatus.PENDING,
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
                (ScheduledMessage.status == SendStatus.PENDING) & (ScheduledMessage.due_at <= now),
                (ScheduledMessage.status == SendStatus.SENDING) & (ScheduledMessage.claimed_at < now - lease),
            )
        )
        .order_by(ScheduledMessage.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(ScheduledMessage)
        .where(ScheduledMessage.id.in_(due.scalar_subquery()))
        .values(status=SendStatus.SENDING, claimed_by=worker, claimed_at=now, attempts=ScheduledMessage.attempts + 1)
        .returning(ScheduledMessage)
    )
    return list(result.scalars())


async def scheduled_waiting(*, session: AsyncSession, now: datetime, lease: timedelta) -> bool:
    """One read: is any scheduled message due, or any claim gone stale?"""
    due = select(ScheduledMessage.id).where(
        ScheduledMessage.status == SendStatus.PENDING, ScheduledMessage.due_at <= now
    )
    stale = select(ScheduledMessage.id).where(
        ScheduledMessage.status == SendStatus.SENDING, ScheduledMessage.claimed_at < now - lease
    )
    return bool(await session.scalar(select(or_(due.exists(), stale.exists()))))


async def finish_scheduled(
    *, session: AsyncSession, message_id: int, status: SendStatus, at: datetime, due_at: datetime | None = None
) -> None:
    """Record a send's outcome; PENDING with a new due time retries it."""
    values: dict[str, object] = dict(status=status, claimed_by=None)
    if status == SendStatus.PENDING:
        values["due_at"] = due_at
    else:
        values["sent_at"] = at
    await session.execute(update(ScheduledMessage).where(ScheduledMessage.id == message_id).values(values))
