"""The /log line parser: a table of what people type, valid and not, and what it must become."""

import pytest

from bot.app import CONTENT_DIR
from bot.content import load_content
from bot.domain.training import (
    LIFTS,
    LogEntry,
    LogError,
    LogLine,
    SetDone,
    build_catalogue,
    entry_from,
    format_number,
    from_kg,
    normalise_name,
    parse_log_line,
    round_to_step,
    to_kg,
)


@pytest.fixture(scope="module")
def catalogue():
    content = load_content(CONTENT_DIR)
    return build_catalogue({drill_id: drill.name for drill_id, drill in content.drills.items()})


BW = None
# (typed after /log, the person's unit) -> (exercise key, weight in the unit it was given, unit, sets, reps)
VALID = [
    ("rdl 35 3x12", "lb", ("rdl", 35, "lb", 3, 12)),
    ("rdl 35 3x12", "kg", ("rdl", 35, "kg", 3, 12)),
    ("deadlift 135x5x3", "lb", ("deadlift", 135, "lb", 3, 5)),
    ("kb rdl 16kg 3x12", "lb", ("kb-rdl", 16, "kg", 3, 12)),
    ("bridge 3x15", "lb", ("glute-bridge", BW, "lb", 3, 15)),
    ("Deadlift 135X5X3", "lb", ("deadlift", 135, "lb", 3, 5)),
    ("deadlfit 135x5x3", "lb", ("deadlift", 135, "lb", 3, 5)),
    ("dedlift 100kg 5x5", "lb", ("deadlift", 100, "kg", 5, 5)),
    ("romainan deadlift 60kg 3x8", "lb", ("rdl", 60, "kg", 3, 8)),
    ("romanian deadlift 60 kg 3 x 8", "lb", ("rdl", 60, "kg", 3, 8)),
    ("kb rld 16kg 3x12", "lb", ("kb-rdl", 16, "kg", 3, 12)),
    ("kettlebell rdl 35 lbs 3x12", "kg", ("kb-rdl", 35, "lb", 3, 12)),
    ("rdl 3 sets of 12 at 35 lb", "kg", ("rdl", 35, "lb", 3, 12)),
    ("rdl 3x12 @ 35", "lb", ("rdl", 35, "lb", 3, 12)),
    ("rdl 3x12 35kg", "lb", ("rdl", 35, "kg", 3, 12)),
    ("rdl 35x12", "lb", ("rdl", 35, "lb", 1, 12)),
    ("rdl 8kgx12", "lb", ("rdl", 8, "kg", 1, 12)),
    ("rdl 8x12", "lb", ("rdl", BW, "lb", 8, 12)),
    ("rdl 12.5x10", "kg", ("rdl", 12.5, "kg", 1, 10)),
    ("rdl 22,5kg 3x10", "lb", ("rdl", 22.5, "kg", 3, 10)),
    ("rdl 35lbx12x3", "kg", ("rdl", 35, "lb", 3, 12)),
    ("rdl 35# 3x12", "kg", ("rdl", 35, "lb", 3, 12)),
    ("rdl 35 3×12", "lb", ("rdl", 35, "lb", 3, 12)),
    ("rdl 35 3*12", "lb", ("rdl", 35, "lb", 3, 12)),
    ("rdls 35 3x12", "lb", ("rdl", 35, "lb", 3, 12)),
    ("deadlift 60 kg 5 reps", "lb", ("deadlift", 60, "kg", 1, 5)),
    ("dl 135x5", "lb", ("deadlift", 135, "lb", 1, 5)),
    ("conventinal deadlift 100kg 5x5", "lb", ("deadlift", 100, "kg", 5, 5)),
    ("sumo 140kg 5x3", "lb", ("sumo-deadlift", 140, "kg", 5, 3)),
    ("trap bar 100 3x5", "kg", ("trap-bar-deadlift", 100, "kg", 3, 5)),
    ("hex bar 225 5x5", "lb", ("trap-bar-deadlift", 225, "lb", 5, 5)),
    ("hip thrust 60kg 4x10", "lb", ("hip-thrust", 60, "kg", 4, 10)),
    ("good mornings 40 3x10", "lb", ("good-morning", 40, "lb", 3, 10)),
    ("kettlebell swing 24kg 5x20", "lb", ("kb-swing", 24, "kg", 5, 20)),
    ("sl rdl 12kg 3x8", "lb", ("single-leg-rdl", 12, "kg", 3, 8)),
    ("single-leg rdl 3x8", "lb", ("single-leg-rdl", BW, "lb", 3, 8)),
    ("glute bridges bw 3x15", "kg", ("glute-bridge", BW, "kg", 3, 15)),
    ("bridge body weight 3 x 15 reps", "lb", ("glute-bridge", BW, "lb", 3, 15)),
    ("wall taps 3x15", "lb", ("wall-tap", BW, "lb", 3, 15)),
    ("dowel 3x10", "lb", ("dowel-hinge", BW, "lb", 3, 10)),
    ("Hip extension with march 3x10", "lb", ("hip-extension-march", BW, "lb", 3, 10)),
    ("staggered hinge 3x8", "lb", ("staggered-hinge", BW, "lb", 3, 8)),
    ("tempo rdl 20kg 3x8", "lb", ("tempo-kb-hinge", 20, "kg", 3, 8)),
    ("3x12 rdl 35kg", "lb", ("rdl", 35, "kg", 3, 12)),
]

