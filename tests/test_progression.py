"""Progression rules as plain calls: a table of log and check-in histories and the advice each gets."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.training import FormCheck, LoggedSet, advise, sessions_of, to_kg

START = datetime(2026, 6, 1, 17, 0, tzinfo=UTC)


def logged(
    day: int,
    weight: float | None,
    sets: int = 3,
    reps: int = 12,
    effect: str | None = None,
    unit="lb",
    rpe: float | None = None,
):
    """A line logged on day `day` of the history (0 = the first), weight in `unit`, None for body weight."""
    at = START + timedelta(days=day)
    return LoggedSet(at, at.date(), None if weight is None else to_kg(weight, unit), sets, reps, effect, rpe)


def check(day: float, effect: str) -> FormCheck:
    return FormCheck(START + timedelta(days=day), effect)


# name, log, check-ins not tied to a set, unit -> (kind, current, low, high, sets, clean run)
HISTORIES = [
    ("a first session: hold", [logged(0, 35)], [], "lb", ("hold", 35, None, None, None, 0)),
    (
        "one clean session: hold, one of two",
        [logged(0, 35, effect="clean")],
        [],
        "lb",
        ("hold", 35, None, None, None, 1),
    ),
    (
        "clean twice running: add 5-10 lb",
        [logged(0, 35, effect="clean"), logged(2, 35, effect="clean")],
        [],
        "lb",
        ("increase", 35, 40, 45, None, 2),
    ),
    (
        "clean twice in kg: add 2.5-5 kg",
        [logged(0, 20, effect="clean", unit="kg"), logged(2, 20, effect="clean", unit="kg")],
        [],
        "kg",
        ("increase", 20, 22.5, 25, None, 2),
    ),
    (
        "clean twice from check-ins alone",
        [logged(0, 35)],
        [check(0.5, "clean"), check(1.5, "clean")],
        "lb",
        ("increase", 35, 40, 45, None, 2),
    ),
    (
        "an increase starts the count again",
        [logged(0, 35, effect="clean"), logged(2, 35, effect="clean"), logged(4, 45, effect="clean")],
        [],
        "lb",
        ("hold", 45, None, None, None, 1),
    ),
    (
        "lower back last time: hold or reduce",
        [logged(0, 35, effect="clean"), logged(2, 35, effect="regress")],
        [],
        "lb",
        ("back_off", 35, 30, 35, None, 0),
    ),
    (
        "a lower-back check-in after clean sets",
        [logged(0, 35, effect="clean"), logged(2, 35, effect="clean")],
        [check(2.5, "regress")],
        "lb",
        ("back_off", 35, 30, 35, None, 0),
    ),
    (
        "one lower-back set marks its whole session",
        [logged(0, 35, effect="clean"), logged(2, 30, effect="clean"), logged(2, 35, effect="regress")],
        [],
        "lb",
        ("back_off", 35, 30, 35, None, 0),
    ),
    (
        "clean again after a lower-back session: the run restarts",
        [logged(0, 35, effect="regress"), logged(2, 30, effect="clean")],
        [],
        "lb",
        ("hold", 30, None, None, None, 1),
    ),
    (
        "a quiet-glutes answer breaks a clean run",
        [logged(0, 35, effect="clean"), logged(2, 35, effect="activate"), logged(4, 35, effect="clean")],
        [],
        "lb",
        ("hold", 35, None, None, None, 1),
    ),
    (
        "a red flag stops the load",
        [logged(0, 35, effect="clean")],
        [check(1, "red_flag")],
        "lb",
        ("stop", 35, None, None, None, 0),
    ),
    (
        "fine again after a red flag",
        [logged(0, 35, effect="clean"), logged(3, 35, effect="clean")],
        [check(1, "red_flag")],
        "lb",
        ("hold", 35, None, None, None, 1),
    ),
    (
        "a lower-back answer from long ago is ignored",
        [logged(40, 35)],
        [check(0, "regress")],
        "lb",
        ("hold", 35, None, None, None, 0),
    ),
    (
        "three weeks without progress: deload",
        [logged(day, 60, sets=4) for day in (0, 7, 14, 21, 28)],
        [],
        "lb",
        ("deload", 60, 50, None, 2, 0),
    ),
    (
        "progress inside three weeks: no deload",
        [logged(0, 50), logged(7, 55), logged(14, 55), logged(21, 60), logged(28, 60)],
        [],
        "lb",
        ("hold", 60, None, None, None, 0),
    ),
    (
        "stalled but clean twice running: add weight rather than deload",
        [logged(day, 60, effect="clean") for day in (0, 7, 14, 21, 28)],
        [],
        "lb",
        ("increase", 60, 65, 70, None, 5),
    ),
    (
        "body weight, clean twice: more reps",
        [logged(0, None, reps=15, effect="clean"), logged(2, None, reps=15, effect="clean")],
        [],
        "lb",
        ("increase", None, None, None, None, 2),
    ),
    (
        "body weight, lower back: no numbers, back to the dowel",
        [logged(0, None, reps=15, effect="regress")],
        [],
        "kg",
        ("back_off", None, None, None, None, 0),
    ),
    (
        "clean twice at RPE 8 or easier: add 5-10 lb",
        [logged(0, 35, effect="clean", rpe=7), logged(2, 35, effect="clean", rpe=8)],
        [],
        "lb",
        ("increase", 35, 40, 45, None, 2),
    ),
    (
        "clean twice but the last at RPE 9: hard, no more load yet",
        [logged(0, 35, effect="clean", rpe=8), logged(2, 35, effect="clean", rpe=9)],
        [],
        "lb",
        ("hard", 35, None, None, None, 0),
    ),
    (
        "a hard session breaks the clean run: one of two again",
        [logged(0, 35, effect="clean", rpe=9), logged(2, 35, effect="clean", rpe=8)],
        [],
        "lb",
        ("hold", 35, None, None, None, 1),
    ),
    (
        "RPE 9.5 holds the load although the form was clean twice",
        [logged(0, 100, effect="clean", unit="kg"), logged(2, 100, effect="clean", rpe=9.5, unit="kg")],
        [],
        "kg",
        ("grind", 100, None, None, None, 0),
    ),
    (
        "RPE 10 holds the load even with clean check-ins after it",
        [logged(0, 35, rpe=10)],
        [check(0.5, "clean"), check(0.6, "clean")],
        "lb",
        ("grind", 35, None, None, None, 0),
    ),
    (
        "a lower-back set outranks the grind: back off",
        [logged(0, 35, effect="regress", rpe=10)],
        [],
        "lb",
        ("back_off", 35, 30, 35, None, 0),
    ),
    (
        "effort on a lighter back-off set does not count for the top set",
        [logged(0, 35, effect="clean", rpe=7), logged(2, 35, effect="clean", rpe=8), logged(2, 25, rpe=10)],
        [],
        "lb",
        ("increase", 35, 40, 45, None, 2),
    ),
    (
        "body weight, three weeks on the same reps: deload",
        [logged(day, None, reps=15) for day in (0, 7, 14, 21, 28)],
        [],
        "lb",
        ("deload", None, None, None, 1, 0),
    ),
]


@pytest.mark.parametrize(("name", "log", "checks", "unit", "expected"), HISTORIES, ids=[h[0] for h in HISTORIES])
def test_progression_advice(name, log, checks, unit, expected):
    now = max(entry.at for entry in log) + timedelta(hours=1)
    advice = advise(log, checks, unit=unit, now=now)
    kind, current, low, high, sets, clean_run = expected
    assert advice.kind == kind
    assert advice.current == (None if current is None else pytest.approx(current))
    assert advice.low == (None if low is None else pytest.approx(low))
    assert advice.high == (None if high is None else pytest.approx(high))
    assert (advice.sets, advice.clean_run, advice.unit) == (sets, clean_run, unit)
    expected_next = advice.low if kind in ("increase", "deload") else advice.current
    assert advice.next_load == (None if kind == "stop" else expected_next)


def test_no_log_no_advice():
    assert advise([], [check(0, "clean")], unit="lb", now=START) is None


def test_a_shorter_course_day_shortens_the_stall_window():
    log = [logged(day, 60) for day in (0, 1, 2, 3)]
    now = log[-1].at + timedelta(hours=1)
    assert advise(log, [], unit="lb", now=now).kind == "hold"
    assert advise(log, [], unit="lb", now=now, stall_after=timedelta(days=2)).kind == "deload"


def test_sessions_group_lines_by_date_with_top_set_volume_and_worst_mark():
    lines = [logged(0, 30, sets=1, reps=10, effect="clean"), logged(0, 35, sets=3, reps=8, effect="regress")]
    lines.append(logged(1, None, sets=3, reps=15))
    first, second = sessions_of(lines)
    assert first.top_kg == pytest.approx(to_kg(35, "lb")) and (first.sets, first.reps) == (3, 8)
    assert first.volume == pytest.approx(to_kg(30, "lb") * 10 + to_kg(35, "lb") * 24)
    assert first.effect == "regress"
    assert (second.top_kg, second.volume, second.effect) == (None, 45, None)


def test_a_session_carries_its_effort_and_best_estimate():
    [session] = sessions_of([logged(0, 100, sets=1, reps=5, rpe=8, unit="kg"), logged(0, 80, reps=10, unit="kg")])
    assert session.rpe == 8
    assert session.e1rm_kg == pytest.approx(100 * (1 + 7 / 30))  # 5 reps with 2 in reserve: 7 to failure
