"""Facility overview: is anything wrong right now, and who is on it?

Device presence and work orders come from PostgreSQL (the device-state store and the
maintenance schema); temperatures and energy from InfluxDB. Orders whose asset has no site yet
(an asset first seen in an alert) show under every site rather than vanish.
"""

# SQL here is text for Grafana to run under a read-only role, built from constants only.
# ruff: noqa: S608

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, piechart, stat, statetimeline, table
from grafana_foundation_sdk.builders import common as gc
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as gm
from grafana_foundation_sdk.models.piechart import PieChartType

from dashboards._panels import (
    BAD,
    GOOD,
    INFO,
    OPEN_STATES_SQL,
    SERIES,
    WARN,
    BuildOptions,
    asset_link,
    by_threshold,
    facility_links,
    fixed_colour,
    mean_per_asset,
    mean_per_asset_metricsql,
    postgres,
    readings,
    readings_source,
    readings_variable,
    steps,
)
from dashboards._queries import InfluxQL, Sql, metricsql

__all__ = ["UID", "build"]

UID = "facility-overview"

_SITE_OF_DEVICE = """
LEFT JOIN devices d ON d.id = p.device
LEFT JOIN assets a ON a.id = d.asset_id
LEFT JOIN sites s ON s.id = a.site_id
"""
_SITE_OF_ORDER = """
LEFT JOIN assets a ON a.id = wo.asset_id
LEFT JOIN sites s ON s.id = a.site_id
"""
_IN_SITE = "(s.code IN ($site) OR s.code IS NULL)"

_ENERGY_SPREAD = """
SELECT sum("kwh") AS "{name}" FROM (
SELECT spread("value") AS "kwh" FROM "readings"
WHERE "metric" = 'energy' AND "site" =~ /^$site$/ AND {time}
GROUP BY "device")
"""
_ENERGY = f'{SERIES}{{metric="energy",site=~"$site"}}'


def _colour_override(name: str, colour: str) -> tuple[str, list[gm.DynamicConfigValue]]:
    return name, [gm.DynamicConfigValue("color", {"mode": "fixed", "fixedColor": colour})]


