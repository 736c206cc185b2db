"""The fake Bot API, driven by the real python-telegram-bot stack it stands in for."""

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.demo.fake_telegram import FakeBotApi, RateLimits

USER_ID = 42

KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Done", callback_data="done"),
            InlineKeyboardButton("Skip", callback_data="skip"),
        ]
    ]
)


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22.2+ warns whenever it builds a RetryAfter, unless this opt-in is set."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


def make_bot(fake: FakeBotApi, token: str | None = None, read_timeout: float = 5.0) -> Bot:
    return Bot(
        token or fake.token,
        base_url=fake.base_url,
        base_file_url=fake.base_file_url,
        request=HTTPXRequest(read_timeout=read_timeout),
    )


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with make_bot(fake) as client:
        yield client


async def test_get_me_returns_the_configured_bot(fake: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()

    assert (me.id, me.username, me.supports_inline_queries) == (123456, "HingeCoachBot", True)
    assert fake.calls[0].method == "getMe"


async def test_send_message_round_trips_inline_keyboard(fake: FakeBotApi, bot: Bot) -> None:
    first = await bot.send_message(USER_ID, "Day 1: hinge at the hips", reply_markup=KEYBOARD)
    second = await bot.send_message(USER_ID, "<b>Cue</b>", parse_mode="HTML")

    assert first.reply_markup == KEYBOARD
    assert (first.message_id, second.message_id) == (1, 2)
    assert first.from_user is not None and first.from_user.username == "HingeCoachBot"
    params = fake.calls[-2].params
    assert params["chat_id"] == USER_ID
    assert params["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "skip"
    assert [m["text"] for m in fake.messages_to(USER_ID)] == [
        "Day 1: hinge at the hips",
        "<b>Cue</b>",
    ]
    assert fake.counts_per_chat() == {USER_ID: 2}


async def test_reply_keyboards_are_recorded_but_not_echoed(fake: FakeBotApi, bot: Bot) -> None:
    ask = ReplyKeyboardMarkup([[KeyboardButton("Share location", request_location=True)]])

    sent = await bot.send_message(USER_ID, "Where are you?", reply_markup=ask)
    await bot.send_message(USER_ID, "Thanks", reply_markup=ReplyKeyboardRemove())

    assert sent.reply_markup is None  # Telegram only echoes inline keyboards
    asked, thanked = fake.messages_to(USER_ID)
    assert asked["reply_markup"]["keyboard"][0][0]["request_location"] is True
    assert thanked["reply_markup"] == {"remove_keyboard": True}


async def test_message_ids_are_shared_with_incoming_messages(fake: FakeBotApi, bot: Bot) -> None:
    update = fake.send_text(fake.user(USER_ID), "/start@HingeCoachBot now")
    sent = await bot.send_message(USER_ID, "Welcome")

    assert update["message"]["message_id"] == 1
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 20}]
    assert sent.message_id == 2


