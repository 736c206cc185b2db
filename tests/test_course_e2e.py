"""End to end: the real Application over HTTP against the fake Bot API, with a hand-moved clock."""

from datetime import UTC, datetime, timedelta

from tests.conftest import FakeClock, Person, RunningBot, buttons, lesson_days, make_settings


def berlin_7am(day_of_june: int) -> datetime:
    return datetime(2026, 6, day_of_june, 5, 0, tzinfo=UTC)  # 07:00 CEST


async def test_a_person_gets_each_lesson_once_in_order_at_their_local_time(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    welcome, question = await alex.say("/start", expect=2)
    assert "Hinge Coach" in welcome["text"] and "not medical advice" in welcome["text"].lower()
    assert [data for _, data in buttons(question)] == ["onb:profile:runner", "onb:profile:lifter", "onb:profile:both"]
    [ask_time] = await alex.press(question, "onb:profile:runner")
    assert ("07:00", "onb:time:07:00") in buttons(ask_time)
    [ask_zone] = await alex.say("7am")
    [sent] = [c for c in telegram.calls if c.method == "sendMessage" and c.params["text"] == ask_zone["text"]]
    assert sent.params["reply_markup"]["keyboard"][0][0]["request_location"] is True
    done, day1 = await alex.say("Berlin", expect=2)
    assert "07:00" in done["text"] and "Europe/Berlin" in done["text"]
    assert lesson_days([day1]) == [1]
    assert "For runners" in day1["text"] and "For lifters" not in day1["text"]

    for day in range(2, 8):
        await running_bot.at(berlin_7am(day) - timedelta(seconds=1))
        await running_bot.tick()
        assert lesson_days(alex.messages)[-1] == day - 1, "a lesson came early"
        await running_bot.at(berlin_7am(day))
        [lesson] = await alex.expect(1)
        assert lesson_days([lesson]) == [day]

    await running_bot.at(berlin_7am(8))
    [graduation] = await alex.expect(1)
    assert "finished the course" in graduation["text"] and "Month 3" in graduation["text"]
    await running_bot.at(berlin_7am(20))
    await running_bot.tick()
    assert lesson_days(alex.messages) == [1, 2, 3, 4, 5, 6, 7]
    assert alex.messages[-1] == graduation


async def test_commands_are_registered_at_start_up(running_bot, telegram):
    calls = [c for c in telegram.calls if c.method == "setMyCommands"]
    assert calls and {"today", "pause", "resume", "settings", "restart", "stop", "help"} <= {
        c["command"] for c in calls[-1].params["commands"]
    }


async def test_pause_freezes_and_resume_continues_at_the_next_slot_without_a_burst(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    [paused] = await alex.say("/pause")
    assert "Paused on day 1" in paused["text"]
    [again] = await alex.say("/pause")
    assert "already paused" in again["text"]
    await running_bot.at(berlin_7am(4))
    await running_bot.tick()
    assert lesson_days(alex.messages) == [1]

    await running_bot.at(datetime(2026, 6, 5, 4, 0, tzinfo=UTC))  # 06:00 in Berlin, three days on
    [resumed] = await alex.say("/resume")
    assert "Day 2 arrives today at 07:00" in resumed["text"]
    await running_bot.tick()
    assert lesson_days(alex.messages) == [1]
    await running_bot.at(berlin_7am(5))
    await alex.expect(1)
    await running_bot.at(berlin_7am(6))
    await alex.expect(1)
    assert lesson_days(alex.messages) == [1, 2, 3]
    [not_paused] = await alex.say("/resume")
    assert "isn't paused" in not_paused["text"]


async def test_today_resends_the_current_lesson_without_moving_the_course(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard(profile="lifter")
    [resent] = await alex.say("/today")
    assert lesson_days([resent]) == [1] and "For lifters" in resent["text"]
    await running_bot.at(berlin_7am(2))
    await alex.expect(1)
    [resent] = await alex.say("/today")
    assert lesson_days(alex.messages) == [1, 1, 2, 2]


async def test_restart_asks_first_then_starts_over_at_day_one(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    await running_bot.at(berlin_7am(2))
    await alex.expect(1)
    await running_bot.settle()
    [confirm] = await alex.say("/restart")
    assert "day 2" in confirm["text"]
    await alex.press(confirm, "restart:no", expect=0)
    await telegram.wait_for(lambda: "nothing changed" in alex.messages[-1]["text"])
    [confirm] = await alex.say("/restart")
    [day1] = await alex.press(confirm, "restart:yes")
    assert lesson_days([day1]) == [1]
    await running_bot.at(berlin_7am(3))
    [day2] = await alex.expect(1)
    assert lesson_days([day2]) == [2]


async def test_settings_change_moves_the_next_lesson(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    [menu] = await alex.say("/settings")
    assert "07:00" in menu["text"] and "Europe/Berlin" in menu["text"]
    [ask] = await alex.press(menu, "set:time")
    [saved] = await alex.say("18:30")
    assert "tomorrow at 18:30" in saved["text"]
    [ask] = await alex.press(menu, "set:timezone")
    [saved] = await alex.say("New York")
    assert "tomorrow at 18:30" in saved["text"]
    await running_bot.at(berlin_7am(2))
    await running_bot.tick()
    assert lesson_days(alex.messages) == [1]
    await running_bot.at(datetime(2026, 6, 2, 22, 30, tzinfo=UTC))  # 18:30 in New York (EDT)
    [day2] = await alex.expect(1)
    assert lesson_days([day2]) == [2]


async def test_bad_input_gets_a_clear_reply_and_loses_nothing(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    [reply] = await alex.say("hello?")
    assert "/start" in reply["text"]
    _, question = await alex.say("/start", expect=2)
    [again] = await alex.say("lifter please")  # typed instead of a button: the buttons come back
    assert buttons(again) == buttons(question)
    await alex.press(question, "onb:profile:lifter")
    [bad_time] = await alex.say("25:00")
    assert "couldn't read" in bad_time["text"] and "25:00" in bad_time["text"]
    await alex.say("6:30")
    [bad_zone] = await alex.say("Atlantis <script>")
    assert "Atlantis &lt;script&gt;" in bad_zone["text"]
    [choice] = await alex.say("Portland")
    assert ("onb:tz:America/Los_Angeles") in [d for _, d in buttons(choice)]
    done, day1 = await alex.press(choice, "onb:tz:America/Los_Angeles", expect=2)
    assert "06:30" in done["text"] and "America/Los_Angeles" in done["text"]
    [unknown] = await alex.say("/dance")
    assert "/dance" in unknown["text"] and "/help" in unknown["text"]
    seen = len(alex.messages)
    telegram.push_update(
        {
            "message": {
                "message_id": 999,
                "date": 0,
                "chat": {"id": alex.chat_id, "type": "private"},
                "from": alex.user,
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "s",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                },
            }
        }
    )
    [sticker_reply] = await alex.expect(1, after=seen)
    assert "/help" in sticker_reply["text"]
    update = telegram.press_button(alex.user, day1, "made-up:data")
    await telegram.wait_for(lambda: update["callback_query"]["id"] in telegram.callback_answers)
    assert "expired" in telegram.callback_answers[update["callback_query"]["id"]]["text"]
    [help_text] = await alex.say("/help")
    assert "/pause" in help_text["text"]


async def test_start_again_keeps_progress_and_stop_then_start_comes_back(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()
    await running_bot.at(berlin_7am(2))
    await alex.expect(1)
    [known] = await alex.say("/start")
    assert "day 2 of 7" in known["text"]
    [stopped] = await alex.say("/stop")
    assert "unsubscribed" in stopped["text"]
    await running_bot.at(berlin_7am(4))
    await running_bot.tick()
    assert lesson_days(alex.messages) == [1, 2]
    await running_bot.at(datetime(2026, 6, 4, 9, 0, tzinfo=UTC))
    [back] = await alex.say("/start")
    assert "day 2 of 7" in back["text"]
    await running_bot.at(berlin_7am(5))
    await alex.expect(1)
    assert lesson_days(alex.messages) == [1, 2, 3]


async def test_a_location_shared_during_onboarding_sets_the_zone(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    _, question = await alex.say("/start", expect=2)
    await alex.press(question, "onb:profile:both")
    await alex.say("07:00")
    seen = len(alex.messages)
    telegram.share_location(alex.user, -33.87, 151.21)
    done, day1 = await alex.expect(2, after=seen)
    assert "Australia/Sydney" in done["text"]
    assert done["reply_markup"] is None or "remove_keyboard" in done["reply_markup"]


async def test_restarts_and_downtime_send_each_lesson_once_and_never_a_burst(telegram, database_url, clock):
    settings = make_settings(telegram, database_url)
    bot = RunningBot(settings, clock)
    alex = Person(telegram, bot=bot)
    await bot.start()
    try:
        await alex.onboard()
        await bot.settle()
    finally:
        await bot.stop()

    clock.set(berlin_7am(2))  # day 2 falls due while the bot is down
    await bot.start()
    try:
        await alex.expect(1)
        await bot.tick()
        await bot.settle()
    finally:
        await bot.stop()
    assert lesson_days(alex.messages) == [1, 2]

    clock.set(datetime(2026, 6, 6, 10, 0, tzinfo=UTC))  # down for days 3, 4 and 5
    await bot.start()
    try:
        await alex.expect(1)
        await bot.tick()
        assert lesson_days(alex.messages) == [1, 2, 3], "catch-up sends one lesson, not a burst"
        await bot.at(berlin_7am(7))
        await alex.expect(1)
        await bot.tick()
    finally:
        await bot.stop()
    assert lesson_days(alex.messages) == [1, 2, 3, 4]


async def test_two_people_in_different_zones_each_get_their_own_time(running_bot, telegram, clock):
    alex, sam = Person(telegram, 1001, "Alex", running_bot), Person(telegram, 1002, "Sam", running_bot)
    await alex.onboard(zone="Berlin")
    await sam.onboard(time="6am", zone="Tokyo")
    await running_bot.at(datetime(2026, 6, 1, 21, 0, tzinfo=UTC))  # 06:00 on 2 June in Tokyo, 23:00 in Berlin
    await sam.expect(1)
    await running_bot.tick()
    assert lesson_days(alex.messages) == [1] and lesson_days(sam.messages) == [1, 2]
    await running_bot.at(berlin_7am(2))
    await alex.expect(1)


def test_fake_clock_moves_only_when_told():
    clock = FakeClock()
    start = clock.now()
    assert clock.advance(hours=1) - start == timedelta(hours=1)
