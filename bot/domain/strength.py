"""Estimated one-rep max and personal records, from logged sets.

The estimate is Epley's formula, weight x (1 + reps / 30), with the reps left in reserve counted as
reps (a set of 5 at RPE 8 estimates like a set of 7 to failure), and a single to failure as the
weight itself. Sets over 10 reps are too far from a single to say anything, so they give none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

E1RM_MAX_REPS = 10
FAILURE_RPE = 10.0


def estimate_1rm(weight_kg: float | None, reps: int, rpe: float | None = None) -> float | None:
    """Epley's estimate in kg; None for body weight and for sets over E1RM_MAX_REPS reps."""
    if weight_kg is None or not 1 <= reps <= E1RM_MAX_REPS:
        return None
    to_failure = reps + (FAILURE_RPE - rpe if rpe is not None else 0.0)
    if to_failure <= 1:
        return weight_kg
    return weight_kg * (1 + to_failure / 30)


@dataclass(frozen=True)
class LiftSet:
    """Sets of one exercise as the records see them: `sets` sets of `reps` at `weight_kg`."""

    on: date  # the session's local date
    weight_kg: float | None
    sets: int
    reps: int
    rpe: float | None = None


class RecordKind(StrEnum):
    HEAVIEST = "heaviest"  # the heaviest weight lifted for a number of reps
    E1RM = "e1rm"  # the best estimated one-rep max
    VOLUME = "volume"  # the most kg x reps in one session (reps alone for body weight)


@dataclass(frozen=True)
class Record:
    kind: RecordKind
    value: float  # kg, or reps for body-weight volume
    on: date
    reps: int | None = None  # for HEAVIEST


@dataclass(frozen=True)
class Records:
    heaviest: dict[int, Record] = field(default_factory=dict)  # by rep count: the most for at least that many
    e1rm: Record | None = None
    volume: Record | None = None

    def all(self) -> list[Record]:
        found = [self.heaviest[reps] for reps in sorted(self.heaviest)]
        return found + [r for r in (self.e1rm, self.volume) if r is not None]


def records_of(sets: Iterable[LiftSet]) -> Records:
    """The best of everything; an equal later result does not take a record from an earlier one.
    The heaviest for N reps counts every set of N reps or more: 100 x 8 is also 100 for 5."""
    ordered = sorted(sets, key=lambda s: s.on)
    weighted = [s for s in ordered if s.weight_kg is not None]
    heaviest: dict[int, Record] = {}
    for reps in sorted({s.reps for s in weighted}):
        best = max((s for s in weighted if s.reps >= reps), key=lambda s: s.weight_kg)  # the first of equals
        heaviest[reps] = Record(RecordKind.HEAVIEST, best.weight_kg, best.on, reps)
    best_e1rm: Record | None = None
    for lift in weighted:
        estimate = estimate_1rm(lift.weight_kg, lift.reps, lift.rpe)
        if estimate is not None and (best_e1rm is None or estimate > best_e1rm.value + 1e-9):
            best_e1rm = Record(RecordKind.E1RM, estimate, lift.on)
    volumes: dict[date, float] = {}
    for lift in weighted or ordered:  # kg x reps once anything was loaded; reps before that
        load = lift.weight_kg if weighted else 1.0
        volumes[lift.on] = volumes.get(lift.on, 0.0) + load * lift.sets * lift.reps
    best_volume = None
    for on in sorted(volumes):
        if best_volume is None or volumes[on] > best_volume.value + 1e-9:
            best_volume = Record(RecordKind.VOLUME, volumes[on], on)
    return Records(heaviest, best_e1rm, best_volume)


def new_records(before: Sequence[LiftSet], added: Sequence[LiftSet]) -> list[Record]:
    """Records the added sets set, against the ones before them. The first session of an exercise
    sets a baseline, not records: there is nothing yet to beat."""
    if not before:
        return []
    old, new = records_of(before), records_of([*before, *added])
    beaten = [r for r in new.all() if r not in old.all()]
    fresh = {s.on for s in added}
    return [r for r in beaten if r.on in fresh]
