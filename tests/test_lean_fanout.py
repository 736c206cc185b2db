"""The lean fan-out path (bot/delivery/lean.py): the same messages python-telegram-bot would send,
each variant rendered once; lessons go that way and replies do not; and its sends meet Telegram's
faults (403, 429, 5xx, timeouts, dropped connections) as every other send does."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from benchmarks.seed import FIRST_CHAT, seed_people
from bot.app import CONTENT_DIR
from bot.content.languages import load_library
from bot.delivery.compose import LessonComposer, past_answers
from bot.delivery.lean import LeanRequest, LessonTemplates
from bot.language import speaking
from bot.storage import deliveries
from bot.storage.db import Database
from bot.storage.models import CheckinAnswer, Delivery, Subscriber
from tests.conftest import Person, buttons, lesson_days, make_settings
from tests.test_reliability_e2e import EngineRig, berlin_7am

MORNING = datetime(2026, 6, 3, 5, 0, tzinfo=UTC)
LIBRARY = load_library(CONTENT_DIR)


def answer(answer_id: int, enrollment_id: int, day: int, advice: str, effect: str, helped: str | None = None):
    return CheckinAnswer(
        id=answer_id,
        enrollment_id=enrollment_id,
        chat_id=FIRST_CHAT + enrollment_id,
        user_id=FIRST_CHAT + enrollment_id,
        day=day,
        node="felt-where",
        option="x",
        advice=advice,
        effect=effect,
        fix_helped=helped,
        answered_at=MORNING - timedelta(days=3 - day),
    )


def lesson(enrollment_id: int, day: int, profile: str = "runner", history: tuple = ()) -> deliveries.ClaimedLesson:
    return deliveries.ClaimedLesson(
        delivery_id=enrollment_id * 10 + day,
        enrollment_id=enrollment_id,
        day=day,
        chat_id=FIRST_CHAT + enrollment_id,
        profile=profile,
        lesson_time="07:00",
        timezone="Europe/Berlin",
        attempts=1,
        history=history,
    )


LESSONS = [
    lesson(1, 1),
    lesson(2, 1),  # the same variant, another person's buttons
    lesson(3, 1, "lifter"),
    lesson(4, 3, history=(answer(41, 4, 2, "back-rounding", "regress"),)),  # opens with drills, asks "did it help?"
    lesson(5, 3, history=(answer(51, 5, 2, "back-rounding", "regress"),)),  # the same, another answer id
    lesson(6, 3, history=(answer(61, 6, 2, "glutes-quiet", "activate", helped="yes"),)),
    lesson(7, 4, history=(answer(71, 7, 2, "clean", "clean"), answer(72, 7, 3, "clean", "clean"))),  # progress
    lesson(8, 8),  # past the last day: graduation
]


@pytest.mark.parametrize("paid", [False, True])
async def test_a_lean_lesson_is_the_message_python_telegram_bot_would_send(paid):
    composer = LessonComposer(library=LIBRARY, db=None)
    expected = [
        await composer.compose(
            enrollment_id=item.enrollment_id, day=item.day, profile=item.profile, history=past_answers(item.history)
        )
        for item in LESSONS
    ]
    rendered: Counter[tuple] = Counter()
    render = composer.private_lesson

    def counted(**kwargs):
        rendered[kwargs["day"], kwargs["profile"], kwargs["adaptation"].kind] += 1
        return render(**kwargs)

    composer.private_lesson = counted
    templates = LessonTemplates(composer, paid=paid)
    for item, messages in zip(LESSONS, expected, strict=True):
        bodies = [json.loads(message.json_payload) for message in templates.messages(item)]
        assert [body["text"] for body in bodies] == [message.text for message in messages]
        assert [body.get("reply_markup") for body in bodies] == [m.markup and m.markup.to_dict() for m in messages]
        assert {body["chat_id"] for body in bodies} == {item.chat_id}
        assert {body["parse_mode"] for body in bodies} == {"HTML"}
        assert all(body["link_preview_options"] == {"is_disabled": True} for body in bodies)
        assert all(body.get("allow_paid_broadcast", False) is paid for body in bodies)
    fix_buttons = [b for m in templates.messages(LESSONS[4]) for _, b in buttons(json.loads(m.json_payload))]
    assert "fx:51:yes" in fix_buttons, "the person's own answer is asked about"
    assert rendered[1, "runner", "none"] == 1, "two people with the same lesson: rendered once"
    assert rendered[3, "runner", "regress"] == 1
    assert sum(rendered.values()) == 6, rendered


async def test_a_variant_is_rendered_once_per_language():
    """The same day, profile and history in two languages are two variants: each recipient's lesson
    is in their own language, rendered once for everyone who speaks it."""
    composer = LessonComposer(library=LIBRARY, db=None)
    recipients = (("es", lesson(1, 2)), ("ru", lesson(2, 2)), ("es", lesson(3, 2)), ("en", lesson(4, 2)))
    expected = {}
    for language, item in recipients:
        with speaking(language):
            expected[item.chat_id] = await composer.compose(
                enrollment_id=item.enrollment_id, day=2, profile="runner", history=[]
            )
    rendered: Counter[str] = Counter()
    render = composer.private_lesson

    def counted(**kwargs):
        rendered[LIBRARY.current.texts.language] += 1
        return render(**kwargs)

    composer.private_lesson = counted
    templates = LessonTemplates(composer, paid=False)
    for language, item in recipients:
        with speaking(language):
            texts = [json.loads(m.json_payload)["text"] for m in templates.messages(item)]
        assert texts == [message.text for message in expected[item.chat_id]]
        assert LIBRARY[language].lesson(2).title in texts[0]
    assert rendered == Counter({"es": 1, "ru": 1, "en": 1}), "once per language and variant"
    assert len({expected[item.chat_id][0].text for _, item in recipients}) == 3


async def test_lessons_go_the_lean_path_and_replies_through_python_telegram_bot(running_bot, telegram, monkeypatch):
    lean_posts: list[int] = []
    post = LeanRequest.do_request

    async def spied(self, url, method, request_data=None, **timeouts):
        lean_posts.append(json.loads(request_data.json_payload)["chat_id"])
        return await post(self, url, method, request_data, **timeouts)

    monkeypatch.setattr(LeanRequest, "do_request", spied)
    alex = Person(telegram, bot=running_bot)
    await alex.onboard()  # day 1 is promised to someone talking to the bot: a reply
    assert lean_posts == []
    await running_bot.at(berlin_7am(2))
    [day2] = await alex.expect(1)
    assert lesson_days([day2]) == [2] and lean_posts == [alex.chat_id]
    data = next(d for _, d in buttons(day2) if d.endswith(":felt-where:lower-back"))
    [follow_up] = await alex.press(day2, data)  # the buttons carry Alex's own enrollment
    assert any(d.endswith(":lower-back-why:not-sure") for _, d in buttons(follow_up))
    assert lean_posts == [alex.chat_id], "the follow-up is a reply, through python-telegram-bot"


async def test_lean_sends_meet_every_fault_and_each_lesson_arrives_at_most_once(telegram, database_url, clock):
    """Random 429s, 5xx, blocked people, read timeouts and dropped connections on every send: each
    person gets the lesson at most once; a sent lesson is recorded sent, one that may have arrived
    uncertain, a blocked person's waits for /start, and the rest are retried until they go out."""
    people = 60
    db = Database(database_url)
    await seed_people(db, people, now=clock.now(), due_at=clock.now())
    await db.dispose()
    rates = {"429": 0.05, "500": 0.1, "403": 0.05, "timeout": 0.05, "drop": 0.05}
    telegram.fault_rates(seed=7, timeout_delay=1.0, **rates)
    rig = EngineRig(make_settings(telegram, database_url, global_rate=200, checkin_reminder_hours=0), clock)
    await rig.bot.initialize()
    try:
        for _ in range(12):  # the backoff's attempts, each due within the hour it is given
            await rig.tick()
            clock.advance(hours=1)
        async with rig.db.session() as session:
            rows = (await session.execute(select(Delivery).where(Delivery.day == 1))).scalars().all()
            blocked = set(await session.scalars(select(Subscriber.chat_id).where(Subscriber.reachable.is_(False))))
    finally:
        await rig.bot.shutdown()
        await rig.db.dispose()
    counts = {chat: lesson_days(telegram.messages_to(chat)).count(1) for chat in telegram.counts_per_chat()}
    assert set(counts.values()) <= {0, 1}, "a lesson arrived twice"
    faults = telegram.faults_injected
    assert all(faults[kind] for kind in ("429", "500", "403", "timeout", "drop")), faults
    for row in rows:
        chat_id = FIRST_CHAT + row.enrollment_id
        if row.status == "sent":
            assert counts.get(chat_id) == 1
        elif row.status == "uncertain":
            assert row.error.startswith("outcome unknown")
        else:
            assert (row.status, chat_id in blocked, counts.get(chat_id, 0)) == ("pending", True, 0), row
    assert {row.status for row in rows} >= {"sent", "uncertain", "pending"}
