"""The generated Grafana JSON: well formed, stable, and wired to the provisioned data sources."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards import (
    DATASOURCES,
    POSTGRES,
    VICTORIA,
    BuildOptions,
    GrafanaAuth,
    build_dashboards,
    folder_uid,
    iter_panels,
    iter_targets,
)
from dashboards._asset import glob_to_regex
from facility.core.errors import ConfigError
from rules.loader import parse_rules

ROOT = Path(__file__).resolve().parents[2]
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
OFFICE_RULES = ROOT / "rules" / "examples" / "office.yaml"

BUILT = build_dashboards()
REQUIRED = ("uid", "title", "schemaVersion", "version", "panels", "time", "templating", "tags")


def _provisioned_datasources() -> dict[str, dict[str, Any]]:
    text = (PROVISIONING / "datasources" / "facility.yaml").read_text()
    return {d["uid"]: d for d in yaml.safe_load(text)["datasources"]}


@pytest.mark.parametrize("uid", list(BUILT))
def test_every_dashboard_has_the_fields_grafana_requires(uid: str) -> None:
    model = BUILT[uid]
    missing = [key for key in REQUIRED if key not in model]
    assert not missing, f"{uid} lacks {missing}"
    assert model["uid"] == uid
    assert re.fullmatch(r"[a-z0-9-]{1,40}", uid), "Grafana uids are at most 40 characters"
    assert model["panels"], f"{uid} has no panels"
    assert isinstance(model["templating"]["list"], list)
    assert isinstance(model["annotations"]["list"], list)
    assert model["time"]["from"].startswith("now-")


def test_the_four_dashboards_the_issue_asks_for_exist_with_distinct_titles() -> None:
    titles = sorted(model["title"] for model in BUILT.values())
    assert titles == ["Asset detail", "Energy", "Facility overview", "Maintenance KPIs"]


@pytest.mark.parametrize("uid", list(BUILT))
def test_panel_ids_are_unique_positive_and_panels_stay_on_the_grid(uid: str) -> None:
    panels = list(iter_panels(BUILT[uid]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {uid}: {ids}"
    assert all(isinstance(i, int) and i > 0 for i in ids)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, f"{panel['title']} leaves the grid"
        covered = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not covered & cells, f"{panel['title']} overlaps another panel in {uid}"
        cells |= covered


@pytest.mark.parametrize("uid", list(BUILT))
def test_every_datasource_reference_resolves_to_a_provisioned_datasource(uid: str) -> None:
    provisioned = _provisioned_datasources()
    refs = [panel["datasource"] for panel in iter_panels(BUILT[uid]) if "datasource" in panel]
    refs += [target["datasource"] for _, target in iter_targets(BUILT[uid])]
    refs += [v["datasource"] for v in BUILT[uid]["templating"]["list"] if "datasource" in v]
    assert refs
    for ref in refs:
        assert ref["uid"] in provisioned, f"{ref} is not provisioned"
        assert provisioned[ref["uid"]]["type"] == ref["type"]


def test_the_package_and_the_provisioning_file_name_the_same_datasources() -> None:
    provisioned = _provisioned_datasources()
    assert {(d.uid, d.type, d.name) for d in DATASOURCES} == {
        (uid, d["type"], d["name"]) for uid, d in provisioned.items()
    }


@pytest.mark.parametrize("uid", list(BUILT))
def test_every_query_panel_sets_unit_thresholds_and_colour(uid: str) -> None:
    for panel in iter_panels(BUILT[uid]):
        if panel["type"] == "row":
            continue
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults.get("unit"), f"{panel['title']} has no unit"
        steps = defaults["thresholds"]["steps"]
        assert steps[0]["value"] is None, f"{panel['title']}: first step must be the base"
        values = [s["value"] for s in steps[1:]]
        assert values == sorted(values), f"{panel['title']}: thresholds out of order"
        assert all(s["color"] for s in steps)
        assert defaults["color"]["mode"], f"{panel['title']} has no colour mode"
        assert panel["targets"], f"{panel['title']} has no query"


@pytest.mark.parametrize("uid", list(BUILT))
def test_every_query_has_a_unique_ref_id_and_only_uses_defined_variables(uid: str) -> None:
    model = BUILT[uid]
    defined = {v["name"] for v in model["templating"]["list"]}
    builtin = {"timeFilter", "__interval", "__timeFilter", "__unixEpochFilter"}
    for panel in iter_panels(model):
        ref_ids = [t["refId"] for t in panel.get("targets", [])]
        assert len(ref_ids) == len(set(ref_ids)), f"{panel['title']}: duplicate refIds"
        for target in panel.get("targets", []):
            text = target.get("query") or target.get("rawSql") or ""
            used = set(re.findall(r"\$(\w+)", text))
            assert used <= defined | builtin, f"{panel['title']} uses undefined {used - defined}"
    for variable in model["templating"]["list"]:
        used = set(re.findall(r"\$(\w+)", variable["query"]))
        assert used <= defined - {variable["name"]}, f"variable {variable['name']} uses {used}"


def test_readings_panels_speak_influxql_and_work_order_panels_speak_sql() -> None:
    for model in BUILT.values():
        for _, target in iter_targets(model):
            if target["datasource"]["type"] == "influxdb":
                assert target["rawQuery"] is True
                assert 'FROM "readings"' in target["query"] or "FROM (" in target["query"]
            else:
                assert target["rawSql"].lstrip().upper().startswith("SELECT")
                assert target["format"] in ("table", "time_series")


def test_a_version_bump_changes_nothing_but_the_version() -> None:
    first = build_dashboards(BuildOptions(version=1))
    second = build_dashboards(BuildOptions(version=2))
    for uid in first:
        before, after = dict(first[uid]), dict(second[uid])
        assert (before.pop("version"), after.pop("version")) == (1, 2)
        assert json.dumps(before, sort_keys=True) == json.dumps(after, sort_keys=True)


def test_the_build_is_deterministic() -> None:
    assert json.dumps(build_dashboards(), sort_keys=True) == json.dumps(BUILT, sort_keys=True)


def test_a_version_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="version must be 1 or more"):
        build_dashboards(BuildOptions(version=0))


def _asset_metric_panel(model: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in iter_panels(model) if p.get("repeat") == "metric")


def test_threshold_rules_are_drawn_on_the_asset_metric_panel() -> None:
    rules = parse_rules(OFFICE_RULES.read_text())
    panel = _asset_metric_panel(build_dashboards(BuildOptions(rules=rules))["facility-asset"])
    overrides = {
        o["matcher"]["options"]: o["properties"] for o in panel["fieldConfig"]["overrides"]
    }
    supply = overrides["^ahu-.* supply_temperature$"]
    steps = next(p["value"]["steps"] for p in supply if p["id"] == "thresholds")
    assert steps == [{"value": None, "color": "green"}, {"value": 16.0, "color": "red"}]
    assert {"id": "custom.thresholdsStyle", "value": {"mode": "dashed"}} in supply
    assert re.fullmatch("^ahu-.* supply_temperature$", "ahu-1 supply_temperature")
    assert not re.fullmatch("^ahu-.* supply_temperature$", "room-101 supply_temperature")


def test_below_rules_colour_the_low_side_and_disabled_or_offline_rules_draw_nothing() -> None:
    rules = parse_rules(
        """
