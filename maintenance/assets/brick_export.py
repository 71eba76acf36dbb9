"""Write the asset register as a Brick model (Turtle), which :mod:`.brick` reads back.

The export is the import's inverse, so export → import round-trips the tree, the feeds and the
device links: every asset becomes an entity whose IRI local name is its code (``urn:facility:
<site>#AHU-1``), typed by its level and asset type; a parent is ``brick:hasPart`` of a child at
its own kind (place in place, equipment in equipment) and the ``brick:hasLocation`` of equipment
in a place; feeds are ``brick:feeds`` (and the medium's sub-property, ``brick:feedsAir``...).

Points: the register keeps which device is linked to an asset, not which metrics a device
reports (that is the gateway's device state). The caller passes the metrics it knows per device
(the CLI reads them from the reading store's device states); each becomes a point typed by
:data:`~maintenance.assets.brick_points.METRIC_CLASSES`, and a device with none known becomes one
``brick:Point``. Each point refers to its device with ``ref:hasTimeseriesId``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import rdflib
import sqlalchemy as sa
from rdflib.namespace import RDF, RDFS
from rdflib.term import BNode, Literal, URIRef
from sqlalchemy.orm import Session, aliased

from maintenance.assets.brick import BRICK, REF
from maintenance.assets.brick_classes import SUPERCLASSES
from maintenance.assets.brick_points import EQUIPMENT_TYPES, FEED_MEDIA, METRIC_CLASSES, ancestors
from maintenance.assets.models import Asset, AssetFeed, AssetLevel, Device
from maintenance.sites.models import Site

__all__ = ["export_brick"]

_TYPE_CLASSES = {asset_type: cls for cls, asset_type in reversed(list(EQUIPMENT_TYPES.items()))}
_BY_LOWER = {cls.lower(): cls for cls in SUPERCLASSES}
_MEDIUM_PROPERTY = {medium: name for name, medium in FEED_MEDIA.items() if medium}
_LEVEL_CLASSES = {
    AssetLevel.BUILDING: "Building",
    AssetLevel.FLOOR: "Floor",
    AssetLevel.ZONE: "Space",
    AssetLevel.EQUIPMENT: "Equipment",
}
_LEVEL_ROOTS = {
    AssetLevel.BUILDING: "Building",
    AssetLevel.FLOOR: "Floor",
    AssetLevel.ZONE: "Location",
    AssetLevel.EQUIPMENT: "Equipment",
}


def brick_class(level: AssetLevel, asset_type: str) -> str:
    """The Brick class for an asset: its type's class when it fits the level, else the level's."""
    if level is AssetLevel.EQUIPMENT and asset_type in _TYPE_CLASSES:
        return _TYPE_CLASSES[asset_type]
    cls = _BY_LOWER.get(asset_type.lower())
    if cls is not None and _LEVEL_ROOTS[level] in ancestors(cls):
        return cls
    return _LEVEL_CLASSES[level]


def export_brick(
    session: Session,
    *,
    site: str | None = None,
    metrics: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The register (or one site's part of it) as Brick Turtle; ``metrics``: device → metrics."""
    graph = rdflib.Graph()
    graph.bind("brick", BRICK)
    graph.bind("ref", REF)
    parent = aliased(Asset)
    query = (
        sa.select(Asset, parent.code, parent.level, Site.code, Site.name)
        .outerjoin(parent, parent.id == Asset.parent_id)
        .outerjoin(Site, Site.id == Asset.site_id)
        .order_by(Asset.code)
    )
    if site is not None:
        query = query.where(Site.code == site)
    rows = session.execute(query).all()
    namespaces: dict[str | None, rdflib.Namespace] = {}

    def ns(site_code: str | None) -> rdflib.Namespace:
        if site_code not in namespaces:
            namespaces[site_code] = rdflib.Namespace(f"urn:facility:{site_code or 'register'}#")
            graph.bind(site_code or "register", namespaces[site_code])
        return namespaces[site_code]

    iris: dict[int, URIRef] = {}
    for asset, _parent_code, _parent_level, site_code, site_name in rows:
        iri = ns(site_code)[asset.code]
        iris[asset.id] = iri
        graph.add((iri, RDF.type, BRICK[brick_class(asset.level, asset.asset_type)]))
        graph.add((iri, RDFS.label, Literal(asset.name)))
        if site_code is not None:
            site_iri = URIRef(f"urn:facility:site#{site_code}")
            graph.add((site_iri, RDF.type, BRICK.Site))
            graph.add((site_iri, RDFS.label, Literal(site_name or site_code)))
    for asset, parent_code, parent_level, site_code, _site_name in rows:
        if not parent_code:
            continue
        child = iris[asset.id]
        up = ns(site_code)[parent_code]
        if asset.level is AssetLevel.EQUIPMENT and parent_level is not AssetLevel.EQUIPMENT:
            graph.add((child, BRICK.hasLocation, up))
        else:
            graph.add((up, BRICK.hasPart, child))
    for feed in session.scalars(
        sa.select(AssetFeed).order_by(AssetFeed.upstream_id, AssetFeed.downstream_id)
    ):
        up_iri, down_iri = iris.get(feed.upstream_id), iris.get(feed.downstream_id)
        if up_iri is None or down_iri is None:
            continue  # the other end is on another site
        graph.add((up_iri, BRICK.feeds, down_iri))
        if feed.medium in _MEDIUM_PROPERTY:
            graph.add((up_iri, BRICK[_MEDIUM_PROPERTY[feed.medium]], down_iri))
    known = metrics or {}
    for device in session.scalars(
        sa.select(Device).where(Device.asset_id.in_(list(iris))).order_by(Device.id)
    ):
        assert device.asset_id is not None
        owner = iris[device.asset_id]
        wanted: list[str | None] = [*sorted(known.get(device.id, ()))] or [None]
        for metric in wanted:
            point = URIRef(f"{owner}.{_slug(device.id)}" + (f".{metric}" if metric else ""))
            cls = METRIC_CLASSES.get(metric, "Point") if metric else "Point"
            graph.add((point, RDF.type, BRICK[cls]))
            graph.add((point, RDFS.label, Literal(f"{device.id} {metric or ''}".strip())))
            graph.add((owner, BRICK.hasPoint, point))
            ref = BNode()
            graph.add((point, REF.hasExternalReference, ref))
            graph.add((ref, RDF.type, REF.TimeseriesReference))
            graph.add((ref, REF.hasTimeseriesId, Literal(device.id)))
    return graph.serialize(format="turtle")


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in text)
