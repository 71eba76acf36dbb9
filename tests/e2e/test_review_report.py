"""``facility report monthly`` as a manager runs it, and the report as a browser shows it.

The CLI runs as a subprocess against a seeded SQLite database (the month from the integration
test: Berlin time, October 2026). The HTML is then opened in headless Chromium (the system
``chromium``, as the console tests use it): it must render with no console error, carry every
chart as SVG and show the key figures. The screenshot lands in ``tests/artifacts/``, and a copy
in ``docs/`` for the README.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import orjson
import pytest
from playwright.sync_api import ConsoleMessage, sync_playwright

from gateway.stores.sql import SqlReadingStore, make_engine
from maintenance.insights.kpis import KpiFilter, compute_kpis
from maintenance.insights.schemas import KpiReport
from maintenance.review.actions import create_action
from maintenance.review.report import CHART_NAMES
from maintenance.review.service import month_bounds
from maintenance.review.surveys import create_survey, submit_response
from maintenance.shared.db import connect, upgrade
from tests.e2e.conftest import ARTIFACTS, CHROMIUM_ARGS, chromium_path
from tests.integration._work_order_server import seed
from tests.integration.test_review import NOW, seed_month

FACILITY = str(Path(sys.executable).with_name("facility"))
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "monthly-report.png"


@dataclass
class Seeded:
    url: str
    env: dict[str, str]


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    url = f"sqlite:///{tmp_path / 'facility.db'}"
    engine, sessions = connect(url)
    upgrade(engine)
    seed(sessions)
    readings_engine = make_engine(url)
    seed_month(sessions, SqlReadingStore(readings_engine))
    with sessions() as s:
        create_action(
            s,
            site="hq",
            period="2026-10",
            title="Check the AHU-1 supply sensor <calibration>",
            owner="tech",
            due_on=date(2026, 11, 15),
            actor="manager",
            now=NOW,
        )
        survey = create_survey(
            s,
            site="hq",
            title="October comfort",
            questions=[
                {"key": "comfort", "text": "How comfortable is your office?", "kind": "rating"},
                {"key": "comment", "text": "Anything else?", "kind": "text"},
            ],
            opens_on=date(2026, 10, 1),
            closes_on=date(2026, 10, 31),
            anonymous=True,
            actor="manager",
            now=NOW,
        )
        for rating in (4, 5, 3):
            submit_response(
                s,
                survey_id=survey.id,
                respondent="requester",
                answers={"comfort": rating, "comment": f"<i>{rating}</i> stars"},
                now=datetime(2026, 10, 15, 9, tzinfo=NOW.tzinfo),
            )
    readings_engine.dispose()
    engine.dispose()
    base = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
    env = {
        **base,
        "FACILITY_DATA_DIR": str(tmp_path / "data"),
        "FACILITY_DATABASE_URL": url,
        "FACILITY_SECRET_KEY": "review-test-secret-0123456789abcdef",
    }
    return Seeded(url, env)


def report(seeded: Seeded, *args: str, as_json: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FACILITY, "report", "monthly", *(["--json"] if as_json else []), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=seeded.env,
    )


def _write(seeded: Seeded, tmp_path: Path) -> tuple[Path, Path, dict[str, object]]:
    html, pdf = tmp_path / "out" / "report.html", tmp_path / "out" / "report.pdf"
    result = report(
        seeded,
        "--site",
        "hq",
        "--month",
        "2026-10",
        "--out",
        str(html),
        "--pdf",
        str(pdf),
        "--now",
        NOW.isoformat(),
    )
    assert result.returncode == 0, result.stderr
    figures: dict[str, object] = orjson.loads(result.stdout)
    return html, pdf, figures


def test_the_cli_writes_a_self_contained_report_with_the_kpi_figures(
    seeded: Seeded, tmp_path: Path
) -> None:
    html, pdf, figures = _write(seeded, tmp_path)
    text = html.read_text(encoding="utf-8")

    from zoneinfo import ZoneInfo

    start, end = month_bounds("2026-10", ZoneInfo("Europe/Berlin"))
    engine, sessions = connect(seeded.url)
    with sessions() as s:
        kpis = compute_kpis(s, where=KpiFilter(start=start, end=end, site="hq"), now=NOW)
    engine.dispose()
    expected = KpiReport.model_validate(kpis).model_dump(mode="json", by_alias=True)
    assert figures["kpis"]["current"] == expected  # type: ignore[index]

    for name in CHART_NAMES:
        assert f'data-chart="{name}"><svg' in text, name
    assert "http://" not in text.replace("http://www.w3.org", "")  # nothing fetched
    assert "<script" not in text and "<calibration>" not in text and "<i>4</i>" not in text
    assert "&lt;calibration&gt;" in text
    shown = re.search(
        r'data-kpi="orders">\s*<td>[^<]*</td>\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>([^<]*)<', text
    )
    assert shown is not None and shown.group(1) == str(expected["total"])
    assert "80.0 kWh" in text
    assert "No scorecards computed for this period." in text
    if shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists():
        assert not pdf.exists()


def test_the_report_renders_in_chromium_with_every_chart_and_no_console_error(
    seeded: Seeded, tmp_path: Path
) -> None:
    executable = chromium_path()
    html, pdf, figures = _write(seeded, tmp_path)
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                errors.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "request",
            lambda r: errors.append(f"request {r.url}") if not r.url.startswith("file:") else None,
        )
        page.goto(html.resolve().as_uri())
        for name in CHART_NAMES:
            chart = page.locator(f'figure[data-chart="{name}"] svg')
            assert chart.count() == 1, name
            assert chart.bounding_box() is not None and chart.bounding_box()["height"] > 50  # type: ignore[index]
        total = figures["kpis"]["current"]["total"]  # type: ignore[index]
        assert page.locator('tr[data-kpi="orders"] td[data-value]').inner_text() == str(total)
        assert page.get_by_text("Monthly service review").is_visible()
        assert page.get_by_text("October comfort").is_visible()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "monthly-report.png"), full_page=True)
        shutil.copyfile(pdf, ARTIFACTS / "monthly-report.pdf")
        page.screenshot(path=str(DOCS_SCREENSHOT), full_page=False)
        browser.close()
    assert errors == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "hq", "--month", "2026-13"], "YYYY-MM"),
        (["--site", "hq", "--month", "October"], "YYYY-MM"),
        (["--site", "nowhere", "--month", "2026-10"], "does not exist"),
        (["--site", "hq", "--month", "2026-10", "--now", "yesterday"], "ISO 8601"),
        (["--site", "hq", "--month", "2026-10", "--targets", "/nonexistent.yaml"], "cannot read"),
    ],
)
def test_bad_input_fails_with_one_clear_line(
    seeded: Seeded, tmp_path: Path, args: list[str], message: str
) -> None:
    result = report(seeded, *args, "--out", str(tmp_path / "r.html"))
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_a_targets_file_changes_the_verdicts_and_a_bad_one_is_refused(
    seeded: Seeded, tmp_path: Path
) -> None:
    strict, broken = tmp_path / "strict.yaml", tmp_path / "broken.yaml"
    strict.write_text("sla_resolution_pct: 100\nrating_mean: 4.9\n")
    broken.write_text("sla_resolution_pct: [unclosed\n")
    good = report(
        seeded,
        "--site",
        "hq",
        "--month",
        "2026-10",
        "--targets",
        str(strict),
        "--no-technicians",
        "--out",
        str(tmp_path / "r.html"),
        "--now",
        NOW.isoformat(),
    )
    assert good.returncode == 0, good.stderr
    figures = orjson.loads(good.stdout)
    lines = {line["key"]: line for line in figures["lines"]}
    assert lines["rating_mean"]["target"] == 4.9 and lines["rating_mean"]["judgement"] == "missed"
    assert figures["technicians"] == [] and figures["technicians_included"] is False
    assert 'id="technicians"' not in (tmp_path / "r.html").read_text()
    bad = report(seeded, "--site", "hq", "--month", "2026-10", "--targets", str(broken))
    assert bad.returncode == 1 and "not valid YAML" in bad.stderr
    quiet = report(
        seeded,
        *("--site", "hq", "--month", "2026-10", "--out", str(tmp_path / "q.html")),
        *("--now", NOW.isoformat()),
        as_json=False,
    )
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "", "no JSON on stdout unless --json is given"
    assert "wrote" in quiet.stderr and (tmp_path / "q.html").stat().st_size > 0


def test_the_command_has_help_with_an_example() -> None:
    result = subprocess.run(
        [FACILITY, "report", "monthly", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "Example" in result.stdout
