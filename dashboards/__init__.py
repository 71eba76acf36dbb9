"""Grafana dashboards as code: definitions, JSON build, and publishing through grafana-client.

Readings panels speak InfluxQL to InfluxDB, work-order panels SQL to PostgreSQL; both through
data sources with the fixed UIDs that ``deploy/grafana/provisioning`` provisions.
"""

from dashboards._build import (
    DASHBOARDS,
    build_dashboards,
    dashboard_json,
    iter_panels,
    iter_targets,
    write_dashboards,
)
from dashboards._datasources import DATASOURCES, INFLUX, POSTGRES, DataSource
from dashboards._panels import BuildOptions
from dashboards._publish import GrafanaAuth, PublishResult, folder_uid, publish_dashboards

__all__ = [
    "DASHBOARDS",
    "DATASOURCES",
    "INFLUX",
    "POSTGRES",
    "BuildOptions",
    "DataSource",
    "GrafanaAuth",
    "PublishResult",
    "build_dashboards",
    "dashboard_json",
    "folder_uid",
    "iter_panels",
    "iter_targets",
    "publish_dashboards",
    "write_dashboards",
]
