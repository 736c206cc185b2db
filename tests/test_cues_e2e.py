"""End to end: /cue, /drill, topic buttons and inline mode through the fake Bot API."""

from bot.demo.fake_telegram import FakeBotApi
from bot.storage import courses
from bot.storage.models import CheckinAnswer
from tests.conftest import Person, buttons

TOPIC_BUTTONS = [f"cue:topic:{t}" for t in ("down", "up", "brace", "back", "knees", "glutes", "running")]
BRACE_PUNCH = "Brace as if someone is about to punch you in the stomach."


async def said_in(telegram: FakeBotApi, chat_id: int, text: str, *, user: dict, thread: int | None = None) -> dict:
    """Send a message in a group and return the bot's next message there."""
    seen = len(telegram.messages_to(chat_id))
    telegram.send_text(user, text, chat=telegram.add_chat(chat_id, "supergroup", "Club"), message_thread_id=thread)
    messages = await telegram.wait_for_messages(chat_id, seen + 1)
    return messages[seen]


async def test_cue_with_words_in_private_finds_the_best_cues_despite_typos(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    [found] = await alex.say("/cue lower bak")
    text = found["text"]
    assert 'Cues for "lower bak"' in text
    assert text.index(BRACE_PUNCH) < text.index("Keep the bar close.")
    assert "Drills: Brace and breathe" in text
    [fault] = await alex.say("/cue I feel it in my back")
    assert fault["text"].count("<b>") == 4  # the heading and three cues
    assert "Close is light." in fault["text"]


async def test_cue_alone_shows_my_lesson_cues_then_my_latest_check_in_and_the_topics(running_bot, telegram, clock):
    alex = Person(telegram, bot=running_bot)
    [alone] = await alex.say("/cue")
    assert "Pick a topic" in alone["text"] and "Your cues" not in alone["text"]
    assert [data for _, data in buttons(alone)] == TOPIC_BUTTONS

    await alex.onboard()
    [mine] = await alex.say("/cue")
    assert "Your cues for day 1" in mine["text"]
    assert "Send your hips back." in mine["text"] and "Press through your whole foot." in mine["text"]
    assert "last check-in" not in mine["text"]
    assert [data for _, data in buttons(mine)] == TOPIC_BUTTONS

    async with running_bot.app.services.db.session() as session:
        enrollment = await courses.current_enrollment(session=session, chat_id=alex.chat_id)
        session.add(
            CheckinAnswer(
                enrollment_id=enrollment.id,
                chat_id=alex.chat_id,
                user_id=alex.user["id"],
                day=1,
                node="lower-back-why",
                option="rounded",
                advice="back-rounding",
                effect="regress",
                answered_at=clock.now(),
            )
        )
    [mine] = await alex.say("/cue")
    assert "From your last check-in: Your back took over" in mine["text"]
    assert mine["text"].index("Your cues for day 1") < mine["text"].index(BRACE_PUNCH)
    assert "Go only as low as your back stays flat." in mine["text"]


async def test_a_topic_button_lists_that_topics_cues(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    [menu] = await alex.say("/cue")
    [brace] = await alex.press(menu, "cue:topic:brace")
    assert "Brace and breathe" in brace["text"]
    for cue in ("Breathe in low", "Brace as if", "Breathe in to set up"):
        assert cue in brace["text"]
    [running] = await alex.press(menu, "cue:topic:running")
    assert "Hold a sheet of paper" in running["text"] and "Brace as if" not in running["text"]
    update = telegram.press_button(alex.user, menu, "cue:topic:elbows")
    await telegram.wait_for(lambda: update["callback_query"]["id"] in telegram.callback_answers)
    assert "expired" in telegram.callback_answers[update["callback_query"]["id"]]["text"]


async def test_nothing_found_says_so_and_offers_the_topics(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    [nothing] = await alex.say("/cue asdfghjkl")
    assert 'I found no cue for "asdfghjkl"' in nothing["text"]
    assert [data for _, data in buttons(nothing)] == TOPIC_BUTTONS


async def test_garbage_queries_get_a_clear_answer(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    for garbage in ("🙂🙂", "!!!???", "12345", "<b>bold</b> & <script>"):
        [answer] = await alex.say(f"/cue {garbage}")
        assert "I found no cue" in answer["text"]
    [escaped] = await alex.say("/cue <b>bold</b> & <script>")
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;" in escaped["text"]
    [long] = await alex.say("/cue " + "x" * 4000)
    assert "I found no cue" in long["text"] and len(long["text"]) < 300


async def test_drill_shows_the_card_even_with_a_typo_and_lists_drills_when_unknown(running_bot, telegram):
    alex = Person(telegram, bot=running_bot)
    [card] = await alex.say("/drill wal tap")
    text = card["text"]
    assert text.startswith("<b>Wall tap</b>\nDose: 3 x 15")
    for heading in ("How to", "Common faults", "Cues"):
        assert f"<b>{heading}</b>" in text
    assert "1. Stand facing away from a wall" in text and "Send your hips back." in text
    [unknown] = await alex.say("/drill banana")
    assert 'I don\'t know a drill called "banana"' in unknown["text"] and "• Dowel rod hinge" in unknown["text"]
    [ask] = await alex.say("/drill")
    assert "/drill wall tap" in ask["text"] and "• Kettlebell RDL" in ask["text"]


async def test_inline_mode_lists_matching_cues_to_share(running_bot, telegram):
    user = telegram.user(1001, "Alex")
    query_id = telegram.inline_query(user, "lower bak")["inline_query"]["id"]
    await telegram.wait_for(lambda: query_id in telegram.inline_answers)
    answer = telegram.inline_answers[query_id]
    assert answer["cache_time"] == 300 and answer["is_personal"] is True, "answers are in the asker's language"
    results = answer["results"]
    assert results[0]["id"] == "brace-punch" and results[0]["type"] == "article"
    assert results[0]["title"] == BRACE_PUNCH
    content = results[0]["input_message_content"]
    assert content["parse_mode"] == "HTML" and f"<b>{BRACE_PUNCH}</b>" in content["message_text"]
    assert 1 < len(results) <= 5


async def test_inline_mode_with_nothing_typed_offers_one_cue_per_topic_and_garbage_gets_none(running_bot, telegram):
    user = telegram.user(1001, "Alex")
    empty = telegram.inline_query(user, "")["inline_query"]["id"]
    garbage = telegram.inline_query(user, "🙂🙂 !!!")["inline_query"]["id"]
    await telegram.wait_for(lambda: empty in telegram.inline_answers and garbage in telegram.inline_answers)
    assert [r["id"] for r in telegram.inline_answers[empty]["results"]][:2] == ["hips-back", "whole-foot"]
    assert len(telegram.inline_answers[empty]["results"]) == 7
    assert telegram.inline_answers[garbage]["results"] == []


async def test_cue_works_in_a_group_addressed_to_this_bot(running_bot, telegram):
    alex = telegram.user(1001, "Alex")
    found = await said_in(telegram, -100123, "/cue@HingeCoachBot lower back", user=alex)
    assert BRACE_PUNCH in found["text"]
    seen = len(telegram.messages_to(-100123))
    telegram.send_text(alex, "/cue@SomeOtherBot lower back", chat=telegram.add_chat(-100123, "supergroup", "Club"))
    menu = await said_in(telegram, -100123, "/cue", user=alex)
    assert len(telegram.messages_to(-100123)) == seen + 1, "a command for another bot got an answer"
    assert "Pick a topic" in menu["text"] and "Your cues" not in menu["text"]
    assert [data for _, data in buttons(menu)] == TOPIC_BUTTONS

    update = telegram.press_button(alex, menu, "cue:topic:knees")
    await telegram.wait_for(lambda: update["callback_query"]["id"] in telegram.callback_answers)
    [knees] = (await telegram.wait_for_messages(-100123, seen + 2))[seen + 1 :]
    assert "Knees" in knees["text"] and "Soft knees" in knees["text"]
    card = await said_in(telegram, -100123, "/drill@HingeCoachBot glute brigde", user=alex)
    assert card["text"].startswith("<b>Glute bridge</b>")
    assert telegram.messages_to(alex["id"]) == [], "group answers stay in the group"


async def test_cue_in_a_forum_topic_replies_in_that_topic(running_bot, telegram):
    alex = telegram.user(1001, "Alex")
    forum = telegram.add_chat(-100777, "supergroup", "Forum", is_forum=True)
    telegram.send_text(alex, "/cue@HingeCoachBot hipsback", chat=forum, message_thread_id=42)
    [found] = await telegram.wait_for_messages(-100777, 1)
    assert found["message_thread_id"] == 42 and "Send your hips back." in found["text"]


async def test_cue_and_drill_are_in_the_command_menu(running_bot, telegram):
    calls = [c for c in telegram.calls if c.method == "setMyCommands"]
    assert {"cue", "drill"} <= {c["command"] for c in calls[-1].params["commands"]}