async def test_edit_message_text_keeps_latest_version(fake: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(USER_ID, "Ready?", reply_markup=KEYBOARD)

    edited = await bot.edit_message_text("Done, nice work", USER_ID, sent.message_id)

    assert edited.text == "Done, nice work" and edited.reply_markup is None
    [record] = fake.messages_to(USER_ID)
    assert (record["text"], record["edits"]) == ("Done, nice work", 1)
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Done, nice work", USER_ID, sent.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("Hello", USER_ID, 99)


async def test_answer_callback_query_after_button_press(fake: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(USER_ID, "Ready?", reply_markup=KEYBOARD)
    [record] = fake.messages_to(USER_ID)

    update = Update.de_json(fake.press_button(fake.user(USER_ID), record, "done"), bot)
    assert update.callback_query is not None and update.callback_query.message is not None
    assert update.callback_query.message.message_id == sent.message_id
    await update.callback_query.answer("Logged!", show_alert=True)

    answer = fake.callback_answers[update.callback_query.id]
    assert (answer["text"], answer["show_alert"]) == ("Logged!", True)
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await update.callback_query.answer()


async def test_send_photo_and_document_record_uploaded_bytes(fake: FakeBotApi, bot: Bot) -> None:
    image = b"\x89PNG\r\n\x1a\n" + bytes(range(256))

    photo = await bot.send_photo(USER_ID, image, caption="Side view", filename="cue.png")
    document = await bot.send_document(USER_ID, b"week plan", filename="plan.txt")

    assert photo.photo[-1].file_size == len(image) and photo.caption == "Side view"
    assert document.document is not None and document.document.file_name == "plan.txt"
    photo_record, document_record = fake.messages_to(USER_ID)
    assert (photo_record["_file_bytes"], photo_record["_file_name"]) == (image, "cue.png")
    assert document_record["_file_bytes"] == b"week plan"


async def test_get_updates_long_poll_returns_when_an_update_arrives(fake: FakeBotApi, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    loop.call_later(0.1, fake.send_text, fake.user(USER_ID), "hi")
    started = time.monotonic()

    [update] = await bot.get_updates(timeout=5)

    assert time.monotonic() - started < 1.5
    assert update.message is not None and update.message.text == "hi"
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()


async def test_every_injected_update_parses_in_ptb(fake: FakeBotApi, bot: Bot) -> None:
    alex = fake.user(USER_ID, username="alex")
    group = fake.add_chat(-100, "supergroup", "Hinge club", is_forum=True)
    channel = fake.add_chat(-200, "channel", "Hinge news")
    sent = await bot.send_message(USER_ID, "Ready?", reply_markup=KEYBOARD)
    [record] = fake.messages_to(USER_ID)
    reaction = {"chat": group, "message_id": 1, "date": 0, "old_reaction": [], "new_reaction": []}

    raw = [
        fake.send_text(alex, "form check", chat=group, message_thread_id=7),
        fake.press_button(alex, record, "done"),
        fake.share_location(alex, 52.52, 13.40),
        fake.inline_query(alex, "cue"),
        fake.my_chat_member(group, alex, "left", "administrator"),
        fake.channel_post(channel, "New lesson"),
        fake.migrate_group(-300, -1003),
        fake.push_update({"message_reaction": reaction}),
    ]
    updates = [Update.de_json(json.loads(json.dumps(u)), bot) for u in raw]

    assert updates[0].effective_message is not None and updates[0].effective_message.is_topic_message
    assert updates[1].callback_query is not None and updates[1].callback_query.message is not None
    assert updates[1].callback_query.message.message_id == sent.message_id
    assert updates[2].message is not None and updates[2].message.location is not None
    assert updates[4].my_chat_member is not None
    assert updates[4].my_chat_member.new_chat_member.status == "administrator"
    assert updates[5].channel_post is not None and updates[5].effective_user is None
    assert updates[6].message is not None and updates[6].message.migrate_to_chat_id == -1003
    assert len({u.update_id for u in updates}) == len(updates)
    # Everything but the opt-in message_reaction (the last update) is delivered.
    delivered = await bot.get_updates(timeout=0)
    first, reaction = updates[0].update_id, updates[-1].update_id
    assert [u.update_id for u in delivered] == list(range(first, reaction))


async def test_chat_and_management_methods(fake: FakeBotApi, bot: Bot) -> None:
    coach = fake.user(7, "Coach")
    fake.add_chat(-100, "supergroup", "Hinge club", member_count=12)
    fake.set_admins(-100, [coach])

    await bot.set_my_commands([("start", "Start the course"), ("cue", "Get a cue")])
    await bot.set_webhook("https://example.com/hook")
    chat = await bot.get_chat(-100)
    admins = await bot.get_chat_administrators(-100)

    assert [c.command for c in await bot.get_my_commands()] == ["start", "cue"]
    assert (await bot.get_webhook_info()).url == "https://example.com/hook"
    assert await bot.delete_webhook()
    assert (chat.title, await bot.get_chat_member_count(-100)) == ("Hinge club", 12)
    assert [a.user.first_name for a in admins] == ["Coach"]
    assert (await bot.get_chat_member(-100, 7)).status == "administrator"
    assert await bot.send_chat_action(-100, "typing")
    with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
        await bot.set_my_commands([("Start", "Uppercase is rejected")])
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.get_chat(-999)


async def test_realistic_refusals(fake: FakeBotApi, bot: Bot) -> None:
    alex = fake.user(USER_ID)
    fake.my_chat_member(fake.private_chat(alex), alex, "member", "kicked")
    fake.migrate_group(-300, -1003)

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER_ID, "Day 2")
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-300, "Hello group")
    assert migrated.value.new_chat_id == -1003
    with pytest.raises(BadRequest, match='(?i)unsupported start tag "br"'):
        await bot.send_message(-1003, "a<br>b", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)can't find end tag"):
        await bot.send_message(-1003, "<b>bold", parse_mode="HTML")


async def test_fail_next_429_raises_retry_after(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendmessage", error_code=429, description="Too Many Requests: retry after 7", retry_after=7)

    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(USER_ID, "Day 1")

    assert flood.value.retry_after.total_seconds() == 7
    assert fake.messages_to(USER_ID) == []
    await bot.send_message(USER_ID, "Day 1")
    assert fake.faults_injected["429"] == 1


async def test_fail_next_403_only_hits_the_given_chat(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendMessage", error_code=403, description="Forbidden: user is deactivated", chat_id=USER_ID)

    await bot.send_message(USER_ID + 1, "Day 1")
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_message(USER_ID, "Day 1")


async def test_delay_next_times_out_but_the_message_is_sent(fake: FakeBotApi) -> None:
    fake.delay_next("sendMessage", 2.0)

    async with make_bot(fake, read_timeout=0.2) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(USER_ID, "Day 1")

    assert [m["text"] for m in fake.messages_to(USER_ID)] == ["Day 1"]


async def test_drop_next_closes_the_connection_after_sending(fake: FakeBotApi, bot: Bot) -> None:
    fake.drop_next("sendMessage")

    with pytest.raises(NetworkError) as error:
        await bot.send_message(USER_ID, "Day 1")

    assert not isinstance(error.value, TimedOut)
    assert len(fake.messages_to(USER_ID)) == 1


async def test_random_faults_are_seeded(fake: FakeBotApi, bot: Bot) -> None:
    fake.fault_rates(seed=3, **{"500": 1.0})

    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(USER_ID, "Day 1")
    await bot.get_me()  # other methods are unaffected
    assert fake.faults_injected == {"500": 1}


@pytest.mark.parametrize(
    ("limits", "chats", "retry_after"),
    [
        (RateLimits(), [USER_ID, USER_ID + 1, USER_ID], 1),
        (RateLimits(per_chat_per_second=None, per_group_per_minute=2), [-100, -100, -100], 60),
        (RateLimits(global_per_second=2, per_chat_per_second=None), [1, 2, 3], 1),
    ],
    ids=["per-chat", "per-group", "global"],
)
async def test_rate_limits_answer_429_over_the_limit(limits: RateLimits, chats: list[int], retry_after: int) -> None:
    async with FakeBotApi(limits=limits) as fake, make_bot(fake) as bot:
        fake.add_chat(-100, "group", "Hinge club")
        for chat_id in chats[:-1]:
            await bot.send_message(chat_id, "within the limit")
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(chats[-1], "one too many")

    assert flood.value.retry_after.total_seconds() == retry_after
    assert fake.rate_limited_count == 1
    assert sum(fake.counts_per_chat().values()) == len(chats) - 1


async def test_wrong_token_and_unknown_method(fake: FakeBotApi, bot: Bot) -> None:
    wrong = make_bot(fake, token="999:WRONG")
    with pytest.raises(InvalidToken, match="rejected"):
        await wrong.initialize()
    await wrong.shutdown()

    assert fake.calls[-1].method == "getMe"
    assert await bot.do_api_request("GETme") == fake.bot_user  # names are case-insensitive
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy")


async def test_wait_for_messages_times_out_with_a_helpful_message(fake: FakeBotApi) -> None:
    with pytest.raises(AssertionError, match=r"expected 1 message\(s\) to chat 42, got 0"):
        await fake.wait_for_messages(USER_ID, 1, timeout=0.05)


async def test_application_polling_replies_to_a_command(fake: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Welcome to Hinge Coach")

    application = (
        Application.builder().token(fake.token).base_url(fake.base_url).base_file_url(fake.base_file_url).build()
    )
    application.add_handler(CommandHandler("start", start))
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        fake.send_text(fake.user(USER_ID), "/start")
        [reply] = await fake.wait_for_messages(USER_ID, 1)
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()

    assert reply["text"] == "Welcome to Hinge Coach"
    assert reply["message_id"] == 2
