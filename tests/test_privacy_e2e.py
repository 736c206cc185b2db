"""/export hands a person everything stored about them; /forget deletes it, down to the last row."""

import json

from sqlalchemy import func, select
from sqlmodel import SQLModel

from bot.storage.models import CheckinAnswer, Delivery, Enrollment
from tests.conftest import Person, RunningBot, make_settings


async def _use_everything(bot: RunningBot, person: Person) -> None:
    """Leave a row in every table a person can reach: course, check-in, log, preferences."""
    await person.onboard(profile="lifter")
    await person.say("/log rdl 35 3x12")
    await person.say("/log pulses 3x20")  # a line waiting for its exercise to be picked
    await person.say("/rest 3m")  # a rest timer waiting to go off
    await person.say("/plates bar 15")
    await person.say("/weekly on")
    async with bot.app.services.db.session() as session:
        enrollment = await session.scalar(select(Enrollment).where(Enrollment.chat_id == person.chat_id))
        session.add(
            CheckinAnswer(
                enrollment_id=enrollment.id,
                chat_id=person.chat_id,
                user_id=person.chat_id,
                day=1,
                node="felt-where",
                option="hams-glutes",
                advice="clean",
                effect="clean",
                answered_at=bot.clock.now(),
            )
        )
    await person.say("/progress")  # links the answer to the logged set


async def _rows_about(bot: RunningBot, person_id: int) -> dict[str, int]:
    """Rows with the person's id in a chat_id or user_id column, table by table, over ALL tables."""
    counts = {}
    async with bot.app.services.db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            for column in ("chat_id", "user_id"):
                if column in table.c:
                    found = await session.scalar(
                        select(func.count()).select_from(table).where(table.c[column] == person_id)
                    )
                    counts[f"{table.name}.{column}"] = found
    return counts


async def test_export_sends_a_json_file_of_everything_about_the_person(running_bot, telegram):
    alex, sam = Person(telegram, 1001, "Alex", running_bot), Person(telegram, 1002, "Sam", running_bot)
    await _use_everything(running_bot, alex)
    await _use_everything(running_bot, sam)
    [document] = await alex.say("/export")
    assert document["document"]["file_name"] == "hinge-coach-my-data.json"
    assert "/forget" in document["caption"]
    data = json.loads(document["_file_bytes"])
    assert (data["chat_id"], data["user_id"]) == (1001, 1001)
    assert [row["chat_id"] for row in data["subscriber"]] == [1001]
    assert data["subscriber"][0]["timezone"] == "Europe/Berlin"
    [enrollment] = data["enrollment"]
    assert [row["enrollment_id"] for row in data["delivery"]] and {
        row["enrollment_id"] for row in data["delivery"]
    } == {enrollment["id"]}
    [entry] = data["logentry"]
    assert (entry["exercise"], entry["sets"], entry["reps"], entry["unit"]) == ("rdl", 3, 12, "lb")
    [answer] = data["checkinanswer"]
    assert entry["checkin_answer_id"] == answer["id"] and answer["effect"] == "clean"
    assert data["preference"] == [
        {
            "chat_id": 1001,
            "units": "lb",
            "weekly": True,
            "last_weekly_at": data["preference"][0]["last_weekly_at"],
            "bar_kg": data["preference"][0]["bar_kg"],
        }
    ]
    assert [row["text"] for row in data["pending_log"]] == ["pulses 3x20"]
    assert [(row["kind"], row["seconds"]) for row in data["scheduled_message"]] == [("rest", 180)]
    tables = [rows for rows in data.values() if isinstance(rows, list)]
    assert all(1002 not in (row.get("chat_id"), row.get("user_id")) for rows in tables for row in rows)


async def test_forget_asks_first_then_leaves_no_row_in_any_table(telegram, database_url, clock):
    bot = RunningBot(make_settings(telegram, database_url), clock)
    await bot.start()
    try:
        alex, sam = Person(telegram, 1001, "Alex", bot), Person(telegram, 1002, "Sam", bot)
        await _use_everything(bot, alex)
        await _use_everything(bot, sam)
        async with bot.app.services.db.session() as session:
            alex_enrollments = list(
                (await session.execute(select(Enrollment.id).where(Enrollment.chat_id == 1001))).scalars()
            )

        [confirm] = await alex.say("/forget")
        await alex.press(confirm, "forget:no", expect=0)
        await telegram.wait_for(lambda: "nothing was deleted" in alex.messages[-1]["text"])
        assert sum((await _rows_about(bot, 1001)).values()) > 0, "'no' keeps everything"

        [confirm] = await alex.say("/forget")
        await alex.press(confirm, "forget:yes", expect=0)
        await telegram.wait_for(lambda: "everything about you is deleted" in alex.messages[-1]["text"])
        left = await _rows_about(bot, 1001)
        assert {
            "subscriber.chat_id",
            "logentry.user_id",
            "checkinanswer.user_id",
            "preference.chat_id",
            "pending_log.user_id",
            "scheduled_message.chat_id",
        } <= set(left)
        assert not any(left.values()), left
        async with bot.app.services.db.session() as session:
            lessons = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.enrollment_id.in_(alex_enrollments))
            )
        assert lessons == 0

        kept = await _rows_about(bot, 1002)
        assert kept["subscriber.chat_id"] == 1 and kept["logentry.user_id"] == 1 and kept["preference.chat_id"] == 1

        [again] = await alex.say("/progress")
        assert "Nothing logged yet" in again["text"]
    finally:
        await bot.stop()
