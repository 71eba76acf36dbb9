"""Grafana dashboards as code: definitions, JSON build, and publishing through grafana-client.

Readings panels speak InfluxQL to InfluxDB (or, built with ``readings="metricsql"``, MetricsQL
to VictoriaMetrics through a Prometheus data source), work-order panels SQL to PostgreSQL; all
through data sources with the fixed UIDs that ``deploy/grafana/provisioning`` provisions.
"""

from dashboards._build import (
    DASHBOARDS,
    build_dashboards,
    dashboard_json,
    iter_panels,
    iter_targets,
    write_dashboards,
)
from dashboards._datasources import DATASOURCES, INFLUX, POSTGRES, VICTORIA, DataSource
from dashboards._panels import READINGS, BuildOptions, Readings
from dashboards._publish import GrafanaAuth, PublishResult, folder_uid, publish_dashboards

__all__ = [
    "DASHBOARDS",
    "DATASOURCES",
    "INFLUX",
    "POSTGRES",
    "READINGS",
    "VICTORIA",
    "BuildOptions",
    "DataSource",
    "GrafanaAuth",
    "PublishResult",
    "Readings",
    "build_dashboards",
    "dashboard_json",
    "folder_uid",
    "iter_panels",
    "iter_targets",
    "publish_dashboards",
    "write_dashboards",
]