# (typed after /log) -> (problem, the example line offered)
INVALID = [
    ("", "empty", "rdl 35 3x12"),
    ("   ", "empty", "rdl 35 3x12"),
    ("3x12", "no_exercise", "rdl 35 3x12"),
    ("35kg 3x12", "no_exercise", "rdl 35kg 3x12"),
    ("rdl", "no_reps", "rdl 35 3x12"),
    ("rdl 35", "no_reps", "rdl 35 3x12"),
    ("rdl 16kg", "no_reps", "rdl 16kg 3x12"),
    ("rdl 3 sets", "no_reps", "rdl 35 3x12"),
    ("rdl 35 12", "bad_numbers", "rdl 35 3x12"),
    ("rdl 35 3x12 3x10", "bad_numbers", "rdl 35 3x12"),
    ("rdl bw 35 3x12", "bad_numbers", "rdl 35 3x12"),
    ("rdl 0 3x12", "out_of_range", "rdl 35 3x12"),
    ("rdl 2000 3x5", "out_of_range", "rdl 35 3x5"),
    ("rdl 600kg 3x5", "out_of_range", "rdl 35 3x5"),
    ("rdl 35 0x12", "out_of_range", "rdl 35 3x12"),
    ("rdl 35 3x0", "out_of_range", "rdl 35 3x12"),
    ("rdl 35 3x500", "out_of_range", "rdl 35 3x12"),
    ("rdl 35 3x12.5", "out_of_range", "rdl 35 3x12"),
    ("zumba 3x10", "unknown_exercise", "rdl 3x10"),
    ("squat 100 5x5", "unknown_exercise", "rdl 100 5x5"),
    ("pulses 3x20", "unknown_exercise", "glute pulse 3x20"),
]


@pytest.mark.parametrize(("text", "units", "expected"), VALID, ids=[f"{t} [{u}]" for t, u, _ in VALID])
def test_valid_lines_are_read(catalogue, text, units, expected):
    key, weight, unit, sets, reps = expected
    entry = parse_log_line(text, catalogue, units)
    assert isinstance(entry, LogEntry), entry
    assert (entry.exercise.key, entry.unit, entry.sets, entry.reps) == (key, unit, sets, reps)
    if weight is None:
        assert entry.weight_kg is None
    else:
        assert from_kg(entry.weight_kg, unit) == pytest.approx(weight)


@pytest.mark.parametrize(("text", "problem", "example"), INVALID, ids=[repr(t) for t, _, _ in INVALID])
def test_malformed_lines_get_the_problem_and_an_example(catalogue, text, problem, example):
    error = parse_log_line(text, catalogue, "lb")
    assert isinstance(error, LogError), error
    assert (error.problem, error.example) == (problem, example)


def test_the_table_is_big_enough():
    assert len(VALID) + len(INVALID) >= 40


def test_every_example_offered_is_itself_a_valid_line(catalogue):
    for text, _, _ in INVALID:
        error = parse_log_line(text, catalogue, "lb")
        assert isinstance(parse_log_line(error.example, catalogue, "lb"), LogEntry), error.example


