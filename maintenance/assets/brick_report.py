"""The Brick import's report and its draft BACnet connector file, as text for the shell.

Kept apart from :mod:`.brick` so the importer stays free of presentation: the CLI prints these
lines, the API returns the notes as JSON.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import yaml

from gateway.connectors.config import BACNET_OBJECT_TYPES, parse_connectors
from maintenance.assets.brick import BrickImportResult, BrickPlan

__all__ = ["NOTE_TITLES", "connectors_draft", "report_lines"]

#: note kind -> heading in the report (the kinds the importer emits)
NOTE_TITLES = {
    "unknown_class": "classes not in Brick 1.4 or our tables (entity skipped)",
    "no_metric": "points whose class maps to no metric (not linked to a metric)",
    "no_owner": "points that belong to no imported asset",
    "no_location": "equipment without location (placed at the site root)",
    "inferred_location": "placed by inference",
    "ignored_container": "containers ignored (would put a node above its level)",
    "feed_skipped": "feeds between entities that are not assets",
    "bad_reference": "external references that could not be used",
    "no_iri": "blank nodes (need an IRI for a stable code)",
}
_SHOWN = 5


def report_lines(result: BrickImportResult, plan: BrickPlan) -> list[str]:
    """What was mapped and what was not, with a few examples per kind."""
    levels = Counter(asset.level.value for asset in plan.assets.values())
    lines = [
        f"site {plan.site}: "
        + ", ".join(f"{levels.get(k, 0)} {k}" for k in ("building", "floor", "zone", "equipment")),
        f"feeds: {len(plan.feeds)}; points: {result.points}, {result.points_mapped} mapped to a "
        f"metric, {result.points_linked} linked to a device",
    ]
    metrics = Counter(p.metric for p in plan.points if p.metric)
    if metrics:
        lines.append(
            "metrics: " + ", ".join(f"{name} x{count}" for name, count in sorted(metrics.items()))
        )
    by_kind: dict[str, list[str]] = {}
    for note in plan.notes:
        by_kind.setdefault(note.kind, []).append(f"{note.subject} ({note.detail})")
    for kind, items in sorted(by_kind.items()):
        lines.append(f"{len(items)} {NOTE_TITLES.get(kind, kind)}:")
        lines.extend(f"  - {item}" for item in items[:_SHOWN])
        if len(items) > _SHOWN:
            lines.append(f"  … and {len(items) - _SHOWN} more")
    return lines


def connectors_draft(plan: BrickPlan) -> str:
    """A ``connectors:`` file with one BACnet device per referenced controller and its points.

    A draft: the model rarely says how to reach a device (address, port), so an engineer
    checks it (``facility bacnet discover``) before ``facility serve`` polls it. It is checked
    with the connector's own schema before it is returned, so it loads as it is; a point the
    schema would refuse (no metric, no device instance, an object that is no value object, a
    second point giving the same metric of the same device) is listed in the header instead.
    """
    devices: dict[str, dict[str, Any]] = {}
    taken: set[tuple[str, str, str]] = set()
    skipped: list[str] = []
    for point in sorted(plan.points, key=lambda p: p.iri):
        ref = point.bacnet
        if ref is None:
            continue
        device_id = point.device or point.asset
        why = None
        if point.metric is None:
            why = "its class maps to no metric"
        elif ref.device_instance is None:
            why = "the reference names no device instance"
        elif ref.object_type not in BACNET_OBJECT_TYPES:
            why = f"{ref.object_type} is not a value object"
        elif (ref.device_name, device_id, point.metric) in taken:
            why = f"{device_id} already has a point giving {point.metric}"
        if why is not None:
            skipped.append(f"{point.name}: {why}")
            continue
        assert point.metric is not None
        assert ref.device_instance is not None
        taken.add((ref.device_name, device_id, point.metric))
        device = devices.setdefault(
            ref.device_name,
            {
                "name": ref.device_name,
                "instance": ref.device_instance,
                **({"address": ref.address} if ref.address else {}),
                "points": [],
            },
        )
        device["points"].append(
            {
                "metric": point.metric,
                "device": device_id,
                "type": ref.object_type,
                "instance": ref.instance,
                "property": ref.property,
            }
        )
    document = {"connectors": {"bacnet": {"devices": list(devices.values())}}}
    unplaced = [d["name"] for d in devices.values() if "address" not in d]
    # The connector finds a device without an address by a Who-Is broadcast, which needs this
    # host's address and network prefix: only the engineer knows them, so the draft leaves
    # ``bind`` to them and is checked with a stand-in (the rest must load as it is).
    section: dict[str, Any] = {"devices": list(devices.values())}
    if unplaced:
        section["bind"] = "127.0.0.1/32:47808"
    checked = {"connectors": {"bacnet": section}}
    parse_connectors(checked, source="draft from the Brick model")  # a bug if it fails
    header = [
        "# Draft from a Brick model (facility assets import-brick --connectors-out).",
        "# Check addresses and units against the devices before polling them.",
        *(
            [
                f"# no address in the model for {', '.join(unplaced)}: give each an address, "
                "or set bind: <this host>/<prefix>:47808 (e.g. 10.0.4.9/24:47808) so a Who-Is "
                "broadcast finds them; facility bacnet discover lists what answers"
            ]
            if unplaced
            else []
        ),
        *(f"# not drafted: {line}" for line in skipped),
    ]
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    return "\n".join(header) + "\n" + body
