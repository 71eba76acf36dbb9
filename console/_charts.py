"""Server-side SVG line charts of reading history: no JavaScript charting library to vendor.

A chart is a few kilobytes of SVG per metric, readable by screen readers through its
``<title>``, and it prints. Long series are reduced to at most ``max_points`` by keeping each
bucket's minimum and maximum, so a spike never disappears in the downsampling.

What makes a trend readable to a facility engineer, and why each is here:

* **Round ticks with grid lines** (1-2-5 steps, four to six of them) instead of only the
  minimum and maximum: "is that 21 or 23 °C?" is answered by looking, not by guessing.
* **A floor under the vertical span** (``min_span``): a supply-air sensor wandering between
  21.4 and 21.6 °C must not look like a wild swing. The caller passes the smallest span worth
  showing for the unit (2 K, 10 %, 20 Pa...).
* **The alarm bands of the rules that watch the metric**, shaded, with the threshold drawn as
  a dashed line and always inside the plot, so the reader sees how far the value is from
  raising a work order.
* **On/off as a step line with words** for boolean points (a fan is running or it is not;
  there is no 0.4 fan).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

__all__ = ["Band", "downsample", "line_chart", "nice_ticks", "time_ticks"]

#: Candidate spacings of the time axis, shortest first.
_TIME_STEPS = tuple(
    timedelta(seconds=s)
    for s in (
        10,
        30,
        60,
        120,
        300,
        600,
        900,
        1800,
        3600,
        7200,
        3 * 3600,
        6 * 3600,
        12 * 3600,
        86400,
        2 * 86400,
        7 * 86400,
    )
)


@dataclass(frozen=True, slots=True)
class Band:
    """An alarm region of a rule: values above ``low`` (and below ``high``) raise it.

    ``low=None`` means "everything below ``high``" (a ``below`` threshold), ``high=None``
    "everything above ``low``" (an ``above`` threshold).
    """

    label: str
    low: float | None = None
    high: float | None = None


def downsample(
    points: Sequence[tuple[datetime, float]], max_points: int
) -> list[tuple[datetime, float]]:
    """At most ``max_points`` points that keep every bucket's extremes, in time order."""
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    if len(points) <= max_points:
        return list(points)
    buckets = max_points // 2
    size = len(points) / buckets
    out: list[tuple[datetime, float]] = []
    for index in range(buckets):
        chunk = points[int(index * size) : int((index + 1) * size)]
        if not chunk:
            continue
        low = min(chunk, key=lambda p: p[1])
        high = max(chunk, key=lambda p: p[1])
        out.extend(sorted({low, high}, key=lambda p: p[0]))
    return out


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise ValueError("nice_ticks needs finite lo < hi")
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks = [round(first, 10)]
    while ticks[-1] < hi - step * 1e-9:  # until a tick at or above hi; multiples, no drift
        ticks.append(round(first + len(ticks) * step, 10))
    return ticks


def time_ticks(start: datetime, end: datetime, count: int = 4) -> list[datetime]:
    """Tick times at a round spacing (a minute, five, an hour...) within ``[start, end]``."""
    span = end - start
    if span <= timedelta(0):
        return [start]
    step = next((s for s in _TIME_STEPS if span / s <= count), _TIME_STEPS[-1])
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    base = start.astimezone(UTC)
    first = epoch + math.ceil((base - epoch) / step) * step
    ticks = []
    tick = first
    while tick <= end:
        ticks.append(tick)
        tick += step
    return ticks


