"""Import a Brick model (Turtle) into the asset register, all-or-nothing and idempotent.

A Brick model already holds what typing the tree by hand takes days for: the buildings, floors
and zones, the equipment in them, which equipment feeds which, and each equipment's points with
the BACnet object or time series they live in. The import works in two steps:

1. :func:`plan_brick` (pure): parse with rdflib, close the inverse relations Brick defines
   (``hasPart``/``isPartOf``, ``hasLocation``/``isLocationOf``, ``hasPoint``/``isPointOf``,
   ``feeds``/``isFedBy``), type every entity through the shipped class hierarchy
   (:mod:`maintenance.assets.brick_points`) and decide each asset's one parent. Everything it
   could not use is a :class:`BrickNote` for the report (unknown class, point without metric,
   equipment without location); what would make the tree wrong (two entities with one code, a
   cycle, an unparseable file) is a :class:`BrickModelRejected` and nothing is written.
2. :func:`import_brick`: write the plan in one transaction, keyed by codes derived from each
   entity's IRI local name, so a re-import updates what the first created and never duplicates.

Why the writer does its own upserts instead of going through the CSV import: Brick brings feeds
and device links, which the CSV has no columns for; the rules shared with it (codes, levels,
cycles) come from :mod:`maintenance.assets.lifecycle`.

Choosing one parent: Brick allows several containers (a room is part of a floor *and* of an
HVAC zone); the register's tree has one. The deepest container at or above the child's level
wins, except that a physical space (room) prefers a physical container (floor) to a logical zone.
A logical zone with no container goes under the floor all of its rooms share, and equipment with
no location under the one zone it feeds (a VAV box under the zone it serves); both are reported
as inferred.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import rdflib
import sqlalchemy as sa
from rdflib.namespace import RDF, RDFS
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import BNode, Literal, Node, URIRef
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maintenance.assets.brick_classes import SUPERCLASSES
from maintenance.assets.brick_points import (
    FEED_MEDIA,
    POINT_METRICS,
    asset_type_of,
    is_a,
    level_of,
    metric_of,
)
from maintenance.assets.lifecycle import (
    LEVEL_RANK,
    AssetConflict,
    AssetError,
    check_code,
    find_cycle,
)
from maintenance.assets.models import (
    Asset,
    AssetFeed,
    AssetLevel,
    AssetStatusChange,
    Device,
)
from maintenance.assets.register import ensure_site
from maintenance.sites.models import Site

__all__ = [
    "BRICK",
    "MAX_MODEL_BYTES",
    "REF",
    "BacnetPoint",
    "BrickAsset",
    "BrickImportResult",
    "BrickModelRejected",
    "BrickNote",
    "BrickPlan",
    "BrickPoint",
    "import_brick",
    "plan_brick",
    "read_model",
]

BRICK = rdflib.Namespace("https://brickschema.org/schema/Brick#")
REF = rdflib.Namespace("https://brickschema.org/schema/Brick/ref#")
BACNET = rdflib.Namespace("http://data.ashrae.org/bacnet/")
#: The API takes 5 MiB; the CLI allows more (``cli.CLI_MAX_BYTES``). Soda Hall is 190 KB.
MAX_MODEL_BYTES = 5 * 1024 * 1024
_CODE_CHARS = re.compile(r"[^\w.:-]")
_DEVICE_BAD = re.compile(r"[#+\x00-\x1f\x7f]")
_OBJECT_ID = re.compile(r"^\s*([A-Za-z][A-Za-z-]*)\s*,\s*(\d{1,7})\s*$")
_BACNET_URI = re.compile(r"^bacnet://(\d{1,7})/([A-Za-z][A-Za-z-]*),(\d{1,7})(?:/([A-Za-z-]+))?$")
#: Zones that group spaces for a service rather than enclose them.
_LOGICAL_ZONES = ("HVAC_Zone", "Lighting_Zone", "Fire_Zone", "Energy_Zone", "Zone")


class BrickModelRejected(AssetError):
    """The model cannot be imported as it is; ``problems`` lists why. Nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"Brick model not imported, nothing changed: {problems[0]}{more}")

    @property
    def field_errors(self) -> list[dict[str, object]]:
        """Every finding, for the problem details' ``errors``."""
        return [{"field": "model", "reason": reason} for reason in self.problems]


