"""The training log as the handlers share it: the exercise catalogue, a person's history read into
the domain's shapes (sessions, advice, sets for records), and numbers rendered in their unit.

The /log handlers (bot/handlers/training.py) and the lifter's tools (bot/handlers/lifting.py) both
use it, so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot import language
from bot.content.models import Content, Texts
from bot.context import Services
from bot.domain import training
from bot.domain.strength import LiftSet, Record, RecordKind
from bot.domain.training import INCREASE, Advice, Catalogue, FormCheck, LoggedSet, from_kg
from bot.language import current_language, number_text, whole_number_text
from bot.settings import Settings
from bot.storage import courses, models, training_log


@lru_cache(maxsize=8)
def _catalogue_for(
    drills: tuple[tuple[str, str], ...], translated: tuple[tuple[str, str | None, tuple[str, ...]], ...]
) -> Catalogue:
    return training.build_catalogue(dict(drills), {key: (name, aliases) for key, name, aliases in translated})


def catalogue(content: Content) -> Catalogue:
    """The exercise catalogue of the loaded course in its language, built once per language."""
    return _catalogue_for(
        tuple((drill_id, drill.name) for drill_id, drill in content.drills.items()),
        tuple((key, names.name, tuple(names.aliases)) for key, names in content.exercise_names.items()),
    )


def day_length(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.course_day_seconds)


def weight_text(texts: Texts, weight_kg: float | None, unit: str) -> str:
    return texts.log_bodyweight if weight_kg is None else f"{number_text(from_kg(weight_kg, unit))} {unit}"


def local_date(instant: datetime, zone: str | None) -> date:
    return instant.astimezone(ZoneInfo(zone or "UTC")).date()


def date_text(on: date) -> str:
    """A short date in the language being spoken ('3 Mar', '3 mar', '3 мар.')."""
    return language.date_text(on, current_language.get())


async def zone_of(session: AsyncSession, chat_id: int) -> str | None:
    subscriber = await courses.get_subscriber(session=session, chat_id=chat_id)
    return None if subscriber is None else subscriber.timezone


def lift_sets(entries: Sequence[models.LogEntry], zone: str | None) -> list[LiftSet]:
    return [LiftSet(local_date(e.logged_at, zone), e.weight_kg, e.sets, e.reps, e.rpe) for e in entries]


async def advice_for(
    session: AsyncSession, services: Services, user_id: int, exercise: str, unit: str, zone: str | None
) -> tuple[list[training.Session], Advice | None, list[models.LogEntry]]:
    """The sessions of one exercise, the advice for next time (from the log and the check-ins),
    and the rows they were read from."""
    await training_log.link_checkins(session=session, user_id=user_id, day_length=day_length(services.settings))
    history = await training_log.log_history(session=session, user_id=user_id, exercise=exercise)
    entries = [
        LoggedSet(
            at=entry.logged_at,
            on=local_date(entry.logged_at, zone),
            weight_kg=entry.weight_kg,
            sets=entry.sets,
            reps=entry.reps,
            effect=entry.felt or effect,
            rpe=entry.rpe,
        )
        for entry, effect in history
    ]
    checks = [
        FormCheck(answer.answered_at, answer.effect)
        for answer in await training_log.unlinked_checkins(session=session, user_id=user_id)
    ]
    now = services.clock.now()
    stall_after = training.STALL_AFTER * services.settings.course_day_seconds / 86400
    advice = training.advise(entries, checks, unit=unit, now=now, stall_after=stall_after)
    return training.sessions_of(entries), advice, [entry for entry, _ in history]


def reps_text(texts: Texts, reps: int) -> str:
    return texts.record_reps_one if reps == 1 else texts.record_reps_many.format(reps=reps)


def volume_text(value: float, unit: str) -> str:
    """Session volume, thousands grouped the language's way: '2,400 kg', '2400 kg'."""
    return f"{whole_number_text(from_kg(value, unit))} {unit}"


def record_text(texts: Texts, record: Record, unit: str, *, bodyweight_volume: bool) -> str:
    """One new record, for the celebration under a /log reply."""
    if record.kind == RecordKind.HEAVIEST:
        return texts.record_heaviest.format(
            weight=weight_text(texts, record.value, unit), reps=reps_text(texts, record.reps or 1)
        )
    if record.kind == RecordKind.E1RM:
        return texts.record_e1rm.format(weight=weight_text(texts, record.value, unit))
    if bodyweight_volume:
        return texts.record_volume_reps.format(reps=int(record.value))
    return texts.record_volume.format(volume=volume_text(record.value, unit))


def record_line(texts: Texts, record: Record, unit: str, *, bodyweight_volume: bool) -> str:
    """One record in the /records list, with its date."""
    on = date_text(record.on)
    if record.kind == RecordKind.HEAVIEST:
        return texts.records_heaviest_line.format(
            reps=reps_text(texts, record.reps or 1), weight=weight_text(texts, record.value, unit), date=on
        )
    if record.kind == RecordKind.E1RM:
        return texts.records_e1rm_line.format(weight=weight_text(texts, record.value, unit), date=on)
    if bodyweight_volume:
        return texts.records_volume_reps_line.format(reps=int(record.value), date=on)
    return texts.records_volume_line.format(volume=volume_text(record.value, unit), date=on)


def _amount(value: float | None, unit: str) -> str:
    return "" if value is None else f"{number_text(value)} {unit}"


def progression_text(texts: Texts, advice: Advice) -> str:
    """One sentence of advice for next time, in the person's unit."""
    unit = advice.unit
    low_step, high_step = INCREASE[unit]
    values = dict(
        current=_amount(advice.current, unit),
        low=_amount(advice.low, unit),
        high=_amount(advice.high, unit),
        step=f"{number_text(low_step)}-{number_text(high_step)} {unit}",
        sets=advice.sets,
        clean=advice.clean_run,
        rpe="" if advice.rpe is None else number_text(advice.rpe),
    )
    field = f"advice_{advice.kind}" + ("_bodyweight" if advice.bodyweight and advice.kind != "stop" else "")
    return getattr(texts, field).format(**values).strip()
