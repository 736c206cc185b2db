"""The training log: /log, /undo, /progress, and the buttons under a logged line (which exercise,
how it felt). The lifter's tools around the log (/records, /plates, /rest, the CSV) are in
bot/handlers/lifting.py; /units and /weekly in preferences.py; /export and /forget in privacy.py."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import datetime, timedelta
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import Application, CommandHandler, filters

from bot.callback_data import FeltMark, PickExercise
from bot.charts import ProgressLabels, progress_chart
from bot.content.models import Texts
from bot.context import CoachContext
from bot.domain import training
from bot.domain.course import CourseStatus
from bot.domain.plates import DEFAULT_BAR
from bot.domain.strength import new_records
from bot.domain.training import (
    MAX_KG,
    MAX_REPS,
    MAX_SETS,
    LogEntry,
    LogError,
    SetDone,
    from_kg,
    set_groups,
)
from bot.handlers.common import button_handler, drop_buttons, reply, reply_photo
from bot.keyboards import plates_button, rest_row
from bot.language import number_text
from bot.logbook import (
    advice_for,
    catalogue,
    date_text,
    day_length,
    lift_sets,
    progression_text,
    record_text,
    weight_text,
    zone_of,
)
from bot.render import user_text
from bot.storage import courses, models, training_log

log = logging.getLogger(__name__)


def _entry_text(texts: Texts, template: str, entry: models.LogEntry, known: training.Catalogue) -> str:
    return template.format(
        exercise=escape(known.name_of(entry.exercise)),
        sets=entry.sets,
        reps=entry.reps,
        weight=weight_text(texts, entry.weight_kg, entry.unit),
    ).strip()


def _line_text(texts: Texts, template: str, rows: list[models.LogEntry], known: training.Catalogue) -> str:
    """A stored line of several rows as the person wrote it: '8 @8, 8 @9, 7 @9.5 reps at 100 kg'."""
    first = rows[0]
    done = [SetDone(row.reps, row.rpe) for row in rows for _ in range(row.sets)]
    reps = ", ".join(str(s.reps) + ("" if s.rpe is None else f" @{number_text(s.rpe)}") for s in done)
    return template.format(
        exercise=escape(known.name_of(first.exercise)),
        reps=reps,
        weight=weight_text(texts, first.weight_kg, first.unit),
    ).strip()


def _saved_text(texts: Texts, rows: list[models.LogEntry], known: training.Catalogue) -> str:
    """'Logged ...: 3 × 8 at 100 kg. Effort: RPE 8.', or set by set."""
    if len(rows) > 1:
        return _line_text(texts, texts.log_saved_each, rows, known)
    text = _entry_text(texts, texts.log_saved, rows[0], known)
    return text if rows[0].rpe is None else f"{text} {texts.log_effort.format(rpe=number_text(rows[0].rpe))}"


# ----------------------------------------------------------------------------- /log and /undo


async def log_command(update: Update, context: CoachContext) -> None:
    """/log rdl 35 3x12: store the line and say what to do next time."""
    services = context.services
    known = catalogue(services.content)
    text = " ".join(context.args or [])
    async with services.db.session() as session:
        preference = await training_log.preference_of(session=session, chat_id=update.effective_chat.id)
        units = preference.units
    parsed = training.parse_log_line(text, known, units)
    if isinstance(parsed, LogError):
        await _explain(update, context, parsed, text)
        return
    await _record(update, context, parsed)


async def _explain(update: Update, context: CoachContext, error: LogError, typed: str) -> None:
    """A line that could not be logged: what was wrong, a line to copy, and the closest exercises."""
    services = context.services
    texts = services.content.texts
    example = f"/log {escape(error.example)}"
    if error.problem == "empty":
        await reply(update, texts.log_help)
        return
    if error.problem != "unknown_exercise":
        bounds = dict(max_sets=MAX_SETS, max_reps=MAX_REPS, max_weight=f"{number_text(MAX_KG)} kg")
        await reply(update, getattr(texts, f"log_{error.problem}").format(example=example, **bounds))
        return
    text = texts.log_unknown_exercise.format(name=user_text(error.line.name, 40), example=example)
    if not error.suggestions:
        await reply(update, text)
        return
    async with services.db.session() as session:  # the buttons carry only the id of the waiting line
        pending = await training_log.save_pending_log(
            session=session,
            chat_id=update.effective_chat.id,
            user_id=update.effective_user.id,
            text=typed,
            now=services.clock.now(),
        )
    buttons = [
        [InlineKeyboardButton(exercise.name, callback_data=PickExercise(pending, exercise.key).pack())]
        for exercise in error.suggestions
    ]
    await reply(update, f"{text}\n{texts.log_suggestions}", InlineKeyboardMarkup(buttons))


async def pick_exercise(update: Update, context: CoachContext, button: PickExercise) -> None:
    """A suggested exercise tapped under 'did you mean': log the waiting line with it. The line is
    read again by the same parser, so a button can only ever log what the person typed."""
    services = context.services
    query = update.callback_query
    await query.answer()
    exercise = catalogue(services.content).exercises.get(button.exercise)
    typed = None
    async with services.db.session() as session:
        if exercise is not None:  # a forged exercise leaves the waiting line waiting
            typed = await training_log.take_pending_log(
                session=session, pending_id=button.pending, user_id=update.effective_user.id
            )
        preference = await training_log.preference_of(session=session, chat_id=update.effective_chat.id)
        units = preference.units
    line = None if typed is None else training.read_log_line(typed)
    if line is None or isinstance(line, LogError):
        await reply(update, services.content.texts.log_pick_gone)
        return
    if await drop_buttons(query):  # only the first tap logs the line
        await _record(update, context, training.entry_from(line, exercise, units))


async def _record(update: Update, context: CoachContext, parsed: LogEntry) -> None:
    services = context.services
    texts, now = services.content.texts, services.clock.now()
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    async with services.db.session() as session:
        enrollment = await courses.current_enrollment(session=session, chat_id=chat_id)
        day = _course_day(enrollment, now, day_length(services.settings))
        rows = await training_log.add_log_line(
            session=session,
            entries=[
                models.LogEntry(
                    chat_id=chat_id,
                    user_id=user_id,
                    day=day,
                    exercise=parsed.exercise.key,
                    weight_kg=parsed.weight_kg,
                    unit=parsed.unit,
                    sets=count,
                    reps=done.reps,
                    rpe=done.rpe,
                    logged_at=now,
                )
                for count, done in set_groups(parsed.sets_done())
            ],
        )
        preference = await training_log.preference_of(session=session, chat_id=chat_id)
        zone = await zone_of(session, chat_id)
        sessions, advice, history = await advice_for(
            session, services, user_id, parsed.exercise.key, preference.units, zone
        )
        bar_kg = preference.bar_kg
        linked = rows[0].checkin_answer_id is not None
    unit = preference.units
    known = catalogue(services.content)
    lines = [_saved_text(texts, rows, known)]
    if sessions and sessions[-1].e1rm_kg is not None:
        lines.append(texts.log_e1rm.format(e1rm=weight_text(texts, sessions[-1].e1rm_kg, unit)))
    added = {row.id for row in rows}
    before = [entry for entry in history if entry.id not in added]
    records = new_records(lift_sets(before, zone), lift_sets(rows, zone))
    if records:
        bodyweight = all(e.weight_kg is None for e in history)
        found = "; ".join(record_text(texts, r, unit, bodyweight_volume=bodyweight) for r in records)
        lines.append(texts.record_new.format(records=found))
    text = "\n".join(lines) + f"\n{progression_text(texts, advice)}"
    keyboard = [rest_row(texts)]
    bar = from_kg(bar_kg, unit) if bar_kg is not None else DEFAULT_BAR[unit]
    if advice.next_load is not None and advice.next_load > bar:  # the plates for next time, one tap away
        keyboard.insert(0, [plates_button(texts, advice.next_load, unit)])
    if not linked:
        keyboard.insert(
            0,
            [
                InlineKeyboardButton(texts.log_felt_clean, callback_data=FeltMark(rows[0].id, "clean").pack()),
                InlineKeyboardButton(texts.log_felt_back, callback_data=FeltMark(rows[0].id, "regress").pack()),
            ],
        )
        text = f"{text}\n\n{texts.log_felt_question}"
    await reply(update, text, InlineKeyboardMarkup(keyboard))


def _course_day(enrollment: models.Enrollment | None, now: datetime, length: timedelta) -> int | None:
    """The course day a line belongs to, while that day's lesson is fresh: its check-in is about it."""
    over = (CourseStatus.FINISHED, CourseStatus.REPLACED)
    if enrollment is None or enrollment.status in over or enrollment.last_sent_at is None:
        return None
    fresh = now - enrollment.last_sent_at < length
    return enrollment.current_day if fresh and enrollment.current_day >= 1 else None