@dataclass(frozen=True, slots=True)
class BrickNote:
    """Something the import could not use, or decided for the model; for the report."""

    kind: str  # unknown_class, no_metric, no_location, inferred_location, no_owner, ...
    subject: str
    detail: str


@dataclass(slots=True)
class BrickAsset:
    """One building, floor, zone or piece of equipment of the model."""

    iri: str
    code: str
    name: str
    level: AssetLevel
    asset_type: str
    classes: tuple[str, ...]
    parent: str | None = None  # code


@dataclass(frozen=True, slots=True)
class BacnetPoint:
    """Where a point lives on BACnet: the draft connector point written by ``--connectors-out``."""

    device_name: str
    device_instance: int | None
    address: str | None
    object_type: str
    instance: int
    property: str


@dataclass(slots=True)
class BrickPoint:
    """A point of an asset: its metric and the device (and BACnet object) it comes from."""

    iri: str
    name: str
    owner: str  # asset code of the entity the model gives the point to
    classes: tuple[str, ...]
    metric: str | None
    #: the asset its device is linked to: the owner, or the equipment a component is part of
    asset: str = ""
    device: str | None = None
    bacnet: BacnetPoint | None = None


@dataclass(slots=True)
class BrickPlan:
    """What the model says, in the register's terms; nothing written yet."""

    site: str
    #: the brick:Site's label, for a site the import creates
    site_name: str | None = None
    assets: dict[str, BrickAsset] = field(default_factory=dict)
    points: list[BrickPoint] = field(default_factory=list)
    feeds: dict[tuple[str, str], str] = field(default_factory=dict)  # (up, down) -> medium
    notes: list[BrickNote] = field(default_factory=list)

    def devices(self) -> dict[str, str]:
        """device id -> the asset code it is linked to (the first by asset code wins)."""
        links: dict[str, str] = {}
        for point in sorted(self.points, key=lambda p: (p.asset, p.iri)):
            if point.device is not None:
                links.setdefault(point.device, point.asset)
        return links


@dataclass(frozen=True, slots=True)
class BrickImportResult:
    """What an import wrote (or, with ``dry_run``, would have written)."""

    created: int
    updated: int
    feeds_created: int
    feeds_updated: int
    devices_linked: int
    points: int
    points_mapped: int
    points_linked: int
    dry_run: bool
    notes: tuple[BrickNote, ...]


