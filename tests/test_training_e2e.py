"""End to end: the training log over the fake Bot API, from /log to the chart and the weekly check-in."""

from datetime import timedelta

from sqlalchemy import select

from bot.handlers import preferences
from bot.render import graduation_text
from bot.storage import courses
from bot.storage.models import CheckinAnswer, LogEntry
from tests.conftest import Person, RunningBot, buttons, make_settings
from tests.test_charts import png_size


def felt_buttons(message: dict) -> list[str]:
    """The "how did it feel" buttons under a /log reply (the rest timer and plates rows are beside them)."""
    return [data for _, data in buttons(message) if data.startswith("felt:")]


async def _answer(bot: RunningBot, person: Person, *, day: int, effect: str, advice: str) -> int:
    """A check-in answer as the check-in module stores it (a leaf: advice and effect)."""
    async with bot.app.services.db.session() as session:
        enrollment = await courses.current_enrollment(session=session, chat_id=person.chat_id)
        answer = CheckinAnswer(
            enrollment_id=enrollment.id,
            chat_id=person.chat_id,
            user_id=person.chat_id,
            day=day,
            node="felt-where",
            option="lower-back" if effect == "regress" else "hams-glutes",
            advice=advice,
            effect=effect,
            answered_at=bot.clock.now(),
        )
        session.add(answer)
        await session.flush()
        return answer.id


