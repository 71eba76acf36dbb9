"""The Grafana data sources every dashboard refers to, by fixed UID.

Panels name a data source by ``{"type", "uid"}``. The UIDs here are the ones
``deploy/grafana/provisioning/datasources/facility.yaml`` provisions, so a dashboard works the
moment Grafana starts, with no "data source not found" and no import-time mapping; a unit test
keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from grafana_foundation_sdk.models.dashboard import DataSourceRef

__all__ = ["DATASOURCES", "INFLUX", "POSTGRES", "VICTORIA", "DataSource"]


@dataclass(frozen=True, slots=True)
class DataSource:
    """A provisioned Grafana data source: plugin type, stable UID and display name."""

    type: str
    uid: str
    name: str

    def ref(self) -> dict[str, object]:
        return {"type": self.type, "uid": self.uid}

    def sdk_ref(self) -> DataSourceRef:
        return DataSourceRef(type_val=self.type, uid=self.uid)


#: Readings, queried in InfluxQL (InfluxDB 2 answers InfluxQL through its bucket's DBRP mapping).
INFLUX = DataSource(type="influxdb", uid="facility-influxdb", name="Facility readings (InfluxDB)")
#: Work orders, assets and device state, through a read-only PostgreSQL role.
POSTGRES = DataSource(
    type="grafana-postgresql-datasource",
    uid="facility-postgres",
    name="Facility work orders (PostgreSQL)",
)

#: Readings, queried in MetricsQL through Grafana's Prometheus data source; only the
#: ``--readings metricsql`` variant of the dashboards uses it (``readings_value{...}`` series, as
#: ``gateway/stores/victoria.py`` writes them).
VICTORIA = DataSource(
    type="prometheus",
    uid="facility-victoriametrics",
    name="Facility readings (VictoriaMetrics)",
)

DATASOURCES: tuple[DataSource, ...] = (INFLUX, POSTGRES, VICTORIA)