rules:
  - {name: cold, kind: threshold, select: {device: "r?", metric: temperature}, below: 17}
  - {name: co2-high, kind: threshold, select: {metric: co2}, above: 1000, enabled: false}
  - {name: gone, kind: offline, after: 5m}
"""
    )
    panel = _asset_metric_panel(build_dashboards(BuildOptions(rules=rules))["facility-asset"])
    (override,) = panel["fieldConfig"]["overrides"]
    assert override["matcher"]["options"] == "^r. temperature$"
    steps = override["properties"][0]["value"]["steps"]
    assert steps == [{"value": None, "color": "red"}, {"value": 17.0, "color": "green"}]


def test_without_rules_the_asset_panel_has_no_threshold_overrides() -> None:
    assert _asset_metric_panel(BUILT["facility-asset"])["fieldConfig"]["overrides"] == []


@pytest.mark.parametrize(
    ("glob", "regex"),
    [("ahu-*", "ahu-.*"), ("a.b?", r"a\.b."), ("x(1)", r"x\(1\)"), ("*", ".*"), ("a/b", r"a\/b")],
)
def test_rule_globs_become_javascript_safe_regexes(glob: str, regex: str) -> None:
    assert glob_to_regex(glob) == regex


@pytest.mark.parametrize(
    ("title", "uid"),
    [("Facility", "facility"), ("Ops / HVAC 2", "ops-hvac-2"), ("设施 Facility", "facility")],
)
def test_folder_uids_are_slugs_of_the_title(title: str, uid: str) -> None:
    assert folder_uid(title) == uid


@pytest.mark.parametrize("title", ["", "   ", "设施", "!!!"])
def test_a_folder_title_without_letters_or_digits_is_refused(title: str) -> None:
    with pytest.raises(ConfigError, match="no letters or digits"):
        folder_uid(title)


def test_grafana_auth_refuses_a_token_and_a_password_together_and_half_basic_auth() -> None:
    with pytest.raises(ConfigError, match="not both"):
        GrafanaAuth(token="t", user="u", password="p").credential()
    with pytest.raises(ConfigError, match="both --user and --password"):
        GrafanaAuth(user="u").credential()
    assert GrafanaAuth(token="glsa_x").credential() == "glsa_x"
    assert GrafanaAuth(user="u", password="p").credential() == ("u", "p")
    assert GrafanaAuth().credential() is None


def test_grafana_auth_never_shows_its_secrets() -> None:
    shown = repr(GrafanaAuth(token="glsa_secret")) + repr(GrafanaAuth(user="u", password="hunter2"))
    assert "glsa_secret" not in shown and "hunter2" not in shown


def test_dashboards_link_to_each_other_and_asset_links_open_the_asset_dashboard() -> None:
    for model in BUILT.values():
        assert {"type": "dashboards", "tags": ["facility"]}.items() <= model["links"][0].items()
        assert all("facility" in m["tags"] for m in BUILT.values())
    urls = [
        link["url"]
        for model in BUILT.values()
        for panel in iter_panels(model)
        for override in panel.get("fieldConfig", {}).get("overrides", [])
        for prop in override["properties"]
        if prop["id"] == "links"
        for link in prop["value"]
    ]
    assert urls, "the active-alerts table links each asset to its detail dashboard"
    for url in urls:
        uid = url.split("/")[2]
        assert uid in BUILT
        assert "var-asset=${__value.raw}" in url


# -- the MetricsQL variant (``facility dashboards build --readings metricsql``) ---------------
METRICSQL = build_dashboards(BuildOptions(readings="metricsql"))
_SQL_TYPE = "grafana-postgresql-datasource"


def _refs(model: dict[str, Any]) -> list[dict[str, Any]]:
    refs = [panel["datasource"] for panel in iter_panels(model) if "datasource" in panel]
    refs += [target["datasource"] for _, target in iter_targets(model)]
    refs += [v["datasource"] for v in model["templating"]["list"] if "datasource" in v]
    return refs


@pytest.mark.parametrize("uid", list(METRICSQL))
def test_the_metricsql_variant_names_only_the_prometheus_datasource_on_reading_panels(
    uid: str,
) -> None:
    model = METRICSQL[uid]
    provisioned = _provisioned_datasources()
    for ref in _refs(model):
        assert ref["uid"] in provisioned, f"{ref} is not provisioned"
        assert provisioned[ref["uid"]]["type"] == ref["type"]
        assert ref["type"] != "influxdb", f"{uid} still refers to InfluxDB: {ref}"
    for panel in iter_panels(model):
        if panel["type"] == "row":
            continue
        targets = panel["targets"]
        if any(t["datasource"]["type"] == _SQL_TYPE for t in targets):
            assert panel["datasource"] == POSTGRES.ref()
            assert all(t["datasource"] == POSTGRES.ref() and "rawSql" in t for t in targets)
        else:  # a reading panel
            assert panel["datasource"] == VICTORIA.ref(), panel["title"]
            for target in targets:
                assert target["datasource"] == VICTORIA.ref(), panel["title"]
                assert "readings_value{" in target["expr"]
                assert target["editorMode"] == "code"
                assert target["instant"] is True or target["range"] is True
    for variable in model["templating"]["list"]:
        assert variable["datasource"] == VICTORIA.ref()
        assert re.fullmatch(r"label_values\((readings_value(\{.*\})?, )?\w+\)", variable["query"])


def test_the_default_build_does_not_use_the_victoriametrics_datasource() -> None:
    for uid, model in BUILT.items():
        assert VICTORIA.uid not in {ref["uid"] for ref in _refs(model)}, uid


def test_both_variants_have_the_same_panels_and_the_same_sql() -> None:
    for uid, model in BUILT.items():
        other = METRICSQL[uid]
        assert [(p["id"], p["title"], p["type"]) for p in iter_panels(model)] == [
            (p["id"], p["title"], p["type"]) for p in iter_panels(other)
        ]
        assert [t.get("rawSql") for _, t in iter_targets(model) if "rawSql" in t] == [
            t.get("rawSql") for _, t in iter_targets(other) if "rawSql" in t
        ]
        assert [v["name"] for v in model["templating"]["list"]] == [
            v["name"] for v in other["templating"]["list"]
        ]


@pytest.mark.parametrize("uid", list(METRICSQL))
def test_metricsql_queries_only_use_defined_variables_and_grafana_builtins(uid: str) -> None:
    model = METRICSQL[uid]
    defined = {v["name"] for v in model["templating"]["list"]}
    builtin = {"__interval", "__range"}
    for _, target in iter_targets(model):
        text = target.get("expr") or target.get("rawSql") or ""
        used = set(re.findall(r"\$(\w+)", text))
        assert used <= defined | builtin | {"__timeFilter", "__unixEpochFilter"}, used
    assert json.dumps(build_dashboards(BuildOptions(readings="metricsql")), sort_keys=True) == (
        json.dumps(METRICSQL, sort_keys=True)
    )


def test_the_cli_builds_the_metricsql_variant(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dashboards.cli import app

    result = CliRunner().invoke(
        app,
        ["build", "--out", str(tmp_path), "--readings", "metricsql", "--rules", str(OFFICE_RULES)],
    )
    assert result.exit_code == 0, result.output
    energy = json.loads((tmp_path / "facility-energy.json").read_text())
    assert {t["datasource"]["uid"] for _, t in iter_targets(energy)} == {VICTORIA.uid}
    refused = CliRunner().invoke(app, ["build", "--out", str(tmp_path), "--readings", "flux"])
    assert refused.exit_code != 0
