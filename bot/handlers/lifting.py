"""The lifter's tools around the log: /records, /plates, /rest (and their buttons), and the log as
a Hevy CSV: /export csv, and such a file sent back to be imported. What is stored and read is
`services.training_log`'s (bot/services/training_log.py)."""

from __future__ import annotations

import asyncio
import io
import logging
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.callback_data import PlatesFor, RestTimer
from bot.content.models import Texts
from bot.context import CoachContext
from bot.domain import plates as plate_maths
from bot.domain import tracker_csv
from bot.domain.rest import read_rest, rest_text
from bot.domain.training import MAX_KG, from_kg
from bot.handlers.common import button_handler, drop_buttons, reply
from bot.language import number_text
from bot.logbook import catalogue, record_line
from bot.render import user_text

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- /records


async def records(update: Update, context: CoachContext) -> None:
    """/records [exercise]: the bests of one exercise, or of every exercise logged."""
    services = context.services
    texts, known = services.content.texts, catalogue(services.content)
    wanted = " ".join(context.args or [])
    key = known.key_of(wanted) if wanted else None
    if wanted and key is None:
        await reply(update, texts.records_unknown.format(name=user_text(wanted, 40)))
        return
    unit, found = await services.training_log.records(update.effective_chat.id, update.effective_user.id, key)
    blocks = []
    for exercise in found:
        lines = [record_line(texts, r, unit, bodyweight_volume=exercise.bodyweight) for r in exercise.records]
        heading = texts.records_heading.format(exercise=escape(known.name_of(exercise.exercise))).strip()
        blocks.append("\n".join([heading, *lines]))
    if not blocks:
        await reply(update, texts.records_empty)
        return
    await reply(update, "\n\n".join([*blocks, texts.records_formula.strip()]))


# ----------------------------------------------------------------------------- /plates


def _plates_list(loading: plate_maths.Loading) -> str:
    return " + ".join(number_text(plate, places=2) for plate in loading.per_side)  # 1.25, not 1.2


def plates_text(texts: Texts, plan: plate_maths.PlatePlan) -> str:
    unit = plan.unit

    def amount(value: float) -> str:
        return f"{number_text(value)} {unit}"

    if plan.exact is not None and not plan.exact.per_side:
        return texts.plates_empty_bar.format(total=amount(plan.exact.total)).strip()
    if plan.exact is not None:
        loading = plan.exact
        return texts.plates_exact.format(
            total=amount(loading.total), bar=amount(loading.bar), plates=_plates_list(loading)
        ).strip()
    bar = plan.heavier.bar if plan.heavier else plan.lighter.bar
    if plan.lighter is None:
        return texts.plates_below_bar.format(target=amount(plan.target), bar=amount(bar)).strip()
    options = [
        texts.plates_option.format(total=amount(loading.total), plates=_plates_list(loading))
        for loading in (plan.lighter, plan.heavier)
    ]
    heading = texts.plates_not_exact.format(target=amount(plan.target), bar=amount(bar)).strip()
    return "\n".join([heading, *options])


async def plates(update: Update, context: CoachContext) -> None:
    """/plates 142.5, /plates 315 lb, /plates bar 15: plates per side for a load, or the bar."""
    await _plates(update, context, context.args or [])


async def plates_pressed(update: Update, context: CoachContext, button: PlatesFor) -> None:
    """The 'plates for next time' button: its numbers are read like typed ones, the same bounds."""
    await update.callback_query.answer()
    await _plates(update, context, [button.weight, button.unit])


async def _plates(update: Update, context: CoachContext, words: list[str]) -> None:
    services = context.services
    texts = services.content.texts
    found = await services.training_log.plates(update.effective_chat.id, words)
    units, request, bar_kg = found.units, found.request, found.bar_kg
    bar = from_kg(bar_kg, units) if bar_kg is not None else plate_maths.DEFAULT_BAR[units]
    if not words:
        await reply(update, texts.plates_help.format(bar=f"{number_text(bar)} {units}"))
        return
    if request is None:
        limits = dict(
            max_weight=f"{number_text(MAX_KG)} kg",
            max_bar=f"{number_text(plate_maths.MAX_BAR_KG)} kg",
        )
        await reply(update, texts.plates_invalid.format(**limits))
        return
    unit = request.unit or units
    if request.bar is not None:
        await reply(update, texts.plates_bar_saved.format(bar=f"{number_text(request.bar)} {unit}"))
        return
    bar_in_unit = from_kg(bar_kg, unit) if bar_kg is not None else plate_maths.DEFAULT_BAR[unit]
    await reply(update, plates_text(texts, plate_maths.plan(request.weight, unit, round(bar_in_unit, 2))))


# ----------------------------------------------------------------------------- /rest


async def rest(update: Update, context: CoachContext) -> None:
    """/rest 3m, /rest 90s, /rest 2:30: a "time's up" when the rest is over; /rest off stops it."""
    wanted = " ".join(context.args or []).strip().lower()
    if wanted in ("off", "stop", "cancel"):
        await _stop_rest(update, context)
        return
    seconds = read_rest(wanted) if wanted else None
    if seconds is None:
        await reply(update, context.services.content.texts.rest_help)
        return
    await _start_rest(update, context, seconds)


