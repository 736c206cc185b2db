"""Running the bot: processed updates, metrics, and a person's data (export, forget).

Every query takes the session as a keyword-only argument."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Table, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from bot.domain.course import CourseStatus
from bot.storage.db import dialect_insert
from bot.storage.models import (
    Enrollment,
    ProcessedUpdate,
)


async def first_sighting(*, session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Record the update as handled; False when some process already did (a re-delivery).

    The primary key decides, so two processes given the same update race safely: one wins.
    """
    result = await session.execute(
        dialect_insert(session, ProcessedUpdate)
        .values(update_id=update_id, seen_at=now)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(ProcessedUpdate.update_id)
    )
    return result.first() is not None


async def forget_processed_updates(*, session: AsyncSession, before: datetime) -> int:
    """Telegram gives up re-delivering within a day; older records only take space."""
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.seen_at < before))
    return result.rowcount or 0


async def count_active_people(*, session: AsyncSession) -> int:
    """Chats whose course is running now."""
    result = await session.execute(
        select(func.count(func.distinct(Enrollment.chat_id))).where(Enrollment.status == CourseStatus.ACTIVE)
    )
    return result.scalar_one()


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
