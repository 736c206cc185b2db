"""Charts as PNG bytes, drawn headless with matplotlib's Agg canvas (no pyplot, no global state).

Each chart function returns the PNG together with the values it actually plotted, read back from
the drawn artists, so a test can check the picture shows the log and not something else.
matplotlib is imported by the first chart drawn, not with the bot: importing it costs about a
tenth of a second of CPU that a process sending lessons (bot/delivery) never needs.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from bot.domain.training import Session, Unit, from_kg
from bot.language import current_language, date_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Colours that stay apart for the common kinds of colour blindness, on a phone in daylight.
INK, VOLUME, CLEAN, BACK, GRID, E1RM = "#1f2937", "#93c5fd", "#15803d", "#dc2626", "#e5e7eb", "#7c3aed"
FONT = {"font.size": 15, "axes.titlesize": 20, "axes.labelsize": 16, "xtick.labelsize": 14, "ytick.labelsize": 14}


@dataclass(frozen=True)
class ProgressLabels:
    """The words on the progress chart, from content/texts.yaml."""

    title: str
    top_set: str  # axis label, with the unit filled in
    volume: str
    reps: str
    clean: str
    back: str
    e1rm: str = ""  # the estimated one-rep max line; drawn when some session has one


@dataclass(frozen=True)
class ProgressSeries:
    """What the chart shows, one value per session, as drawn."""

    dates: list[date]
    top: list[float]  # top set in the person's unit; empty for body-weight exercises
    volume: list[float]  # weight x reps in the person's unit, or total reps for body weight
    clean: list[date]  # sessions marked clean
    back: list[date]  # sessions marked lower back
    e1rm: list[float] = field(default_factory=list)  # estimated 1RM in the person's unit, NaN where none


@dataclass(frozen=True)
class Chart:
    png: bytes
    series: ProgressSeries


def _local_date(value: float, _position: int | None = None) -> str:
    from matplotlib.dates import num2date

    return date_text(num2date(value).date(), current_language.get())


def _figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas: safe off the main thread, never looks for a display."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


def progress_chart(sessions: Sequence[Session], unit: Unit, labels: ProgressLabels) -> Chart:
    """Top set (line), estimated 1RM (dashed line) and volume (bars) per session, clean and
    lower-back sessions marked."""
    import matplotlib
    from matplotlib.dates import AutoDateLocator, date2num, num2date
    from matplotlib.ticker import FuncFormatter

    with matplotlib.rc_context(FONT):
        figure = _figure(8, 6)
        volume_axis = figure.add_subplot()
        days = [session.on for session in sessions]
        x = date2num(days)
        weighted = any(session.top_kg is not None for session in sessions)
        volumes = [from_kg(s.volume, unit) if s.top_kg is not None else s.volume for s in sessions]
        span = float(x.max() - x.min()) if len(x) > 1 else 1.0
        width = max(0.6, min(5.0, 0.6 * span / max(1, len(x) - 1)))  # bars stay visible over months
        bars = volume_axis.bar(x, volumes, width=width, color=VOLUME, label=labels.volume if weighted else labels.reps)
        volume_axis.set_ylabel(labels.volume if weighted else labels.reps)
        volume_axis.grid(axis="y", color=GRID)
        volume_axis.set_axisbelow(True)
        handles = [bars]
        marked_axis, marked = volume_axis, volumes
        line = e1rm_line = None
        if weighted:
            top_axis = volume_axis.twinx()
            top = [from_kg(s.top_kg, unit) if s.top_kg is not None else float("nan") for s in sessions]
            (line,) = top_axis.plot(x, top, color=INK, linewidth=3, marker="o", markersize=7, label=labels.top_set)
            top_axis.set_ylabel(labels.top_set)
            estimates = [from_kg(s.e1rm_kg, unit) if s.e1rm_kg is not None else float("nan") for s in sessions]
            if any(v == v for v in estimates):
                (e1rm_line,) = top_axis.plot(
                    x, estimates, color=E1RM, linewidth=2.5, linestyle="--", marker="D", markersize=6, label=labels.e1rm
                )
                handles.append(e1rm_line)
            top_axis.set_ylim(bottom=0, top=max(v for v in top + estimates if v == v) * 1.25)
            # The line is the headline: draw its axis in front of the bars.
            top_axis.set_zorder(volume_axis.get_zorder() + 1)
            top_axis.patch.set_visible(False)
            handles.append(line)
            marked_axis, marked = top_axis, top
        clean = [(xi, yi) for xi, yi, s in zip(x, marked, sessions, strict=True) if s.effect == "clean"]
        back = [(xi, yi) for xi, yi, s in zip(x, marked, sessions, strict=True) if s.effect in ("regress", "red_flag")]
        clean_dots = marked_axis.scatter(
            [p[0] for p in clean], [p[1] for p in clean], s=220, color=CLEAN, zorder=5, label=labels.clean
        )
        back_marks = marked_axis.scatter(
            [p[0] for p in back], [p[1] for p in back], s=260, marker="X", color=BACK, zorder=5, label=labels.back
        )
        handles += [h for h, points in ((clean_dots, clean), (back_marks, back)) if points]
        volume_axis.set_title(labels.title, loc="left", fontweight="bold")
        volume_axis.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=6))
        volume_axis.xaxis.set_major_formatter(FuncFormatter(_local_date))  # month names in the language spoken
        volume_axis.set_xlim(x.min() - width, x.max() + width)
        volume_axis.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2, frameon=False)
        series = ProgressSeries(
            dates=[num2date(v).date() for v in (bar.get_x() + bar.get_width() / 2 for bar in bars)],
            top=[float(v) for v in line.get_ydata()] if line is not None else [],
            volume=[float(bar.get_height()) for bar in bars],
            clean=[num2date(v).date() for v, _ in clean_dots.get_offsets()] if clean else [],
            back=[num2date(v).date() for v, _ in back_marks.get_offsets()] if back else [],
            e1rm=[float(v) for v in e1rm_line.get_ydata()] if e1rm_line is not None else [],
        )
        return Chart(_png(figure), series)


@dataclass(frozen=True)
class StatsLabels:
    """The words on the operators' chart (`stats_chart_*` in texts.yaml)."""

    reached: str
    answers: str
    clean: str
    back: str
    other: str
    day: str


