"""The monthly review as one self-contained HTML file, and as PDF through headless Chromium.

Self-contained means no request leaves the page: CSS inline, charts as inline SVG, no script,
and a Content-Security-Policy that forbids fetching anything, so the file can be mailed,
archived and opened offline years later. Everything from the database goes through Jinja2's
autoescape (asset names, titles, survey comments are user input); only the SVG the charts
module made is marked safe.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from facility.core.errors import ServiceUnavailable
from maintenance.review.schemas import KpiLine, MonthlyReview

__all__ = ["CHART_NAMES", "find_chromium", "render_html", "write_pdf"]

CHROMIUM = "/usr/bin/chromium"
#: The ``data-chart`` names of the figures every report carries (the e2e test checks them).
CHART_NAMES = ("kpis", "orders", "faults", "survey")
_HERE = Path(__file__).resolve().parent
#: Shown where a figure has nothing to measure (an en dash, as print reports do).
NO_DATA = "\u2013"


def duration(seconds: float | None) -> str:
    """``5400`` → ``1 h 30 min``: the unit a facility manager thinks in, not raw seconds."""
    if seconds is None:
        return NO_DATA
    minutes = round(abs(seconds) / 60)
    sign = "-" if seconds < 0 else ""
    if minutes < 60:
        return f"{sign}{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{sign}{hours} h {rest} min" if rest else f"{sign}{hours} h"
    days, hours = divmod(hours, 24)
    return f"{sign}{days} d {hours} h" if hours else f"{sign}{days} d"


def figure(value: float | None, unit: str) -> str:
    """A figure in its unit: durations in h/min, shares with %, ratings with two decimals."""
    if value is None:
        return NO_DATA
    if unit == "s":
        return duration(value)
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "rating":
        return f"{value:.2f}"
    return f"{value:,.1f} {unit}"


def change(line: KpiLine) -> str:
    """The change from last month, signed, in the line's unit."""
    if line.delta is None:
        return NO_DATA
    sign = "+" if line.delta > 0 else ""
    if line.unit == "s":
        return ("+" if line.delta > 0 else "") + duration(line.delta)
    if line.unit == "%":
        return f"{sign}{line.delta:.1f} pt"
    return sign + figure(line.delta, line.unit)


def trend(line: KpiLine) -> str:
    """``better``/``worse``/``same`` for the CSS class of the change cell."""
    if line.delta is None or line.delta == 0 or line.better is None:
        return "same"
    improved = line.delta > 0 if line.better == "higher" else line.delta < 0
    return "better" if improved else "worse"


def _local(value: datetime, zone: str) -> str:
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_HERE),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(duration=duration, figure=figure, change=change, trend=trend, local=_local)
    return env


def render_html(review: MonthlyReview, *, targets_json: str = "") -> str:
    """The whole report as one HTML document."""
    # matplotlib (with numpy and Pillow) is ~60 MB and 0.6 s of imports: loaded when a report
    # is drawn, not by every process that builds the API (a gateway worker never draws one)
    from maintenance.review.report._charts import (
        faults_chart,
        kpi_chart,
        orders_chart,
        survey_chart,
    )

    charts = {
        "kpis": Markup(kpi_chart(review.lines)),  # noqa: S704 - SVG made by matplotlib
        "orders": Markup(orders_chart(review.orders_per_day)),  # noqa: S704
        "faults": Markup(faults_chart(review.top_faults_by_asset)),  # noqa: S704
        "survey": Markup(survey_chart(review.surveys)),  # noqa: S704
    }
    template = _environment().get_template("monthly.html")
    return template.render(review=review, charts=charts, targets_json=targets_json)


def find_chromium() -> str | None:
    """The system Chromium (Debian package ``chromium``), or None."""
    return shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)


def write_pdf(html: Path, pdf: Path) -> str | None:
    """Print ``html`` to ``pdf`` (A4) with headless Chromium; None on success, else the reason
    only HTML was written (no Chromium, no playwright)."""
    executable = find_chromium()
    if executable is None:
        return "no Chromium found (apt-get install -y chromium); only HTML was written"
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        return "playwright is not installed (pip install playwright); only HTML was written"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            try:
                page = browser.new_page()
                page.goto(html.resolve().as_uri())
                page.pdf(path=str(pdf), format="A4", print_background=True)
            finally:
                browser.close()
    except Error as exc:
        raise ServiceUnavailable(
            f"Chromium at {executable} could not print {html} to PDF: {str(exc)[:200]}"
        ) from exc
    return None
