"""The training log as the handlers render it: the exercise catalogue, and weights, records and
advice in the person's unit and language. What is stored and read is bot/services/training_log.py's.

The /log handlers (bot/handlers/training.py), the lifter's tools (bot/handlers/lifting.py) and the
weekly check-in (bot/handlers/preferences.py) all use it, so none imports another.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from bot import language
from bot.content.models import Content, Texts
from bot.domain import training
from bot.domain.strength import Record, RecordKind
from bot.domain.training import INCREASE, Advice, Catalogue, from_kg
from bot.language import current_language, number_text, whole_number_text


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


def weight_text(texts: Texts, weight_kg: float | None, unit: str) -> str:
    return texts.log_bodyweight if weight_kg is None else f"{number_text(from_kg(weight_kg, unit))} {unit}"


def date_text(on: date) -> str:
    """A short date in the language being spoken ('3 Mar', '3 mar', '3 мар.')."""
    return language.date_text(on, current_language.get())


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