def test_unknown_names_are_offered_the_closest_exercises(catalogue):
    error = parse_log_line("pulses 3x20", catalogue, "lb")
    assert [e.key for e in error.suggestions] == ["glute-pulses"]
    assert error.line == LogLine("pulses", None, None, 3, 20)
    error = parse_log_line("kettle swung 24kg 3x10", catalogue, "lb")
    assert "kb-swing" in [e.key for e in error.suggestions]
    assert parse_log_line("zumba 3x10", catalogue, "lb").suggestions == ()


def test_a_chosen_suggestion_finishes_the_line_and_its_button_fits(catalogue):
    line = LogLine("pulses", 22.5, "kg", 3, 20)
    entry = entry_from(line, catalogue.exercises["glute-pulses"], "lb")
    assert (entry.weight_kg, entry.unit) == (22.5, "kg")
    for key in catalogue.exercises:  # the button carries a waiting line's id, never its numbers
        assert len(f"lg:{'9' * 9}:{key}".encode()) <= 64, key


def test_every_drill_and_lift_is_found_by_its_own_name(catalogue):
    for exercise in catalogue.exercises.values():
        assert catalogue.match(exercise.name).exercise == exercise
        for alias in exercise.aliases:
            assert catalogue.match(alias).exercise == exercise, alias
    assert {lift.key for lift in LIFTS} <= set(catalogue.exercises)


@pytest.mark.parametrize(
    ("value", "unit", "kg"), [(135, "lb", 61.235), (16, "kg", 16), (45, "lb", 20.412), (2.5, "kg", 2.5)]
)
def test_units_convert_both_ways(value, unit, kg):
    assert to_kg(value, unit) == pytest.approx(kg, abs=0.001)
    assert from_kg(to_kg(value, unit), unit) == pytest.approx(value)


def test_rounding_and_display():
    assert round_to_step(43, "lb") == 45 and round_to_step(18.5, "kg") == 17.5
    assert [format_number(v) for v in (35.0, 22.5, 61.2349, 35.00058)] == ["35", "22.5", "61.2", "35"]
    assert normalise_name("Glute-Bridges with March") == "glute bridge march"


# (typed after /log) -> (sets, reps, rpe, set by set as (reps, rpe) or ())
EFFORT = [
    ("rdl 100x8 @8", (1, 8, 8.0, ())),
    ("rdl 100 3x8 @8", (3, 8, 8.0, ())),
    ("rdl 100 3x8 @ 7.5", (3, 8, 7.5, ())),
    ("rdl 100 3x8 rpe 9", (3, 8, 9.0, ())),
    ("rdl 100 3x8 rpe9", (3, 8, 9.0, ())),
    ("rdl 100 3x8 @rpe 8", (3, 8, 8.0, ())),
    ("rdl 100 3x8 8 rpe", (3, 8, 8.0, ())),
    ("rdl 100 3x8 rir 2", (3, 8, 8.0, ())),
    ("rdl 100 3x8 2 rir", (3, 8, 8.0, ())),
    ("rdl 100 3x8 RIR 0", (3, 8, 10.0, ())),
    ("deadlift 140kg 5x3 @9.5", (5, 3, 9.5, ())),
    ("rdl 100 8,8,7", (3, 8, None, ((8, None), (8, None), (7, None)))),
    ("rdl 100 8, 8, 7", (3, 8, None, ((8, None), (8, None), (7, None)))),
    ("rdl 100 8,8,7 @8.5", (3, 8, 8.5, ((8, 8.5), (8, 8.5), (7, 8.5)))),
    ("rdl 100 8,7 rir 1", (2, 8, 9.0, ((8, 9.0), (7, 9.0)))),
    ("rdl 100 8@8,8@9,7@9.5", (3, 8, 9.5, ((8, 8.0), (8, 9.0), (7, 9.5)))),
    ("rdl 100 5@7,5,5@9", (3, 5, 9.0, ((5, 7.0), (5, None), (5, 9.0)))),
    ("rdl 100 5,5,5 @8", (3, 5, 8.0, ())),
    ("rdl 3x12 @ 35", (3, 12, None, ())),
    ("rdl 22,5kg 3x10 @7", (3, 10, 7.0, ())),
    ("bridge 15,15,12", (3, 15, None, ((15, None), (15, None), (12, None)))),
]