def build(options: BuildOptions) -> gd.Dashboard:
    return (
        gd.Dashboard("Facility overview")
        .uid(UID)
        .tags(["facility", "generated"])
        .description("Devices, open work orders, active alerts, zone temperatures and energy.")
        .time("now-6h", "now")
        .refresh("30s")
        .timezone("browser")
        .version(options.version)
        .link(facility_links())
        .with_variable(
            readings_variable(
                options,
                "site",
                "Site",
                influxql='SHOW TAG VALUES FROM "readings" WITH KEY = "site"',
                metricsql=f"label_values({SERIES}, site)",
            )
        )
        .with_row(gd.Row("Now"))
        .with_panel(
            stat.Panel()
            .title("Devices online")
            .description("Devices whose last message arrived within their heartbeat timeout.")
            .datasource(postgres())
            .with_target(
                Sql(
                    f"""
                    SELECT count(*) AS "online" FROM device_presence p
                    {_SITE_OF_DEVICE}
                    WHERE p.online AND {_IN_SITE}
                    """
                )
            )
            .unit("none")
            .decimals(0)
            .color_scheme(fixed_colour(GOOD))
            .thresholds(steps(GOOD))
            .color_mode(cm.BigValueColorMode.VALUE)
            .graph_mode(cm.BigValueGraphMode.NONE)
            .span(4)
            .height(5)
        )
        .with_panel(
            stat.Panel()
            .title("Devices offline")
            .description("Silent past their heartbeat timeout, or said goodbye (last will).")
            .datasource(postgres())
            .with_target(
                Sql(
                    f"""
                    SELECT count(*) AS "offline" FROM device_presence p
                    {_SITE_OF_DEVICE}
                    WHERE NOT p.online AND {_IN_SITE}
                    """
                )
            )
            .unit("none")
            .decimals(0)
            .color_scheme(by_threshold())
            .thresholds(steps(GOOD, (1, BAD)))
            .color_mode(cm.BigValueColorMode.BACKGROUND)
            .graph_mode(cm.BigValueGraphMode.NONE)
            .span(4)
            .height(5)
        )
        .with_panel(
            bargauge.Panel()
            .title("Open work orders by priority")
            .datasource(postgres())
            .with_target(
                Sql(
                    f"""
                    SELECT wo.priority AS "priority", count(*) AS "open"
                    FROM work_orders wo
                    {_SITE_OF_ORDER}
                    WHERE wo.status IN {OPEN_STATES_SQL} AND {_IN_SITE}
                    GROUP BY wo.priority ORDER BY wo.priority
                    """
                )
            )
            .reduce_options(gc.ReduceDataOptions().values(True).calcs([]).fields("/^open$/"))
            .display_mode(cm.BarGaugeDisplayMode.GRADIENT)
            .orientation(cm.VizOrientation.HORIZONTAL)
            .unit("none")
            .decimals(0)
            .min(0)
            .color_scheme(by_threshold())
            .thresholds(steps(GOOD, (5, WARN), (10, BAD)))
            .span(8)
            .height(5)
        )
        .with_panel(
            piechart.Panel()
            .title("Open work orders by SLA state")
            .description(
                "Resolution clock against the order's due time; 'at risk' in its last quarter."
            )
            .datasource(postgres())
            .with_target(
                Sql(
                    f"""
                    SELECT CASE
                    WHEN wo.resolution_due_at IS NULL THEN 'no SLA'
                    WHEN wo.resolution_breached_at IS NOT NULL
                    OR wo.resolution_due_at < now() THEN 'breached'
                    WHEN now() > wo.resolution_due_at
                    - 0.25 * (wo.resolution_due_at - wo.created_at) THEN 'at risk'
                    ELSE 'on track' END AS "sla", count(*) AS "orders"
                    FROM work_orders wo
                    {_SITE_OF_ORDER}
                    WHERE wo.status IN {OPEN_STATES_SQL} AND {_IN_SITE}
                    GROUP BY 1 ORDER BY 1
                    """
                )
            )
            .pie_type(PieChartType.DONUT)
            .thresholds(steps(INFO))
            .reduce_options(gc.ReduceDataOptions().values(True).calcs([]).fields("/^orders$/"))
            .unit("none")
            .color_scheme(fixed_colour(INFO))
            .override_by_name(*_colour_override("on track", GOOD))
            .override_by_name(*_colour_override("at risk", WARN))
            .override_by_name(*_colour_override("breached", BAD))
            .override_by_name(*_colour_override("no SLA", "text"))
            .span(8)
            .height(5)
        )
        .with_row(gd.Row("Alerts and zones"))
        .with_panel(
            table.Panel()
            .title("Active alerts")
            .description("Rule-raised orders still open whose rule has not reported 'resolved'.")
            .datasource(postgres())
            .with_target(
                Sql(
                    f"""
                    SELECT wo.created_at AS "since", wo.rule AS "rule",
                    a.code AS "asset", wo.device AS "device", wo.priority AS "priority",
                    wo.status AS "status", wo.id AS "work order"
                    FROM work_orders wo
                    {_SITE_OF_ORDER}
                    WHERE wo.source = 'rule' AND wo.status IN {OPEN_STATES_SQL}
                    AND {_IN_SITE}
                    AND COALESCE((SELECT e.kind FROM work_order_events e
                    WHERE e.work_order_id = wo.id
                    AND e.kind IN ('created', 'refired', 'alert_resolved')
                    ORDER BY e.id DESC LIMIT 1), 'created') <> 'alert_resolved'
                    ORDER BY wo.priority, wo.created_at
                    LIMIT 200
                    """
                )
            )
            .unit("none")
            .color_scheme(by_threshold())
            .thresholds(steps(INFO))
            .override_by_name("asset", [asset_link()])
            .span(24)
            .height(7)
        )
        .with_panel(
            statetimeline.Panel()
            .title("Temperature by zone")
            .description("Mean room temperature per zone (the asset a sensor watches).")
            .datasource(readings_source(options))
            .with_target(
                readings(
                    options, mean_per_asset("temperature"), mean_per_asset_metricsql("temperature")
                )
            )
            .unit("celsius")
            .decimals(1)
            .color_scheme(by_threshold())
            .thresholds(steps(INFO, (18, GOOD), (26, WARN), (28, BAD)))
            .show_value(cm.VisibilityMode.AUTO)
            .merge_values(False)
            .span(16)
            .height(8)
        )
        .with_panel(
            stat.Panel()
            .title("Energy today vs baseline")
            .description(
                "kWh since midnight against the mean daily kWh of the 7 days before today."
            )
            .datasource(readings_source(options))
            .time_from("now/d")
            .hide_time_override(False)
            .with_target(
                readings(
                    options,
                    InfluxQL(_ENERGY_SPREAD.format(name="today", time="$timeFilter")).ref_id("A"),
                    metricsql(
                        f"sum(increase({_ENERGY}[$__range]))", "today", instant=True, ref_id="A"
                    ),
                )
            )
            .with_target(
                readings(
                    options,
                    InfluxQL(
                        """
                    SELECT sum("kwh") / 7 AS "baseline" FROM (
                    SELECT spread("value") AS "kwh" FROM "readings"
                    WHERE "metric" = 'energy' AND "site" =~ /^$site$/
                    AND time >= now() - 8d AND time < now() - 1d
                    GROUP BY "device")
                    """
                    ).ref_id("B"),
                    metricsql(
                        f"sum(increase({_ENERGY}[7d] offset 1d)) / 7",
                        "baseline",
                        instant=True,
                        ref_id="B",
                    ),
                )
            )
            .unit("kwatth")
            .decimals(0)
            .color_scheme(fixed_colour(INFO))
            .thresholds(steps(INFO))
            .text_mode(cm.BigValueTextMode.VALUE_AND_NAME)
            .graph_mode(cm.BigValueGraphMode.NONE)
            .span(8)
            .height(8)
        )
    )
