"""Estimated 1RM and records as plain calls: tables of sets and what they must give."""

from datetime import date

import pytest

from bot.domain.strength import E1RM_MAX_REPS, LiftSet, RecordKind, estimate_1rm, new_records, records_of

# (weight kg, reps, rpe) -> estimate (Epley, reps in reserve counted as reps), None: no estimate
ESTIMATES = [
    (100, 1, None, 100),
    (100, 1, 10, 100),
    (100, 5, None, 100 * (1 + 5 / 30)),
    (100, 5, 8, 100 * (1 + 7 / 30)),
    (100, 3, 9.5, 100 * (1 + 3.5 / 30)),
    (100, 1, 8, 100 * (1 + 3 / 30)),  # a single with two in reserve: more than the weight
    (60, 10, None, 60 * (1 + 10 / 30)),
    (60, 11, None, None),  # over 10 reps: too far from a single to say
    (60, 20, 6, None),
    (None, 5, None, None),  # body weight
]


@pytest.mark.parametrize(("weight", "reps", "rpe", "expected"), ESTIMATES)
def test_epley_estimate(weight, reps, rpe, expected):
    estimate = estimate_1rm(weight, reps, rpe)
    assert estimate == (None if expected is None else pytest.approx(expected))


def test_no_estimate_beyond_ten_reps():
    assert E1RM_MAX_REPS == 10


def lift(day: int, weight: float | None, sets: int, reps: int, rpe: float | None = None) -> LiftSet:
    return LiftSet(date(2026, 6, day), weight, sets, reps, rpe)


def test_records_heaviest_per_rep_count_counts_more_reps_too():
    found = records_of([lift(1, 100, 1, 8), lift(2, 90, 3, 5), lift(3, 120, 1, 1)])
    assert {reps: r.value for reps, r in found.heaviest.items()} == {1: 120, 5: 100, 8: 100}
    assert found.heaviest[5].on == date(2026, 6, 1), "100 x 8 is also the best for 5"
    assert found.e1rm.value == pytest.approx(100 * (1 + 8 / 30))
    assert (found.volume.value, found.volume.on) == (90 * 15, date(2026, 6, 2))


def test_an_equal_result_keeps_the_earlier_record():
    found = records_of([lift(1, 100, 3, 5), lift(2, 100, 3, 5)])
    assert found.heaviest[5].on == date(2026, 6, 1) and found.volume.on == date(2026, 6, 1)


def test_body_weight_records_count_reps():
    found = records_of([lift(1, None, 3, 15), lift(2, None, 3, 20)])
    assert found.heaviest == {} and found.e1rm is None
    assert (found.volume.kind, found.volume.value) == (RecordKind.VOLUME, 60)


# (earlier sets, new sets) -> the kinds of record the new sets set
NEW_RECORDS = [
    ([], [lift(1, 100, 3, 5)], []),  # the first session is a baseline
    ([lift(1, 100, 3, 5)], [lift(2, 100, 3, 5)], []),  # the same again: no record
    ([lift(1, 100, 3, 5)], [lift(2, 105, 1, 5)], [("heaviest", 5), ("e1rm", None)]),
    ([lift(1, 100, 3, 5)], [lift(2, 100, 4, 5)], [("volume", None)]),
    ([lift(1, 100, 3, 5)], [lift(2, 100, 1, 6)], [("heaviest", 6), ("e1rm", None)]),
    ([lift(1, 100, 3, 5)], [lift(2, 80, 5, 12)], [("heaviest", 12), ("volume", None)]),  # no e1RM over 10 reps
    ([lift(1, 100, 3, 5, rpe=10)], [lift(2, 100, 1, 5, rpe=8)], [("e1rm", None)]),  # easier: more in the tank
]


@pytest.mark.parametrize(("before", "added", "expected"), NEW_RECORDS)
def test_new_records(before, added, expected):
    found = new_records(before, added)
    assert [(r.kind.value, r.reps) for r in found] == expected
