"""Maintenance KPIs: how fast, how reliably and how much — the numbers behind plan-do-check-act.

All SQL on the maintenance schema through the read-only role, with the definitions of
``maintenance.insights.kpis`` (so these panels and ``GET /api/v1/kpis`` agree, which an
integration test checks): orders count by creation time in the range; the clock starts at the
fault's first detection for rule orders, else at creation; response ends at ``responded_at``,
repair at ``resolved_at``; SLA compliance is judged on orders with a resolution due time; MTBF
per asset is the mean gap from one repair to the next fault.
"""

# SQL here is text for Grafana to run under a read-only role, built from constants only.
# ruff: noqa: S608

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, piechart, stat, timeseries
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
    ORIGIN_SQL,
    WARN,
    BuildOptions,
    by_threshold,
    facility_links,
    fixed_colour,
    palette,
    postgres,
    steps,
)
from dashboards._queries import Sql

__all__ = ["UID", "build"]

UID = "facility-maintenance-kpis"

_HOUR = 3600


def _stat(title: str, description: str, sql: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(postgres())
        .with_target(Sql(sql))
        .reduce_options(gc.ReduceDataOptions().calcs(["lastNotNull"]))
        .color_scheme(by_threshold())
        .color_mode(cm.BigValueColorMode.VALUE)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .span(4)
        .height(5)
    )


