"""``facility report``: the monthly service review (plan, do, check, act)."""

from __future__ import annotations

import typer

__all__ = ["report_app"]

report_app = typer.Typer(help="Service reviews: the monthly PDCA report.", no_args_is_help=True)
