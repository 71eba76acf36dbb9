"""Every MetricsQL panel query of the ``--readings metricsql`` dashboards returns data.

The counterpart of ``test_dashboard_queries.py`` for VictoriaMetrics: Debian's real
``victoria-metrics`` is loaded with 15 days of the office scenario's simulated readings written
through the reading store itself (:class:`gateway.stores.victoria.VictoriaReadingStore`, line
protocol with ``asset`` and ``site`` tags), then each panel query runs the way Grafana's
Prometheus data source sends it: ``$__interval`` and ``$__range`` replaced, each dashboard
variable replaced by a regex of the picked value, instant queries on ``/api/v1/query`` and the
others on ``/api/v1/query_range`` with the panel's step. ``label_values(...)`` variables are
Grafana functions, not MetricsQL; they are answered the way Grafana does, from
``/api/v1/label/<name>/values``. SQL panels are the same in both variants and are covered there.
"""

from __future__ import annotations

import math
import re
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from dashboards import VICTORIA, BuildOptions, build_dashboards, iter_panels, iter_targets
from gateway.stores.victoria import VictoriaOptions, VictoriaReadingStore
from rules.loader import load_rules
from simulators.runner import Simulator
from simulators.scenario import load_scenario
from tests.conftest import missing_service
from tests.fixtures_influx import VictoriaMetricsServer

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC).replace(microsecond=0)
RANGE_START = NOW - timedelta(days=15)
RANGE_END = NOW + timedelta(minutes=5)
#: Grafana's ``$__interval`` for this range on a typical panel width (and the default step).
INTERVAL = "10m"

#: What a user picks in the dashboards' variable pickers for these tests.
VARIABLES = {"site": "hq", "asset": "AHU-1", "metric": "supply_temperature"}

DASHBOARDS = build_dashboards(
    BuildOptions(rules=load_rules(ROOT / "rules/examples/office.yaml"), readings="metricsql")
)


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref_id: str
    expr: str
    instant: bool
    step: str

    @property
    def id(self) -> str:
        return f"{self.dashboard}:{self.panel}:{self.ref_id}"


METRICSQL_QUERIES = [
    PanelQuery(
        uid,
        panel["title"],
        target["refId"],
        target["expr"],
        bool(target.get("instant")),
        target.get("interval") or INTERVAL,
    )
    for uid, model in DASHBOARDS.items()
    for panel, target in iter_targets(model)
    if target["datasource"]["uid"] == VICTORIA.uid
]
VARIABLE_QUERIES = [
    (uid, variable["name"], variable["query"])
    for uid, model in DASHBOARDS.items()
    for variable in model["templating"]["list"]
]


# -- substitution, as Grafana's Prometheus data source does it -----------------------------------
def _left_over(text: str) -> list[str]:
    return re.findall(r"\$\{?[A-Za-z_]\w*", text)


def _regex_literal(value: str) -> str:
    """A picked value inside a ``=~"..."`` matcher: regex specials escaped with a backslash,
    itself doubled inside the MetricsQL string literal (Grafana's ``prometheusRegularEscape``)."""
    return re.sub(r"[$^*+?.()|\[\]{}\\]", lambda m: "\\\\" + m.group(0), value)


def metricsql_for(expr: str, step: str = INTERVAL) -> str:
    range_s = int((RANGE_END - RANGE_START).total_seconds())
    out = expr.replace("$__interval", step).replace("$__range", f"{range_s}s")
    for name, value in VARIABLES.items():
        out = out.replace(f"${name}", _regex_literal(value))
    assert not _left_over(out), f"unsubstituted variables {_left_over(out)} in {out}"
    return out


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _step_ms(step: str) -> int:
    number, unit = int(step[:-1]), step[-1]
    return number * {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}[unit]


# -- VictoriaMetrics, loaded through the reading store ---------------------------------------------
@dataclass
class LoadedStore:
    server: VictoriaMetricsServer
    store: VictoriaReadingStore


@pytest.fixture(scope="module")
def readings_vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedStore]:
    binary = shutil.which("victoria-metrics")
    if binary is None:
        missing_service("victoria-metrics", "apt-get install -y victoria-metrics")
    assert binary is not None
    server = VictoriaMetricsServer(binary, tmp_path_factory.mktemp("victoria-metrics"))
    server.start()
    scenario = load_scenario("office")
    scenario = scenario.model_copy(update={"interval": timedelta(minutes=10)})
    tags = {d.id: {"asset": d.asset, "site": scenario.site} for d in scenario.devices}
    store = VictoriaReadingStore(
        VictoriaOptions(url=server.url, batch_size=5000, timeout_s=60), tags_of=tags.__getitem__
    )
    try:
        steps = int(timedelta(days=15) / scenario.interval)
        simulator = Simulator(scenario, seed=7, start=RANGE_START)
        readings = [r for message in simulator.messages(steps) for r in message.readings]
        store.write(readings)
        server.flush()
        assert store.count() == len(readings)
        yield LoadedStore(server, store)
    finally:
        store.close()
        server.stop()
    assert all(code in (0, -15) for code in server.returncodes), server.log_tail()