async def test_log_marks_how_it_felt_and_advice_follows_the_rules(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    [saved] = await alex.say("/log rdl 35 3x12")
    assert "Logged <b>Romanian deadlift</b>: 3 × 12 at 35 lb." in saved["text"]
    assert "0 of 2 so far" in saved["text"] and "How did it feel?" in saved["text"]
    clean, back = felt_buttons(saved)
    assert clean.endswith(":clean") and back.endswith(":regress")
    [noted] = await alex.press(saved, clean)
    assert "Noted." in noted["text"] and "1 of 2 so far" in noted["text"]

    await running_bot.at(clock.now() + timedelta(days=2))
    [saved] = await alex.say("/log Romanian deadlift 35lb 3x12")
    [noted] = await alex.press(saved, felt_buttons(saved)[0])
    assert "add 5-10 lb next time, so 40 lb to 45 lb" in noted["text"]

    await running_bot.at(clock.now() + timedelta(days=2))
    [saved] = await alex.say("/log rdl 45 3x10")
    [noted] = await alex.press(saved, felt_buttons(saved)[1])
    assert "stay at 45 lb or drop to 35 lb" in noted["text"] and "dowel rod hinge" in noted["text"]


async def test_progress_sends_a_chart_with_a_two_line_summary(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    [empty] = await alex.say("/progress")
    assert "Nothing logged yet" in empty["text"]
    for weight in (35, 40, 45):
        await alex.say(f"/log rdl {weight} 3x12")
        await running_bot.at(clock.now() + timedelta(days=3))
    await alex.say("/log kb rdl 16kg 3x12")

    [chart] = await alex.say("/progress rdl")
    width, height = png_size(chart["_file_bytes"])
    assert width >= 600 and 20_000 <= len(chart["_file_bytes"]) <= 300_000
    summary, advice = chart["caption"].split("\n")
    assert summary == "<b>Romanian deadlift</b>: top set from 35 lb to 45 lb; sessions since 1 Jun: 3."
    assert "Stay at 45 lb" in advice

    [latest] = await alex.say("/progress")
    assert latest["caption"].startswith("<b>Kettlebell RDL</b>: top set from 35.3 lb to 35.3 lb")
    [none_yet] = await alex.say("/progress deadlift")
    assert "haven't logged <b>Deadlift</b>" in none_yet["text"]
    [unknown] = await alex.say("/progress zumba <b>")
    assert "zumba &lt;b&gt;" in unknown["text"]


async def test_malformed_lines_get_an_example_and_unknown_names_get_choices(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    [help_text] = await alex.say("/log")
    assert "<code>/log deadlift 135x5x3</code>" in help_text["text"]
    [no_reps] = await alex.say("/log rdl 35")
    assert "<code>/log rdl 35 3x12</code>" in no_reps["text"]
    [guess] = await alex.say("/log pulses 3x20")
    assert 'I don\'t know the exercise "pulses"' in guess["text"]
    [(label, data)] = buttons(guess)
    assert label == "Glute pulses" and data.startswith("lg:") and data.endswith(":glute-pulses")
    [saved] = await alex.press(guess, data)
    assert "Logged <b>Glute pulses</b>: 3 × 20 at body weight." in saved["text"]
    await alex.say("/log deadlift 135x5x3")

    [undone] = await alex.say("/undo")
    assert "Removed your last line: Deadlift, 3 × 5 at 135 lb." in undone["text"]
    [undone] = await alex.say("/undo")
    assert "Glute pulses" in undone["text"]
    [empty] = await alex.say("/undo")
    assert "nothing to undo" in empty["text"]


async def test_units_from_settings_and_explicit_units_win(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard(profile="lifter")
    [menu] = await alex.say("/settings")
    assert ("⚖️ Log in kg", "units:kg") in buttons(menu)
    [saved] = await alex.press(menu, "units:kg")
    assert "<b>kg</b>" in saved["text"]
    [logged] = await alex.say("/log rdl 20 3x10")
    assert "3 × 10 at 20 kg" in logged["text"] and "2.5-5 kg" in logged["text"]
    [logged] = await alex.say("/log rdl 45lb 3x10")
    assert "3 × 10 at 45 lb" in logged["text"]
    [question] = await alex.say("/units")
    assert "Now: <b>kg</b>" in question["text"]
    [saved] = await alex.say("/units lbs")
    assert "<b>lb</b>" in saved["text"]


async def test_a_check_in_answer_of_the_same_day_links_to_the_log_whichever_comes_first(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard(profile="lifter")
    [saved] = await alex.say("/log rdl 35 3x12")
    assert felt_buttons(saved), "no check-in yet: the person can mark how it felt"
    answer_id = await _answer(running_bot, alex, day=1, effect="regress", advice="back-rounding")
    [chart] = await alex.say("/progress")
    assert "drop to 30 lb" in chart["caption"]
    async with running_bot.app.services.db.session() as session:
        entry = await session.scalar(select(LogEntry))
    assert (entry.day, entry.checkin_answer_id) == (1, answer_id)

    [saved] = await alex.say("/log kb rdl 16kg 3x12")
    assert not felt_buttons(saved), "the day's check-in already says how it felt"
    assert "dowel rod hinge" in saved["text"]


async def test_weekly_check_in_is_opt_in_and_comes_once_a_week(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    app = running_bot.app
    [job] = app.job_queue.get_jobs_by_name("weekly-checkin")
    assert job.trigger.interval == timedelta(hours=1)
    assert "/weekly" in graduation_text(app.services.content)

    [state] = await alex.say("/weekly")
    assert "<b>off</b>" in state["text"] and buttons(state) == [("Turn it on", "weekly:on")]
    [on] = await alex.press(state, "weekly:on")
    assert "<b>on</b>" in on["text"]
    await alex.say("/log rdl 35 3x12")
    assert await preferences.send_weekly(app.bot, app.services) == 0

    await running_bot.at(clock.now() + timedelta(days=7))
    assert await preferences.send_weekly(app.bot, app.services) == 1
    nudge = alex.messages[-1]["text"]
    assert "Weekly check-in" in nudge and "Your last line: <b>Romanian deadlift</b>, 3 × 12 at 35 lb" in nudge
    assert await preferences.send_weekly(app.bot, app.services) == 0, "once a week, not once a tick"

    [off] = await alex.say("/weekly off")
    assert "<b>off</b>" in off["text"]
    await running_bot.at(clock.now() + timedelta(days=8))
    assert await preferences.send_weekly(app.bot, app.services) == 0


async def test_a_shortened_course_day_shortens_the_week(telegram, sqlite_url, clock):
    bot = RunningBot(make_settings(telegram, sqlite_url, course_day_seconds=60), clock)
    await bot.start()
    try:
        sam = Person(telegram, 2002, "Sam", bot)
        await sam.say("/weekly on")
        assert preferences.weekly_interval(bot.settings) == 2.5
        await bot.at(clock.now() + timedelta(minutes=7))
        assert await preferences.send_weekly(bot.app.bot, bot.app.services) == 1
        assert "Nothing logged yet" in sam.messages[-1]["text"]
    finally:
        await bot.stop()
