"""``facility assets import|export|replacement``: the asset register from the shell."""

from __future__ import annotations

import typer

__all__ = ["register_asset_commands"]


def register_asset_commands(app: typer.Typer) -> None:
    """Add the asset-register commands to the ``facility assets`` sub-app."""
    del app
