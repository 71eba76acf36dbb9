"""Every panel query of every generated dashboard runs on a real engine and returns data.

InfluxQL panels run against Debian's InfluxDB 1.6, loaded with 15 days of the office scenario's
simulated readings written as the InfluxDB store writes them (``gateway.stores.influx``
line protocol, with ``asset`` and ``site`` tags). SQL panels run against PostgreSQL with the
migrated schema, seeded through the maintenance services, as the read-only Grafana role that
``deploy/postgres/grafana-reader.sql`` creates. Template variables and Grafana macros are
substituted the way Grafana does before a query reaches the data source.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dashboards import BuildOptions, build_dashboards, iter_panels, iter_targets
from facility.core.types import Alert, AlertState, Presence, Severity
from gateway.stores.influx import line_protocol
from gateway.stores.sql import SqlStateStore
from maintenance.assets.register import ensure_asset, ensure_site, link_device
from maintenance.insights.kpis import KpiFilter, compute_kpis
from maintenance.people.users import create_user
from maintenance.shared.db import upgrade
from maintenance.shared.vocabulary import Priority, Role
from maintenance.work_orders.models import WorkOrderSource, WorkOrderType
from maintenance.work_orders.service import (
    apply_alert,
    create_work_order,
    rate_work_order,
    transition,
)
from rules.loader import load_rules
from simulators.runner import Simulator
from simulators.scenario import load_scenario
from tests.conftest import missing_service
from tests.fixtures_influx import InfluxServer

ROOT = Path(__file__).resolve().parents[2]
READER_SQL = ROOT / "deploy" / "postgres" / "grafana-reader.sql"
NOW = datetime.now(UTC).replace(microsecond=0)
RANGE_START = NOW - timedelta(days=30)
RANGE_END = NOW + timedelta(minutes=5)

#: What a user picks in the dashboards' variable pickers for these tests.
VARIABLES = {"site": "hq", "asset": "AHU-1", "metric": "supply_temperature"}
MULTI = {"site"}  # multi-value variables: Grafana quotes each value for SQL data sources

DASHBOARDS = build_dashboards(BuildOptions(rules=load_rules(ROOT / "rules/examples/office.yaml")))


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref_id: str
    kind: str  # influxdb | postgres
    text: str

    @property
    def id(self) -> str:
        return f"{self.dashboard}:{self.panel}:{self.ref_id}"


def _queries(kind: str) -> list[PanelQuery]:
    found = []
    for uid, model in DASHBOARDS.items():
        for panel, target in iter_targets(model):
            if target["datasource"]["type"] == "influxdb" and kind == "influxdb":
                found.append(
                    PanelQuery(uid, panel["title"], target["refId"], kind, target["query"])
                )
            elif target["datasource"]["type"] != "influxdb" and kind == "postgres":
                found.append(
                    PanelQuery(uid, panel["title"], target["refId"], kind, target["rawSql"])
                )
    return found


INFLUX_QUERIES = _queries("influxdb")
SQL_QUERIES = _queries("postgres")
VARIABLE_QUERIES = [
    PanelQuery(uid, f"variable {v['name']}", "-", "influxdb", v["query"])
    for uid, model in DASHBOARDS.items()
    for v in model["templating"]["list"]
]


# -- substitution, as Grafana does it ----------------------------------------------------------
def _left_over(text: str) -> list[str]:
    return re.findall(r"\$\{?[A-Za-z_]\w*", text)


def influxql_for(text: str) -> str:
    out = text.replace("$timeFilter", f"time >= {_ns(RANGE_START)} AND time <= {_ns(RANGE_END)}")
    out = out.replace("$__interval", "10m")
    for name, value in VARIABLES.items():
        out = out.replace(f"${name}", re.escape(value))
    assert not _left_over(out), f"unsubstituted variables {_left_over(out)} in {out}"
    return out


def sql_for(text: str) -> str:
    start, end = RANGE_START.isoformat(), RANGE_END.isoformat()
    out = re.sub(
        r"\$__timeFilter\(([^)]*)\)",
        lambda m: f"{m.group(1)} BETWEEN '{start}' AND '{end}'",
        text,
    )
    out = re.sub(
        r"\$__unixEpochFilter\(([^)]*)\)",
        lambda m: (
            f"{m.group(1)} >= {RANGE_START.timestamp():.0f} "
            f"AND {m.group(1)} <= {RANGE_END.timestamp():.0f}"
        ),
        out,
    )
    for name, value in VARIABLES.items():
        out = out.replace(f"${name}", f"'{value}'" if name in MULTI else value)
    assert not _left_over(out), f"unsubstituted variables {_left_over(out)} in {out}"
    return out


def _ns(ts: datetime) -> str:
    return f"{int(ts.timestamp()) * 1_000_000_000}"


# -- InfluxDB, loaded with simulator data ------------------------------------------------------
@pytest.fixture(scope="module")
def readings_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    binary = shutil.which("influxd") or shutil.which("influxd", path="/usr/sbin:/usr/bin")
    if binary is None:
        missing_service("influxd (InfluxDB 1.6)", "apt-get install -y influxdb")
    assert binary is not None
    server = InfluxServer(binary, tmp_path_factory.mktemp("influxd"))
    server.start()
    try:
        server.create_database("facility")
        scenario = load_scenario("office")
        scenario = scenario.model_copy(update={"interval": timedelta(minutes=10)})
        tags = {d.id: {"asset": d.asset, "site": scenario.site} for d in scenario.devices}
        steps = int(timedelta(days=15) / scenario.interval)
        simulator = Simulator(scenario, seed=7, start=NOW - timedelta(days=15))
        readings = [r for message in simulator.messages(steps) for r in message.readings]
        lines = line_protocol(readings, tags.__getitem__)
        for i in range(0, len(lines), 5000):
            server.write_lines("facility", b"\n".join(lines[i : i + 5000]))
        count = server.query('SELECT count("value") FROM "readings"', db="facility")
        assert count["results"][0]["series"][0]["values"][0][1] == len(readings)
        yield server
    finally:
        server.stop()
    assert all(code in (0, -15) for code in server.returncodes), server.log_tail()


def _influx_series(server: InfluxServer, statement: str) -> list[dict[str, Any]]:
    answer = server.query(statement, db="facility")
    assert "error" not in answer, f"{statement}\n-> {answer['error']}"
    result = answer["results"][0]
    assert "error" not in result, f"{statement}\n-> {result['error']}"
    series: list[dict[str, Any]] = result.get("series", [])
    return series


@pytest.mark.parametrize("query", INFLUX_QUERIES, ids=lambda q: q.id)
def test_every_influxql_panel_query_returns_values_from_simulated_readings(
    readings_db: InfluxServer, query: PanelQuery
) -> None:
    series = _influx_series(readings_db, influxql_for(query.text))
    values = [v for s in series for row in s["values"] for v in row[1:] if v is not None]
    assert values, f"{query.id} returned no values:\n{influxql_for(query.text)}"


@pytest.mark.parametrize("query", VARIABLE_QUERIES, ids=lambda q: q.id)
def test_every_template_variable_offers_the_simulated_sites_assets_and_metrics(
    readings_db: InfluxServer, query: PanelQuery
) -> None:
    series = _influx_series(readings_db, influxql_for(query.text))
    offered = {row[1] for s in series for row in s["values"]}
    name = query.panel.removeprefix("variable ")
    assert VARIABLES[name] in offered, f"{query.id} offers {sorted(offered)}"


def test_rule_thresholds_on_the_asset_panel_match_the_simulated_series_names(
    readings_db: InfluxServer,
) -> None:
    """The threshold overrides match the series names the alias ``$tag_device $tag_metric``
    gives, or the dashed lines would never be drawn."""
    panel = next(
        p for p in iter_panels(DASHBOARDS["facility-asset"]) if p.get("repeat") == "metric"
    )
    statement = influxql_for(panel["targets"][0]["query"])
    names = [
        f"{s['tags']['device']} {s['tags']['metric']}"
        for s in _influx_series(readings_db, statement)
    ]
    patterns = [o["matcher"]["options"] for o in panel["fieldConfig"]["overrides"]]
    assert names == ["ahu-1 supply_temperature"]
    assert any(re.fullmatch(p, names[0]) for p in patterns)


# -- PostgreSQL, seeded through the maintenance services ---------------------------------------
@dataclass
class SeededDatabase:
    owner_url: str
    reader_url: str


def _psql_reader_script(url: sa.URL, role: str) -> None:
    psql = shutil.which("psql")
    if psql is None:
        missing_service("psql", "apt-get install -y postgresql-client")
    assert psql is not None
    env = {"PGPASSWORD": url.password or "", "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [
            psql,
            "--no-psqlrc",
            "--quiet",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "-d",
            url.database or "postgres",
            "-v",
            f"reader_role={role}",
            "-v",
            "reader_password=reader-pass-1",
            "-v",
            f"owner_role={url.username or 'postgres'}",
            "-f",
            str(READER_SQL),
        ],
        check=True,
        env=env,
        capture_output=True,
        timeout=60,
    )


def _seed(url: str) -> None:
    """A month of maintenance: two AHU fault episodes, open alerts, manual orders, presence."""
    engine = sa.create_engine(url)
    upgrade(engine)
    sessions = sa.orm.sessionmaker(engine, expire_on_commit=False)
    t0 = NOW - timedelta(days=20)
    with sessions() as session:
        site = ensure_site(session, code="hq", name="Head office")
        for device, asset, kind in [
            ("ahu-1", "AHU-1", "air_handler"),
            ("room-101", "Room-101", "room"),
            ("room-102", "Room-102", "room"),
            ("meter-main", "Main-Meter", "energy_meter"),
        ]:
            link_device(
                session,
                device=device,
                asset=ensure_asset(session, code=asset, asset_type=kind, site=site),
                kind=kind,
            )
        for role in (Role.MANAGER, Role.TECH, Role.REQUESTER):
            create_user(session, username=role.value, password="seed-pass-123", role=role)
        session.commit()

        def alert(asset: str, device: str, at: datetime, severity: Severity) -> int:
            outcome = apply_alert(
                session,
                alert=Alert(
                    rule="ahu-supply-air-too-warm" if asset == "AHU-1" else "room-too-warm",
                    device=device,
                    asset=asset,
                    state=AlertState.FIRING,
                    severity=severity,
                    ts=at,
                    value=19.5,
                    message=f"{asset} too warm",
                ),
                now=at,
                auto_assign=False,
            )
            assert outcome.work_order_id is not None
            return outcome.work_order_id

        def act(order: int, action: str, at: datetime, **extra: Any) -> None:
            transition(
                session,
                work_order_id=order,
                action=action,
                actor="manager",
                role=Role.MANAGER,
                now=at,
                **extra,
            )

        # Episode 1 on AHU-1: the whole loop, rated.
        first = alert("AHU-1", "ahu-1", t0, Severity.MAJOR)
        act(first, "assign", t0 + timedelta(minutes=10), assignee="tech")
        act(first, "start", t0 + timedelta(minutes=40))
        act(first, "resolve", t0 + timedelta(hours=3))
        act(first, "verify", t0 + timedelta(hours=4))
        rate_work_order(
            session,
            work_order_id=first,
            rating=4,
            comment="cool again",
            actor="manager",
            role=Role.MANAGER,
            now=t0 + timedelta(hours=5),
        )
        act(first, "close", t0 + timedelta(hours=6))
        # Episode 2 on AHU-1, ten days later: resolved late (past its 8 h target).
        t1 = NOW - timedelta(days=10)
        second = alert("AHU-1", "ahu-1", t1, Severity.MAJOR)
        act(second, "assign", t1 + timedelta(hours=1), assignee="tech")
        act(second, "start", t1 + timedelta(hours=2))
        act(second, "resolve", t1 + timedelta(hours=12))
        # An active alert on a room, two hours old.
        alert("Room-101", "room-101", NOW - timedelta(hours=2), Severity.MINOR)
        # Manual orders: a P1 three days old and never started (breached), one on hold.
        create_work_order(
            session,
            title="Room 102 radiator leaking",
            actor="manager",
            priority=Priority.P1,
            asset_code="Room-102",
            source=WorkOrderSource.API,
            now=NOW - timedelta(days=3),
        )
        held, _ = create_work_order(
            session,
            title="Meter display flickers",
            actor="requester",
            priority=Priority.P3,
            asset_code="Main-Meter",
            order_type=WorkOrderType.REQUEST,
            source=WorkOrderSource.REQUEST,
            now=NOW - timedelta(days=1),
        )
        act(held.id, "assign", NOW - timedelta(hours=20), assignee="tech")
        act(held.id, "start", NOW - timedelta(hours=19))
        act(held.id, "hold", NOW - timedelta(hours=18))
    states = SqlStateStore(engine)
    states.record(
        [],
        [
            Presence(device="ahu-1", online=True, ts=NOW - timedelta(days=2)),
            Presence(device="ahu-1", online=False, ts=NOW - timedelta(days=1)),
            Presence(device="ahu-1", online=True, ts=NOW - timedelta(hours=20)),
            Presence(device="room-101", online=True, ts=NOW - timedelta(days=2)),
            Presence(device="room-102", online=False, ts=NOW - timedelta(hours=3)),
            Presence(device="meter-main", online=True, ts=NOW - timedelta(days=2)),
        ],
    )
    engine.dispose()


@pytest.fixture(scope="module")
def work_orders_db(postgres_url: str) -> Iterator[SeededDatabase]:
    """A database of its own (other tests reset the shared schema), a reader role, seed data."""
    admin_url = sa.make_url(postgres_url)
    name = f"facility_dash_{uuid.uuid4().hex[:8]}"
    role = f"grafana_reader_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    owner_url = admin_url.set(database=name)
    try:
        _psql_reader_script(owner_url, role)
        _seed(owner_url.render_as_string(hide_password=False))
        reader_url = owner_url.set(username=role, password="reader-pass-1")
        yield SeededDatabase(
            owner_url.render_as_string(hide_password=False),
            reader_url.render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


@pytest.fixture(scope="module")
def reader(work_orders_db: SeededDatabase) -> Iterator[sa.Engine]:
    engine = sa.create_engine(work_orders_db.reader_url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("query", SQL_QUERIES, ids=lambda q: q.id)
def test_every_sql_panel_query_returns_rows_as_the_read_only_grafana_role(
    reader: sa.Engine, query: PanelQuery
) -> None:
    statement = sql_for(query.text)
    with reader.connect() as conn:
        rows = conn.execute(sa.text(statement)).all()
    assert rows, f"{query.id} returned no rows:\n{statement}"
    assert any(v is not None for row in rows for v in row), f"{query.id} returned only NULLs"


def test_grafana_role_can_neither_write_nor_read_secrets(reader: sa.Engine) -> None:
    with reader.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
            conn.execute(sa.text("UPDATE work_orders SET title = 'x'"))
        conn.rollback()
        for table in ("users", "outbox", "deliveries"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text(f"SELECT * FROM {table}"))
            conn.rollback()


def _panel_value(reader: sa.Engine, dashboard: str, title: str) -> Any:
    panel = next(p for p in iter_panels(DASHBOARDS[dashboard]) if p["title"] == title)
    with reader.connect() as conn:
        return conn.execute(sa.text(sql_for(panel["targets"][0]["rawSql"]))).all()


def test_kpi_panels_agree_with_the_kpi_api_on_the_same_orders(
    reader: sa.Engine, work_orders_db: SeededDatabase
) -> None:
    engine = sa.create_engine(work_orders_db.owner_url)
    with sa.orm.Session(engine) as session:
        kpis = compute_kpis(
            session, where=KpiFilter(start=RANGE_START, end=RANGE_END), now=datetime.now(UTC)
        )
    engine.dispose()
    kpi = "facility-maintenance-kpis"

    def single(title: str) -> float:
        return float(_panel_value(reader, kpi, title)[0][0])

    assert single("MTTR") == pytest.approx(kpis["mttr_s"], abs=1)
    assert single("Mean response time") == pytest.approx(kpis["mean_time_to_respond_s"], abs=1)
    assert single("SLA compliance") == pytest.approx(
        kpis["sla_resolution_compliance_pct"], abs=0.01
    )
    assert single("Backlog") == kpis["backlog"]["count"]
    assert single("Backlog age") == pytest.approx(kpis["backlog"]["mean_age_s"], abs=120)
    assert single("Rating") == pytest.approx(kpis["rating"]["mean"])
    origins = dict(_panel_value(reader, kpi, "Automatic vs manual"))
    assert 100 * origins["automatic"] / sum(origins.values()) == pytest.approx(
        kpis["automatic_pct"], abs=0.01
    )
    mtbf = {asset: float(v) for asset, v in _panel_value(reader, kpi, "MTBF per asset")}
    expected = {a: v for a, v in kpis["mtbf_s_by_asset"].items() if v is not None}
    assert mtbf == pytest.approx(expected, abs=1)
    assert kpis["mttr_s"] and kpis["sla_resolution_compliance_pct"] is not None


def test_overview_counts_devices_and_sla_states_from_the_seeded_state(reader: sa.Engine) -> None:
    overview = "facility-overview"
    assert _panel_value(reader, overview, "Devices offline")[0][0] == 1
    assert _panel_value(reader, overview, "Devices online")[0][0] == 3
    sla = dict(_panel_value(reader, overview, "Open work orders by SLA state"))
    assert sla.get("breached", 0) >= 1  # the P1 left alone for three days
    alerts = _panel_value(reader, overview, "Active alerts")
    assert [row.asset for row in alerts] == ["Room-101"]
