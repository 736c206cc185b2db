"""A chat and its runs of the course: subscribers and enrollments.

Every query takes the session as a keyword-only argument."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.course import CourseStatus
from bot.storage.deliveries import schedule_lessons
from bot.storage.models import Enrollment, Subscriber


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


async def begin_run(*, session: AsyncSession, chat_id: int, now: datetime) -> Enrollment:
    """A new run from day 1, its first lesson promised now (see `deliveries.ASKED`)."""
    enrollment = Enrollment(chat_id=chat_id, status=CourseStatus.ACTIVE, started_at=now)
    session.add(enrollment)
    await session.flush()
    await schedule_lessons(session=session, lessons=[(enrollment.id, 1, now)], asked_at=now)
    return enrollment


async def move_run(
    *, session: AsyncSession, enrollment_id: int, to: CourseStatus, from_: frozenset[CourseStatus]
) -> bool:
    """Move a run to `to` if it is still in one of `from_`; False when another press or process
    moved it first. The database decides, so a confirmation pressed twice acts once."""
    result = await session.execute(
        update(Enrollment).where(Enrollment.id == enrollment_id, Enrollment.status.in_(from_)).values(status=to)
    )
    return bool(result.rowcount)


async def finish_onboarding(*, session: AsyncSession, chat_id: int) -> bool:
    """Mark the person onboarded; False when that happened already (a double tap on the last
    answer), so only one press starts the course."""
    result = await session.execute(
        update(Subscriber).where(Subscriber.chat_id == chat_id, Subscriber.onboarded.is_(False)).values(onboarded=True)
    )
    return bool(result.rowcount)


async def mark_unreachable(*, session: AsyncSession, chat_id: int) -> None:
    await session.execute(update(Subscriber).where(Subscriber.chat_id == chat_id).values(reachable=False))


async def mark_reachable(*, session: AsyncSession, chat_id: int) -> None:
    await session.execute(update(Subscriber).where(Subscriber.chat_id == chat_id).values(reachable=True))
