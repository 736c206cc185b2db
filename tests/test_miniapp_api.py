"""The Mini App's JSON API without a browser, on SQLite and PostgreSQL: the shapes the pages draw
from, who may see what (401 unsigned, 403 not allowed), settings that change the course and say so
in the chat, and nothing of the signed data in the logs."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qsl

import aiohttp
import pytest
from sqlalchemy import update

from bot.app import CONTENT_DIR
from bot.content.languages import load_library
from bot.demo.fake_telegram import FakeBotApi
from bot.miniapp.api import STATIC
from bot.miniapp.init_data import sign
from bot.storage.models import CheckinAnswer
from tests.conftest import TOKEN, FakeClock
from tests.miniapp_seed import COACH, EXPECTED_FUNNEL, GROUP, LEARNER, OPERATOR, init_data
from tests.miniapp_server import Served, serve_mini_app

PAGE_BUDGET = 150 * 1024
LIBRARY = load_library(CONTENT_DIR)


@pytest.fixture
async def served(telegram: FakeBotApi, database_url: str, clock: FakeClock) -> AsyncIterator[Served]:
    served = await serve_mini_app(telegram, database_url, clock)
    try:
        yield served
    finally:
        await served.stop()


async def call(served: Served, path: str, signed: str | None, *, body: dict | None = None) -> tuple[int, object]:
    headers = {} if signed is None else {"Authorization": f"tma {signed}"}
    async with aiohttp.ClientSession() as http:
        method = http.post if body is not None else http.get
        async with method(served.url + path, headers=headers, data=None if body is None else json.dumps(body)) as r:
            text = await r.text()
            is_json = r.content_type == "application/json"
            return r.status, json.loads(text) if is_json else text


async def test_the_learner_sees_their_course_checkins_log_and_settings(served: Served) -> None:
    status, data = await call(served, "api/learner", served.signed(LEARNER, "Alex"))
    assert status == 200
    assert data["course"] == {
        "day": 3,
        "days": 7,
        "status": "active",
        "next": {"day": 4, "at": "2026-06-04T07:00:00+02:00", "zone": "Europe/Berlin"},
    }
    checkins = data["checkins"]
    assert [(c["day"], bool(c["advice"]), c["fix_helped"]) for c in checkins] == [
        (1, False, None),  # "where did you feel it": lower back, which asks why
        (1, True, "partly"),  # the back rounded: advice, which partly helped
        (2, True, None),  # clean
    ]
    assert all(c["question"] and c["answer"] for c in checkins)
    [rdl] = data["exercises"]
    assert rdl["key"] == "kb-rdl" and rdl["unit"] == "kg"
    assert [s["weight"] for s in rdl["sessions"]] == [12.0, 16.0, 20.0]
    assert rdl["sessions"][0]["checkin"] and rdl["sessions"][0]["felt"] == "regress"
    assert data["settings"] == {
        "time": "07:00",
        "timezone": "Europe/Berlin",
        "units": "kg",
        "weekly": False,
        "paused": False,
    }
    assert data["operator"] is False


async def test_someone_without_a_course_gets_an_empty_page_not_another_persons(served: Served) -> None:
    status, data = await call(served, "api/learner", served.signed(3001, "Bea"))
    assert status == 200
    assert (data["course"], data["checkins"], data["exercises"], data["settings"]) == (None, [], [], None)


@pytest.mark.parametrize(
    "path", ["api/learner", "api/coach?chat=-100500", "api/coach.csv?chat=-100500", "api/operator"]
)
async def test_unsigned_tampered_stale_and_foreign_data_get_401(served: Served, path: str) -> None:
    good = served.signed(OPERATOR, "Op")
    now = served.bot.clock.now()
    fields = dict(parse_qsl(good))
    tampered = good.replace(str(OPERATOR), str(COACH))
    stale = init_data(OPERATOR, "Op", TOKEN, at=now - timedelta(days=1, minutes=1))
    foreign = init_data(OPERATOR, "Op", "999:OTHER-BOT", at=now)
    unhashed = sign({k: v for k, v in fields.items() if k != "hash"}, TOKEN).split("&hash=")[0]
    for signed in (None, "", tampered, stale, foreign, unhashed, "garbage"):
        status, body = await call(served, path, signed)
        assert status == 401, (signed, status)
        assert body == {"error": "unauthorized"}
    assert (await call(served, path, good))[0] == 200


async def test_the_coach_sees_the_funnel_attention_and_trend(served: Served) -> None:
    status, data = await call(served, "api/coach?chat=-100500", served.signed(COACH, "Kim"))
    assert status == 200
    assert (data["title"], data["day"], data["days"]) == ("Tuesday Runners", 3, 7)
    assert data["funnel"] == EXPECTED_FUNNEL
    assert data["attention"]["red_flags"] == [
        {"name": "Cal", "day": 2, "answer": data["attention"]["red_flags"][0]["answer"]}
    ]
    assert data["attention"]["silent"] == [{"name": "Eve", "lessons": 3}]


async def test_members_and_strangers_are_refused_the_coach_page_operators_are_not(served: Served) -> None:
    for member in (3001, LEARNER):
        for path in ("api/coach?chat=-100500", "api/coach.csv?chat=-100500"):
            status, body = await call(served, path, served.signed(member))
            assert (status, body) == (403, {"error": "forbidden"})
    assert (await call(served, "api/coach?chat=-100500", served.signed(OPERATOR)))[0] == 200
    assert (await call(served, "api/coach?chat=-999", served.signed(OPERATOR)))[0] == 404
    assert (await call(served, f"api/coach?chat={LEARNER}", served.signed(OPERATOR)))[0] == 404  # a private chat
    assert (await call(served, "api/coach?chat=abc", served.signed(COACH)))[0] == 400


async def test_the_coach_downloads_every_answer_as_csv(served: Served) -> None:
    status, text = await call(served, "api/coach.csv?chat=-100500", served.signed(COACH))
    assert status == 200
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[:3] == ["Day", "Name", "Question"]
    assert len(rows) == 9
    assert {row[1] for row in rows} == {"Bea", "Cal", "Dee"}


async def test_only_operators_see_the_operator_page(served: Served) -> None:
    assert (await call(served, "api/operator", served.signed(COACH)))[0] == 403
    status, data = await call(served, "api/operator", served.signed(OPERATOR))
    assert status == 200
    cohorts = {(c["kind"], c["name"]): c for c in data["cohorts"]}
    assert cohorts[("group", "Tuesday Runners")]["reached"][:4] == [3, 3, 1, 0]
    assert cohorts[("private", "2026-06-01")]["reached"][:4] == [1, 1, 1, 0]
    rounding = next(o for o in data["outcomes"] if o["advice"] == "back-rounding")
    # the learner's day 1 -> clean on day 2; Cal's day 1 -> red flag on day 2; Bea's day 3 -> nothing yet
    assert rounding["given"] == 3
    assert {k: v for k, v in rounding["next"].items() if v} == {"clean": 1, "red": 1, "none": 1}
    assert rounding["helped"] == {"yes": 0, "partly": 1, "no": 0}
    assert [u["text"] for u in data["unread"]] == ["kinda in my sacrum?"]
    assert data["groups"] == [{"chat": GROUP, "title": "Tuesday Runners"}]
    assert (await call(served, "api/learner", served.signed(OPERATOR)))[1]["operator"] is True


async def test_a_changed_setting_moves_the_course_and_is_confirmed_in_the_chat(
    served: Served, telegram: FakeBotApi
) -> None:
    signed = served.signed(LEARNER, "Alex")
    status, data = await call(served, "api/settings", signed, body={"setting": "time", "value": "18:30"})
    assert status == 200 and data["saved"] is True
    assert data["settings"]["time"] == "18:30"
    assert data["course"]["next"]["at"] == "2026-06-04T18:30:00+02:00"  # one lesson a day: day 3 went out today
    assert "Saved" in telegram.messages_to(LEARNER)[-1]["text"]

    status, data = await call(served, "api/settings", signed, body={"setting": "timezone", "value": "Tokyo"})
    assert data["saved"] and data["settings"]["timezone"] == "Asia/Tokyo"
    status, data = await call(served, "api/settings", signed, body={"setting": "timezone", "value": "Qxzvbnw"})
    assert (data["saved"], data["problem"]) == (False, "setting_bad_zone")
    status, data = await call(served, "api/settings", signed, body={"setting": "time", "value": "25 o'clock"})
    assert (data["saved"], data["problem"]) == (False, "setting_bad_time")

    await call(served, "api/settings", signed, body={"setting": "units", "value": "lb"})
    assert "lb" in telegram.messages_to(LEARNER)[-1]["text"]
    status, data = await call(served, "api/settings", signed, body={"setting": "weekly", "value": True})
    assert data["settings"]["weekly"] is True and "weekly" in telegram.messages_to(LEARNER)[-1]["text"]

    status, data = await call(served, "api/settings", signed, body={"setting": "paused", "value": True})
    assert data["settings"]["paused"] is True and data["course"]["status"] == "paused"
    assert "Paused" in telegram.messages_to(LEARNER)[-1]["text"]
    status, data = await call(served, "api/settings", signed, body={"setting": "paused", "value": False})
    assert data["course"]["status"] == "active" and "Welcome back" in telegram.messages_to(LEARNER)[-1]["text"]


@pytest.mark.parametrize(
    "body", [{"setting": "colour", "value": "red"}, {"setting": "paused", "value": "yes"}, {"value": 1}, [1, 2]]
)
async def test_a_setting_that_is_not_one_is_a_bad_request(served: Served, body: object) -> None:
    status, _ = await call(served, "api/settings", served.signed(LEARNER), body=body)
    assert status == 400


async def test_someone_without_a_course_cannot_change_settings(served: Served, telegram: FakeBotApi) -> None:
    status, data = await call(served, "api/settings", served.signed(3001), body={"setting": "units", "value": "kg"})
    assert (status, data["saved"], data["problem"]) == (200, False, "setting_not_started")
    assert telegram.messages_to(3001) == []


async def test_nothing_signed_reaches_the_log(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    good = served.signed(LEARNER, "Alex")
    await call(served, "api/learner", good)
    await call(served, "api/learner", good.replace("Alex", "Eve"))
    await call(served, "api/settings", good, body={"setting": "units", "value": "lb"})
    fields = dict(parse_qsl(good))
    for secret in (fields["hash"], fields["user"], good.split("&")[0], "tma "):
        assert secret not in caplog.text
    assert "refused: bad signature" in caplog.text


async def test_the_page_texts_and_static_files_fit_a_slow_connection(served: Served) -> None:
    status, page = await call(served, "", None)
    assert status == 200 and "telegram-web-app.js" in page
    assert (await call(served, "coach", None))[0] == 200 and (await call(served, "operator", None))[0] == 200
    status, texts = await call(served, "api/texts?lang=pt-br", None)
    assert status == 200 and texts["learner_title"] == "Your hinge course"  # English: no Portuguese yet
    static = sum(
        len((STATIC / name).read_bytes()) for name in ("app.js", "app.css", "uPlot.iife.min.js", "uPlot.min.css")
    )
    _, learner = await call(served, "api/learner", served.signed(LEARNER))
    weight = len(page) + static + len(json.dumps(texts)) + len(json.dumps(learner))
    assert weight < PAGE_BUDGET, weight


async def test_the_menu_button_and_the_coach_button_open_the_mini_app(served: Served, telegram: FakeBotApi) -> None:
    menu = await served.bot.app.bot.get_chat_menu_button()
    assert menu.type == "web_app" and menu.web_app.url == "http://127.0.0.1/app/"
    services = served.bot.app.services
    assert await services.delivery.groups.send_digest(served.bot.app.bot, GROUP, 3, services.delivery.send) == 1
    [digest] = telegram.messages_to(COACH)
    [[button]] = digest["reply_markup"]["inline_keyboard"]
    assert button["web_app"]["url"] == f"http://127.0.0.1/app/coach?chat={GROUP}"


async def test_summary_in_the_group_brings_the_coach_a_button_to_the_page(served: Served, telegram: FakeBotApi) -> None:
    group = telegram.add_chat(GROUP, "supergroup", "Tuesday Runners")
    telegram.send_text(telegram.user(COACH, "Coach Kim"), "/summary", chat=group)
    [summary] = await telegram.wait_for_messages(COACH, 1)
    assert "Tuesday Runners" in summary["text"]
    [[button]] = summary["reply_markup"]["inline_keyboard"]
    assert button["web_app"]["url"] == f"http://127.0.0.1/app/coach?chat={GROUP}"


async def test_the_pages_speak_the_persons_stored_language_then_telegrams_then_english(served: Served) -> None:
    """The language someone coaches in (chosen in the chat) wins over their Telegram app's; the
    app's counts when nothing is stored; English when we speak neither. Unsigned, `?lang=` decides."""
    english, spanish, russian = (LIBRARY[code].miniapp for code in ("en", "es", "ru"))
    assert (await call(served, "api/texts?lang=ru", None))[1]["learner_title"] == russian.learner_title
    signed_es = served.signed(LEARNER, "Alex", language="es-MX")
    assert (await call(served, "api/texts", signed_es))[1] == spanish.model_dump()
    assert (await call(served, "api/texts", served.signed(LEARNER, "Alex", language="de")))[1] == english.model_dump()
    assert await served.bot.app.services.languages.choose(LEARNER, "ru")
    assert (await call(served, "api/texts?lang=es", signed_es))[1] == russian.model_dump()
    assert await served.bot.app.services.languages.choose(COACH, "ru")
    async with served.bot.app.services.db.session() as session:
        helped = CheckinAnswer.chat_id == GROUP, CheckinAnswer.advice.is_not(None)
        await session.execute(update(CheckinAnswer).where(*helped).values(fix_helped="partly"))
    status, text = await call(served, f"api/coach.csv?chat={GROUP}", served.signed(COACH, "Kim", language="en"))
    header, *rows = csv.reader(io.StringIO(text))
    assert status == 200 and header[:2] == [russian.col_day, russian.csv_name]
    assert {row[header.index(russian.csv_fix_helped)] for row in rows} == {"", russian.csv_fix_partly}
