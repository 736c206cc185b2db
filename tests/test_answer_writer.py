"""Check-in answers that arrive together are written in one transaction, each with its own outcome."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from benchmarks.seed import seed_people
from bot.services.answers import AnswerWriter, Recorded
from bot.storage.checkins import AnswerWrite
from bot.storage.db import Database
from bot.storage.models import CheckinAnswer, Enrollment

NOW = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)


def answer(enrollment: Enrollment, option: str, *, open_node: str | None = None) -> AnswerWrite:
    return AnswerWrite(
        enrollment_id=enrollment.id,
        chat_id=enrollment.chat_id,
        user_id=enrollment.chat_id,
        day=1,
        node="felt",
        option=option,
        text=None,
        advice=None if open_node else "clean",
        effect=None,
        at=NOW,
        moves_question=True,
        open_node=open_node,
    )


async def test_answers_that_come_together_share_transactions_and_keep_their_own_outcomes(database_url):
    db = Database(database_url)
    try:
        await seed_people(db, 12, now=NOW, due_at=NOW)
        writer = AnswerWriter(db, lambda day: "felt")
        transactions = 0
        original = db.session

        def counting_session():
            nonlocal transactions
            transactions += 1
            return original()

        db.session = counting_session

        def decide_for(number: int):
            def decide(enrollment: Enrollment | None) -> AnswerWrite | str:
                if enrollment is None:
                    return "not found"
                if number == 3:
                    return "refused"  # one refusal among them changes nothing for the others
                return answer(enrollment, f"option-{number}", open_node="follow-up" if number % 2 else None)

            return decide

        outcomes = await asyncio.gather(*(writer.write(number, decide_for(number)) for number in range(1, 11)))
        outcomes.append(await writer.write(999, decide_for(999)))
        db.session = original

        assert outcomes[2] == "refused" and outcomes[-1] == "not found"
        assert all(
            isinstance(outcome, Recorded) and outcome.changed for i, outcome in enumerate(outcomes[:10]) if i != 2
        )
        assert transactions < 10, "answers waiting together should share a transaction"
        async with db.session() as session:
            stored = dict((await session.execute(select(CheckinAnswer.enrollment_id, CheckinAnswer.option))).all())
            open_nodes = dict((await session.execute(select(Enrollment.id, Enrollment.checkin_node))).all())
        assert stored == {number: f"option-{number}" for number in range(1, 11) if number != 3}
        assert [number for number in range(1, 11) if open_nodes[number] == "follow-up"] == [1, 5, 7, 9]
    finally:
        await db.dispose()


async def test_an_answer_that_fails_fails_alone_and_the_honest_ones_beside_it_are_stored(database_url):
    """Ids beyond what the database holds (the strict callback parse refuses them first; this is the
    second line of defence) break their transaction: the others in it are written again on their own."""
    db = Database(database_url)
    try:
        await seed_people(db, 8, now=NOW, due_at=NOW)
        writer = AnswerWriter(db, lambda day: "felt")

        def decide(enrollment: Enrollment | None) -> AnswerWrite | str:
            return "not found" if enrollment is None else answer(enrollment, "hams")

        ids = [1, 2**70, 2, 3, 2**63, 4, 5, 2**31, 6, 7, 8]
        outcomes = await asyncio.gather(*(writer.write(i, decide) for i in ids), return_exceptions=True)
        honest = [outcome for i, outcome in zip(ids, outcomes, strict=True) if i <= 8]
        assert all(isinstance(outcome, Recorded) and outcome.changed for outcome in honest), outcomes
        async with db.session() as session:
            stored = sorted((await session.scalars(select(CheckinAnswer.enrollment_id))).all())
        assert stored == list(range(1, 9)), "every honest press beside the forged ones is stored"
    finally:
        await db.dispose()


async def test_two_answers_of_one_person_are_written_in_order(sqlite_url):
    db = Database(sqlite_url)
    try:
        await seed_people(db, 1, now=NOW, due_at=NOW)
        writer = AnswerWriter(db, lambda day: "felt")
        first = writer.write(1, lambda enrollment: answer(enrollment, "hamstrings"))
        second = writer.write(1, lambda enrollment: answer(enrollment, "lower-back"))
        await asyncio.gather(first, second)
        async with db.session() as session:
            options = (await session.scalars(select(CheckinAnswer.option))).all()
        assert options == ["lower-back"], "the later answer replaces the earlier one"
    finally:
        await db.dispose()