# -- parsing --------------------------------------------------------------------------------------
def read_model(
    data: bytes, *, source: str = "model", max_bytes: int = MAX_MODEL_BYTES
) -> rdflib.Graph:
    """Parse Turtle; an error names the line and what to do.

    Only Turtle (and N-Triples, a subset) is read: it never fetches anything (``owl:imports`` is
    not followed) and has no entity expansion, so a hostile file costs at most its size.
    """
    if len(data) > max_bytes:
        raise BrickModelRejected([f"{source} is {len(data)} bytes; at most {max_bytes}; split it"])
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise BrickModelRejected([f"{source} line {line}: NUL byte; this is not a Turtle file"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BrickModelRejected(
            [f"{source} line {line}: not UTF-8; save the model as UTF-8"]
        ) from None
    graph = rdflib.Graph()
    try:
        graph.parse(data=text, format="turtle")
    except BadSyntax as exc:
        index = getattr(exc, "_i", None)
        line = text.count("\n", 0, index) + 1 if isinstance(index, int) else exc.lines + 1
        why = getattr(exc, "_why", "bad syntax")
        raise BrickModelRejected(
            [f"{source} line {line}: not valid Turtle ({why}); fix the model and import again"]
        ) from None
    except Exception as exc:  # rdflib raises assorted errors for bad IRIs, literals, prefixes
        raise BrickModelRejected(
            [f"{source}: not valid Turtle ({type(exc).__name__}: {str(exc)[:200]})"]
        ) from None
    if len(graph) == 0:
        raise BrickModelRejected([f"{source} holds no triples; is it a Brick model?"])
    return graph


def local_name(node: Node) -> str:
    """The part of an IRI after its last ``#`` (else ``/``, else ``:``)."""
    text = str(node)
    for sep in ("#", "/", ":"):
        if sep in text:
            head, _, tail = text.rpartition(sep)
            if tail:
                return tail
            text = head
    return text


def code_of(node: Node) -> str:
    """A stable asset code from the IRI's local name (characters codes refuse become ``_``)."""
    name = _CODE_CHARS.sub("_", local_name(node))
    return name.lstrip("._:-")[:200]


def _brick_classes(graph: rdflib.Graph, node: Node) -> tuple[tuple[str, ...], list[str]]:
    """(Brick class local names, other class IRIs) of ``node``."""
    brick: list[str] = []
    other: list[str] = []
    for cls in graph.objects(node, RDF.type):
        text = str(cls)
        if text.startswith(str(BRICK)):
            brick.append(text[len(str(BRICK)) :])
        else:
            other.append(text)
    return tuple(sorted(set(brick))), other


def _pairs(graph: rdflib.Graph, forward: URIRef, inverse: URIRef) -> set[tuple[Node, Node]]:
    """Every (subject, object) of ``forward``, with ``inverse``'s pairs turned round."""
    found = {(s, o) for s, o in graph.subject_objects(forward)}
    found |= {(o, s) for s, o in graph.subject_objects(inverse)}
    return found


def _label(graph: rdflib.Graph, node: Node) -> str | None:
    for predicate in (RDFS.label, BRICK.label):
        value = graph.value(node, predicate)
        if isinstance(value, Literal) and str(value).strip():
            return " ".join(str(value).split())[:200]
    return None


# -- planning (pure) ------------------------------------------------------------------------------
def plan_brick(graph: rdflib.Graph, *, site: str | None) -> BrickPlan:
    """The register's view of the model; raises :class:`BrickModelRejected` when it is unusable."""
    errors: list[str] = []
    site_code = site or _site_of(graph)
    if site_code is None:
        raise BrickModelRejected(
            ["the model has no single brick:Site to name the site by; pass --site CODE"]
        )
    problem = check_code(site_code, what="site code")
    if problem or len(site_code) > 64:
        raise BrickModelRejected([problem or f"site code {site_code[:40]!r} is over 64 characters"])
    plan = BrickPlan(site=site_code, site_name=_site_label(graph, site_code))
    notes = plan.notes

    subjects = {s for s in graph.subjects(RDF.type) if not isinstance(s, Literal)}
    points_of = _pairs(graph, BRICK.hasPoint, BRICK.isPointOf)
    point_nodes = {p for _, p in points_of}
    by_code: dict[str, Node] = {}
    node_code: dict[Node, str] = {}
    classes_of: dict[Node, tuple[str, ...]] = {}
    for node in sorted(subjects, key=str):
        classes, _other = _brick_classes(graph, node)
        classes_of[node] = classes
        if not classes:
            continue  # not a Brick entity (bacnet:BACnetDevice, owl:Ontology, ...)
        known = [c for c in classes if _known(c)]
        if not known:
            notes.append(BrickNote("unknown_class", local_name(node), ", ".join(classes)))
            continue
        level = level_of(known)
        if is_a(known, "Point") or (node in point_nodes and level is None):
            continue  # a point (an entity typed as equipment or place stays one)
        if level is None:
            continue  # brick:Site, brick:Region, collections, ...
        if isinstance(node, BNode):
            notes.append(BrickNote("no_iri", str(node), "a blank node cannot keep a stable code"))
            continue
        code = code_of(node)
        problem = check_code(code)
        if problem:
            errors.append(f"{node}: {problem}")
            continue
        if code in by_code:
            errors.append(
                f"{by_code[code]} and {node} would both be asset {code!r}; rename one of them"
            )
            continue
        by_code[code] = node
        node_code[node] = code
        if level is AssetLevel.EQUIPMENT:
            asset_type = asset_type_of(known)
        else:
            asset_type = known[0].lower()[:64]
        plan.assets[code] = BrickAsset(
            iri=str(node),
            code=code,
            name=_label(graph, node) or local_name(node)[:200],
            level=level,
            asset_type=asset_type,
            classes=tuple(known),
        )
    if errors:
        raise BrickModelRejected(errors)

    _choose_parents(graph, plan, node_code)
    _collect_feeds(graph, plan, node_code)
    _collect_points(graph, plan, node_code, classes_of, points_of)

    parents = {code: asset.parent for code, asset in plan.assets.items()}
    for code in sorted(parents):
        cycle = find_cycle(parents, code)
        if cycle is not None and code == cycle[0]:
            errors.append("the containment makes a cycle: " + " → ".join(cycle))
    if errors:
        raise BrickModelRejected(errors)
    return plan


def _known(cls: str) -> bool:
    """Whether ``cls`` is in the shipped hierarchy or our tables (else: an unknown class)."""
    return cls in SUPERCLASSES or cls in POINT_METRICS or cls in ("Point", "Equipment", "Location")


def _site_label(graph: rdflib.Graph, code: str) -> str | None:
    """The label of the brick:Site whose code is ``code``, if the model has one."""
    for node in graph.subjects(RDF.type, BRICK.Site):
        if isinstance(node, URIRef) and code_of(node)[:64] == code:
            return _label(graph, node)
    return None


def _site_of(graph: rdflib.Graph) -> str | None:
    sites = sorted(
        {s for s in graph.subjects(RDF.type, BRICK.Site) if isinstance(s, URIRef)}, key=str
    )
    return code_of(sites[0])[:64] if len(sites) == 1 else None


def _is_logical(classes: Iterable[str]) -> bool:
    names = list(classes)
    return is_a(names, "Zone") and not is_a(names, "Space")


def _choose_parents(
    graph: rdflib.Graph,
    plan: BrickPlan,
    node_code: Mapping[Node, str],
) -> None:
    """One parent per asset (see the module docstring for the order of preference)."""
    contains = _pairs(graph, BRICK.hasPart, BRICK.isPartOf) | _pairs(
        graph, BRICK.isLocationOf, BRICK.hasLocation
    )
    candidates: dict[str, set[str]] = {}
    for container, child in contains:
        up, down = node_code.get(container), node_code.get(child)
        if up is None or down is None or up == down:
            continue
        candidates.setdefault(down, set()).add(up)
    for code, asset in sorted(plan.assets.items()):
        rank = LEVEL_RANK[asset.level]
        usable = []
        for up in sorted(candidates.get(code, ())):
            parent = plan.assets[up]
            if LEVEL_RANK[parent.level] > rank:
                plan.notes.append(
                    BrickNote(
                        "ignored_container",
                        code,
                        f"{up} is {parent.level.value}-level; "
                        f"a {asset.level.value} cannot sit in it",
                    )
                )
                continue
            usable.append(parent)
        if not _is_logical(asset.classes) and any(not _is_logical(p.classes) for p in usable):
            usable = [p for p in usable if not _is_logical(p.classes)]
        if usable:
            best = max(usable, key=lambda p: (LEVEL_RANK[p.level], not _is_logical(p.classes)))
            asset.parent = best.code
    # second pass: logical zones under their rooms' floor, unlocated equipment under its zone
    feeds = _pairs(graph, BRICK.feeds, BRICK.isFedBy)
    for code, asset in sorted(plan.assets.items()):
        if asset.parent is not None or asset.level is AssetLevel.BUILDING:
            continue
        if asset.level is AssetLevel.ZONE and _is_logical(asset.classes):
            parts = {
                node_code[c] for p, c in contains if node_code.get(p) == code and c in node_code
            }
            floors = {plan.assets[part].parent for part in parts} - {None, code}
            if len(floors) == 1:
                asset.parent = floors.pop()
                plan.notes.append(
                    BrickNote("inferred_location", code, f"under {asset.parent}, its spaces' floor")
                )
        elif asset.level is AssetLevel.EQUIPMENT:
            served = sorted(
                {
                    node_code[d]
                    for u, d in feeds
                    if node_code.get(u) == code
                    and d in node_code
                    and plan.assets[node_code[d]].level is AssetLevel.ZONE
                }
            )
            if len(served) == 1:
                asset.parent = served[0]
                plan.notes.append(
                    BrickNote("inferred_location", code, f"under {served[0]}, the zone it feeds")
                )
            else:
                plan.notes.append(
                    BrickNote(
                        "no_location", code, "no hasLocation/isPartOf; placed at the site root"
                    )
                )


def _collect_feeds(graph: rdflib.Graph, plan: BrickPlan, node_code: Mapping[Node, str]) -> None:
    for name, medium in FEED_MEDIA.items():
        pairs = {(s, o) for s, o in graph.subject_objects(BRICK[name])}
        if name == "feeds":
            pairs |= {(o, s) for s, o in graph.subject_objects(BRICK.isFedBy)}
        for up, down in pairs:
            a, b = node_code.get(up), node_code.get(down)
            if a is None or b is None:
                missing = local_name(up) if a is None else local_name(down)
                plan.notes.append(
                    BrickNote(
                        "feed_skipped",
                        f"{local_name(up)} → {local_name(down)}",
                        f"{missing} is not an asset",
                    )
                )
                continue
            if a == b:
                continue
            if medium or (a, b) not in plan.feeds:
                plan.feeds[(a, b)] = medium


def _collect_points(
    graph: rdflib.Graph,
    plan: BrickPlan,
    node_code: Mapping[Node, str],
    classes_of: Mapping[Node, tuple[str, ...]],
    points_of: set[tuple[Node, Node]],
) -> None:
    owners: dict[Node, list[Node]] = {}
    for owner, point in points_of:
        owners.setdefault(point, []).append(owner)
    # a point with no equipment but a location (a floor's average flow) is that place's point
    for place, point in _pairs(graph, BRICK.isLocationOf, BRICK.hasLocation):
        if point not in owners and is_a(
            [c for c in classes_of.get(point, ()) if _known(c)], "Point"
        ):
            owners.setdefault(point, []).append(place)
    all_points = set(owners) | {
        s
        for s, classes in classes_of.items()
        if classes and is_a([c for c in classes if _known(c)], "Point")
    }
    for point in sorted(all_points - set(node_code), key=str):
        name = local_name(point)
        candidates = sorted((o for o in owners.get(point, []) if o in node_code), key=str)
        if not candidates:
            plan.notes.append(
                BrickNote("no_owner", name, "hasPoint/isPointOf names no imported asset")
            )
            continue
        owner = candidates[0]
        classes = tuple(c for c in classes_of.get(point, ()) if _known(c))
        metric = metric_of(classes, plan.assets[node_code[owner]].classes)
        if metric is None and (classes or not classes_of.get(point)):  # unknown: noted already
            plan.notes.append(
                BrickNote("no_metric", name, ", ".join(classes_of.get(point, ())) or "untyped")
            )
        entry = BrickPoint(
            iri=str(point),
            name=name,
            owner=node_code[owner],
            classes=classes,
            metric=metric,
            asset=_equipment_root(plan, node_code[owner]),
        )
        _read_references(graph, point, entry, plan)
        plan.points.append(entry)


def _read_references(graph: rdflib.Graph, point: Node, entry: BrickPoint, plan: BrickPlan) -> None:
    refs = list(graph.objects(point, REF.hasExternalReference)) + list(
        graph.objects(point, BRICK.timeseries)
    )
    for ref in refs:
        ts = graph.value(ref, REF.hasTimeseriesId) or graph.value(ref, BRICK.hasTimeseriesId)
        if ts is not None and entry.device is None:
            device = str(ts).strip()
            if not device or len(device) > 200 or _DEVICE_BAD.search(device):
                plan.notes.append(
                    BrickNote(
                        "bad_reference",
                        entry.name,
                        f"time series id {device[:60]!r} is not a device id "
                        "(1-200 characters, no # + or control characters)",
                    )
                )
            else:
                entry.device = device
        if entry.bacnet is None and (
            (ref, RDF.type, REF.BACnetReference) in graph
            or graph.value(ref, BACNET["object-identifier"]) is not None
            or graph.value(ref, REF.BACnetURI) is not None
        ):
            bacnet = _bacnet_of(graph, ref, entry)
            if isinstance(bacnet, str):
                plan.notes.append(BrickNote("bad_reference", entry.name, bacnet))
            else:
                entry.bacnet = bacnet
    if entry.bacnet is not None and entry.device is None:
        # the connector names its readings after the equipment the point serves: a component's
        # point (the supply fan's status) is the air handler's, as the AHU rules read it
        entry.device = entry.asset


def _equipment_root(plan: BrickPlan, code: str) -> str:
    """The outermost equipment ``code`` is part of (itself when it is not a component)."""
    seen = {code}
    while True:
        parent = plan.assets[code].parent
        if (
            parent is None
            or parent in seen
            or plan.assets[parent].level is not AssetLevel.EQUIPMENT
        ):
            return code
        seen.add(parent)
        code = parent


def _bacnet_of(graph: rdflib.Graph, ref: Node, entry: BrickPoint) -> BacnetPoint | str:
    """The BACnet object of a reference, or why it cannot be used."""
    device_node = graph.value(ref, BACNET.objectOf)
    instance_of_device: int | None = None
    address: str | None = None
    object_type: str | None = None
    instance: int | None = None
    prop = "present-value"
    uri = graph.value(ref, REF.BACnetURI)
    if uri is not None:
        match = _BACNET_URI.match(str(uri).strip())
        if match is None:
            return f"BACnetURI {str(uri)[:80]!r} is not bacnet://DEVICE/OBJECT-TYPE,INSTANCE[/PROPERTY]"
        instance_of_device = int(match[1])
        object_type, instance = match[2].lower(), int(match[3])
        prop = (match[4] or prop).lower()
    identifier = graph.value(ref, BACNET["object-identifier"])
    if identifier is not None:
        match = _OBJECT_ID.match(str(identifier))
        if match is None:
            return f"object-identifier {str(identifier)[:60]!r} is not OBJECT-TYPE,INSTANCE"
        object_type, instance = match[1].lower(), int(match[2])
    read = graph.value(ref, BACNET["read-property"]) or graph.value(
        ref, BACNET["property-identifier"]
    )
    if read is not None:
        prop = local_name(read).lower() if isinstance(read, URIRef) else str(read).strip().lower()
    if device_node is None and instance_of_device is not None:
        device_node = next(
            (
                d
                for d in graph.subjects(BACNET["device-instance"], None)
                if str(graph.value(d, BACNET["device-instance"])) == str(instance_of_device)
            ),
            None,
        )
    if device_node is not None:
        number = graph.value(device_node, BACNET["device-instance"])
        if number is not None:
            try:
                instance_of_device = int(str(number))
            except ValueError:
                return f"device-instance {str(number)[:20]!r} is not a number"
        for port in graph.objects(device_node, BACNET.hasPort):
            raw = graph.value(port, BACNET["ip-address"])
            if raw is not None:
                address = _ip_of(str(raw))
    if object_type is None or instance is None:
        return "BACnet reference names no object (object-identifier or BACnetURI)"
    name = (
        code_of(device_node)
        if isinstance(device_node, URIRef)
        else (f"bacnet-{instance_of_device}" if instance_of_device is not None else entry.owner)
    )
    return BacnetPoint(name, instance_of_device, address, object_type, instance, prop)


def _ip_of(text: str) -> str | None:
    """``C0A80164`` (hexBinary, as ASHRAE's BACnet ontology writes it) → ``192.168.1.100``."""
    text = text.strip()
    if re.fullmatch(r"[0-9A-Fa-f]{8}", text):
        return ".".join(str(int(text[i : i + 2], 16)) for i in range(0, 8, 2))
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", text):
        return text
    return None


# -- writing (one transaction) --------------------------------------------------------------------
def import_brick(
    session: Session,
    *,
    data: bytes,
    site: str | None,
    actor: str,
    now: datetime,
    dry_run: bool = False,
    source: str = "model",
    max_bytes: int = MAX_MODEL_BYTES,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[BrickImportResult, BrickPlan]:
    """Parse, plan and write the model in one transaction (rolled back with ``dry_run``).

    Raises:
        BrickModelRejected: the model is unusable or clashes with the register; nothing written.
        AssetConflict: a concurrent writer created the same rows first; nothing written.
    """
    plan = plan_brick(read_model(data, source=source, max_bytes=max_bytes), site=site)
    try:
        result = _write(session, plan, actor=actor, now=now, dry_run=dry_run, progress=progress)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise AssetConflict(
            "another change to the register wrote the same assets, feeds or devices while this "
            f"import ran ({type(exc.orig).__name__}); nothing imported, import the model again"
        ) from None
    except BaseException:
        session.rollback()
        raise
    return result, plan


def _write(
    session: Session,
    plan: BrickPlan,
    *,
    actor: str,
    now: datetime,
    dry_run: bool,
    progress: Callable[[int, int], None] | None,
) -> BrickImportResult:
    site = ensure_site(session, code=plan.site, name=plan.site_name)
    codes = sorted(plan.assets)
    existing: dict[str, Asset] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        existing.update(
            (a.code, a) for a in session.scalars(sa.select(Asset).where(Asset.code.in_(chunk)))
        )
    clashes = []
    for code, asset in existing.items():
        if asset.site_id is not None and asset.site_id != site.id:
            other = session.get(Site, asset.site_id)
            clashes.append(
                f"asset {code!r} exists on site {other.code if other else asset.site_id!r}; "
                f"import with --site {other.code if other else '...'} or rename it in the model"
            )
    if clashes:
        raise BrickModelRejected(clashes)
    created = updated = 0
    fresh: list[Asset] = []
    for index, code in enumerate(codes, start=1):
        spec = plan.assets[code]
        row = existing.get(code)
        if row is None:
            row = Asset(code=code, created_at=now, status_since=now)
            session.add(row)
            existing[code] = row
            fresh.append(row)
            created += 1
        else:
            updated += 1
        row.name, row.level, row.asset_type = spec.name, spec.level, spec.asset_type
        row.site_id = site.id
        if progress is not None and (index % 200 == 0 or index == len(codes)):
            progress(index, len(codes))
    session.flush()
    for code in codes:
        parent = plan.assets[code].parent
        existing[code].parent_id = existing[parent].id if parent is not None else None
    session.add_all(
        AssetStatusChange(
            asset_id=a.id,
            ts=now,
            from_status=None,
            to_status=a.status,
            actor=actor,
            reason="created by Brick import",
        )
        for a in fresh
    )
    feeds_created = feeds_updated = 0
    ids = {code: existing[code].id for code in codes}
    old_feeds = {
        (f.upstream_id, f.downstream_id): f
        for f in session.scalars(
            sa.select(AssetFeed).where(AssetFeed.upstream_id.in_(list(ids.values())))
        )
    }
    for (up, down), medium in sorted(plan.feeds.items()):
        key = (ids[up], ids[down])
        feed = old_feeds.get(key)
        if feed is None:
            session.add(
                AssetFeed(upstream_id=key[0], downstream_id=key[1], medium=medium, created_at=now)
            )
            feeds_created += 1
        elif medium and feed.medium != medium:
            feed.medium = medium
            feeds_updated += 1
    links = plan.devices()
    for device_id, owner in sorted(links.items()):
        device = session.get(Device, device_id)
        if device is None:
            session.add(Device(id=device_id, asset_id=ids[owner], created_at=now))
        else:
            device.asset_id = ids[owner]
    session.flush()
    mapped = sum(1 for p in plan.points if p.metric is not None)
    linked = sum(1 for p in plan.points if p.device is not None)
    return BrickImportResult(
        created=created,
        updated=updated,
        feeds_created=feeds_created,
        feeds_updated=feeds_updated,
        devices_linked=len(links),
        points=len(plan.points),
        points_mapped=mapped,
        points_linked=linked,
        dry_run=dry_run,
        notes=tuple(plan.notes),
    )
