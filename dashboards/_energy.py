"""Energy: where the kilowatt-hours go, when the peaks are, and what burns at night.

Consumption comes from the cumulative ``energy`` counter (kWh) of the meters, as differences of
its last value per hour; peaks from ``power`` (W). InfluxQL has no hour-of-day function, so
night-time consumption is shown as the night-time base load (the lowest hourly mean power of
each day, which in an office falls at night) rather than a 22:00-06:00 sum.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as gc
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.models import common as cm

from dashboards._panels import (
    BAD,
    GOOD,
    INFO,
    SERIES,
    WARN,
    BuildOptions,
    by_threshold,
    facility_links,
    fixed_colour,
    mean_per_asset,
    mean_per_asset_metricsql,
    palette,
    readings,
    readings_source,
    readings_variable,
    steps,
)
from dashboards._queries import InfluxQL, metricsql

__all__ = ["UID", "build"]

UID = "facility-energy"

_WEEK_KWH = """
SELECT sum("kwh") AS "{name}" FROM (
SELECT spread("value") AS "kwh" FROM "readings"
WHERE "metric" = 'energy' AND "site" =~ /^$site$/ AND {time}
GROUP BY "device")
"""
_ENERGY = f'{SERIES}{{metric="energy",site=~"$site"}}'
_POWER = f'{SERIES}{{metric="power",site=~"$site"}}'


def build(options: BuildOptions) -> gd.Dashboard:
    return (
        gd.Dashboard("Energy")
        .uid(UID)
        .tags(["facility", "generated", "energy"])
        .description("kWh per site, zone and hour; peak power; night-time base load; week on week.")
        .time("now-7d", "now")
        .refresh("5m")
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
        .with_row(gd.Row("Consumption"))
        .with_panel(
            timeseries.Panel()
            .title("kWh per site and zone, hourly")
            .datasource(readings_source(options))
            .with_target(
                readings(
                    options,
                    InfluxQL(
                        """
                    SELECT non_negative_difference(last("value")) FROM "readings"
                    WHERE "metric" = 'energy' AND "site" =~ /^$site$/ AND $timeFilter
                    GROUP BY time(1h), "site", "asset" fill(none)
                    """
                    ).alias("$tag_site / $tag_asset"),
                    metricsql(
                        f"sum by (site, asset) (increase({_ENERGY}[1h]))",
                        "{{site}} / {{asset}}",
                        interval="1h",
                    ),
                )
            )
            .unit("kwatth")
            .decimals(1)
            .min(0)
            .draw_style(cm.GraphDrawStyle.BARS)
            .fill_opacity(80)
            .stacking(gc.StackingConfig().mode(cm.StackingMode.NORMAL))
            .color_scheme(palette())
            .thresholds(steps(GOOD))
            .span(24)
            .height(8)
        )
        .with_panel(
            stat.Panel()
            .title("This week vs last week")
            .description("kWh over the last 7 days and the 7 days before.")
            .datasource(readings_source(options))
            .with_target(
                readings(
                    options,
                    InfluxQL(_WEEK_KWH.format(name="this week", time="time > now() - 7d")).ref_id(
                        "A"
                    ),
                    metricsql(
                        f"sum(increase({_ENERGY}[7d]))", "this week", instant=True, ref_id="A"
                    ),
                )
            )
            .with_target(
                readings(
                    options,
                    InfluxQL(
                        _WEEK_KWH.format(
                            name="last week", time="time > now() - 14d AND time <= now() - 7d"
                        )
                    ).ref_id("B"),
                    metricsql(
                        f"sum(increase({_ENERGY}[7d] offset 7d))",
                        "last week",
                        instant=True,
                        ref_id="B",
                    ),
                )
            )
            .reduce_options(gc.ReduceDataOptions().calcs(["lastNotNull"]))
            .unit("kwatth")
            .decimals(0)
            .color_scheme(fixed_colour(INFO))
            .thresholds(steps(INFO))
            .text_mode(cm.BigValueTextMode.VALUE_AND_NAME)
            .graph_mode(cm.BigValueGraphMode.NONE)
            .span(8)
            .height(6)
        )
        .with_panel(
            timeseries.Panel()
            .title("kWh per day")
            .datasource(readings_source(options))
            .with_target(
                readings(
                    options,
                    InfluxQL(
                        """
                    SELECT sum("kwh") FROM (
                    SELECT non_negative_difference(last("value")) AS "kwh" FROM "readings"
                    WHERE "metric" = 'energy' AND "site" =~ /^$site$/ AND $timeFilter
                    GROUP BY time(1h), "device" fill(none))
                    WHERE $timeFilter
                    GROUP BY time(1d) fill(none)
                    """
                    ).alias("kWh"),
                    metricsql(f"sum(increase({_ENERGY}[1d]))", "kWh", interval="1d"),
                )
            )
            .unit("kwatth")
            .decimals(0)
            .min(0)
            .draw_style(cm.GraphDrawStyle.BARS)
            .fill_opacity(80)
            .color_scheme(fixed_colour(INFO))
            .thresholds(steps(INFO))
            .span(16)
            .height(6)
        )
        .with_row(gd.Row("Power"))
        .with_panel(
            stat.Panel()
            .title("Peak power")
            .description("Highest power reading per meter in the time range.")
            .datasource(readings_source(options))
            .with_target(
                readings(
                    options,
                    InfluxQL(
                        """
                    SELECT max("value") FROM "readings"
                    WHERE "metric" = 'power' AND "site" =~ /^$site$/ AND $timeFilter
                    GROUP BY "asset"
                    """
                    ).alias("$tag_asset"),
                    metricsql(
                        f"max by (asset) (max_over_time({_POWER}[$__range]))",
                        "{{asset}}",
                        instant=True,
                    ),
                )
            )
            .reduce_options(gc.ReduceDataOptions().calcs(["max"]))
            .unit("watt")
            .decimals(0)
            .color_scheme(by_threshold())
            .thresholds(steps(GOOD, (25_000, WARN), (40_000, BAD)))
            .text_mode(cm.BigValueTextMode.VALUE_AND_NAME)
            .graph_mode(cm.BigValueGraphMode.NONE)
            .span(6)
            .height(8)
        )
        .with_panel(
            timeseries.Panel()
            .title("Power")
            .datasource(readings_source(options))
            .with_target(
                readings(options, mean_per_asset("power"), mean_per_asset_metricsql("power"))
            )
            .unit("watt")
            .min(0)
            .color_scheme(palette())
            .thresholds(steps(GOOD, (25_000, WARN), (40_000, BAD)))
            .thresholds_style(
                gc.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED)
            )
            .span(9)
            .height(8)
        )
        .with_panel(
            timeseries.Panel()
            .title("Night-time base load")
            .description(
                "Lowest hourly mean power of each day: what the building draws when empty."
            )
            .datasource(readings_source(options))
            .with_target(
                readings(
                    options,
                    InfluxQL(
                        """
                    SELECT min("hourly") FROM (
                    SELECT mean("value") AS "hourly" FROM "readings"
                    WHERE "metric" = 'power' AND "site" =~ /^$site$/ AND $timeFilter
                    GROUP BY time(1h), "asset" fill(none))
                    WHERE $timeFilter
                    GROUP BY time(1d), "asset" fill(none)
                    """
                    ).alias("$tag_asset"),
                    metricsql(
                        f"""
                        min_over_time((
                        sum by (asset) (sum_over_time({_POWER}[1h]))
                        / sum by (asset) (count_over_time({_POWER}[1h]))
                        )[1d:1h])
                        """,
                        "{{asset}}",
                        interval="1d",
                    ),
                )
            )
            .unit("watt")
            .min(0)
            .draw_style(cm.GraphDrawStyle.BARS)
            .fill_opacity(60)
            .color_scheme(by_threshold())
            .thresholds(steps(GOOD, (10_000, WARN), (15_000, BAD)))
            .span(9)
            .height(8)
        )
    )
