"""Panel targets for the query languages our dashboards speak: InfluxQL, MetricsQL and SQL.

The Grafana Foundation SDK ships builders for Prometheus, Loki and friends but none for the
InfluxDB and PostgreSQL data sources, so these are the SDK's documented extension point: a
``Dataquery`` that serialises itself the way Grafana's own query editors save raw-mode queries,
and a builder for it. Both carry their data-source reference, so a test can check that every
target points at a provisioned data source. MetricsQL goes through the SDK's own Prometheus
query builder (:func:`metricsql`), pointed at the provisioned VictoriaMetrics data source.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.prometheus import QueryEditorMode

from dashboards._datasources import INFLUX, POSTGRES, VICTORIA, DataSource

__all__ = ["InfluxQL", "InfluxQLQuery", "Sql", "SqlQuery", "metricsql"]


class InfluxQLQuery(cogvariants.Dataquery):
    """A raw InfluxQL query as Grafana's InfluxDB editor stores it (``rawQuery: true``)."""

    def __init__(
        self,
        query: str,
        *,
        datasource: DataSource,
        ref_id: str = "A",
        alias: str | None = None,
        result_format: Literal["time_series", "table"] = "time_series",
    ) -> None:
        self.query = query
        self.datasource = datasource
        self.ref_id = ref_id
        self.alias = alias
        self.result_format = result_format

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "refId": self.ref_id,
            "datasource": self.datasource.ref(),
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.result_format,
        }
        if self.alias is not None:
            payload["alias"] = self.alias
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            str(data["query"]),
            datasource=INFLUX,
            ref_id=str(data.get("refId", "A")),
            alias=data.get("alias"),
            result_format=data.get("resultFormat", "time_series"),
        )


class SqlQuery(cogvariants.Dataquery):
    """A raw SQL query as Grafana's PostgreSQL editor stores it in code mode."""

    def __init__(
        self,
        sql: str,
        *,
        datasource: DataSource,
        ref_id: str = "A",
        fmt: Literal["time_series", "table"] = "table",
    ) -> None:
        self.sql = sql
        self.datasource = datasource
        self.ref_id = ref_id
        self.fmt = fmt

    def to_json(self) -> dict[str, object]:
        return {
            "refId": self.ref_id,
            "datasource": self.datasource.ref(),
            "rawSql": self.sql,
            "format": self.fmt,
            "rawQuery": True,
            "editorMode": "code",
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            str(data["rawSql"]),
            datasource=POSTGRES,
            ref_id=str(data.get("refId", "A")),
            fmt=data.get("format", "table"),
        )


class InfluxQL(cogbuilder.Builder[InfluxQLQuery]):
    """Builder of an :class:`InfluxQLQuery` against the provisioned InfluxDB data source."""

    def __init__(self, query: str) -> None:
        self._internal = InfluxQLQuery(_squash(query), datasource=INFLUX)

    def build(self) -> InfluxQLQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def alias(self, alias: str) -> Self:
        """Series name pattern, e.g. ``$tag_asset`` (Grafana's InfluxDB alias syntax)."""
        self._internal.alias = alias
        return self

    def table(self) -> Self:
        self._internal.result_format = "table"
        return self


class Sql(cogbuilder.Builder[SqlQuery]):
    """Builder of a :class:`SqlQuery` against the provisioned PostgreSQL data source."""

    def __init__(self, sql: str) -> None:
        self._internal = SqlQuery(_squash(sql), datasource=POSTGRES)

    def build(self) -> SqlQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def time_series(self) -> Self:
        self._internal.fmt = "time_series"
        return self


def metricsql(
    expr: str,
    legend: str,
    *,
    instant: bool = False,
    interval: str | None = None,
    ref_id: str = "A",
) -> prometheus.Dataquery:
    """A MetricsQL query on the VictoriaMetrics data source, in code mode.

    ``instant`` for single-value panels (one value at the end of the range), else a range
    query; ``interval`` is the minimum step (``1h`` for hourly bars), ``legend`` Grafana's
    ``{{label}}`` series name.
    """
    query = (
        prometheus.Dataquery()
        .expr(_squash(expr))
        .legend_format(legend)
        .ref_id(ref_id)
        .editor_mode(QueryEditorMode.CODE)
        .datasource(VICTORIA.sdk_ref())
    )
    query = query.instant() if instant else query.range()
    if interval is not None:
        query = query.interval(interval)
    return query


def _squash(text: str) -> str:
    """One line per clause, no indentation: readable in Grafana's editor, stable in diffs."""
    return "\n".join(line.strip() for line in text.strip().splitlines() if line.strip())
