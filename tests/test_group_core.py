"""Group coaching's pure core: link formats, alerts within Telegram's 200 characters,
anonymous tallies, and the coach's summary with its trend."""

import pytest

from bot.app import CONTENT_DIR
from bot.content import load_content
from bot.domain.groups import (
    ALERT_LIMIT,
    GroupAnswer,
    StartLink,
    fit,
    member_link_payload,
    parse_start_payload,
    short_tip,
    split_time_and_zone,
    summarise,
    summary_link_payload,
    tally,
)
from bot.domain.timeparse import parse_lesson_time

CONTENT = load_content(CONTENT_DIR)


def test_start_links():
    assert parse_start_payload(member_link_payload(12, 3)) == StartLink("g", 12, 3)
    assert parse_start_payload(summary_link_payload(12)) == StartLink("s", 12)
    for other in ("", "g12", "g_3", "s", "sx", "hello", "g12_3_4"):
        assert parse_start_payload(other) is None


def test_forged_start_links_are_refused_before_they_reach_the_database():
    forged = ("g2147483648_1", "g99999999999_1", "g012_3", "g0_1", "g12_0", "g١٢_3", "g１２_3", "s¹²", "s-5", "g12_١")
    for payload in forged:
        assert parse_start_payload(payload) is None, payload
    assert parse_start_payload("g2147483647_7") == StartLink("g", 2**31 - 1, 7)


@pytest.mark.parametrize("advice", CONTENT.checkin.advice, ids=lambda a: a.id)
def test_every_alert_fits_and_reads_as_plain_text(advice):
    texts = CONTENT.texts
    alert = fit(texts.group_alert_tip, short_tip(advice.title, advice.do))
    assert len(alert) <= ALERT_LIMIT
    assert "<" not in alert and advice.title in alert
    assert len(texts.group_alert_followup) <= ALERT_LIMIT and len(texts.group_alert_red_flag) <= ALERT_LIMIT


def test_short_tip_is_the_title_and_first_sentence_and_fit_shortens_only_the_tip():
    assert short_tip("Keep it close", "Go <b>lighter</b>. Then more.") == "Keep it close: Go lighter."
    long = "x" * 300
    fitted = fit("✅ {tip} Tap below.", long)
    assert len(fitted) == ALERT_LIMIT and fitted.startswith("✅ xxx") and fitted.endswith("… Tap below.")
    assert fit("✅ {tip}", "short") == "✅ short"


def test_tally_counts_in_the_questions_order_and_skips_the_unchosen():
    options = [("a", "Alpha"), ("b", "Beta"), ("c", "Gamma")]
    assert tally(options, ["c", "a", "c"]) == [("Alpha", 1), ("Gamma", 2)]
    assert tally(options, []) == []


def test_time_and_zone_are_read_from_the_arguments():
    def split(text: str) -> tuple[str | None, str]:
        return split_time_and_zone(text.split(), parse_lesson_time)

    assert split("18:30 Europe/Berlin") == ("18:30", "Europe/Berlin")
    assert split("6:30 pm New York") == ("6:30 pm", "New York")
    assert split("7 Berlin") == ("7", "Berlin")
    assert split("Europe/Berlin") == (None, "Europe/Berlin")
    assert split("18:30") == ("18:30", "")
    assert split("") == (None, "")


def test_summary_counts_today_names_red_flags_and_the_missing_and_trends_every_day():
    answers = [
        GroupAnswer(1, 1, "felt-where", "hams-glutes", "clean"),
        GroupAnswer(2, 1, "felt-where", "lower-back", None),
        GroupAnswer(2, 1, "lower-back-why", "rounded", "regress"),
        GroupAnswer(3, 1, "felt-where", "pain", "red_flag"),
        GroupAnswer(1, 2, "felt-where", "hams-glutes", "clean"),
        GroupAnswer(3, 2, "felt-where", "quads-knees", "none"),
    ]
    options = [(o.id, o.label) for o in CONTENT.checkin.nodes[0].options]
    entry_nodes = {lesson.day: lesson.checkin for lesson in CONTENT.lessons}
    day1 = summarise(answers, day=1, entry_nodes=entry_nodes, options=options, roster=[1, 2, 3, 4, 4])
    assert day1.counts == [("🍑 Hamstrings and glutes", 1), ("🔻 Lower back", 1), ("🚩 Pain", 1)]
    assert day1.red_flags == [(3, "felt-where", "pain")]
    assert day1.missing == [4]
    assert [(t.day, t.checked_in, t.clean, t.fix, t.red_flags) for t in day1.trend] == [(1, 3, 1, 1, 1)]
    day2 = summarise(answers, day=2, entry_nodes=entry_nodes, options=options, roster=[1, 2, 3, 4])
    assert day2.missing == [2, 4] and day2.red_flags == []
    assert [(t.day, t.checked_in, t.clean, t.fix) for t in day2.trend] == [(1, 3, 1, 1), (2, 2, 1, 1)]
