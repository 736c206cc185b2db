"""The reads behind the Mini App's pages (bot/miniapp/api.py), kept apart from the bot's own
queries: each returns plain rows for bot/domain/dashboard.py to count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.chats import ChatKind
from bot.domain.dashboard import Answer
from bot.storage.models import CheckinAnswer, Delivery, Enrollment, GroupMember, SendStatus, Subscriber

# an uncertain lesson most likely arrived: Telegram lost only the answer
DELIVERED = (SendStatus.SENT, SendStatus.UNCERTAIN)


def as_answer(row: CheckinAnswer) -> Answer:
    return Answer(
        user_id=row.user_id,
        day=row.day,
        node=row.node,
        option=row.option,
        advice=row.advice,
        effect=row.effect,
        fix_helped=row.fix_helped,
        answered_at=row.answered_at,
        enrollment_id=row.enrollment_id,
    )


async def delivered_days(*, session: AsyncSession, enrollment_id: int) -> list[int]:
    """The course days whose lesson went out in this run, in order."""
    result = await session.execute(
        select(Delivery.day)
        .where(Delivery.enrollment_id == enrollment_id, Delivery.status.in_(DELIVERED))
        .order_by(Delivery.day)
    )
    return list(result.scalars())


async def member_names(*, session: AsyncSession, chat_id: int) -> dict[int, str]:
    """The group's roster: user id -> the name Telegram last showed."""
    result = await session.execute(select(GroupMember.user_id, GroupMember.name).where(GroupMember.chat_id == chat_id))
    return {user: name for user, name in result.all()}


async def answers_by_id(*, session: AsyncSession, ids: list[int]) -> dict[int, CheckinAnswer]:
    if not ids:
        return {}
    result = await session.execute(select(CheckinAnswer).where(CheckinAnswer.id.in_(ids)))
    return {row.id: row for row in result.scalars()}


async def all_leaf_answers(*, session: AsyncSession) -> list[Answer]:
    """Every answer that reached advice, in every run: what the advice outcomes are counted from."""
    result = await session.execute(
        select(CheckinAnswer).where(CheckinAnswer.effect.is_not(None)).order_by(CheckinAnswer.answered_at)
    )
    return [as_answer(row) for row in result.scalars()]


async def private_runs(*, session: AsyncSession) -> list[tuple[datetime, int]]:
    """(started at, furthest day sent) of every private run of the course, restarts included."""
    result = await session.execute(
        select(Enrollment.started_at, Enrollment.current_day)
        .join(Subscriber, Subscriber.chat_id == Enrollment.chat_id)
        .where(Subscriber.kind == ChatKind.PRIVATE)
    )
    return [(started, furthest) for started, furthest in result.all()]


@dataclass(frozen=True)
class GroupRun:
    enrollment_id: int
    chat_id: int
    title: str
    started_at: datetime
    members: int


async def group_runs(*, session: AsyncSession) -> list[GroupRun]:
    """Every group's runs of the course, newest first, with the size of the group's roster."""
    members = (
        select(GroupMember.chat_id, func.count().label("members")).group_by(GroupMember.chat_id).subquery("members")
    )
    result = await session.execute(
        select(Enrollment.id, Subscriber.chat_id, Subscriber.name, Enrollment.started_at, members.c.members)
        .join(Subscriber, Subscriber.chat_id == Enrollment.chat_id)
        .outerjoin(members, members.c.chat_id == Subscriber.chat_id)
        .where(Subscriber.kind != ChatKind.PRIVATE)
        .order_by(Enrollment.started_at.desc(), Enrollment.id.desc())
    )
    return [GroupRun(row[0], row[1], row[2], row[3], row[4] or 0) for row in result.all()]


async def answers_of_runs(*, session: AsyncSession, enrollment_ids: list[int]) -> dict[int, list[Answer]]:
    """Every answer of these runs, by run."""
    found: dict[int, list[Answer]] = {run: [] for run in enrollment_ids}
    if not enrollment_ids:
        return found
    result = await session.execute(
        select(CheckinAnswer)
        .where(CheckinAnswer.enrollment_id.in_(enrollment_ids))
        .order_by(CheckinAnswer.day, CheckinAnswer.answered_at)
    )
    for row in result.scalars():
        found[row.enrollment_id].append(as_answer(row))
    return found
