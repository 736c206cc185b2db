"""Every reply fits Telegram: one splitter cuts HTML into parts Telegram accepts, and every path
that sends a reply goes through it, whatever a person types."""

from __future__ import annotations

import logging
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.demo.fake_telegram import _plain_text
from bot.render import CAPTION_LIMIT, MESSAGE_LIMIT, split_message
from tests.conftest import Person

_ENTITY = re.compile(r"&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


def _telegram_length(part: str) -> int:
    """Checks the part as Telegram does (the fake refuses malformed HTML) and measures its text."""
    return len(_plain_text(part, "HTML").encode("utf-16-le")) // 2


words = st.sampled_from(["hinge", "back", "💪", "São", "&amp;", "&lt;b&gt;", "x" * 70, "&#128170;", "1e400"])
spaces = st.sampled_from([" ", "\n", "\n\n"])
text = st.lists(st.one_of(words, spaces), min_size=1, max_size=30).map("".join)
html = st.recursive(
    text,
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["b", "i", "code", "u", "s", "blockquote"]), st.lists(inner, max_size=4)).map(
            lambda t: f"<{t[0]}>{''.join(t[1])}</{t[0]}>"
        ),
        st.lists(inner, min_size=2, max_size=4).map("".join),
        inner.map(lambda body: f'<a href="https://example.org/?a=1&amp;b=2">{body}</a>'),
        inner.map(lambda body: f'<pre><code class="language-python">{body}</code></pre>'),
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=html, limit=st.integers(min_value=40, max_value=400))
def test_every_part_is_valid_html_within_the_limit_and_nothing_is_lost(source, limit):
    parts = split_message(source, limit)
    for part in parts:
        assert 0 < _telegram_length(part) <= limit, part
        assert all(_ENTITY.match(part, m.start()) for m in re.finditer("&", part)), f"an entity was cut: {part}"
    kept = "".join(_plain_text(part, "HTML") for part in parts)
    assert "".join(kept.split()) == "".join(_plain_text(source, "HTML").split())


def test_a_long_code_line_is_closed_and_reopened_and_breaks_prefer_paragraphs():
    line = "<code>/log " + "rdl 35 3x12 " * 400 + "</code>"
    parts = split_message(f"<b>Can't read that line</b>\n\nTry:\n{line}")
    assert len(parts) == 2
    assert parts[0].endswith("</code>") and parts[1].startswith("<code>") and parts[1].endswith("</code>")
    assert all(_telegram_length(part) <= MESSAGE_LIMIT for part in parts)
    paragraphs = "\n\n".join(["a" * 3000, "b" * 3000, "c" * 10])
    assert split_message(paragraphs) == ["a" * 3000, "b" * 3000 + "\n\n" + "c" * 10]


def test_a_caption_gets_the_caption_limit_and_the_rest_a_message_s():
    first, *rest = split_message("<i>" + "word " * 1500 + "</i>", first_limit=CAPTION_LIMIT)
    assert _telegram_length(first) <= CAPTION_LIMIT < _telegram_length(rest[0]) <= MESSAGE_LIMIT


def test_emoji_count_twice_as_telegram_counts_them():
    parts = split_message("💪" * 3000)
    assert [_telegram_length(p) for p in parts] == [4096, 1904]


# ----------------------------------------------------------------- every reply path


LONGEST = 4096  # what Telegram lets a person send in one message


def _longest(command: str, filler: str) -> str:
    text = f"{command} " if command else ""
    return (text + filler * LONGEST)[:LONGEST]


REPLY_PATHS = [
    _longest("/log", "rdl 35 3x12 "),  # the quoted case: a line too long to read
    _longest("/log rdl", " -20"),
    _longest("/log", "<b>&amp;x "),
    _longest("/log", "zzzz"),  # an unknown exercise
    _longest("/log kb rdl 16kg", " 3x12"),
    _longest("/cue", "lower back <i> "),
    _longest("/cue", "💪"),
    _longest("/drill", "glute brigde & "),
    _longest("/progress", "deadlift <"),
    "/log rdl 35 3x12",
    "/progress rdl",  # a chart whose caption is cut to 1,024 characters
    _longest("/units", "kilos "),
    _longest("/weekly", "maybe "),
    _longest("/dance", "&&&"),  # an unknown command
    _longest("", "where do I start? <script> "),  # stray text
    "/checkins",
    "/drill",
    "/cue",
]


async def _answers(alex: Person, text: str, help_text: str) -> list[dict]:
    """Everything the bot says to `text` (not /help itself): a chat's updates are handled in order,
    so once the /help sent after it is answered, every part of the answer to `text` has arrived."""
    seen = len(alex.messages)
    alex.telegram.send_text(alex.user, text)
    alex.telegram.send_text(alex.user, "/help")
    await alex.telegram.wait_for(lambda: any(m.get("text") == help_text for m in alex.messages[seen:]))
    return [m for m in alex.messages[seen:] if m.get("text") != help_text]


async def test_every_reply_path_answers_its_longest_input_within_telegram_s_rules(running_bot, telegram, caplog):
    caplog.set_level(logging.ERROR)
    alex = Person(telegram, bot=running_bot)
    [help_message] = await alex.say("/help")
    unanswered = []
    for onboarding in ("/start", _longest("", "7 o'clock <b> "), "7am", _longest("", "Atlantis & <i>"), "Berlin"):
        unanswered += [] if await _answers(alex, onboarding, help_message["text"]) else [onboarding[:30]]
    for text in REPLY_PATHS:
        unanswered += [] if await _answers(alex, text, help_message["text"]) else [text[:30]]
    assert telegram.refusals == [], telegram.refusals[:3]
    assert [r.getMessage()[:200] for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert unanswered == [] and not [m for m in alex.messages if "went wrong" in m.get("text", "")]