# The whole class of numbers that must be refused, never dropped or half-read: (typed, problem)
REFUSED = [
    ("rdl -20 3x12", "negative"),
    ("rdl −20 3x12", "negative"),  # U+2212 minus
    ("rdl –20 3x12", "negative"),  # en dash
    ("rdl —20 3x12", "negative"),  # em dash
    ("rdl ﹣20 3x12", "negative"),  # small hyphen-minus
    ("rdl －20 3x12", "negative"),  # fullwidth
    ("rdl 20 -3x12", "negative"),
    ("rdl 20 3x-12", "negative"),
    ("rdl 20 3x12 @-8", "negative"),
    ("rdl 20 3x12 rir -1", "negative"),
    ("rdl 100 8,-8,7", "negative"),
    ("rdl 20 3-5 reps", "negative"),
    ("rdl 2⁰ 3x12", "bad_digits"),  # superscript
    ("rdl ٣٥ 3x12", "bad_digits"),  # Arabic-Indic digits
    ("rdl ３５ 3x12", "bad_digits"),  # fullwidth digits
    ("rdl 35 3x1²", "bad_digits"),
    ("rdl ½ 3x12", "bad_digits"),
    ("rdl 35 Ⅲx12", "bad_digits"),  # roman numeral
    ("rdl 35 3x12 @١٠", "bad_digits"),
    ("rdl 0 3x12", "out_of_range"),
    ("rdl 0.0 3x12", "out_of_range"),
    ("rdl 99999999999999999999 3x12", "out_of_range"),
    ("rdl 35 10000x12", "bad_numbers"),  # read as a second weight: refused either way
    ("rdl 35 10000 sets of 12", "out_of_range"),
    ("rdl 35 21 sets of 5", "out_of_range"),
    ("rdl 35 3x101", "out_of_range"),
    ("rdl 100 3x8 rpe 11", "out_of_range"),
    ("rdl 100 3x8 rpe 0", "out_of_range"),
    ("rdl 100 3x8 rpe 8.3", "out_of_range"),
    ("rdl 100 3x8 rir 12", "out_of_range"),
    ("rdl 100 8@11,8", "out_of_range"),
    ("rdl 100 8,0,7", "out_of_range"),
    ("rdl 100 8,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8", "out_of_range"),
    ("rdl 100 3x8 @8 @9", "bad_numbers"),
    ("rdl 100 3x8 rpe 8 rir 2", "bad_numbers"),
]


@pytest.mark.parametrize(("text", "expected"), EFFORT, ids=[t for t, _ in EFFORT])
def test_effort_and_set_by_set_reps_are_read(catalogue, text, expected):
    sets, reps, rpe, each = expected
    entry = parse_log_line(text, catalogue, "kg")
    assert isinstance(entry, LogEntry), entry
    assert (entry.sets, entry.reps, entry.rpe) == (sets, reps, rpe)
    assert entry.each == tuple(SetDone(r, e) for r, e in each)
    assert len(entry.sets_done()) == sets


@pytest.mark.parametrize(("text", "problem"), REFUSED, ids=[t for t, _ in REFUSED])
def test_signs_foreign_digits_and_absurd_numbers_are_refused(catalogue, text, problem):
    error = parse_log_line(text, catalogue, "lb")
    assert isinstance(error, LogError), error
    assert error.problem == problem
    assert isinstance(parse_log_line(error.example, catalogue, "lb"), LogEntry), error.example


def test_the_example_keeps_a_valid_effort(catalogue):
    assert parse_log_line("rdl 35 0x12 @8", catalogue, "lb").example == "rdl 35 3x12 @8"


@pytest.mark.parametrize("text", ["rdl 117.5 3x5", "rdl 117,5 3x5"])
def test_a_weight_typed_with_a_point_or_a_comma_is_read_the_same(catalogue, text):
    entry = parse_log_line(text, catalogue, "kg")
    assert isinstance(entry, LogEntry) and entry.weight_kg == pytest.approx(117.5)