async def felt(update: Update, context: CoachContext, button: FeltMark) -> None:
    """How a logged set felt, tapped under the log reply: it steers the next advice."""
    services = context.services
    query = update.callback_query
    await query.answer()
    if not await drop_buttons(query):  # the second tap of a double tap
        return
    async with services.db.session() as session:
        entry = await session.get(models.LogEntry, button.entry)
        if entry is None or entry.user_id != update.effective_user.id:
            return
        for row in await training_log.line_of(session=session, entry=entry):
            row.felt = button.mark
        preference = await training_log.preference_of(session=session, chat_id=entry.chat_id)
        zone = await zone_of(session, entry.chat_id)
        _, advice, _ = await advice_for(session, services, entry.user_id, entry.exercise, preference.units, zone)
    texts = services.content.texts
    await reply(update, f"{texts.log_felt_saved.strip()} {progression_text(texts, advice)}")


async def undo(update: Update, context: CoachContext) -> None:
    """Remove the last logged line, all its sets: the cure for a typo."""
    texts = context.services.content.texts
    async with context.services.db.session() as session:
        entry = await training_log.last_log_entry(session=session, user_id=update.effective_user.id)
        rows = [] if entry is None else await training_log.line_of(session=session, entry=entry)
        for row in rows:
            await session.delete(row)
    if not rows:
        await reply(update, texts.log_nothing_to_undo)
        return
    known = catalogue(context.services.content)
    if len(rows) == 1:
        await reply(update, _entry_text(texts, texts.log_undone, rows[0], known))
    else:
        await reply(update, _line_text(texts, texts.log_undone_each, rows, known))


