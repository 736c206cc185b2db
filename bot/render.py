"""Turn content into Telegram HTML messages. Presentation only: no sending, no storage."""

from __future__ import annotations

from html import escape

from bot.content.models import Advice, Content, Lesson

MESSAGE_LIMIT = 4096


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split at paragraph, then line, boundaries so no message exceeds Telegram's limit.

    Content keeps each HTML tag inside one line, so a split never breaks a tag pair.
    """
    pieces: list[str] = []
    for paragraph in text.strip().split("\n\n"):
        if len(paragraph) <= limit:
            pieces.append(paragraph)
            continue
        lines = [part for line in paragraph.split("\n") for part in _hard_cut(line, limit)]
        pieces += _pack(lines, "\n", limit)
    return _pack(pieces, "\n\n", limit)


def _hard_cut(line: str, limit: int) -> list[str]:
    """A single line longer than a message is cut where it must be."""
    return [line[i : i + limit] for i in range(0, len(line), limit)] or [""]


def _pack(pieces: list[str], separator: str, limit: int) -> list[str]:
    """Join pieces with the separator, greedily, into chunks of at most `limit` characters."""
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{separator}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


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
    if lesson.notes.runner and profile in ("runner", "both", None):
        parts.append(f"<b>{texts.lesson_runner_heading}</b>\n{lesson.notes.runner}")
    if lesson.notes.lifter and profile in ("lifter", "both", None):
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
