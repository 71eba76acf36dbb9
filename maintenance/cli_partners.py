"""``facility suppliers``: the supplier and contractor directory from the shell."""

from __future__ import annotations

import typer

__all__ = ["suppliers_app"]

suppliers_app = typer.Typer(
    help="Suppliers and contractors: scorecards, expiring certificates.", no_args_is_help=True
)