def _run(loaded: LoadedStore, query: PanelQuery) -> list[float]:
    expr = metricsql_for(query.expr, query.step)
    if query.instant:
        return [value for _labels, value in loaded.store.metricsql(expr, _ms(RANGE_END))]
    series = loaded.store.metricsql_range(
        expr, _ms(RANGE_START), _ms(RANGE_END), _step_ms(query.step)
    )
    return [value for _labels, points in series for _ts, value in points]


@pytest.mark.parametrize("query", METRICSQL_QUERIES, ids=lambda q: q.id)
def test_every_metricsql_panel_query_returns_values_from_simulated_readings(
    readings_vm: LoadedStore, query: PanelQuery
) -> None:
    values = [v for v in _run(readings_vm, query) if math.isfinite(v)]
    assert values, f"{query.id} returned no values:\n{metricsql_for(query.expr, query.step)}"


def test_the_metricsql_variant_has_a_query_for_every_reading_panel() -> None:
    assert len(METRICSQL_QUERIES) == 11
    assert {q.dashboard for q in METRICSQL_QUERIES} == {
        "facility-overview",
        "facility-asset",
        "facility-energy",
    }


_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<match>.+),\s*)?(?P<label>\w+)\)$")


def _label_values(loaded: LoadedStore, query: str) -> list[str]:
    """What Grafana offers for ``label_values(selector, label)``."""
    parsed = _LABEL_VALUES.match(metricsql_for(query))
    assert parsed, f"{query} is not a label_values(...) variable query"
    fields = {"start": str(_ms(RANGE_START) // 1000), "end": str(_ms(RANGE_END) // 1000)}
    if parsed["match"]:
        fields["match[]"] = parsed["match"]
    url = f"{loaded.server.url}/api/v1/label/{parsed['label']}/values"
    body = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as response:
        answer: dict[str, Any] = orjson.loads(response.read())
    assert answer["status"] == "success", answer
    data: list[str] = answer["data"]
    return data


@pytest.mark.parametrize(
    ("uid", "name", "query"), VARIABLE_QUERIES, ids=[f"{u}:{n}" for u, n, _ in VARIABLE_QUERIES]
)
def test_every_label_values_variable_offers_the_simulated_sites_assets_and_metrics(
    readings_vm: LoadedStore, uid: str, name: str, query: str
) -> None:
    offered = _label_values(readings_vm, query)
    assert VARIABLES[name] in offered, f"{uid} variable {name} offers {offered}"


def _legend(legend: str, labels: dict[str, str]) -> str:
    """A series name as Grafana renders ``legendFormat`` (``{{device}} {{metric}}``)."""
    return re.sub(r"\{\{(\w+)\}\}", lambda m: labels[m.group(1)], legend)


def test_rule_thresholds_on_the_asset_panel_match_the_metricsql_series_names(
    readings_vm: LoadedStore,
) -> None:
    """The legend ``{{device}} {{metric}}`` names series as the threshold overrides expect."""
    panel = next(
        p for p in iter_panels(DASHBOARDS["facility-asset"]) if p.get("repeat") == "metric"
    )
    target = panel["targets"][0]
    series = readings_vm.store.metricsql_range(
        metricsql_for(target["expr"]), _ms(RANGE_START), _ms(RANGE_END), _step_ms(INTERVAL)
    )
    legend = target["legendFormat"]
    names = [_legend(legend, labels) for labels, _ in series]
    patterns = [o["matcher"]["options"] for o in panel["fieldConfig"]["overrides"]]
    assert names == ["ahu-1 supply_temperature"]
    assert any(re.fullmatch(p, names[0]) for p in patterns)


def test_energy_panels_count_the_kilowatt_hours_the_meter_counted(
    readings_vm: LoadedStore,
) -> None:
    """``increase`` over the week equals the meter's last minus first reading of the week."""
    panel = next(
        p
        for p in iter_panels(DASHBOARDS["facility-energy"])
        if p["title"] == "This week vs last week"
    )
    this_week = next(t for t in panel["targets"] if t["refId"] == "A")
    ((_, kwh),) = readings_vm.store.metricsql(metricsql_for(this_week["expr"]), _ms(RANGE_END))
    points = readings_vm.store.history(
        metric="energy", asset="Main-Meter", start=RANGE_END - timedelta(days=7), end=RANGE_END
    )
    before = readings_vm.store.history(
        metric="energy",
        asset="Main-Meter",
        start=RANGE_END - timedelta(days=7, minutes=10),
        end=RANGE_END - timedelta(days=7),
    )
    assert points and before
    assert kwh == pytest.approx(points[-1][1] - before[-1][1], rel=1e-6)