async def rest_pressed(update: Update, context: CoachContext, button: RestTimer) -> None:
    """A 1:30 / 3:00 / 5:00 button, or 'stop the timer'; the length is read like a typed one."""
    query = update.callback_query
    await query.answer()
    if button.length == "off":
        if await drop_buttons(query):  # a double tap stops once
            await _stop_rest(update, context)
        return
    seconds = read_rest(f"{button.length}s")
    if seconds is not None:
        await _start_rest(update, context, seconds)


async def _start_rest(update: Update, context: CoachContext, seconds: int) -> None:
    services = context.services
    texts = services.content.texts
    await services.training_log.start_rest(update.effective_chat.id, seconds)
    stop_button = InlineKeyboardButton(texts.rest_cancel_button, callback_data=RestTimer("off").pack())
    stop = InlineKeyboardMarkup([[stop_button]])
    await reply(update, texts.rest_started.format(time=rest_text(seconds)), stop)


async def _stop_rest(update: Update, context: CoachContext) -> None:
    texts = context.services.content.texts
    stopped = await context.services.training_log.stop_rest(update.effective_chat.id)
    await reply(update, texts.rest_cancelled if stopped else texts.rest_nothing)


# ----------------------------------------------------------------------------- CSV out and in


async def export_csv(update: Update, context: CoachContext) -> None:
    """/export csv: the training log in Hevy's export layout, one row per set."""
    services = context.services
    texts, known = services.content.texts, catalogue(services.content)
    exported = await services.training_log.export_csv(update.effective_chat.id, update.effective_user.id, known)
    if exported is None:
        await reply(update, texts.export_csv_empty)
        return
    await update.effective_chat.send_document(
        InputFile(io.BytesIO(exported.data), filename="hinge-coach-log.csv"),
        caption=texts.export_csv_caption.format(sets=exported.sets),
    )


async def import_csv(update: Update, context: CoachContext) -> None:
    """A CSV file sent to the bot: checked whole, then imported whole, or not at all."""
    services = context.services
    texts, known = services.content.texts, catalogue(services.content)
    document = update.effective_message.document
    limit = f"{tracker_csv.MAX_CSV_BYTES // 1000:,} KB"
    if document.file_size is not None and document.file_size > tracker_csv.MAX_CSV_BYTES:
        await reply(update, texts.import_too_big.format(size=f"{document.file_size // 1000:,} KB", max=limit))
        return
    try:
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("CSV import: the file could not be fetched: %s", exc)
        await reply(update, texts.import_download_failed)
        return
    if len(data) > tracker_csv.MAX_CSV_BYTES:  # the size Telegram announced may be missing or wrong
        await reply(update, texts.import_too_big.format(size=f"{len(data) // 1000:,} KB", max=limit))
        return
    plan = await asyncio.to_thread(tracker_csv.read_export, data, known)  # ~1 s for 1 MB: off the event loop
    if isinstance(plan, tracker_csv.CsvProblem):
        await reply(update, _problem_text(texts, plan))
        return
    await reply(update, await _import(update, context, plan))


def _problem_text(texts: Texts, problem: tracker_csv.CsvProblem) -> str:
    if problem.problem == "encoding":
        return texts.import_bad_encoding
    if problem.problem == "header":
        return texts.import_bad_header
    if problem.problem == "too_many_rows":
        return texts.import_too_many_rows.format(max=f"{tracker_csv.MAX_CSV_ROWS:,}")
    if not problem.column:
        return texts.import_bad_row_shape.format(row=problem.row)
    return texts.import_bad_row.format(row=problem.row, column=escape(problem.column))


async def _import(update: Update, context: CoachContext, plan: tracker_csv.ImportPlan) -> str:
    """Store the file's sets in one transaction, skipping exercises the log already has on the
    same day (so sending a file twice imports it once); returns the summary."""
    services = context.services
    texts, known = services.content.texts, catalogue(services.content)
    fresh = await services.training_log.import_csv(update.effective_chat.id, update.effective_user.id, plan)
    parts = []
    if fresh:
        names = ", ".join(sorted({escape(known.name_of(s.exercise)) for s in fresh}))
        parts.append(texts.import_done.format(sets=len(fresh), exercises=names).strip())
    else:
        parts.append(texts.import_nothing_new.strip())
    if plan.skipped_exercises:
        names = ", ".join(
            f"{user_text(title, 40)} ({count})" for title, count in sorted(plan.skipped_exercises.items())[:15]
        )
        parts.append(texts.import_skipped_exercises.format(names=names))
    if plan.warmups:
        parts.append(texts.import_skipped_warmups.format(count=plan.warmups))
    if len(fresh) < len(plan.sets):
        parts.append(texts.import_skipped_known.format(count=len(plan.sets) - len(fresh)))
    return "\n".join(parts)


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    # Before the /export of bot/handlers/privacy.py: '/export csv' is this module's.
    application.add_handler(MessageHandler(private & filters.Regex(r"^/export(@\w+)?\s+csv\s*$"), export_csv))
    application.add_handler(CommandHandler("records", records, filters=private))
    application.add_handler(CommandHandler("plates", plates, filters=private))
    application.add_handler(CommandHandler("rest", rest, filters=private))
    application.add_handler(MessageHandler(private & filters.Document.FileExtension("csv"), import_csv))
    application.add_handler(button_handler(PlatesFor, plates_pressed))
    application.add_handler(button_handler(RestTimer, rest_pressed))