def line_chart(
    points: Sequence[tuple[datetime, float]],
    *,
    title: str,
    unit: str,
    fmt_number: Callable[[float], str],
    fmt_time: Callable[[datetime], str],
    empty_text: str,
    width: int = 640,
    height: int = 200,
    max_points: int = 300,
    min_span: float = 0.0,
    bands: Sequence[Band] = (),
    levels: Mapping[float, str] | None = None,
    fmt_tick: Callable[[float, int], str] | None = None,
) -> str:
    """An accessible SVG line chart of ``points`` (time, value).

    ``levels`` turns the chart into a step chart with words on the vertical axis (``{0: "off",
    1: "on"}``); ``bands`` shades the rules' alarm regions; ``min_span`` is the smallest
    vertical span drawn, so sensor noise does not fill the plot. ``fmt_tick(value, digits)``
    writes the axis labels with as many decimals as the tick spacing needs (0.25 steps get two),
    so no two ticks read the same; without it ``fmt_number`` writes them.
    """
    pad_right, pad_top, pad_bottom = 14, 12, 30
    label = escape(f"{title} ({unit})" if unit else title)
    head = (
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{label}"><title>{label}</title>'
    )
    if not points:
        return (
            f'{head}<text x="{width // 2}" y="{height // 2}" text-anchor="middle" '
            f'class="chart-empty">{escape(empty_text)}</text></svg>'
        )
    series = downsample(sorted(points, key=lambda p: p[0]), max_points)
    t0, t1 = series[0][0], series[-1][0]
    if levels:
        y_ticks = sorted(levels)
        lo, hi = y_ticks[0] - 0.15, y_ticks[-1] + 0.15
    else:
        lo, hi = _value_range(series, min_span, bands)
        y_ticks = nice_ticks(lo, hi)  # the axis runs from one round value to another
        lo, hi = y_ticks[0], y_ticks[-1]
    if levels:
        labels = {tick: levels[tick] for tick in y_ticks}
    else:
        step = (y_ticks[1] - y_ticks[0]) if len(y_ticks) > 1 else 1.0
        digits = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
        if step < 1 and round(step * 10**digits, 6) % 1:  # 0.25: one more decimal
            digits += 1
        labels = {t: fmt_tick(t, digits) if fmt_tick else fmt_number(t) for t in y_ticks}
    # room for the longest label (19-unit text is about 11 units per character)
    pad_left = max(64, 14 + 11 * max(len(text) for text in labels.values()))
    span_t = (t1 - t0).total_seconds() or 1.0
    plot_w = width - pad_left - pad_right
    plot_h = height - pad_top - pad_bottom
    bottom = height - pad_bottom

    def x_of(ts: datetime) -> float:
        return pad_left + (ts - t0).total_seconds() / span_t * plot_w

    def y_of(value: float) -> float:
        return pad_top + (hi - value) / (hi - lo) * plot_h

    parts = [head]
    for band in bands:  # under everything else
        top = y_of(min(band.high, hi)) if band.high is not None else pad_top
        low_edge = y_of(max(band.low, lo)) if band.low is not None else bottom
        if low_edge > top:
            parts.append(
                f'<rect class="band" x="{pad_left}" y="{top:.1f}" width="{plot_w}" '
                f'height="{low_edge - top:.1f}"><title>{escape(band.label)}</title></rect>'
            )
        for edge in (band.low, band.high):
            if edge is not None and lo <= edge <= hi:
                y = y_of(edge)
                parts.append(
                    f'<line class="threshold" x1="{pad_left}" y1="{y:.1f}" '
                    f'x2="{width - pad_right}" y2="{y:.1f}"/>'
                )
    for tick in y_ticks:
        y = y_of(tick)
        text = labels[tick]
        parts.append(
            f'<line class="grid" x1="{pad_left}" y1="{y:.1f}" x2="{width - pad_right}" '
            f'y2="{y:.1f}"/><text class="tick" x="{pad_left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(text)}</text>'
        )
    for tick_time in time_ticks(t0, t1):
        x = x_of(tick_time)
        parts.append(
            f'<line class="grid" x1="{x:.1f}" y1="{pad_top}" x2="{x:.1f}" y2="{bottom}"/>'
            f'<text class="tick" x="{x:.1f}" y="{height - 10}" text-anchor="middle">'
            f"{escape(fmt_time(tick_time))}</text>"
        )
    parts.append(
        f'<line class="axis" x1="{pad_left}" y1="{pad_top}" x2="{pad_left}" y2="{bottom}"/>'
        f'<line class="axis" x1="{pad_left}" y1="{bottom}" x2="{width - pad_right}" '
        f'y2="{bottom}"/>'
    )
    if levels:  # a state holds until the next reading: draw steps, not slopes
        path: list[str] = []
        for index, (ts, value) in enumerate(series):
            if index:
                path.append(f"{x_of(ts):.1f},{y_of(series[index - 1][1]):.1f}")
            path.append(f"{x_of(ts):.1f},{y_of(value):.1f}")
        polyline = " ".join(path)
    else:
        polyline = " ".join(f"{x_of(ts):.1f},{y_of(value):.1f}" for ts, value in series)
    parts.append(f'<polyline class="line" fill="none" points="{polyline}"/></svg>')
    return "".join(parts)


def _value_range(
    series: Sequence[tuple[datetime, float]], min_span: float, bands: Sequence[Band]
) -> tuple[float, float]:
    """The vertical range: the data, the nearest threshold, at least ``min_span`` wide."""
    lo = min(v for _, v in series)
    hi = max(v for _, v in series)
    edges = [e for band in bands for e in (band.low, band.high) if e is not None]
    if edges:  # the threshold nearest the data is always shown, so the margin is visible
        nearest = min(edges, key=lambda e: 0.0 if lo <= e <= hi else min(abs(e - lo), abs(e - hi)))
        lo, hi = min(lo, nearest), max(hi, nearest)
    middle = (hi + lo) / 2
    floor = max(min_span, abs(middle) * 0.02, 1e-6)
    if hi == lo:  # a constant: a band around it, 0 ± 0.5 for a zero
        floor = max(floor, abs(middle) * 0.1 or 1.0)
    if hi - lo < floor:
        middle = (hi + lo) / 2
        lo, hi = middle - floor / 2, middle + floor / 2
    margin = (hi - lo) * 0.08
    lo, hi = lo - margin, hi + margin
    if lo < 0 <= min(v for _, v in series):  # a valve at 0 % is not drawn among negatives
        lo, hi = 0.0, hi - lo
    return lo, hi
