"""Charts are real PNGs of a phone-friendly size, and what they plot is exactly the log.

`python -m tests.test_charts` redraws docs/progress-example.png from the example log below.
"""

import struct
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.charts import ProgressLabels, StatsLabels, progress_chart, stats_chart
from bot.domain.training import LoggedSet, sessions_of, to_kg

EXAMPLE_PNG = Path(__file__).resolve().parent.parent / "docs" / "progress-example.png"
LABELS = ProgressLabels(
    title="Romanian deadlift",
    top_set="Top set (lb)",
    volume="Volume (lb × reps)",
    reps="Total reps",
    clean="Clean form",
    back="Lower back",
    e1rm="Estimated 1RM (lb)",
)


def example_log() -> list[LoggedSet]:
    """Six weeks of RDLs twice a week: steady gains, one lower-back session and a step back after it."""
    start = datetime(2026, 6, 2, 17, 30, tzinfo=UTC)
    plan = [  # (day, top set lb, sets, reps, how it felt)
        (0, 35, 3, 12, "clean"),
        (3, 35, 3, 12, "clean"),
        (7, 45, 3, 12, None),
        (10, 45, 3, 12, "clean"),
        (14, 55, 3, 10, "clean"),
        (17, 65, 3, 10, "regress"),
        (21, 55, 3, 10, "clean"),
        (24, 55, 3, 12, "clean"),
        (28, 65, 3, 10, "clean"),
        (31, 65, 3, 12, "clean"),
        (35, 75, 3, 8, None),
        (38, 75, 3, 10, "clean"),
    ]
    log = []
    for day, top, sets, reps, felt in plan:
        at = start + timedelta(days=day)
        log.append(LoggedSet(at - timedelta(minutes=10), at.date(), to_kg(top - 10, "lb"), 1, 8))  # a warm-up set
        log.append(LoggedSet(at, at.date(), to_kg(top, "lb"), sets, reps, felt))
    return log


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def test_progress_chart_is_a_real_png_of_sensible_size():
    chart = progress_chart(sessions_of(example_log()), "lb", LABELS)
    width, height = png_size(chart.png)
    assert 600 <= width <= 1400 and 450 <= height <= 1100, (width, height)
    assert 20_000 <= len(chart.png) <= 300_000, len(chart.png)


def test_plotted_points_match_the_log():
    log = example_log()
    chart = progress_chart(sessions_of(log), "lb", LABELS)
    tops = [entry for entry in log if entry.sets > 1]
    assert chart.series.dates == [entry.on for entry in tops]
    assert chart.series.top == pytest.approx([35, 35, 45, 45, 55, 65, 55, 55, 65, 65, 75, 75])
    expected_volume = [(top - 10) * 8 + top * e.sets * e.reps for e, top in zip(tops, chart.series.top, strict=True)]
    assert chart.series.volume == pytest.approx(expected_volume)
    assert chart.series.clean == [e.on for e in tops if e.effect == "clean"]
    assert chart.series.back == [date(2026, 6, 19)]


def test_kilograms_are_plotted_in_kilograms():
    at = datetime(2026, 6, 1, tzinfo=UTC)
    log = [
        LoggedSet(at + timedelta(days=d), (at + timedelta(days=d)).date(), kg, 3, 12) for d, kg in ((0, 16), (3, 20))
    ]
    chart = progress_chart(sessions_of(log), "kg", LABELS)
    assert chart.series.top == pytest.approx([16, 20])
    assert chart.series.volume == pytest.approx([16 * 36, 20 * 36])


def test_a_body_weight_exercise_plots_reps_and_a_single_session_works():
    at = datetime(2026, 6, 1, tzinfo=UTC)
    log = [LoggedSet(at, at.date(), None, 3, 15, "clean")]
    chart = progress_chart(sessions_of(log), "lb", LABELS)
    assert chart.series.top == [] and chart.series.volume == [45]
    assert chart.series.clean == [at.date()]
    png_size(chart.png)


def test_stats_chart_is_a_png():
    labels = StatsLabels(reached="Reached", answers="Answers", clean="clean", back="back", other="other", day="Day")
    png = stats_chart({1: 10, 2: 8, 3: 7}, {1: {"clean": 5, "back": 2}, 3: {"other": 1}}, days=7, labels=labels)
    width, height = png_size(png)
    assert width > 600 and height > 600 and len(png) < 300_000


def test_the_readme_example_chart_exists_and_is_current_enough():
    """docs/progress-example.png is drawn from example_log(); run this module to redraw it."""
    width, height = png_size(EXAMPLE_PNG.read_bytes())
    fresh = progress_chart(sessions_of(example_log()), "lb", LABELS)
    assert (width, height) == png_size(fresh.png)


def test_the_estimated_1rm_line_is_the_sessions_estimates():
    sessions = sessions_of(example_log())
    chart = progress_chart(sessions, "lb", LABELS)
    assert chart.series.e1rm == pytest.approx([s.e1rm_kg / to_kg(1, "lb") for s in sessions])
    high_reps = [LoggedSet(datetime(2026, 6, 2, tzinfo=UTC), date(2026, 6, 2), 20.0, 3, 15)]
    assert progress_chart(sessions_of(high_reps), "lb", LABELS).series.e1rm == [], "no estimate over 10 reps"


if __name__ == "__main__":
    EXAMPLE_PNG.parent.mkdir(exist_ok=True)
    EXAMPLE_PNG.write_bytes(progress_chart(sessions_of(example_log()), "lb", LABELS).png)
    print(f"wrote {EXAMPLE_PNG}")
