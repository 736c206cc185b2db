"""The training log: /log, /undo, /progress, and the buttons under a logged line (which exercise,
how it felt). The lifter's tools around the log (/records, /plates, /rest, the CSV) are in
bot/handlers/lifting.py; /units and /weekly in preferences.py; /export and /forget in privacy.py.
What is stored and read is `services.training_log`'s (bot/services/training_log.py)."""

from __future__ import annotations

import asyncio
import io
import logging
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import Application, CommandHandler, filters

from bot.callback_data import FeltMark, PickExercise
from bot.charts import ProgressLabels, progress_chart
from bot.content.models import Texts
from bot.context import CoachContext
from bot.domain import training
from bot.domain.plates import DEFAULT_BAR
from bot.domain.training import MAX_KG, MAX_REPS, MAX_SETS, SetDone, from_kg
from bot.handlers.common import button_handler, drop_buttons, reply, reply_photo
from bot.keyboards import plates_button, rest_row
from bot.language import number_text
from bot.logbook import catalogue, date_text, progression_text, record_text, weight_text
from bot.render import user_text
from bot.services.training_log import Logged, Row, Unlogged

log = logging.getLogger(__name__)


def _entry_text(texts: Texts, template: str, entry: Row, known: training.Catalogue) -> str:
    return template.format(
        exercise=escape(known.name_of(entry.exercise)),
        sets=entry.sets,
        reps=entry.reps,
        weight=weight_text(texts, entry.weight_kg, entry.unit),
    ).strip()


def _line_text(texts: Texts, template: str, rows: list[Row], known: training.Catalogue) -> str:
    """A stored line of several rows as the person wrote it: '8 @8, 8 @9, 7 @9.5 reps at 100 kg'."""
    first = rows[0]
    done = [SetDone(row.reps, row.rpe) for row in rows for _ in range(row.sets)]
    reps = ", ".join(str(s.reps) + ("" if s.rpe is None else f" @{number_text(s.rpe)}") for s in done)
    return template.format(
        exercise=escape(known.name_of(first.exercise)),
        reps=reps,
        weight=weight_text(texts, first.weight_kg, first.unit),
    ).strip()


def _saved_text(texts: Texts, rows: list[Row], known: training.Catalogue) -> str:
    """'Logged ...: 3 × 8 at 100 kg. Effort: RPE 8.', or set by set."""
    if len(rows) > 1:
        return _line_text(texts, texts.log_saved_each, rows, known)
    text = _entry_text(texts, texts.log_saved, rows[0], known)
    return text if rows[0].rpe is None else f"{text} {texts.log_effort.format(rpe=number_text(rows[0].rpe))}"


# ----------------------------------------------------------------------------- /log and /undo


async def log_command(update: Update, context: CoachContext) -> None:
    """/log rdl 35 3x12: store the line and say what to do next time."""
    services = context.services
    text = " ".join(context.args or [])
    logged = await services.training_log.log(
        update.effective_chat.id, update.effective_user.id, text, catalogue(services.content)
    )
    if isinstance(logged, Unlogged):
        await _explain(update, context, logged, text)
        return
    await _reply_logged(update, context, logged)


async def _explain(update: Update, context: CoachContext, unlogged: Unlogged, typed: str) -> None:
    """A line that could not be logged: what was wrong, a line to copy, and the closest exercises."""
    texts = context.services.content.texts
    error = unlogged.error
    example = f"/log {escape(error.example)}"
    if error.problem == "empty":
        await reply(update, texts.log_help)
        return
    if error.problem != "unknown_exercise":
        bounds = dict(max_sets=MAX_SETS, max_reps=MAX_REPS, max_weight=f"{number_text(MAX_KG)} kg")
        await reply(update, getattr(texts, f"log_{error.problem}").format(example=example, **bounds))
        return
    text = texts.log_unknown_exercise.format(name=user_text(error.line.name, 40), example=example)
    if unlogged.pending is None:
        await reply(update, text)
        return
    buttons = [
        [InlineKeyboardButton(exercise.name, callback_data=PickExercise(unlogged.pending, exercise.key).pack())]
        for exercise in error.suggestions
    ]
    await reply(update, f"{text}\n{texts.log_suggestions}", InlineKeyboardMarkup(buttons))


async def pick_exercise(update: Update, context: CoachContext, button: PickExercise) -> None:
    """A suggested exercise tapped under 'did you mean': log the waiting line with it. The line is
    read again by the same parser, so a button can only ever log what the person typed."""
    services = context.services
    query = update.callback_query
    await query.answer()
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    exercise = catalogue(services.content).exercises.get(button.exercise)
    entry = await services.training_log.picked(chat_id, user_id, button.pending, exercise)
    if entry is None:
        await reply(update, services.content.texts.log_pick_gone)
        return
    if await drop_buttons(query):  # only the first tap logs the line
        await _reply_logged(update, context, await services.training_log.record(chat_id, user_id, entry))


async def _reply_logged(update: Update, context: CoachContext, logged: Logged) -> None:
    """What was stored, the estimated max, new records and the advice for next time; then how it
    felt (unless a check-in already said), the plates for next time and the rest timer."""
    services = context.services
    texts, unit, advice = services.content.texts, logged.unit, logged.advice
    lines = [_saved_text(texts, logged.rows, catalogue(services.content))]
    if logged.sessions and logged.sessions[-1].e1rm_kg is not None:
        lines.append(texts.log_e1rm.format(e1rm=weight_text(texts, logged.sessions[-1].e1rm_kg, unit)))
    if logged.records:
        found = "; ".join(record_text(texts, r, unit, bodyweight_volume=logged.bodyweight) for r in logged.records)
        lines.append(texts.record_new.format(records=found))
    text = "\n".join(lines) + f"\n{progression_text(texts, advice)}"
    keyboard = [rest_row(texts)]
    bar = from_kg(logged.bar_kg, unit) if logged.bar_kg is not None else DEFAULT_BAR[unit]
    if advice.next_load is not None and advice.next_load > bar:  # the plates for next time, one tap away
        keyboard.insert(0, [plates_button(texts, advice.next_load, unit)])
    if not logged.linked:
        first = logged.rows[0].id
        keyboard.insert(
            0,
            [
                InlineKeyboardButton(texts.log_felt_clean, callback_data=FeltMark(first, "clean").pack()),
                InlineKeyboardButton(texts.log_felt_back, callback_data=FeltMark(first, "regress").pack()),
            ],
        )
        text = f"{text}\n\n{texts.log_felt_question}"
    await reply(update, text, InlineKeyboardMarkup(keyboard))


async def felt(update: Update, context: CoachContext, button: FeltMark) -> None:
    """How a logged set felt, tapped under the log reply: it steers the next advice."""
    services = context.services
    query = update.callback_query
    await query.answer()
    if not await drop_buttons(query):  # the second tap of a double tap
        return
    advice = await services.training_log.felt(update.effective_user.id, button.entry, button.mark)
    if advice is None:
        return
    texts = services.content.texts
    await reply(update, f"{texts.log_felt_saved.strip()} {progression_text(texts, advice)}")


async def undo(update: Update, context: CoachContext) -> None:
    """Remove the last logged line, all its sets: the cure for a typo."""
    texts = context.services.content.texts
    rows = await context.services.training_log.undo(update.effective_user.id)
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
    found = await services.training_log.progress(chat_id, user_id, key)
    if found is None:
        await reply(update, texts.progress_empty)
        return
    key, unit, sessions, advice = found.exercise, found.unit, found.sessions, found.advice
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
