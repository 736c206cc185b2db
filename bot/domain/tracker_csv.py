"""The training log as a Hevy CSV export, and such an export read back in.

Hevy's layout (one row per set): title, start_time, end_time, description, exercise_title,
superset_id, exercise_notes, set_index, set_type, weight_kg or weight_lbs, reps, distance_km or
distance_miles, duration_seconds, rpe; times like '26 Jul 2025, 07:06' in the lifter's local time.
It names the weight unit in the header and carries RPE, so nothing is guessed either way.

Reading is all or nothing: `read_export` returns the sets to import, or the first problem with its
row number, and nothing is stored unless the whole file is sound.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.domain.training import (
    Catalogue,
    Unit,
    format_number,
    read_number,
    to_kg,
    valid_effort,
    valid_volume,
    valid_weight,
)

MAX_CSV_BYTES = 1_000_000  # some 10,000 sets: years of a hinge log, far below Telegram's 20 MB
MAX_CSV_ROWS = 20_000
DATE_FORMAT = "%d %b %Y, %H:%M"
WORKOUT_TITLE = "Hinge Coach"
_COMMON = ("title", "start_time", "end_time", "description", "exercise_title", "superset_id", "exercise_notes")
COLUMNS: dict[Unit, tuple[str, ...]] = {
    "kg": (*_COMMON, "set_index", "set_type", "weight_kg", "reps", "distance_km", "duration_seconds", "rpe"),
    "lb": (*_COMMON, "set_index", "set_type", "weight_lbs", "reps", "distance_miles", "duration_seconds", "rpe"),
}
_REQUIRED = ("start_time", "exercise_title", "set_type", "reps")
# Hevy's names for the lifts it knows; drills keep their own names.
HEVY_TITLES: dict[str, str] = {
    "deadlift": "Deadlift (Barbell)",
    "rdl": "Romanian Deadlift (Barbell)",
    "kb-rdl": "Romanian Deadlift (Dumbbell)",
    "trap-bar-deadlift": "Deadlift (Trap bar)",
    "sumo-deadlift": "Sumo Deadlift",
    "hip-thrust": "Hip Thrust (Barbell)",
    "good-morning": "Good Morning (Barbell)",
    "kb-swing": "Kettlebell Swing",
    "single-leg-rdl": "Single Leg Romanian Deadlift",
    "glute-bridge": "Glute Bridge",
}


@dataclass(frozen=True)
class ExportSet:
    """One set as a row: its workout is the lifter's local date."""

    started: datetime  # local, naive: as Hevy writes it
    ended: datetime
    exercise: str  # the catalogue key
    index: int  # 0-based within the exercise in that workout
    weight: float | None  # in the export's unit; None for body weight
    reps: int
    rpe: float | None


def write_export(sets: Iterable[ExportSet], catalogue: Catalogue, unit: Unit) -> str:
    """The CSV text, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS[unit])
    for s in sets:
        title = HEVY_TITLES.get(s.exercise, catalogue.name_of(s.exercise))
        weight = "" if s.weight is None else format_number(s.weight)
        rpe = "" if s.rpe is None else format_number(s.rpe)
        started, ended = s.started.strftime(DATE_FORMAT), s.ended.strftime(DATE_FORMAT)
        writer.writerow(
            [WORKOUT_TITLE, started, ended, "", title, "", "", s.index, "normal", weight, s.reps, "", "", rpe]
        )
    return buffer.getvalue()


@dataclass(frozen=True)
class ImportedSet:
    exercise: str
    started: datetime  # local, naive
    weight_kg: float | None
    unit: Unit
    reps: int
    rpe: float | None


@dataclass(frozen=True)
class ImportPlan:
    """What a file holds for the log, and what it holds that the log does not take."""

    sets: tuple[ImportedSet, ...]
    skipped_exercises: dict[str, int] = field(default_factory=dict)  # title -> sets
    warmups: int = 0


ImportProblem = Literal["encoding", "header", "row", "too_many_rows"]


@dataclass(frozen=True)
class CsvProblem:
    problem: ImportProblem
    row: int = 0  # the file's line number, header = 1
    column: str = ""


def read_export(data: bytes, catalogue: Catalogue) -> ImportPlan | CsvProblem:
    """Validate a whole Hevy CSV; the sets of exercises the log knows, or the first problem."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return CsvProblem("encoding")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except (StopIteration, csv.Error):
        return CsvProblem("header", 1)
    unit: Unit | None = "kg" if "weight_kg" in header else "lb" if "weight_lbs" in header else None
    if unit is None or any(name not in header for name in _REQUIRED):
        return CsvProblem("header", 1)
    column = {name: header.index(name) for name in header}
    weight_column = "weight_kg" if unit == "kg" else "weight_lbs"
    sets: list[ImportedSet] = []
    skipped: dict[str, int] = {}
    warmups = 0
    known: dict[str, str | None] = {}
    try:
        for number, row in enumerate(reader, start=2):
            if number > MAX_CSV_ROWS + 1:
                return CsvProblem("too_many_rows", number)
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                return CsvProblem("row", number)
            title = row[column["exercise_title"]].strip()
            if title not in known:
                known[title] = _exercise_of(title, catalogue)
            if known[title] is None:
                skipped[title[:60]] = skipped.get(title[:60], 0) + 1
                continue
            if row[column["set_type"]].strip().lower() == "warmup":
                warmups += 1
                continue
            parsed = _read_set(row, column, weight_column, unit, known[title])
            if isinstance(parsed, str):
                return CsvProblem("row", number, parsed)
            sets.append(parsed)
    except csv.Error:
        return CsvProblem("row", reader.line_num)
    return ImportPlan(tuple(sets), skipped, warmups)


def _read_set(row: Sequence[str], column: dict[str, int], weight_column: str, unit: Unit, exercise: str):
    """One set of a known exercise, every number within the /log bounds; else the bad column's name."""
    try:
        started = datetime.strptime(row[column["start_time"]].strip(), DATE_FORMAT)
    except ValueError:
        return "start_time"
    reps = read_number(row[column["reps"]])
    if reps is None or not valid_volume(1, reps):
        return "reps"
    weight_text = row[column[weight_column]].strip()
    weight = read_number(weight_text) if weight_text else None
    if weight_text and (weight is None or (weight != 0 and not valid_weight(weight, unit))):
        return weight_column
    rpe_text = row[column["rpe"]].strip() if "rpe" in column else ""
    rpe = read_number(rpe_text) if rpe_text else None
    if rpe_text and (rpe is None or not valid_effort(rpe)):
        return "rpe"
    weight_kg = None if not weight else to_kg(weight, unit)  # Hevy writes 0 or nothing for body weight
    return ImportedSet(exercise, started, weight_kg, unit, int(reps), rpe)


def _exercise_of(title: str, catalogue: Catalogue) -> str | None:
    """A Hevy title's exercise in the catalogue: its own name, or the name without the equipment;
    never a guess, so 'Stiff Leg Deadlift' is not taken for a single-leg RDL."""
    for key, hevy in HEVY_TITLES.items():
        if hevy.lower() == title.lower():
            return key
    exercise = catalogue.exact(re.sub(r"\s*\(.*?\)\s*", " ", title).strip())
    return None if exercise is None else exercise.key
