"""The rules file's maintenance windows, as the SLA clocks see them.

The maintenance side asks "which declared windows covered this order's asset, and when?"
(:class:`maintenance.work_orders.sla_pauses.PauseCalendar`); the windows and their scope rules live
with the rules engine (:mod:`rules.schedule`). This adapter joins the two in the composition
root, so neither package imports the other.

An asset's place (site, building, floor, zone) comes from the device registry when the file
names the asset (the same path the rules engine matches alerts on), otherwise from the asset
tree in the database: the codes of its building, floor and zone ancestors and its site's code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import object_session

from maintenance.assets.models import Asset
from maintenance.work_orders.sla_pauses import Pause
from rules.schedule import MaintenanceWindow

__all__ = ["WindowCalendar", "asset_attributes"]

#: Registry lookup: asset code → its place, or None when the registry does not name it.
RegistryPlaces = Callable[[str], dict[str, str] | None]


def asset_attributes(asset: Asset, registry: RegistryPlaces | None = None) -> dict[str, str]:
    """What a window's scope is matched on: asset, asset_type, site, building, floor, zone."""
    known = registry(asset.code) if registry is not None else None
    if known is not None:
        return {**known, "asset": asset.code}
    place = {"asset": asset.code, "asset_type": asset.asset_type or ""}
    place["site"] = asset.site.code if asset.site is not None else ""
    session = object_session(asset)
    parent_id, seen = asset.parent_id, {asset.id}
    while session is not None and parent_id is not None and parent_id not in seen:
        seen.add(parent_id)  # the register refuses cycles; this only keeps the walk finite
        node = session.get(Asset, parent_id)
        if node is None:
            break
        if node.level.value in ("building", "floor", "zone"):
            place.setdefault(node.level.value, node.code)
        parent_id = node.parent_id
    return place


class WindowCalendar:
    """A :class:`~maintenance.work_orders.sla_pauses.PauseCalendar` over the engine's windows.

    ``windows`` is called on every question, so a rules-file reload takes effect at once.
    """

    def __init__(
        self,
        windows: Callable[[], Sequence[MaintenanceWindow]],
        registry: RegistryPlaces | None = None,
    ) -> None:
        self._windows = windows
        self._registry = registry

    def _covering(
        self, asset: Asset, rule: str | None, device: str | None
    ) -> list[MaintenanceWindow]:
        windows = self._windows()
        if not windows:
            return []
        place = asset_attributes(asset, self._registry)
        return [w for w in windows if w.covers(rule=rule, device=device, attributes=place)]

    def pauses(
        self, *, asset: Asset, rule: str | None, device: str | None, start: datetime, end: datetime
    ) -> list[Pause]:
        return [
            Pause(window.name, first, last)
            for window in self._covering(asset, rule, device)
            for first, last in window.intervals(start, end)
        ]

    def active_now(
        self, *, asset: Asset, rule: str | None, device: str | None, now: datetime
    ) -> bool:
        return any(window.active(now) for window in self._covering(asset, rule, device))
