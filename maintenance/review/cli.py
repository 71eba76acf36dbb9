"""``facility report``: the monthly service review (plan, do, check, act).

The report is written to a file (HTML always, PDF when Chromium is installed). With ``--json``
the review's figures also go to stdout as one JSON line, the same object
``GET /api/v1/reviews/monthly`` returns, so a script can archive or compare them; without it a
manager at a terminal sees only the progress lines (stderr), not a screenful of JSON.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from facility.core.errors import FacilityError
from facility.core.settings import load_settings
from maintenance.shared.cli import parse_now

__all__ = ["report_app"]

err = Console(stderr=True)
report_app = typer.Typer(help="Service reviews: the monthly PDCA report.", no_args_is_help=True)


@report_app.command("monthly")
def monthly(
    site: Annotated[str, typer.Option("--site", help="Site code.", show_default=False)],
    month: Annotated[
        str, typer.Option("--month", help="The site's calendar month, YYYY-MM.", show_default=False)
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the HTML report.")] = Path(
        "report.html"
    ),
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="Also print it to this PDF (needs Chromium).")
    ] = None,
    targets: Annotated[
        Path | None,
        typer.Option("--targets", help="YAML/JSON file of targets (see docs/review.md)."),
    ] = None,
    no_technicians: Annotated[
        bool,
        typer.Option("--no-technicians", help="Leave technicians' figures out of the report."),
    ] = False,
    now: Annotated[
        str | None, typer.Option("--now", help="Judge the month as of this instant (ISO 8601).")
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Also print the review's figures to stdout as one JSON line."),
    ] = False,
) -> None:
    """Write the monthly service review of a site as one self-contained HTML file.

    Example: facility report monthly --site hq --month 2026-10 --out report.html --pdf report.pdf
    """
    from maintenance.review.report import render_html, write_pdf
    from maintenance.review.service import (
        ReviewTargets,
        load_targets,
        monthly_review,
        parse_month,
        targets_as_json,
    )
    from maintenance.shared.cli import open_database, open_readings

    parse_month(month)  # a bad month fails before any database is opened
    goals = load_targets(targets) if targets is not None else None
    at = parse_now(now)
    settings = load_settings()
    with (
        err.status(f"computing the {month} review of {site}…"),
        open_database(settings) as session,
        open_readings(settings) as readings,
    ):
        review = monthly_review(
            session,
            site=site,
            month=month,
            now=at,
            readings=readings,
            targets=goals,
            include_technicians=not no_technicians,
        )
    with err.status("drawing charts and writing HTML…"):
        html = render_html(review, targets_json=targets_as_json(goals or ReviewTargets()))
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(html, encoding="utf-8")
        except OSError as exc:
            raise FacilityError(
                f"cannot write {out}: {exc.strerror}; choose another --out"
            ) from exc
    err.print(f"[green]✓[/] wrote {out} ({len(html.encode()):,} bytes)")
    if pdf is not None:
        with err.status("printing PDF with Chromium…"):
            reason = write_pdf(out, pdf)
        if reason is None:
            err.print(f"[green]✓[/] wrote {pdf}")
        else:
            err.print(f"[yellow]![/] no PDF: {reason}")
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(review.model_dump(mode="json", by_alias=True)) + b"\n")
