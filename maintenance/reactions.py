"""How the domains react to each other's events: every hook subscription, in one place.

The work-order life cycle knows nothing of stock or preventive plans; it publishes hooks
(:mod:`maintenance.work_orders.events`) and the domains above it subscribe here. One module
lists them all so a reader sees every cross-domain reaction at a glance, and so they are in
force in every process that imports ``maintenance`` (the package imports this module), not only
in those that happened to import the subscriber first.
"""

from __future__ import annotations

from maintenance.inventory.service import on_order_moved
from maintenance.pm.service import on_order_opened_by_rule
from maintenance.work_orders.events import order_moved, order_opened_by_rule

__all__ = ["install"]


def install() -> None:
    """Subscribe every handler (idempotent: a hook ignores a second subscription)."""
    order_moved.subscribe(on_order_moved)
    order_opened_by_rule.subscribe(on_order_opened_by_rule)


install()
