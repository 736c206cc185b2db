"""Group coaching: where a group's lessons go, its roster and its answers.

Every query takes the session as a keyword-only argument."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.chats import ChatKind
from bot.storage.db import dialect_insert
from bot.storage.models import (
    CheckinAnswer,
    Enrollment,
    GroupMember,
    Subscriber,
)


async def run_chat(*, session: AsyncSession, enrollment_id: int) -> Row | None:
    """The chat a run of the course belongs to, as it is now (a migration may have moved it): its
    id, kind and forum topic; None when there is no such run."""
    result = await session.execute(
        select(Subscriber.chat_id, Subscriber.kind, Subscriber.thread_id)
        .join(Enrollment, Enrollment.chat_id == Subscriber.chat_id)
        .where(Enrollment.id == enrollment_id)
    )
    return result.one_or_none()


async def lesson_place(*, session: AsyncSession, enrollment_id: int) -> tuple[int, int | None]:
    """Where a group's lessons go now: its chat and its forum topic."""
    row = await run_chat(session=session, enrollment_id=enrollment_id)
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


async def note_member(*, session: AsyncSession, chat_id: int, user_id: int, name: str, now: datetime) -> None:
    """Put someone on a group's roster, or refresh their name and when they were last seen."""
    await session.execute(
        dialect_insert(session, GroupMember)
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
        .where(Subscriber.chat_id.in_(user_ids), Subscriber.kind == ChatKind.PRIVATE, Subscriber.reachable.is_(True))
        .order_by(Subscriber.chat_id)
    )
    return list(result.scalars())
