"""Check-in answers: storing them, and reading a person's or a group's history.

Every query takes the session as a keyword-only argument."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import dialect_insert
from bot.storage.models import (
    CheckinAnswer,
    Delivery,
    Enrollment,
    SendStatus,
    UnreadAnswer,
)


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
    holds: bool = False  # a red flag: the course service holds the run (`bot.services.course`)


async def store_answers(*, session: AsyncSession, writes: list[AnswerWrite]) -> list[AnswerWrite]:
    """Store answers, each replacing that person's earlier answer to the same question that day,
    and apply what they change; returns the writes that changed something. A button pressed again
    with the answer already stored and its question where it left it changes nothing (the database
    decides, so a double tap in two processes counts once); a typed answer always counts. Many
    answers cost a few statements: one for all the answers and one for all the open questions
    (executemany); only stale follow-ups and re-opened questions go one by one. What an answer does
    to the course (a red flag holds it) is the course service's to apply."""
    connection = await session.connection()
    insert = dialect_insert(session, CheckinAnswer)
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
        .where(Delivery.enrollment_id == Enrollment.id, Delivery.status == SendStatus.SENDING)
        .scalar_subquery()
    )
    result = await session.execute(select(Enrollment, out).where(Enrollment.id.in_(ids)))
    return {enrollment.id: (enrollment, day) for enrollment, day in result}


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
