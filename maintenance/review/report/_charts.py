"""The review's charts as inline SVG, drawn by matplotlib without pyplot or a display.

Figures are built from ``matplotlib.figure.Figure`` directly (no global pyplot state, so
drawing from a web worker thread is safe) and saved with text kept as SVG text: the report
stays searchable and small. Labels come from user input (asset codes, question texts), so
mathtext is switched off (a ``$`` in an asset name would otherwise be parsed as TeX) and
matplotlib's SVG writer escapes the text.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from typing import ParamSpec

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from maintenance.review.schemas import DayCount, FaultByAsset, KpiLine, SurveyResults

__all__ = ["faults_chart", "kpi_chart", "orders_chart", "survey_chart"]

INK = "#1b1f24"
MUTED = "#4f5660"
LINE = "#c9cfd6"
ACCENT = "#0b57d0"
PREVIOUS = "#9aa4b1"
TARGET = "#b3261e"
_MAX_LABEL = 40
P = ParamSpec("P")
#: No creation date or tool name: the same review gives the same bytes, and no namespace
#: URLs end up in a report that promises to fetch nothing.
_NO_METADATA: dict[str, str | None] = {"Date": None, "Creator": None, "Format": None, "Type": None}


def _label(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


def _svg(figure: Figure, salt: str) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), with ids unique to this chart."""
    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": salt}):
        figure.savefig(buffer, format="svg", metadata=_NO_METADATA)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    # matplotlib numbers its groups from 1 in every file (figure_1, axes_1); prefix every id
    # and reference so the report's charts keep unique ids in one document
    return (
        text.replace(' id="', f' id="{salt}-')
        .replace("url(#", f"url(#{salt}-")
        .replace('xlink:href="#', f'xlink:href="#{salt}-')
    )


def _figure(width_in: float, height_in: float) -> Figure:
    return Figure(figsize=(width_in, height_in), dpi=96, layout="constrained")


def _plain_text(draw: Callable[P, str]) -> Callable[P, str]:
    """Run ``draw`` with mathtext off and SVG text kept as text, whatever the global rcParams;
    tick labels are made while drawing, so the whole function runs in the context."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> str:
        with rc_context({"text.parse_math": False, "svg.fonttype": "none"}):
            return draw(*args, **kwargs)

    return wrapper


def _style(axes: object) -> None:
    from matplotlib.axes import Axes

    assert isinstance(axes, Axes)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(LINE)
    axes.tick_params(colors=MUTED, labelsize=9)
    axes.title.set_color(INK)


def _empty(figure: Figure, title: str, message: str) -> None:
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.set_title(title, loc="left", fontsize=11, color=INK)
    axes.text(
        0.5, 0.5, message, ha="center", va="center", color=MUTED, fontsize=10, parse_math=False
    )


@_plain_text
def kpi_chart(lines: Sequence[KpiLine]) -> str:
    """Percent figures: last month, this month, and the target as a red tick."""
    shown = [line for line in lines if line.unit == "%" and line.key != "energy_change_pct"]
    figure = _figure(7.5, 3.0)
    title = "Shares against targets (%)"
    if not any(line.current is not None or line.previous is not None for line in shown):
        _empty(figure, title, "No orders in these two months")
        return _svg(figure, "kpi")
    axes = figure.add_subplot()
    _style(axes)
    positions = list(range(len(shown)))
    width = 0.38
    axes.bar(
        [p - width / 2 for p in positions],
        [line.previous or 0 for line in shown],
        width,
        color=PREVIOUS,
        label="last month",
    )
    axes.bar(
        [p + width / 2 for p in positions],
        [line.current or 0 for line in shown],
        width,
        color=ACCENT,
        label="this month",
    )
    for p, line in zip(positions, shown, strict=True):
        if line.target is not None:
            axes.hlines(line.target, p - 0.45, p + 0.45, colors=TARGET, linewidth=2)
    axes.set_xticks(positions, [_label(line.label) for line in shown], rotation=20, ha="right")
    axes.set_ylim(0, 105)
    axes.set_title(title, loc="left", fontsize=11)
    axes.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(figure, "kpi")


@_plain_text
def orders_chart(days: Sequence[DayCount]) -> str:
    """Orders created per day of the month (the site's calendar)."""
    figure = _figure(7.5, 2.4)
    axes = figure.add_subplot()
    _style(axes)
    axes.bar([d.day.day for d in days], [d.orders for d in days], color=ACCENT, width=0.8)
    axes.set_xlabel("day of month", color=MUTED, fontsize=9)
    axes.set_title("Orders created per day", loc="left", fontsize=11)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    # from zero, and at least 0-4 so an empty or quiet month has a sensible axis, not +/-0.05
    axes.set_ylim(0, max(max((d.orders for d in days), default=0) * 1.15, 4))
    if not any(d.orders for d in days):
        axes.text(
            0.5,
            0.5,
            "No orders this month",
            transform=axes.transAxes,
            ha="center",
            color=MUTED,
            parse_math=False,
        )
    return _svg(figure, "orders")


@_plain_text
def faults_chart(faults: Sequence[FaultByAsset]) -> str:
    """Corrective orders per asset, most first; the automatic part darker."""
    title = "Recurring faults by asset"
    figure = _figure(7.5, max(2.0, 0.32 * len(faults) + 1.0))
    if not faults:
        _empty(figure, title, "No faults this month")
        return _svg(figure, "faults")
    axes = figure.add_subplot()
    _style(axes)
    names = [_label(f.asset) for f in reversed(faults)]
    axes.barh(names, [f.orders for f in reversed(faults)], color=PREVIOUS, label="all")
    axes.barh(names, [f.automatic for f in reversed(faults)], color=ACCENT, label="automatic")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title, loc="left", fontsize=11)
    axes.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(figure, "faults")


@_plain_text
def survey_chart(surveys: Sequence[SurveyResults]) -> str:
    """Mean score of every rating question of the month's surveys (1-5)."""
    title = "Requester survey: mean rating per question"
    bars = [
        (f"{_label(q.text)}", q.mean)
        for survey in surveys
        for q in survey.questions
        if q.kind == "rating" and q.mean is not None
    ]
    figure = _figure(7.5, max(2.0, 0.32 * len(bars) + 1.0))
    if not bars:
        _empty(figure, title, "No survey ratings this month")
        return _svg(figure, "survey")
    axes = figure.add_subplot()
    _style(axes)
    axes.barh([b[0] for b in reversed(bars)], [b[1] or 0 for b in reversed(bars)], color=ACCENT)
    axes.set_xlim(0, 5)
    axes.set_title(title, loc="left", fontsize=11)
    return _svg(figure, "survey")
