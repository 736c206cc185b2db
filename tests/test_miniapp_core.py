"""The Mini App's pure parts and its wiring: the dashboard counts (bot/domain/dashboard.py), its
sentences in content/miniapp.yaml, its settings, and the server that serves it in either mode."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from bot.app import CONTENT_DIR, _web_servers, build_application
from bot.content import ContentError
from bot.content.languages import load_library
from bot.demo.fake_telegram import FakeBotApi
from bot.domain.dashboard import Answer, NextCheckin, advice_effects, attention, funnel, group_cohort, private_cohorts
from bot.settings import SettingsError, load_settings
from tests.conftest import make_settings
from tests.test_content import _broken_copy


def _answer(user: int, day: int, effect: str | None, advice: str | None = None, **more) -> Answer:
    return Answer(user_id=user, day=day, node="felt-where", option="x", advice=advice, effect=effect, **more)


def test_the_funnel_counts_each_person_once_under_their_most_serious_answer() -> None:
    answers = [
        _answer(1, 1, None),  # lower back, then why: the leaf decides
        _answer(1, 1, "regress", "back-rounding"),
        _answer(2, 1, "clean", "clean"),
        _answer(3, 1, "red_flag", "red-flag"),
        _answer(3, 1, "none", "ease-off"),  # a red flag and a fault the same day: the red flag counts
        _answer(4, 1, None),  # answered, no advice yet
        _answer(2, 2, "activate", "glutes-quiet"),
    ]
    rows = funnel(answers, delivered_days=[1, 2, 3], audience=5)
    assert [vars(row) for row in rows] == [
        {"day": 1, "sent": 5, "answered": 4, "clean": 1, "lower_back": 1, "other_faults": 0, "red_flags": 1},
        {"day": 2, "sent": 5, "answered": 1, "clean": 0, "lower_back": 0, "other_faults": 1, "red_flags": 0},
        {"day": 3, "sent": 5, "answered": 0, "clean": 0, "lower_back": 0, "other_faults": 0, "red_flags": 0},
    ]


def test_attention_lists_red_flags_latest_first_and_who_went_quiet_for_two_lessons() -> None:
    answers = [_answer(1, 1, "red_flag"), _answer(2, 3, "red_flag"), _answer(3, 1, "clean"), _answer(4, 3, "clean")]
    watch = attention(answers, question_days=[1, 2, 3], roster=[1, 2, 3, 4, 5])
    assert [(a.user_id, a.day) for a in watch.red_flags] == [(2, 3), (1, 1)]
    assert watch.silent == [(5, 3), (1, 2), (3, 2)]  # 2 and 4 answered the last lesson
    assert attention(answers, question_days=[1], roster=[5]).silent == []  # one lesson missed is not yet a worry


def test_advice_effects_follow_each_person_to_their_next_checkin() -> None:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    answers = [
        _answer(1, 1, "regress", "back-rounding", fix_helped="yes", answered_at=at),
        _answer(1, 2, "clean", "clean", answered_at=at.replace(day=2)),
        _answer(2, 1, "regress", "back-rounding", fix_helped="no", answered_at=at),
        _answer(2, 2, "regress", "back-rounding", answered_at=at.replace(day=2)),
        _answer(2, 3, "red_flag", "red-flag", answered_at=at.replace(day=3)),
        _answer(3, 1, "regress", "weight-drift", answered_at=at),
        _answer(3, 1, "clean", "clean", answered_at=at.replace(hour=5)),  # answered again: the later one counts
    ]
    effects = {effect.advice: effect for effect in advice_effects(answers)}
    rounding = effects["back-rounding"]
    assert rounding.given == 3
    assert dict(rounding.next) == {NextCheckin.CLEAN: 1, NextCheckin.SAME: 1, NextCheckin.RED_FLAG: 1}
    assert dict(rounding.helped) == {"yes": 1, "no": 1}
    assert "weight-drift" not in effects
    assert effects["red-flag"].next == {NextCheckin.NONE: 1}


def test_cohorts_count_who_was_still_there_each_day() -> None:
    monday = datetime(2026, 6, 1, 9, tzinfo=UTC)
    week = private_cohorts([(monday, 7), (monday.replace(day=3), 2), (monday.replace(day=9), 1)], days=3)
    assert [(c.name, c.started, c.reached) for c in week] == [
        ("2026-06-08", 1, [1, 0, 0]),
        ("2026-06-01", 2, [2, 2, 1]),
    ]
    group = group_cohort(
        "Club", [_answer(1, 1, "clean"), _answer(1, 3, "clean"), _answer(2, 1, None)], members=4, days=3
    )
    assert (group.started, group.reached) == (4, [2, 1, 1])


def test_a_translation_missing_a_sentence_is_reported_with_file_and_line(tmp_path) -> None:
    root = _broken_copy(tmp_path, "es/miniapp.yaml", 'learner_title: "Tu curso de bisagra"\n', "")
    with pytest.raises(ContentError) as caught:
        load_library(root)
    problems = [str(p) for p in caught.value.problems]
    assert any("es/miniapp.yaml:" in p and "missing key 'learner_title'" in p for p in problems), problems


def test_every_language_has_every_sentence() -> None:
    library = load_library(CONTENT_DIR)
    english = library.base.miniapp.model_dump()
    for content in library.contents.values():
        sentences = content.miniapp.model_dump()
        assert sentences.keys() == english.keys() and all(isinstance(v, str) and v for v in sentences.values())


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"mini_app_url": "http://coach.example.org/app"}, "https://"),
        (
            {"webhook_url": "https://c.example.org/", "webhook_secret": "s", "mini_app_url": "https://c.example.org"},
            "path",
        ),
    ],
)
def test_a_mini_app_url_telegram_cannot_open_is_refused_at_start(values: dict, problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        load_settings(_env_file=None, **values)
    assert load_settings(_env_file=None, mini_app_url="http://127.0.0.1:8123/app").mini_app_path == "/app"


@pytest.mark.parametrize("webhook", [False, True])
async def test_the_mini_app_is_served_when_polling_and_beside_the_webhook(
    telegram: FakeBotApi, sqlite_url: str, webhook: bool
) -> None:
    mode = {"webhook_url": "http://127.0.0.1/telegram", "webhook_secret": "s", "webhook_port": 0} if webhook else {}
    settings = make_settings(
        telegram,
        sqlite_url,
        mini_app_url="http://127.0.0.1/coach-app",
        mini_app_port=0,
        mini_app_listen="127.0.0.1",
        **mode,
    )
    application = build_application(settings)
    [server] = _web_servers(application)
    port = server.start()
    try:
        async with aiohttp.ClientSession() as http:
            for path, status in (("/coach-app/api/texts", 200), ("/coach-app/api/learner", 401), ("/healthz", 503)):
                async with http.get(f"http://127.0.0.1:{port}{path}") as response:
                    assert response.status == status, path
    finally:
        await server.stop()
        await application.services.db.dispose()
    without = build_application(make_settings(telegram, sqlite_url))
    assert _web_servers(without) == []  # polling without a Mini App: no server at all
    await without.services.db.dispose()