def build(options: BuildOptions) -> gd.Dashboard:
    return (
        gd.Dashboard("Maintenance KPIs")
        .uid(UID)
        .tags(["facility", "generated", "maintenance"])
        .description("MTTR, response, SLA compliance, backlog, ratings, MTBF, sources, trends.")
        .time("now-90d", "now")
        .refresh("5m")
        .timezone("browser")
        .version(options.version)
        .link(facility_links())
        .with_row(gd.Row("Service level"))
        .with_panel(
            _stat(
                "MTTR",
                "Mean time from detection (rule orders) or creation to resolution.",
                f"""
                SELECT avg(EXTRACT(EPOCH FROM (wo.resolved_at - {ORIGIN_SQL}))) AS "MTTR"
                FROM work_orders wo
                WHERE wo.resolved_at IS NOT NULL AND $__timeFilter(wo.created_at)
                """,
            )
            .unit("s")
            .thresholds(steps(GOOD, (8 * _HOUR, WARN), (24 * _HOUR, BAD)))
        )
        .with_panel(
            _stat(
                "Mean response time",
                "Mean time from detection or creation until work started.",
                f"""
                SELECT avg(EXTRACT(EPOCH FROM (wo.responded_at - {ORIGIN_SQL}))) AS "response"
                FROM work_orders wo
                WHERE wo.responded_at IS NOT NULL AND $__timeFilter(wo.created_at)
                """,
            )
            .unit("s")
            .thresholds(steps(GOOD, (1 * _HOUR, WARN), (4 * _HOUR, BAD)))
        )
        .with_panel(
            _stat(
                "SLA compliance",
                "Orders resolved by their due time, of those resolved, breached or overdue.",
                """
                SELECT 100.0 * count(*) FILTER (WHERE wo.resolved_at IS NOT NULL
                AND wo.resolved_at <= wo.resolution_due_at
                AND wo.resolution_breached_at IS NULL)
                / NULLIF(count(*) FILTER (WHERE wo.resolved_at IS NOT NULL
                OR wo.resolution_breached_at IS NOT NULL
                OR wo.resolution_due_at < now()), 0) AS "compliance"
                FROM work_orders wo
                WHERE wo.resolution_due_at IS NOT NULL AND wo.status <> 'cancelled'
                AND $__timeFilter(wo.created_at)
                """,
            )
            .unit("percent")
            .decimals(1)
            .min(0)
            .max(100)
            .thresholds(steps(BAD, (90, WARN), (95, GOOD)))
        )
        .with_panel(
            _stat(
                "Backlog",
                "Orders created in the range and still open (new to on hold, or reopened).",
                f"""
                SELECT count(*) AS "open" FROM work_orders wo
                WHERE wo.status IN {OPEN_STATES_SQL} AND $__timeFilter(wo.created_at)
                """,
            )
            .unit("none")
            .decimals(0)
            .thresholds(steps(GOOD, (10, WARN), (25, BAD)))
        )
        .with_panel(
            _stat(
                "Backlog age",
                "Mean age of those open orders.",
                f"""
                SELECT avg(EXTRACT(EPOCH FROM (now() - wo.created_at))) AS "age"
                FROM work_orders wo
                WHERE wo.status IN {OPEN_STATES_SQL} AND $__timeFilter(wo.created_at)
                """,
            )
            .unit("s")
            .thresholds(steps(GOOD, (24 * _HOUR, WARN), (72 * _HOUR, BAD)))
        )
        .with_panel(
            _stat(
                "Rating",
                "Mean 1-5 rating given by requesters after verification.",
                """
                SELECT avg(wo.rating) AS "rating" FROM work_orders wo
                WHERE wo.rating IS NOT NULL AND $__timeFilter(wo.created_at)
                """,
            )
            .unit("none")
            .decimals(2)
            .min(1)
            .max(5)
            .thresholds(steps(BAD, (3, WARN), (4, GOOD)))
        )
        .with_row(gd.Row("Sources, trends and reliability"))
        .with_panel(
            piechart.Panel()
            .title("Automatic vs manual")
            .description("Orders raised by rules against those raised by people and API clients.")
            .datasource(postgres())
            .with_target(
                Sql(
                    """
                    SELECT CASE WHEN wo.source = 'rule' THEN 'automatic' ELSE 'manual' END
                    AS "origin", count(*) AS "orders"
                    FROM work_orders wo WHERE $__timeFilter(wo.created_at)
                    GROUP BY 1 ORDER BY 1
                    """
                )
            )
            .pie_type(PieChartType.PIE)
            .thresholds(steps(INFO))
            .reduce_options(gc.ReduceDataOptions().values(True).calcs([]).fields("/^orders$/"))
            .unit("none")
            .color_scheme(palette())
            .override_by_name(
                "automatic",
                [gm.DynamicConfigValue("color", {"mode": "fixed", "fixedColor": INFO})],
            )
            .override_by_name(
                "manual",
                [gm.DynamicConfigValue("color", {"mode": "fixed", "fixedColor": "purple"})],
            )
            .span(6)
            .height(8)
        )
        .with_panel(
            timeseries.Panel()
            .title("Orders per week")
            .datasource(postgres())
            .with_target(
                Sql(
                    """
                    SELECT date_trunc('week', wo.created_at) AS "time",
                    count(*) AS "created", count(wo.resolved_at) AS "resolved"
                    FROM work_orders wo WHERE $__timeFilter(wo.created_at)
                    GROUP BY 1 ORDER BY 1
                    """
                ).time_series()
            )
            .unit("none")
            .decimals(0)
            .min(0)
            .draw_style(cm.GraphDrawStyle.BARS)
            .fill_opacity(70)
            .color_scheme(palette())
            .thresholds(steps(GOOD))
            .span(9)
            .height(8)
        )
        .with_panel(
            timeseries.Panel()
            .title("MTTR per week")
            .datasource(postgres())
            .with_target(
                Sql(
                    """
                    SELECT date_trunc('week', wo.created_at) AS "time",
                    avg(EXTRACT(EPOCH FROM (wo.resolved_at - COALESCE(wo.detected_at,
                    wo.created_at)))) AS "MTTR"
                    FROM work_orders wo
                    WHERE wo.resolved_at IS NOT NULL AND $__timeFilter(wo.created_at)
                    GROUP BY 1 ORDER BY 1
                    """
                ).time_series()
            )
            .unit("s")
            .min(0)
            .color_scheme(fixed_colour(WARN))
            .thresholds(steps(GOOD, (24 * _HOUR, BAD)))
            .thresholds_style(
                gc.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED)
            )
            .span(9)
            .height(8)
        )
        .with_panel(
            bargauge.Panel()
            .title("MTBF per asset")
            .description(
                "Mean time from a repair to the next fault on the asset (two or more episodes)."
            )
            .datasource(postgres())
            .with_target(
                Sql(
                    """
                    SELECT episodes.asset AS "asset", avg(episodes.gap) AS "MTBF" FROM (
                    SELECT a.code AS asset,
                    EXTRACT(EPOCH FROM (COALESCE(wo.detected_at, wo.created_at)
                    - lag(wo.resolved_at) OVER (PARTITION BY a.code
                    ORDER BY COALESCE(wo.detected_at, wo.created_at)))) AS gap
                    FROM work_orders wo JOIN assets a ON a.id = wo.asset_id
                    WHERE wo.source = 'rule' AND $__timeFilter(wo.created_at)) episodes
                    WHERE episodes.gap > 0
                    GROUP BY episodes.asset ORDER BY 2 LIMIT 20
                    """
                )
            )
            .reduce_options(gc.ReduceDataOptions().values(True).calcs([]).fields("/^MTBF$/"))
            .display_mode(cm.BarGaugeDisplayMode.BASIC)
            .orientation(cm.VizOrientation.HORIZONTAL)
            .unit("s")
            .min(0)
            .color_scheme(by_threshold())
            .thresholds(steps(BAD, (7 * 24 * _HOUR, WARN), (30 * 24 * _HOUR, GOOD)))
            .span(12)
            .height(8)
        )
        .with_panel(
            bargauge.Panel()
            .title("Orders by status")
            .datasource(postgres())
            .with_target(
                Sql(
                    """
                    SELECT wo.status AS "status", count(*) AS "orders"
                    FROM work_orders wo WHERE $__timeFilter(wo.created_at)
                    GROUP BY 1 ORDER BY 2 DESC
                    """
                )
            )
            .reduce_options(gc.ReduceDataOptions().values(True).calcs([]).fields("/^orders$/"))
            .display_mode(cm.BarGaugeDisplayMode.BASIC)
            .orientation(cm.VizOrientation.HORIZONTAL)
            .unit("none")
            .decimals(0)
            .min(0)
            .color_scheme(fixed_colour(INFO))
            .thresholds(steps(INFO))
            .span(12)
            .height(8)
        )
    )
