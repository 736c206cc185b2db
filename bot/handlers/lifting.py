"""The lifter's tools around the log: /records, /plates, /rest (and their buttons), and the log as
a Hevy CSV: /export csv, and such a file sent back to be imported."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import date, timedelta
from html import escape
from itertools import groupby
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.callback_data import PlatesFor, RestTimer
from bot.content.models import Texts
from bot.context import CoachContext
from bot.delivery.timers import ScheduledKind
from bot.domain import plates as plate_maths
from bot.domain import tracker_csv
from bot.domain.rest import read_rest, rest_text
from bot.domain.strength import records_of
from bot.domain.training import MAX_KG, SetDone, Unit, from_kg, set_groups, to_kg
from bot.handlers.common import button_handler, drop_buttons, reply
from bot.language import number_text
from bot.logbook import catalogue, lift_sets, local_date, record_line, zone_of
from bot.render import user_text
from bot.storage import models, training_log

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
    user_id, chat_id = update.effective_user.id, update.effective_chat.id
    async with services.db.session() as session:
        rows = await training_log.whole_log(session=session, user_id=user_id)
        preference = await training_log.preference_of(session=session, chat_id=chat_id)
        zone = await zone_of(session, chat_id)
    unit = preference.units
    blocks = []
    for exercise, entries in groupby(sorted(rows, key=lambda e: e.exercise), key=lambda e: e.exercise):
        if key is not None and exercise != key:
            continue
        entries = list(entries)
        found = records_of(lift_sets(entries, zone))
        bodyweight = all(e.weight_kg is None for e in entries)
        lines = [record_line(texts, r, unit, bodyweight_volume=bodyweight) for r in found.all()]
        heading = texts.records_heading.format(exercise=escape(known.name_of(exercise))).strip()
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
    async with services.db.session() as session:
        preference = await training_log.preference_of(session=session, chat_id=update.effective_chat.id)
        units: Unit = preference.units
        request = plate_maths.read_plates(words, units) if words else None
        if request is not None and request.bar is not None:
            preference.bar_kg = to_kg(request.bar, request.unit or units)
        bar_kg = preference.bar_kg
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
    due = services.clock.now() + timedelta(seconds=seconds)
    async with services.db.session() as session:
        await training_log.schedule_message(
            session=session, chat_id=update.effective_chat.id, kind=ScheduledKind.REST, seconds=seconds, due_at=due
        )
    stop_button = InlineKeyboardButton(texts.rest_cancel_button, callback_data=RestTimer("off").pack())
    stop = InlineKeyboardMarkup([[stop_button]])
    await reply(update, texts.rest_started.format(time=rest_text(seconds)), stop)


async def _stop_rest(update: Update, context: CoachContext) -> None:
    texts = context.services.content.texts
    async with context.services.db.session() as session:
        stopped = await training_log.cancel_scheduled(
            session=session, chat_id=update.effective_chat.id, kind=ScheduledKind.REST
        )
    await reply(update, texts.rest_cancelled if stopped else texts.rest_nothing)


# ----------------------------------------------------------------------------- CSV out and in


async def export_csv(update: Update, context: CoachContext) -> None:
    """/export csv: the training log in Hevy's export layout, one row per set."""
    services = context.services
    texts, known = services.content.texts, catalogue(services.content)
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    async with services.db.session() as session:
        rows = await training_log.whole_log(session=session, user_id=user_id)
        preference = await training_log.preference_of(session=session, chat_id=chat_id)
        zone = ZoneInfo(await zone_of(session, chat_id) or "UTC")
    if not rows:
        await reply(update, texts.export_csv_empty)
        return
    unit: Unit = preference.units
    sets = _export_sets(rows, zone, unit)
    data = tracker_csv.write_export(sets, known, unit).encode()
    await update.effective_chat.send_document(
        InputFile(io.BytesIO(data), filename="hinge-coach-log.csv"),
        caption=texts.export_csv_caption.format(sets=len(sets)),
    )


def _export_sets(rows: list[models.LogEntry], zone: ZoneInfo, unit: Unit) -> list[tracker_csv.ExportSet]:
    """Each logged row as its sets; a workout is the exercises of one local date."""
    by_day: dict[date, list[models.LogEntry]] = {}
    for row in rows:
        by_day.setdefault(row.logged_at.astimezone(zone).date(), []).append(row)
    sets = []
    for day_rows in by_day.values():
        started = day_rows[0].logged_at.astimezone(zone).replace(tzinfo=None)
        ended = day_rows[-1].logged_at.astimezone(zone).replace(tzinfo=None)
        index: dict[str, int] = {}
        for row in day_rows:
            weight = None if row.weight_kg is None else round(from_kg(row.weight_kg, unit), 2)
            for _ in range(row.sets):
                number = index.get(row.exercise, 0)
                index[row.exercise] = number + 1
                sets.append(tracker_csv.ExportSet(started, ended, row.exercise, number, weight, row.reps, row.rpe))
    return sets


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
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    async with services.db.session() as session:
        zone = ZoneInfo(await zone_of(session, chat_id) or "UTC")
        history = await training_log.whole_log(session=session, user_id=user_id)
        logged = {(row.exercise, local_date(row.logged_at, zone.key)) for row in history}
        fresh = [s for s in plan.sets if (s.exercise, s.started.date()) not in logged]
        lines = []
        for (started, exercise, weight_kg, unit), group in groupby(fresh, key=_same_line):
            at = started.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))
            lines.append(
                [
                    models.LogEntry(
                        chat_id=chat_id,
                        user_id=user_id,
                        exercise=exercise,
                        weight_kg=weight_kg,
                        unit=unit,
                        sets=count,
                        reps=done.reps,
                        rpe=done.rpe,
                        logged_at=at,
                    )
                    for count, done in set_groups([SetDone(s.reps, s.rpe) for s in group])
                ]
            )
        await training_log.add_log_lines(session=session, lines=lines)
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


def _same_line(imported: tracker_csv.ImportedSet) -> tuple:
    """Sets of one exercise at one weight in one workout: they make one logged line."""
    return imported.started, imported.exercise, imported.weight_kg, imported.unit


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
