"""Every query the bot runs, each taking the session as a keyword-only argument."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Delivery, Enrollment, Subscriber

LIVE = ("active", "paused", "stopped")


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
    await schedule_lesson(session=session, enrollment_id=enrollment.id, day=1, due_at=now)
    return enrollment


async def schedule_lesson(*, session: AsyncSession, enrollment_id: int, day: int, due_at: datetime) -> None:
    """Insert the delivery row unless it exists: (enrollment, day) is delivered at most once."""
    dialect = session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(Delivery)
        .values(enrollment_id=enrollment_id, day=day, due_at=due_at, status="pending", attempts=0)
        .on_conflict_do_nothing(index_elements=["enrollment_id", "day"])
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


async def claim_due(
    *, session: AsyncSession, now: datetime, limit: int, worker: str, enrollment_id: int | None = None
) -> list[ClaimedLesson]:
    """Mark up to `limit` due rows as being sent by this worker and return them.

    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several processes claim disjoint rows at once;
    SQLite runs the single UPDATE atomically. Commit before sending so others see the claim.
    """
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
        )
        .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
        .join(Subscriber, Subscriber.chat_id == Enrollment.chat_id)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.due_at)
    )
    return [ClaimedLesson(*row) for row in rows]


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


async def finish_delivery(
    *,
    session: AsyncSession,
    delivery_id: int,
    status: str,
    now: datetime,
    message_id: int | None = None,
    error: str | None = None,
) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(
            status=status,
            sent_at=now if status in ("sent", "uncertain") else None,
            message_id=message_id,
            error=error[:200] if error else None,
        )
    )


async def retry_delivery(*, session: AsyncSession, delivery_id: int, due_at: datetime, error: str) -> None:
    """A transient failure: back to pending, due again after the backoff."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status="pending", due_at=due_at, claimed_by=None, error=error[:200])
    )


async def mark_unreachable(*, session: AsyncSession, chat_id: int) -> None:
    await session.execute(update(Subscriber).where(Subscriber.chat_id == chat_id).values(reachable=False))


async def count_deliveries(*, session: AsyncSession, enrollment_id: int, status: str) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.enrollment_id == enrollment_id, Delivery.status == status)
    )
    return result.scalar_one()
