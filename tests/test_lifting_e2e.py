"""End to end over the fake Bot API: effort, e1RM and records in the log, /records, /plates, the
rest timer on the database-backed delivery, the Hevy CSV out and in, and forged button data."""

import asyncio
import csv
import io
from datetime import timedelta

from sqlalchemy import func, select

from bot.domain.tracker_csv import MAX_CSV_BYTES
from bot.storage.models import LogEntry, PendingLog, ScheduledMessage
from tests.conftest import Person, RunningBot, buttons, make_settings


async def _count(bot: RunningBot, model, **where) -> int:
    async with bot.app.services.db.session() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return await session.scalar(query)


async def _kg_person(bot: RunningBot, telegram, user_id: int = 1001, name: str = "Alex") -> Person:
    person = Person(telegram, user_id, name, bot)
    await person.say("/units kg")
    return person


# ----------------------------------------------------------------------------- effort, e1RM, records


async def test_effort_e1rm_and_records_in_the_log_reply(running_bot, telegram, clock):
    alex = await _kg_person(running_bot, telegram)
    [first] = await alex.say("/log rdl 100x5 @8")
    assert "3 × 5" not in first["text"] and "1 × 5 at 100 kg. Effort: RPE 8." in first["text"]
    assert "Estimated 1RM: <b>123.3 kg</b>" in first["text"]  # Epley with 2 reps in reserve
    assert "New record" not in first["text"], "a first session is the baseline"

    await running_bot.at(clock.now() + timedelta(days=2))
    [second] = await alex.say("/log rdl 105 5,5,4 @8.5")
    assert "Logged <b>Romanian deadlift</b>: 5 @8.5, 5 @8.5, 4 @8.5 reps at 105 kg." in second["text"]
    assert "🏆 New record!" in second["text"] and "105 kg for 5 reps" in second["text"]
    assert "best estimated 1RM 127.8 kg" in second["text"] and "most volume in a session, 1,470 kg" in second["text"]
    async with running_bot.app.services.db.session() as session:
        rows = (await session.execute(select(LogEntry).order_by(LogEntry.id))).scalars().all()
    assert [(r.sets, r.reps, r.rpe) for r in rows] == [(1, 5, 8.0), (2, 5, 8.5), (1, 4, 8.5)]
    assert rows[1].line == rows[2].line == rows[1].id and rows[0].line == rows[0].id

    await running_bot.at(clock.now() + timedelta(days=2))
    [grind] = await alex.say("/log rdl 110 3x3 @10")
    assert "RPE 10 is close to your limit" in grind["text"] and "stay at 110 kg" in grind["text"]

    [records] = await alex.say("/records rdl")
    text = records["text"]
    assert "🏆 <b>Romanian deadlift</b>" in text
    assert "Heaviest for 3 reps: 110 kg" in text and "Heaviest for 5 reps: 105 kg" in text
    assert "Best estimated 1RM: 127.8 kg" in text and "Epley" in text

    [undone] = await alex.say("/undo")
    assert "Removed your last line: Romanian deadlift, 3 × 3 at 110 kg." in undone["text"]
    [undone] = await alex.say("/undo")
    assert "5 @8.5, 5 @8.5, 4 @8.5 reps at 105 kg" in undone["text"], "the whole line goes, all its rows"
    assert await _count(running_bot, LogEntry) == 1


async def test_records_and_progress_show_the_e1rm(running_bot, telegram, clock):
    alex = await _kg_person(running_bot, telegram)
    [empty] = await alex.say("/records")
    assert "No records yet" in empty["text"]
    for weight in (100, 105, 110):
        await alex.say(f"/log deadlift {weight} 3x5")
        await running_bot.at(clock.now() + timedelta(days=3))
    await alex.say("/log bridge 3x15")
    [records] = await alex.say("/records")
    assert "<b>Deadlift</b>" in records["text"] and "<b>Glute bridge</b>" in records["text"]
    assert "Most reps in a session: 45" in records["text"]
    [unknown] = await alex.say("/records zumba")
    assert 'I don\'t know the exercise "zumba"' in unknown["text"]
    [chart] = await alex.say("/progress deadlift")
    assert chart["_file_bytes"].startswith(b"\x89PNG")


