"""Operator stats: numbers from a seeded database, the text and chart, `coach stats` and `/stats`."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import CONTENT_DIR
from bot.cli import main
from bot.content import load_content
from bot.settings import Settings, SettingsError, load_settings
from bot.stats import collect, stats_png, stats_text
from bot.storage import checkins
from bot.storage.db import Database
from bot.storage.models import CheckinAnswer, Enrollment, LogEntry, Subscriber
from tests.conftest import Person, RunningBot, make_settings
from tests.test_charts import png_size

TEXTS = load_content(CONTENT_DIR).texts

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)

# chat -> (status, furthest day, [(day, advice, effect)])
PEOPLE = {
    1: ("finished", 7, [(1, "clean", "clean"), (2, "back-rounding", "regress"), (3, "clean", "clean")]),
    2: ("active", 3, [(1, "weight-drift", "regress"), (2, "squatting", "none"), (3, "clean", "clean")]),
    3: ("active", 2, [(1, "back-rounding", "regress"), (2, "back-rounding", "regress")]),
    4: ("paused", 1, [(1, "glutes-quiet", "activate")]),
}


async def _seed(url: str) -> None:
    db = Database(url)
    try:
        async with db.session() as session:
            for chat_id, (status, furthest, answers) in PEOPLE.items():
                session.add(Subscriber(chat_id=chat_id, onboarded=True, created_at=NOW))
                await session.flush()
                if chat_id == 3:  # restarted once: the old run counts towards how far they got
                    session.add(Enrollment(chat_id=chat_id, status="replaced", current_day=1, started_at=NOW))
                enrollment = Enrollment(chat_id=chat_id, status=status, current_day=furthest, started_at=NOW)
                session.add(enrollment)
                await session.flush()
                for day, advice, effect in answers:
                    at = NOW + timedelta(days=day)
                    ids = dict(enrollment_id=enrollment.id, chat_id=chat_id, user_id=chat_id, day=day, answered_at=at)
                    session.add(CheckinAnswer(**ids, node="before-advice", option="y"))
                    session.add(CheckinAnswer(**ids, node="felt-where", option="x", advice=advice, effect=effect))
            for kg in (20, 25):
                session.add(
                    LogEntry(
                        chat_id=1, user_id=1, exercise="rdl", weight_kg=kg, unit="kg", sets=3, reps=12, logged_at=NOW
                    )
                )
    finally:
        await db.dispose()


async def _stats(url: str):
    db = Database(url)
    try:
        async with db.session() as session:
            return await collect(session=session, days=7)
    finally:
        await db.dispose()


async def test_stats_count_people_days_answers_and_what_works(database_url):
    await _seed(database_url)
    stats = await _stats(database_url)
    assert (stats.enrolled, stats.active, stats.finished, stats.logging) == (4, 2, 1, 1)
    assert stats.reached == {1: 4, 2: 3, 3: 2, 4: 1, 5: 1, 6: 1, 7: 1}
    assert stats.answers == {
        1: {"clean": 1, "back": 2, "other": 1},
        2: {"back": 2, "other": 1},
        3: {"clean": 2},
    }
    outcomes = {o.advice: (o.clean_next, o.followed) for o in stats.outcomes}
    assert outcomes == {"back-rounding": (1, 2), "weight-drift": (0, 1), "squatting": (1, 1)}
    text = stats_text(stats, TEXTS)
    assert "People enrolled: 4 (course running: 2, finished: 1)" in text
    assert "day 1:   1 /   2 /   1    50% lower back" in text
    assert "back-rounding  1 of 2 (50%)" in text
    width, height = png_size(stats_png(stats, TEXTS))
    assert width > 600 and height > 600


async def test_stats_on_an_empty_database(sqlite_url):
    text = stats_text(await _stats(sqlite_url), TEXTS)
    # three empty sections now: answers per day, advice outcomes, typed answers the bot asked about
    assert "People enrolled: 0" in text and text.count("none yet") == 3


async def test_coach_stats_prints_the_report_and_writes_the_chart(sqlite_url, tmp_path, monkeypatch, capsys):
    await _seed(sqlite_url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    chart = tmp_path / "stats.png"
    assert await asyncio.to_thread(main, ["stats", "--chart", str(chart)]) == 0  # it runs its own event loop
    out = capsys.readouterr().out
    assert "People enrolled: 4" in out and "Corrective advice followed by a clean check-in:" in out
    png_size(chart.read_bytes())


async def test_coach_stats_unmatched_lists_typed_answers_without_names(sqlite_url, monkeypatch, capsys):
    await _seed(sqlite_url)
    db = Database(sqlite_url)
    async with db.session() as session:
        enrollment = (await session.execute(select(Enrollment))).scalars().first()
        await checkins.note_unread(
            session=session,
            enrollment_id=enrollment.id,
            user_id=enrollment.chat_id,
            node="felt-where",
            text="the  wobbly\nthing",
            at=datetime(2026, 6, 2, 9, 0, tzinfo=UTC),
        )
    await db.dispose()
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    assert await asyncio.to_thread(main, ["stats", "--unmatched"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Typed answers the bot had to ask about")
    assert "2026-06-02 09:00  felt-where" in out and "asked      the wobbly thing" in out
    assert "People enrolled" not in out and str(enrollment.chat_id) not in out


async def test_stats_command_is_for_admins_only(telegram, sqlite_url, clock):
    bot = RunningBot(make_settings(telegram, sqlite_url, admin_ids=[1001]), clock)
    await bot.start()
    try:
        admin, other = Person(telegram, 1001, "Ada", bot), Person(telegram, 1002, "Sam", bot)
        await other.onboard()
        report, chart = await admin.say("/stats", expect=2)
        assert report["text"].startswith("<pre>Hinge Coach stats") and "People enrolled: 1" in report["text"]
        png_size(chart["_file_bytes"])
        [refused] = await other.say("/stats")
        assert "I don't know /stats" in refused["text"]
    finally:
        await bot.stop()


@pytest.mark.parametrize(("raw", "ids"), [("1,2,3", [1, 2, 3]), (" 42 , 7 ", [42, 7]), ("[5, 6]", [5, 6]), ("", [])])
def test_admin_ids_are_read_from_a_comma_separated_list(monkeypatch, raw, ids):
    monkeypatch.setenv("ADMIN_IDS", raw)
    assert Settings(_env_file=None).admin_ids == ids


def test_a_bad_admin_id_names_the_setting(monkeypatch):
    monkeypatch.setenv("ADMIN_IDS", "12,abc")
    with pytest.raises(SettingsError, match="ADMIN_IDS"):
        load_settings(_env_file=None)
