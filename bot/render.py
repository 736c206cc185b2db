"""Turn content into Telegram HTML messages. Presentation only: no sending, no storage."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from html import escape, unescape
from typing import TYPE_CHECKING

from bot.content.models import Advice, Content, Lesson, Text, Texts
from bot.domain.course import Command, Profile, Verdict
from bot.domain.schedule import DueWhen
from bot.language import weekday_date_text

if TYPE_CHECKING:
    from bot.services.course import Outcome

MESSAGE_LIMIT = 4096  # Telegram's limit on a message's text after entity parsing
CAPTION_LIMIT = 1024  # and on a media caption's

# A tag, an entity, or one character of text: the units a split may fall between.
_HTML_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);|.", re.DOTALL)
_EMPTY_ELEMENT = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*></\1>")
_PARAGRAPH, _LINE, _WORD = 3, 2, 1  # where a split may fall, best first


@dataclass(frozen=True)
class _Token:
    raw: str
    size: int  # what it adds to the text Telegram counts, in UTF-16 code units (an emoji is two)
    opens: str | None = None
    closes: str | None = None


def split_message(html: str, limit: int = MESSAGE_LIMIT, *, first_limit: int | None = None) -> list[str]:
    """Split Telegram HTML into messages of at most `limit` characters of text each, never inside
    markup: a split falls between tags, entities and characters, at the last paragraph break that
    leaves the part at least half full, else at such a line break, else between words, else (a
    word longer than half a part) where the part is full.
    Tags open at a split are closed at the end of the part and opened again at the start of the
    next. `first_limit` is the limit of the first part when it is a caption."""
    tokens = [_token(match) for match in _HTML_TOKEN.finditer(html.strip())]
    parts: list[str] = []
    start, reopen = 0, []
    while start < len(tokens):
        end, open_at_end = _part_end(tokens, start, reopen, first_limit if not parts and first_limit else limit)
        body = "".join(raw for _, raw in reopen) + "".join(t.raw for t in tokens[start:end])
        body += "".join(f"</{name}>" for name, _ in reversed(open_at_end))
        if any(t.size and not t.raw.isspace() for t in tokens[start:end]):
            parts.append(_without_empty_elements(body).strip())
        start, reopen = end, open_at_end
    return parts


def _token(match: re.Match[str]) -> _Token:
    raw, closing, tag = match.group(0), match.group(1), match.group(2)
    if tag:
        return _Token(raw, 0, closes=tag.lower()) if closing else _Token(raw, 0, opens=tag.lower())
    return _Token(raw, len(unescape(raw).encode("utf-16-le")) // 2)


def _part_end(tokens: list[_Token], start: int, reopen: list, limit: int) -> tuple[int, list]:
    """Where the part starting at `start` ends, and the tags still open there."""
    stack, used, index = list(reopen), 0, start
    breaks: dict[int, tuple[int, list, int]] = {}  # kind of break -> (end, open tags, text used)
    while index < len(tokens) and used + tokens[index].size <= limit:
        token = tokens[index]
        used += token.size
        if token.opens:
            stack.append((token.opens, token.raw))
        elif token.closes and stack and stack[-1][0] == token.closes:
            stack.pop()
        index += 1
        kind = _break_after(tokens, index - 1)
        if kind:
            breaks[kind] = (index, list(stack), used)
    if index == len(tokens):
        return index, stack
    half_full = [
        breaks[kind] for kind in (_PARAGRAPH, _LINE, _WORD) if kind in breaks and breaks[kind][2] >= limit // 2
    ]
    end, open_tags, _ = half_full[0] if half_full else (index, stack, used)  # a word longer than half a part
    return end, open_tags


def _break_after(tokens: list[_Token], index: int) -> int:
    raw = tokens[index].raw
    if raw == "\n":
        return _PARAGRAPH if index and tokens[index - 1].raw == "\n" else _LINE
    return _WORD if raw == " " else 0


def _without_empty_elements(html: str) -> str:
    """`<b></b>` left where a split fell right after an opening tag."""
    while (shorter := _EMPTY_ELEMENT.sub("", html)) != html:
        html = shorter
    return html


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"• {line}" for line in lines)


def drill_block(content: Content, drill_id: str, dose: str | None = None, note: str | None = None) -> str:
    drill = content.drills[drill_id]
    lines = [f"<b>{drill.name}</b>, {dose or drill.dose}: {drill.summary}"]
    lines += [f"  {i}. {step}" for i, step in enumerate(drill.steps, 1)]
    if note:
        lines.append(f"  <i>{note}</i>")
    return "\n".join(lines)


def lesson_text(content: Content, lesson: Lesson, profile: str | None, *, opening: str | None = None) -> str:
    """The whole lesson as one HTML text; `opening` is a coaching note placed before it."""
    texts = content.texts
    label = texts.lesson_day_label.format(day=lesson.day, days=content.days)
    parts = []
    if opening:
        parts.append(opening)
    parts += [
        f"<b>{label}: {lesson.title}</b>\n<i>{lesson.goal}</i>",
        lesson.intro,
        f"<b>{texts.lesson_drills_heading}</b>\n"
        + "\n\n".join(drill_block(content, item.drill, item.dose, item.note) for item in lesson.drills),
        f"<b>{texts.lesson_down_heading}</b>\n" + _bullets([content.cues[c].text for c in lesson.cues.down]),
        f"<b>{texts.lesson_up_heading}</b>\n" + _bullets([content.cues[c].text for c in lesson.cues.up]),
        f"<b>{texts.lesson_why_heading}</b>\n{lesson.why}",
    ]
    if lesson.notes.runner and profile in (Profile.RUNNER, Profile.BOTH, None):
        parts.append(f"<b>{texts.lesson_runner_heading}</b>\n{lesson.notes.runner}")
    if lesson.notes.lifter and profile in (Profile.LIFTER, Profile.BOTH, None):
        parts.append(f"<b>{texts.lesson_lifter_heading}</b>\n{lesson.notes.lifter}")
    return "\n\n".join(part.strip() for part in parts)


def graduation_text(content: Content) -> str:
    course, texts = content.course, content.texts
    steps = "\n".join(f"• <b>{step.when}</b>: {step.what}" for step in course.path_ahead)
    return (
        f"<b>{texts.graduation_heading}</b>\n\n{course.graduation.strip()}\n\n"
        f"<b>{texts.path_ahead_heading}</b>\n{steps}"
    )


def user_text(value: str, limit: int = 60) -> str:
    """Echo something a person typed back to them safely: escaped and shortened."""
    value = " ".join(value.split())
    return escape(value if len(value) <= limit else value[: limit - 1] + "…")


def opening_line(content: Content, opening: str | None) -> str:
    """The first line a typed answer called for (an `Openings` field), ready to go before the reply."""
    return f"{getattr(content.checkin.openings, opening).strip()}\n\n" if opening else ""


def advice_text(content: Content, advice: Advice) -> str:
    """Corrective advice as one message: what the answer means, what to do, the drill, the cue."""
    texts = content.texts
    parts = [
        f"<b>{advice.title}</b>\n{advice.meaning.strip()}",
        f"<b>{texts.advice_do_heading}</b>\n{advice.do.strip()}",
    ]
    if advice.drills:
        blocks = "\n\n".join(drill_block(content, d.drill, d.dose, d.note) for d in advice.drills)
        parts.append(f"<b>{texts.advice_drills_heading}</b>\n{blocks}")
    if advice.cues:
        parts.append(f"<b>{texts.advice_cues_heading}</b>\n" + _bullets([content.cues[c].text for c in advice.cues]))
    return "\n\n".join(parts)


def when_text(texts: Texts, when: DueWhen) -> str:
    """'today at 07:00', 'tomorrow at 07:00', 'on Thu 4 Jun at 07:00' or 'in 30 seconds', in the
    language of `texts` (its words, Babel's names of days and months, its plural forms)."""
    template: Text = getattr(texts, when.kind.value)
    day = "" if when.day is None else weekday_date_text(when.day, texts.language)
    return template.format(clock=when.clock, date=day, seconds=when.seconds)


class Place(StrEnum):
    PRIVATE = "private"
    GROUP = "group"  # a group, supergroup or channel


# The reply to each command by verdict: (text in a private chat, text in a group).
REPLIES: dict[tuple[Command, Verdict], tuple[str, str]] = {
    (Command.PAUSE, Verdict.MOVED): ("pause_done", "group_paused"),
    (Command.PAUSE, Verdict.ALREADY): ("pause_already", "group_pause_already"),
    (Command.PAUSE, Verdict.HELD): ("hold_reminder", "group_held"),
    (Command.PAUSE, Verdict.STOPPED): ("stopped_hint", "group_is_stopped"),
    (Command.PAUSE, Verdict.NO_COURSE): ("not_enrolled", "group_not_started"),
    (Command.RESUME, Verdict.MOVED): ("resume_done", "group_resumed"),
    (Command.RESUME, Verdict.ALREADY): ("resume_not_paused", "group_resume_not_paused"),
    (Command.RESUME, Verdict.HELD): ("hold_reminder", "group_held"),
    (Command.RESUME, Verdict.NO_COURSE): ("not_enrolled", "group_not_started"),
    (Command.STOP, Verdict.MOVED): ("stop_done", "group_stopped"),
    (Command.STOP, Verdict.ALREADY): ("stopped_hint", "group_is_stopped"),
    (Command.STOP, Verdict.NO_COURSE): ("not_enrolled", "group_not_started"),
    (Command.RELEASE, Verdict.MOVED): ("hold_resumed", "group_released"),
    (Command.RELEASE, Verdict.ALREADY): ("hold_not_held", "group_not_held"),
    (Command.RELEASE, Verdict.NOT_HELD): ("hold_not_held", "group_not_held"),
    (Command.RESTART, Verdict.HELD): ("hold_reminder", "group_held"),
}


def settings_saved_text(texts: Texts, moved: Outcome | None) -> str:
    """The confirmation of a new lesson time or zone, with where the waiting lesson moved (the chat's
    /settings and the Mini App say the same)."""
    note = "" if moved is None else texts.settings_next_lesson.format(when=when_text(texts, moved.when))
    return texts.settings_saved.format(next_lesson=note)


def course_reply(content: Content, command: Command, outcome: Outcome, place: Place) -> str:
    """What a lifecycle command did, in the words of the place it was asked from (also the chat's
    confirmation of a change made in the Mini App)."""
    texts = content.texts
    private_key, group_key = REPLIES[(command, outcome.verdict)]
    return getattr(texts, private_key if place is Place.PRIVATE else group_key).format(
        day=outcome.day,
        next_day=outcome.next_day,
        when="" if outcome.when is None else when_text(texts, outcome.when),
        safety=content.course.safety.strip(),
    )