async def test_refused_numbers_are_explained_and_nothing_is_stored(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    [minus] = await alex.say("/log rdl -20 3x12")
    assert "minus sign or a dash" in minus["text"] and "<code>/log rdl 20 3x12</code>" in minus["text"]
    [unicode_minus] = await alex.say("/log rdl −20 3x12")
    assert "minus sign" in unicode_minus["text"]
    [superscript] = await alex.say("/log rdl 2⁰ 3x12")
    assert "digits 0-9" in superscript["text"]
    [effort] = await alex.say("/log rdl 100 3x8 rpe 11")
    assert "RPE 1-10" in effort["text"] and "1-20 sets, 1-100 reps" in effort["text"]
    assert await _count(running_bot, LogEntry) == 0


async def test_forged_did_you_mean_buttons_store_nothing(running_bot, telegram):
    alex, sam = Person(telegram, 1001, "Alex", running_bot), Person(telegram, 1002, "Sam", running_bot)
    [guess] = await alex.say("/log pulses 22.5kg 3x20")
    [(_, honest)] = buttons(guess)
    pending = honest.split(":")[1]
    forged = [
        "lg:glute-pulses:4.5e31:kg:3:20",  # the old format carried the numbers: no longer accepted
        "lg:glute-pulses:-20:kg:3:20",
        "lg:glute-pulses:35:kg:0:20",
        "lg:glute-pulses:35:kg:10000:20",
        "lg:99999999999999999999:glute-pulses",  # an id out of range
        "lg:¹²:glute-pulses",  # superscript digits
        f"lg:{pending}:not-an-exercise",
    ]
    for data in forged:
        await alex.press(guess, data, expect=0)
    await sam.press(guess, honest, expect=0)  # someone else's waiting line: refused at the gate, a toast

    def gone() -> int:
        return sum("no longer waiting" in m.get("text", "") for m in alex.messages)

    await telegram.wait_for(lambda: gone() == 1)  # the forged exercise; the rest get a toast
    assert await _count(running_bot, LogEntry) == 0
    assert await _count(running_bot, PendingLog) == 1, "the honest line still waits"

    [saved] = await alex.press(guess, honest)
    assert "Logged <b>Glute pulses</b>: 3 × 20 at 22.5 kg." in saved["text"]
    [again] = await alex.press(guess, honest)
    assert "no longer waiting" in again["text"], "a second tap logs nothing more"
    assert await _count(running_bot, LogEntry) == 1 and await _count(running_bot, PendingLog) == 0


# ----------------------------------------------------------------------------- /plates


async def test_plates_for_a_load_the_bar_and_the_button_under_a_log(running_bot, telegram, clock):
    alex = await _kg_person(running_bot, telegram)
    [exact] = await alex.say("/plates 142.5")
    assert "🏋 <b>142.5 kg</b> on a 20 kg bar, per side: 25 + 25 + 10 + 1.25" in exact["text"]
    [pounds] = await alex.say("/plates 315 lb")
    assert "<b>315 lb</b> on a 45 lb bar, per side: 45 + 45 + 45" in pounds["text"]
    [near] = await alex.say("/plates 143")
    assert "can't be made exactly" in near["text"]
    assert "<b>142.5 kg</b>" in near["text"] and "<b>145 kg</b>, per side: 25 + 25 + 10 + 2.5" in near["text"]
    [light] = await alex.say("/plates 15")
    assert "less than your 20 kg bar" in light["text"]
    [bar] = await alex.say("/plates bar 15")
    assert "your bar weighs <b>15 kg</b>" in bar["text"]
    [women_bar] = await alex.say("/plates 142.5")
    assert "on a 15 kg bar, per side: 25 + 25 + 10 + 2.5 + 1.25" in women_bar["text"]
    [help_text] = await alex.say("/plates")
    assert "Your bar: <b>15 kg</b>" in help_text["text"]
    for bad in ("/plates -100", "/plates 4.5e31", "/plates 100 stone", "/plates bar 99", "/plates ２００"):
        [refused] = await alex.say(bad)
        assert "couldn't read that as a weight" in refused["text"], bad

    await alex.say("/log rdl 60 3x8")
    await running_bot.at(clock.now() + timedelta(days=1))
    [saved] = await alex.say("/log rdl 60 3x8")
    [noted] = await alex.press(saved, next(d for _, d in buttons(saved) if d.startswith("felt:")))
    await running_bot.at(clock.now() + timedelta(days=1))
    [saved] = await alex.say("/log rdl 60 3x8")
    labels = dict((data, label) for label, data in buttons(saved))
    assert labels.get("pl:60:kg") == "🏋 Plates for 60 kg"
    [loaded] = await alex.press(saved, "pl:60:kg")
    assert "<b>60 kg</b> on a 15 kg bar, per side: 20 + 2.5" in loaded["text"]

    [forged] = await alex.press(saved, "pl:99999:kg")  # the same bounds as typed
    assert "couldn't read that as a weight" in forged["text"]
    seen = len(alex.messages)
    for data in ("pl:4.5e31:kg", "pl:-60:kg", "pl:60:stone", "pl:６０:kg"):  # not even read: an expired-button toast
        await alex.press(saved, data, expect=0)
    assert len(alex.messages) == seen


# ----------------------------------------------------------------------------- /rest


async def _times_up(telegram, person: Person, count: int = 1) -> list[dict]:
    await telegram.wait_for(lambda: sum("Time's up" in m.get("text", "") for m in person.messages) >= count)
    return [m for m in person.messages if "Time's up" in m.get("text", "")]


async def test_rest_timer_sends_times_up_once_and_can_be_stopped(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    [started] = await alex.say("/rest 90s")
    assert "Rest: <b>1:30</b>" in started["text"] and buttons(started) == [("✖️ Stop the timer", "rest:off")]
    async with running_bot.app.services.db.session() as session:
        [timer] = (await session.execute(select(ScheduledMessage))).scalars().all()
    assert (timer.kind, timer.seconds, timer.due_at) == ("rest", 90, clock.now() + timedelta(seconds=90))
    clock.advance(seconds=89)
    await asyncio.sleep(0.3)  # several timer ticks: nothing is due yet
    assert not any("Time's up" in m.get("text", "") for m in alex.messages)
    clock.advance(seconds=2)
    [over] = await _times_up(telegram, alex)
    assert "your 1:30 rest is over" in over["text"]
    assert [d for _, d in buttons(over)] == ["rest:90", "rest:180", "rest:300"]
    sends = [await running_bot.app.services.delivery.timers.send_due(running_bot.app.bot) for _ in range(5)]
    assert sends == [0] * 5 and len(await _times_up(telegram, alex)) == 1

    [again] = await alex.press(over, "rest:180")
    assert "<b>3:00</b>" in again["text"]
    [replaced] = await alex.say("/rest 2:30")  # a new rest replaces the running one
    assert await _count(running_bot, ScheduledMessage, status="pending") == 1
    [stopped] = await alex.press(replaced, "rest:off")
    assert "Timer stopped." in stopped["text"]
    [nothing] = await alex.say("/rest off")
    assert "No rest timer is running" in nothing["text"]
    clock.advance(minutes=10)
    await asyncio.sleep(0.3)
    assert len(await _times_up(telegram, alex)) == 1

    [usage] = await alex.say("/rest 16m")
    assert "from 0:10 to 15:00" in usage["text"]
    for forged in ("rest:999", "rest:0", "rest:5", "rest:-90", "rest:9e9", "rest:¹²"):
        await alex.press(over, forged, expect=0)
    assert await _count(running_bot, ScheduledMessage, status="pending") == 0


async def test_a_rest_timer_survives_a_restart(telegram, database_url, clock):
    bot = RunningBot(make_settings(telegram, database_url), clock)
    await bot.start()
    alex = Person(telegram, bot=bot)
    try:
        await alex.say("/rest 3m")
        [saved] = await alex.say("/log rdl 35 3x12")
        assert ("⏱ 5:00", "rest:300") in buttons(saved)
    finally:
        await bot.stop()
    clock.advance(minutes=4)
    await bot.start()
    try:
        [over] = await _times_up(telegram, alex)
        assert "3:00 rest is over" in over["text"]
        timers = bot.app.services.delivery.timers
        assert await asyncio.gather(*(timers.send_due(bot.app.bot) for _ in range(10))) == [0] * 10
        assert len(await _times_up(telegram, alex)) == 1
        assert await _sent_timers(bot) == 1
    finally:
        await bot.stop()


async def test_a_timer_claimed_by_a_dead_process_goes_out_after_the_lease(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    lease = timedelta(seconds=running_bot.settings.delivery_lease_seconds)
    async with running_bot.app.services.db.session() as session:
        session.add(
            ScheduledMessage(
                chat_id=alex.chat_id,
                kind="rest",
                seconds=120,
                due_at=clock.now() - timedelta(minutes=1),
                status="sending",
                attempts=1,
                claimed_by="gone:1:abc",
                claimed_at=clock.now() - timedelta(minutes=1),
            )
        )
    await asyncio.sleep(0.3)
    assert not await _times_up_count(alex), "a live claim is left alone"
    clock.advance(seconds=lease.total_seconds())
    [over] = await _times_up(telegram, alex)
    assert "2:00 rest is over" in over["text"]
    assert await _sent_timers(running_bot) == 1


async def _sent_timers(bot: RunningBot) -> int:
    """Timers recorded as sent, once the outcome of the send in flight (written just after it) is in."""
    for _ in range(100):
        if not await _count(bot, ScheduledMessage, status="sending"):
            break
        await asyncio.sleep(0.02)
    return await _count(bot, ScheduledMessage, status="sent")


async def _times_up_count(person: Person) -> int:
    return sum("Time's up" in m.get("text", "") for m in person.messages)


# ----------------------------------------------------------------------------- CSV


async def test_export_csv_then_import_it_elsewhere(running_bot, telegram, clock):
    alex = await _kg_person(running_bot, telegram)
    await alex.say("/log rdl 100 8,8,7 @8.5")
    await alex.say("/log bridge 3x15")
    await running_bot.at(clock.now() + timedelta(days=2))
    await alex.say("/log deadlift 140kg 3x5 rir 2")
    [document] = await alex.say("/export csv")
    assert document["document"]["file_name"] == "hinge-coach-log.csv" and "9 sets" in document["caption"]
    rows = list(csv.DictReader(io.StringIO(document["_file_bytes"].decode())))
    assert [(r["exercise_title"], r["set_index"], r["weight_kg"], r["reps"], r["rpe"]) for r in rows] == [
        ("Romanian Deadlift (Barbell)", "0", "100", "8", "8.5"),
        ("Romanian Deadlift (Barbell)", "1", "100", "8", "8.5"),
        ("Romanian Deadlift (Barbell)", "2", "100", "7", "8.5"),
        ("Glute Bridge", "0", "", "15", ""),
        ("Glute Bridge", "1", "", "15", ""),
        ("Glute Bridge", "2", "", "15", ""),
        ("Deadlift (Barbell)", "0", "140", "5", "8"),
        ("Deadlift (Barbell)", "1", "140", "5", "8"),
        ("Deadlift (Barbell)", "2", "140", "5", "8"),
    ]
    assert rows[0]["start_time"] == "01 Jun 2026, 04:00" and rows[-1]["start_time"] == "03 Jun 2026, 04:00"

    [nothing_new] = await alex.say_file("hinge-coach-log.csv", document["_file_bytes"])
    assert "Nothing in that file was new" in nothing_new["text"] and "9 sets of exercises" in nothing_new["text"]

    sam = Person(telegram, 1002, "Sam", running_bot)
    extra = b'Legs,"05 Jun 2026, 07:00","05 Jun 2026, 08:00",,Bench Press (Barbell),,,0,normal,80,5,,,\n'
    extra += b'Legs,"05 Jun 2026, 07:00","05 Jun 2026, 08:00",,Deadlift (Barbell),,,0,warmup,60,5,,,\n'
    [imported] = await sam.say_file("from-hevy.csv", document["_file_bytes"] + extra)
    text = imported["text"]
    assert "Imported <b>9</b> sets of Deadlift, Glute bridge, Romanian deadlift." in text
    assert "Bench Press (Barbell) (1)" in text and "1 warm-up set." in text
    assert await _count(running_bot, LogEntry, user_id=1002) == 4  # rows: 8,8 / 7 / bridge / deadlift
    [records] = await sam.say("/records deadlift")
    assert "Heaviest for 5 reps: 308.6 lb (3 Jun)" in records["text"]  # 140 kg, in Sam's pounds


async def test_a_bad_or_oversized_file_imports_nothing(running_bot, telegram):
    alex = await _kg_person(running_bot, telegram)
    header = b"title,start_time,end_time,description,exercise_title,superset_id,exercise_notes,set_index,set_type,"
    header += b"weight_kg,reps,distance_km,duration_seconds,rpe\n"
    good = b'Legs,"01 Jun 2026, 07:00","01 Jun 2026, 08:00",,Deadlift (Barbell),,,0,normal,100,5,,,\n'
    bad = b'Legs,"02 Jun 2026, 07:00","02 Jun 2026, 08:00",,Deadlift (Barbell),,,0,normal,-100,5,,,\n'
    [refused] = await alex.say_file("log.csv", header + good * 50 + bad)
    assert "Line 52 of the file has a value I can't use in <code>weight_kg</code>" in refused["text"]
    assert "Nothing was imported" in refused["text"]
    [no_header] = await alex.say_file("log.csv", b"date;exercise;kg\n2026-06-01;deadlift;100\n")
    assert "columns of a Hevy CSV export" in no_header["text"]
    [binary] = await alex.say_file("log.csv", b"\xff\xd8\xff\xe0 a photo")
    assert "as text (UTF-8)" in binary["text"]
    fetched = sum(call.method == "getFile" for call in telegram.calls)
    [announced] = await alex.say_file("log.csv", header + good, file_size=MAX_CSV_BYTES + 1)
    assert "up to 1,000 KB" in announced["text"]
    assert sum(call.method == "getFile" for call in telegram.calls) == fetched, "refused before downloading"
    [actual] = await alex.say_file("log.csv", header + good * (MAX_CSV_BYTES // len(good) + 1), file_size=100)
    assert "Nothing was imported" in actual["text"]
    assert await _count(running_bot, LogEntry) == 0


def test_the_new_buttons_fit_telegram():
    """Labels short enough for a phone, callback data within 64 bytes, at their widest values."""
    from bot.app import CONTENT_DIR
    from bot.content import load_content
    from bot.domain.rest import MAX_REST_SECONDS
    from bot.keyboards import plates_button, rest_row

    texts = load_content(CONTENT_DIR).texts
    widest = [plates_button(texts, 1102.5, "lb"), *rest_row(texts)]
    labels = [button.text for button in widest] + [texts.rest_cancel_button]
    assert all(len(label) <= 32 for label in labels), labels
    assert all(len(button.callback_data.encode()) <= 64 for button in widest)
    assert len(f"rest:{MAX_REST_SECONDS}".encode()) <= 64