# ----------------------------------------------------------------------------- /progress


async def progress(update: Update, context: CoachContext) -> None:
    """/progress [exercise]: the chart of one exercise and a two-line summary."""
    services = context.services
    texts, known = services.content.texts, catalogue(services.content)
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    wanted = " ".join(context.args or [])
    key = known.key_of(wanted) if wanted else None
    if wanted and key is None:
        await reply(update, texts.progress_unknown.format(name=user_text(wanted, 40)))
        return
    async with services.db.session() as session:
        key = key or await training_log.latest_exercise(session=session, user_id=user_id)
        if key is None:
            await reply(update, texts.progress_empty)
            return
        preference = await training_log.preference_of(session=session, chat_id=chat_id)
        unit = preference.units
        sessions, advice, _ = await advice_for(session, services, user_id, key, unit, await zone_of(session, chat_id))
    name = known.name_of(key)
    if not sessions:
        await reply(update, texts.progress_none_for.format(exercise=escape(name)))
        return
    labels = ProgressLabels(
        title=name,
        top_set=texts.chart_top_set.format(unit=unit),
        volume=texts.chart_volume.format(unit=unit),
        reps=texts.chart_reps,
        clean=texts.chart_clean,
        back=texts.chart_back,
        e1rm=texts.chart_e1rm.format(unit=unit),
    )
    chart = await asyncio.to_thread(progress_chart, sessions, unit, labels)  # CPU work off the event loop
    caption = f"{_summary(texts, name, sessions, unit)}\n{progression_text(texts, advice)}"
    await reply_photo(update, InputFile(io.BytesIO(chart.png), filename=f"progress-{key}.png"), caption)


def _summary(texts: Texts, name: str, sessions: list[training.Session], unit: str) -> str:
    first, last = sessions[0], sessions[-1]
    values = dict(exercise=escape(name), sessions=len(sessions), since=date_text(first.on))
    if last.top_kg is None or first.top_kg is None:
        return texts.progress_summary_reps.format(first=int(first.volume), last=int(last.volume), **values).strip()
    return texts.progress_summary_weight.format(
        first=weight_text(texts, first.top_kg, unit), last=weight_text(texts, last.top_kg, unit), **values
    ).strip()


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("log", log_command, filters=private))
    application.add_handler(CommandHandler("undo", undo, filters=private))
    application.add_handler(CommandHandler("progress", progress, filters=private))
    application.add_handler(button_handler(PickExercise, pick_exercise))
    application.add_handler(button_handler(FeltMark, felt))
