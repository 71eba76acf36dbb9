"""Brick models into the register and back, on SQLite and PostgreSQL.

The models in ``tests/data/brick`` are Brick's own public examples (Soda Hall, the G36 AHU + VAV)
and a small plant of ours with BACnet and time-series references (see its README). Expected
counts are read from the model itself with SPARQL, so the test checks the import against the
file rather than against numbers copied from a first run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import rdflib
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, sessionmaker

from maintenance.assets import lifecycle
from maintenance.assets.brick import BrickModelRejected, import_brick
from maintenance.assets.brick_export import export_brick
from maintenance.assets.lifecycle import AssetConflict
from maintenance.assets.models import Asset, AssetFeed, AssetLevel, AssetStatusChange, Device
from maintenance.assets.register import ensure_asset, ensure_site
from maintenance.shared.db import connect, upgrade
from maintenance.sites.models import Site
from tests.conftest import reset_postgres_schema

DATA = Path(__file__).parents[1] / "data" / "brick"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BRICK_PREFIX = "PREFIX brick: <https://brickschema.org/schema/Brick#>\n"


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = connect(database_url)
    upgrade(engine)
    yield factory
    engine.dispose()


def _model(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _count(name: str, where: str) -> int:
    graph = rdflib.Graph().parse(DATA / name)
    rows = graph.query(BRICK_PREFIX + f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ {where} }}")
    return int(str(next(iter(rows))[0]))  # type: ignore[index]


def _pairs(name: str, predicate: str) -> int:
    graph = rdflib.Graph().parse(DATA / name)
    query = f"SELECT DISTINCT ?x ?y WHERE {{ ?x {predicate} ?y FILTER(?x != ?y) }}"
    return len(list(graph.query(BRICK_PREFIX + query)))


def _levels(s: Session) -> dict[str, int]:
    rows = s.execute(sa.select(Asset.level, sa.func.count()).group_by(Asset.level))
    return {level.value: n for level, n in rows}


def _snapshot(s: Session) -> dict[str, Any]:
    """Everything an import may touch, comparable across databases and runs."""
    up, down = aliased(Asset), aliased(Asset)
    parent = aliased(Asset)
    return {
        "assets": sorted(
            (a.code, a.name, a.level.value, a.asset_type, p, site)
            for a, p, site in s.execute(
                sa.select(Asset, parent.code, Site.code)
                .outerjoin(parent, parent.id == Asset.parent_id)
                .outerjoin(Site, Site.id == Asset.site_id)
            )
        ),
        "feeds": sorted(
            s.execute(
                sa.select(up.code, down.code, AssetFeed.medium)
                .join(up, up.id == AssetFeed.upstream_id)
                .join(down, down.id == AssetFeed.downstream_id)
            ).all()
        ),
        "devices": sorted(
            s.execute(
                sa.select(Device.id, Asset.code).outerjoin(Asset, Asset.id == Device.asset_id)
            ).all()
        ),
        "history": s.scalar(sa.select(sa.func.count()).select_from(AssetStatusChange)),
        "sites": sorted(s.scalars(sa.select(Site.code))),
    }


def _import(s: Session, name: str, site: str | None = None, **options: Any) -> Any:
    result, _plan = import_brick(
        s, data=_model(name), site=site, actor="importer", now=NOW, source=name, **options
    )
    return result


# -- the example models ---------------------------------------------------------------------------
def test_soda_hall_imports_into_the_expected_tree(sessions: sessionmaker[Session]) -> None:
    name = "soda_brick.ttl"
    floors = _count(name, "?x a brick:Floor")
    zones = _count(name, "{ ?x a brick:HVAC_Zone } UNION { ?x a brick:Room }")
    equipment = _count(
        name,
        "VALUES ?c { brick:AHU brick:VAV brick:Supply_Fan brick:Exhaust_Fan } ?x a ?c",
    )
    with sessions() as s:
        result, plan = import_brick(s, data=_model(name), site="soda", actor="m", now=NOW)
    skipped = sum(1 for note in plan.notes if note.kind == "feed_skipped")
    with sessions() as s:
        assert _levels(s) == {
            "building": 1,
            "floor": floors,
            "zone": zones,
            "equipment": equipment,
        }
        assert result.created == 1 + floors + zones + equipment
        pairs = s.scalar(sa.select(sa.func.count()).select_from(AssetFeed))
        assert pairs == result.feeds_created == _pairs(name, "brick:feeds") - skipped > 0
        # a known chain: AHU A1 feeds VAV C180, which serves HVAC zone C180 on floor 1
        tree = lifecycle.asset_tree(s, root="floor_1")[0]
        zone = next(n for n in tree["children"] if n["code"] == "hvac_zone_C180")
        assert [n["code"] for n in zone["children"]] == ["vav_C180"]
        room = next(n for n in tree["children"] if n["code"] == "room_C180")
        assert room["level"] == "zone"
        ahu = lifecycle.get_asset(s, code="ahu_A1")
        assert ahu.asset_type == "ahu" and ahu.level is AssetLevel.EQUIPMENT
        vav = lifecycle.get_asset(s, code="vav_C180")
        assert s.scalar(
            sa.select(sa.func.count())
            .select_from(AssetFeed)
            .where(AssetFeed.upstream_id == ahu.id, AssetFeed.downstream_id == vav.id)
        )
        assert s.scalar(sa.select(sa.func.count()).select_from(Site)) == 1


def test_the_g36_ahu_maps_its_points_to_the_canonical_ahu_metrics(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        result, plan = import_brick(
            s, data=_model("g36-combined-ahu-vav.ttl"), site="g36", actor="m", now=NOW
        )
    metrics = {p.metric for p in plan.points if p.asset == "ahu1"}
    assert {
        "supply_air_temperature",
        "mixed_air_temperature",
        "return_air_temperature",
        "outdoor_air_temperature",
        "supply_fan_status",
        "return_fan_status",
        "supply_fan_speed",
        "outdoor_air_damper",
        "return_air_damper",
        "exhaust_air_damper",
        "cooling_valve",
        "heating_valve",
        "duct_static_pressure",
    } <= metrics
    assert result.points == _count("g36-combined-ahu-vav.ttl", "?e brick:hasPoint ?x")
    with sessions() as s:
        fan = lifecycle.get_asset(s, code="saf1")
        ahu = lifecycle.get_asset(s, code="ahu1")
        assert fan.parent_id == ahu.id and fan.asset_type == "fan"
        vav = lifecycle.get_asset(s, code="vav1")
        zone = lifecycle.get_asset(s, code="zone1")
        assert vav.parent_id == zone.id  # placed in the zone it feeds


def test_our_plant_links_points_to_devices_and_records_feeds_with_media(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        result = _import(s, "hq-plant.ttl")
        assert result.devices_linked == 5 and result.points_linked == 7
    with sessions() as s:
        snap = _snapshot(s)
        assert snap["sites"] == ["hq"]
        assert ("CH-1", "AHU-1", "chilled_water") in snap["feeds"]
        assert ("AHU-1", "VAV-302", "") in snap["feeds"]  # from brick:isFedBy
        assert dict(snap["devices"]) == {
            "AHU-1": "AHU-1",  # BACnet-only points: the connector's device is the AHU
            "ahu-1": "AHU-1",
            "em-1": "EM-1",
            "meter-ch1": "CH-1",
            "vav-301": "VAV-301",
        }
        ahu = lifecycle.get_asset(s, code="AHU-1")
        assert ahu.name == "Air handler 1" and ahu.site is not None and ahu.site.code == "hq"


# -- all or nothing, idempotent, round trip -------------------------------------------------------
def test_a_broken_model_changes_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        _import(s, "hq-plant.ttl")
    with sessions() as s:
        before = _snapshot(s)
    good = _model("g36-combined-ahu-vav.ttl")
    broken = [
        good[: good.index(b"brick:VAV") + 5],  # cut mid-statement
        good.replace(b"ex:vav1 a", b"ex:vav1 a a", 1),  # a syntax error halfway through
        good + b"\n<urn:other#ahu1> a <https://brickschema.org/schema/Brick#AHU> .\n",
        # valid Turtle whose AHU-1 is on another site than the register's
        good.replace(b"ex:ahu1 a", b"ex:AHU-1 a").replace(b"ex:ahu1 ", b"ex:AHU-1 "),
    ]
    for data in broken:
        assert data != good
        with sessions() as s, pytest.raises(BrickModelRejected) as caught:
            import_brick(s, data=data, site="g36", actor="m", now=NOW)
        assert "nothing changed" in str(caught.value)
        with sessions() as s:
            assert _snapshot(s) == before


def test_a_dry_run_reports_but_writes_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        before = _snapshot(s)
        result = _import(s, "hq-plant.ttl", dry_run=True)
        assert result.dry_run and result.created > 0
    with sessions() as s:
        assert _snapshot(s) == before


def test_a_reimport_updates_and_never_duplicates(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        first = _import(s, "hq-plant.ttl")
    with sessions() as s:
        once = _snapshot(s)
        # someone renames an asset and moves a device; the model is the truth for what it states
        ahu = lifecycle.get_asset(s, code="AHU-1")
        ahu.name = "renamed"
        spare = ensure_asset(s, code="SPARE", site=ensure_site(s, code="hq"))
        device = s.get(Device, "em-1")
        assert device is not None
        device.asset_id = spare.id
        s.commit()
    with sessions() as s:
        second = _import(s, "hq-plant.ttl")
        assert (second.created, second.updated) == (0, first.created)
        assert second.feeds_created == 0
    with sessions() as s:
        again = _snapshot(s)
        again["assets"] = [a for a in again["assets"] if a[0] != "SPARE"]
        assert again == once


def test_export_then_import_round_trips_the_tree(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    with sessions() as s:
        _import(s, "hq-plant.ttl")
        _import(s, "g36-combined-ahu-vav.ttl", site="g36")
    with sessions() as s:
        original = _snapshot(s)
        turtle = export_brick(s, site="hq", metrics={"ahu-1": ["supply_air_temperature"]})
        g36 = export_brick(s, site="g36")
    graph = rdflib.Graph().parse(data=turtle, format="turtle")
    assert len(graph) > 0
    # a second, empty register
    engine, fresh = connect(f"sqlite:///{tmp_path / 'copy.db'}")
    upgrade(engine)
    try:
        with fresh() as s:
            result, plan = import_brick(
                s, data=turtle.encode(), site=None, actor="importer", now=NOW
            )
            assert plan.site == "hq"
            assert any(p.metric == "supply_air_temperature" for p in plan.points)
            import_brick(s, data=g36.encode(), site="g36", actor="importer", now=NOW)
        with fresh() as s:
            copy = _snapshot(s)
    finally:
        engine.dispose()
    assert copy["assets"] == original["assets"]
    assert copy["feeds"] == original["feeds"]
    assert copy["devices"] == original["devices"]
    del database_url, result


def test_the_export_refers_points_to_their_devices(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        _import(s, "hq-plant.ttl")
        turtle = export_brick(s, metrics={"meter-ch1": ["power", "energy"]})
    graph = rdflib.Graph().parse(data=turtle, format="turtle")
    rows = graph.query(
        BRICK_PREFIX + "PREFIX ref: <https://brickschema.org/schema/Brick/ref#>\n"
        "SELECT ?cls WHERE { ?e brick:hasPoint ?p . ?p a ?cls ; ref:hasExternalReference ?r . "
        '?r ref:hasTimeseriesId "meter-ch1" }'
    )
    classes = sorted(str(row[0]).rpartition("#")[2] for row in rows)  # type: ignore[index]
    assert classes == ["Electric_Power_Sensor", "Energy_Sensor"]


@pytest.fixture
def postgres_sessions(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    """PostgreSQL only: SQLite serialises writers (``BEGIN IMMEDIATE``), so nothing can race."""
    reset_postgres_schema(postgres_url)
    engine, factory = connect(postgres_url)
    upgrade(engine)
    yield factory
    engine.dispose()


def test_an_import_racing_another_writer_is_refused_as_a_conflict_and_writes_nothing(
    postgres_sessions: sessionmaker[Session],
) -> None:
    sessions = postgres_sessions
    with sessions() as s:
        ensure_site(s, code="hq")
        s.commit()
        before = _snapshot(s)

    def racer(done: int, total: int) -> None:
        if done == total:  # every row is added but not yet flushed: another writer gets there
            with sessions() as other:
                ensure_asset(other, code="VAV-302", site=ensure_site(other, code="hq"))
                other.commit()

    with sessions() as s, pytest.raises(AssetConflict, match="import the model again"):
        import_brick(s, data=_model("hq-plant.ttl"), site=None, actor="m", now=NOW, progress=racer)
    with sessions() as s:
        after = _snapshot(s)
    racer_row = ("VAV-302", "VAV-302", "equipment", "unknown", None, "hq")
    assert after["assets"] == sorted([*before["assets"], racer_row])
    assert after["feeds"] == before["feeds"] and after["devices"] == before["devices"]
