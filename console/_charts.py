"""Server-side SVG line charts of reading history: no JavaScript charting library to vendor.

A chart is a few hundred bytes of SVG per metric, readable by screen readers through its
``<title>``, and it prints. Long series are reduced to at most ``max_points`` by keeping each
bucket's minimum and maximum, so a spike never disappears in the downsampling.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape

__all__ = ["downsample", "line_chart"]


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


def line_chart(
    points: Sequence[tuple[datetime, float]],
    *,
    title: str,
    unit: str,
    fmt_number: Callable[[float], str],
    fmt_time: Callable[[datetime], str],
    empty_text: str,
    width: int = 640,
    height: int = 180,
    max_points: int = 300,
) -> str:
    """An accessible SVG line chart of ``points`` (time, value)."""
    pad_left, pad_right, pad_top, pad_bottom = 56, 12, 12, 26
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
    t0, t1 = series[0][0].timestamp(), series[-1][0].timestamp()
    lo = min(v for _, v in series)
    hi = max(v for _, v in series)
    if hi == lo:
        hi, lo = hi + 1, lo - 1
    span_t = (t1 - t0) or 1.0
    plot_w = width - pad_left - pad_right
    plot_h = height - pad_top - pad_bottom

    def xy(ts: datetime, value: float) -> str:
        x = pad_left + (ts.timestamp() - t0) / span_t * plot_w
        y = pad_top + (hi - value) / (hi - lo) * plot_h
        return f"{x:.1f},{y:.1f}"

    path = " ".join(xy(ts, value) for ts, value in series)
    bottom = height - pad_bottom
    parts = [
        head,
        f'<line class="axis" x1="{pad_left}" y1="{pad_top}" x2="{pad_left}" y2="{bottom}"/>',
        f'<line class="axis" x1="{pad_left}" y1="{bottom}" x2="{width - pad_right}" '
        f'y2="{bottom}"/>',
        f'<text class="tick" x="{pad_left - 4}" y="{pad_top + 10}" text-anchor="end">'
        f"{escape(fmt_number(hi))}</text>",
        f'<text class="tick" x="{pad_left - 4}" y="{bottom}" text-anchor="end">'
        f"{escape(fmt_number(lo))}</text>",
        f'<text class="tick" x="{pad_left}" y="{height - 6}">{escape(fmt_time(series[0][0]))}'
        "</text>",
        f'<text class="tick" x="{width - pad_right}" y="{height - 6}" text-anchor="end">'
        f"{escape(fmt_time(series[-1][0]))}</text>",
        f'<polyline class="line" fill="none" points="{path}"/>',
        "</svg>",
    ]
    return "".join(parts)