def stats_chart(reached: dict[int, int], answers: dict[int, dict[str, int]], days: int, labels: StatsLabels) -> bytes:
    """Two panels: the day-by-day funnel, and where people felt each day's lesson."""
    import matplotlib

    with matplotlib.rc_context(FONT):
        figure = _figure(9, 8)
        funnel, felt = figure.subplots(2, 1, sharex=True)
        day_numbers = list(range(1, days + 1))
        funnel.bar(day_numbers, [reached.get(d, 0) for d in day_numbers], color=VOLUME, edgecolor=INK)
        funnel.set_title(labels.reached, loc="left", fontweight="bold")
        funnel.grid(axis="y", color=GRID)
        funnel.set_axisbelow(True)
        bottom = [0] * days
        for key, colour, label in (
            ("clean", CLEAN, labels.clean),
            ("back", BACK, labels.back),
            ("other", GRID, labels.other),
        ):
            heights = [answers.get(d, {}).get(key, 0) for d in day_numbers]
            felt.bar(day_numbers, heights, bottom=bottom, color=colour, edgecolor=INK, label=label)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        felt.set_title(labels.answers, loc="left", fontweight="bold")
        felt.set_xlabel(labels.day)
        felt.set_xticks(day_numbers)
        felt.grid(axis="y", color=GRID)
        felt.set_axisbelow(True)
        felt.legend(loc="upper right", fontsize=13)
        return _png(figure)
