"""The Hevy CSV layout, written and read back: a table of files and what each must give."""

from datetime import datetime

import pytest

from bot.app import CONTENT_DIR
from bot.content import load_content
from bot.domain.tracker_csv import (
    COLUMNS,
    MAX_CSV_ROWS,
    CsvProblem,
    ExportSet,
    ImportPlan,
    read_export,
    write_export,
)
from bot.domain.training import build_catalogue


@pytest.fixture(scope="module")
def catalogue():
    content = load_content(CONTENT_DIR)
    return build_catalogue({drill_id: drill.name for drill_id, drill in content.drills.items()})


HEADER_KG = '"title","start_time","end_time","description","exercise_title","superset_id","exercise_notes","set_index","set_type","weight_kg","reps","distance_km","duration_seconds","rpe"'  # noqa: E501
HEADER_LB = HEADER_KG.replace("weight_kg", "weight_lbs").replace("distance_km", "distance_miles")


def row(title="Romanian Deadlift (Barbell)", start="26 Jul 2025, 07:06", kind="normal", weight="100", reps="8", rpe=""):
    return f'"Legs","{start}","26 Jul 2025, 08:11","","{title}",,"",0,"{kind}",{weight},{reps},,,{rpe}'


def csv_file(*rows: str, header: str = HEADER_KG) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_the_layout_is_hevys():
    assert COLUMNS["kg"][:9] == (
        "title", "start_time", "end_time", "description", "exercise_title",
        "superset_id", "exercise_notes", "set_index", "set_type",
    )  # fmt: skip
    assert COLUMNS["kg"][9:] == ("weight_kg", "reps", "distance_km", "duration_seconds", "rpe")
    assert COLUMNS["lb"][9:] == ("weight_lbs", "reps", "distance_miles", "duration_seconds", "rpe")


def test_an_export_reads_back_as_the_same_sets(catalogue):
    day = datetime(2026, 6, 1, 18, 30)
    sets = [
        ExportSet(day, day, "rdl", 0, 100.0, 8, 8.0),
        ExportSet(day, day, "rdl", 1, 100.0, 7, 9.5),
        ExportSet(day, day, "glute-bridge", 0, None, 15, None),
        ExportSet(day, day, "wall-tap", 0, None, 10, None),
    ]
    text = write_export(sets, catalogue, "kg")
    assert text.splitlines()[1].startswith('Hinge Coach,"01 Jun 2026, 18:30"')
    assert "Romanian Deadlift (Barbell)" in text and ",Wall tap," in text
    plan = read_export(text.encode(), catalogue)
    assert isinstance(plan, ImportPlan)
    got = [(s.exercise, s.started, s.weight_kg, s.reps, s.rpe) for s in plan.sets]
    assert got == [(s.exercise, s.started, s.weight, s.reps, s.rpe) for s in sets]


def test_a_hevy_file_in_pounds_skips_warmups_and_other_exercises(catalogue):
    data = csv_file(
        row(weight="135", kind="warmup"),
        row(weight="225", reps="5", rpe="8.5"),
        row(title="Bench Press (Barbell)", weight="185"),
        row(title="Bench Press (Barbell)", weight="185"),
        row(title="Stiff Leg Deadlift (Barbell)", weight="185"),
        row(title="Glute Bridge", weight="0", reps="15"),
        "",
        header=HEADER_LB,
    )
    plan = read_export(data.replace(b",225,", b",224.98767,"), catalogue)  # converted units carry decimals
    assert [(s.exercise, s.unit, s.reps, s.rpe) for s in plan.sets] == [
        ("rdl", "lb", 5, 8.5),
        ("glute-bridge", "lb", 15, None),
    ]
    assert plan.sets[0].weight_kg == pytest.approx(224.98767 * 0.45359237) and plan.sets[1].weight_kg is None
    assert plan.skipped_exercises == {"Bench Press (Barbell)": 2, "Stiff Leg Deadlift (Barbell)": 1}
    assert plan.warmups == 1


# (file, problem, row, column): a file is taken whole or not at all
BROKEN = [
    (b"\xff\xfe\x00garbage", "encoding", 0, ""),
    (b"", "header", 1, ""),
    (b"date,exercise,weight,reps\n2026-06-01,rdl,100,8\n", "header", 1, ""),
    (csv_file(row(), header=HEADER_KG.replace('"reps",', "")), "header", 1, ""),
    (csv_file(row(), row(weight="-100")), "row", 3, "weight_kg"),
    (csv_file(row(weight="4.5e31")), "row", 2, "weight_kg"),
    (csv_file(row(weight="9999")), "row", 2, "weight_kg"),
    (csv_file(row(weight="nan")), "row", 2, "weight_kg"),
    (csv_file(row(reps="0")), "row", 2, "reps"),
    (csv_file(row(reps="10000")), "row", 2, "reps"),
    (csv_file(row(reps="8.5")), "row", 2, "reps"),
    (csv_file(row(reps="")), "row", 2, "reps"),
    (csv_file(row(reps="٨")), "row", 2, "reps"),
    (csv_file(row(rpe="11")), "row", 2, "rpe"),
    (csv_file(row(rpe="8.3")), "row", 2, "rpe"),
    (csv_file(row(start="yesterday")), "row", 2, "start_time"),
    (csv_file(row(), '"Legs","26 Jul 2025, 07:06"'), "row", 3, ""),
]


@pytest.mark.parametrize(("data", "problem", "line", "column"), BROKEN)
def test_a_broken_file_is_refused_with_where(catalogue, data, problem, line, column):
    found = read_export(data, catalogue)
    assert found == CsvProblem(problem, line, column)


def test_rows_of_exercises_the_log_does_not_take_are_not_checked(catalogue):
    plan = read_export(csv_file(row(title="Running", weight="", reps="")), catalogue)
    assert plan.sets == () and plan.skipped_exercises == {"Running": 1}


def test_too_many_rows(catalogue):
    data = csv_file(*[row()] * (MAX_CSV_ROWS + 1))
    assert read_export(data, catalogue) == CsvProblem("too_many_rows", MAX_CSV_ROWS + 2)
