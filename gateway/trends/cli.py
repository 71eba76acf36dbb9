"""``facility readings convert|import``: BMS trend-log CSV files to readings.

``convert`` writes the decode output format (one JSON line per reading) to stdout, so it pipes
into ``facility rules replay``; ``import`` writes the same readings into the configured reading
store in batches. Both report rejects (line, column, why) on stderr or into ``--rejects FILE``
and end with a one-line summary; ``--strict`` turns any reject into exit 1 (``import --strict``
checks the whole file first and then writes nothing if anything was rejected).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from facility.core.errors import ConfigError, ServiceUnavailable, Unavailable
from facility.core.types import Reading
from gateway.trends.convert import TrendReject, TrendStats, read_trend
from gateway.trends.mapping import TrendMap, load_trend_map

__all__ = ["readings_app"]

readings_app = typer.Typer(
    help="Readings: convert and import BMS trend-log CSV files.", no_args_is_help=True
)

#: rejects shown on stderr when no --rejects file takes them all
_SHOWN_REJECTS = 20

TrendArg = Annotated[
    Path, typer.Argument(help="The BMS trend-log CSV file.", dir_okay=False, show_default=False)
]
MapOpt = Annotated[Path, typer.Option("--map", help="The trend map (YAML), see docs/trends.md.")]
RejectsOpt = Annotated[
    Path | None,
    typer.Option("--rejects", help="Write every reject as a JSON line here instead of stderr."),
]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Exit 1 if any row or cell is rejected.")]


class _Rejects:
    """Where rejects go: all into a JSON Lines file, or the first few onto stderr."""

    def __init__(self, err: Console, path: Path | None) -> None:
        self.err = err
        self.count = 0
        self._file: IO[bytes] | None = None
        if path is not None:
            try:
                self._file = path.open("wb")
            except OSError as exc:
                raise ConfigError(
                    f"--rejects {str(path)!r} cannot be written ({exc.strerror})"
                ) from exc

    def add(self, reject: TrendReject) -> None:
        self.count += 1
        if self._file is not None:
            self._file.write(orjson.dumps(reject.as_dict()) + b"\n")
        elif self.count <= _SHOWN_REJECTS:
            column = f", column {reject.column!r}" if reject.column else ""
            self.err.print(
                f"[yellow]rejected[/] line {reject.line}{escape(column)}: {reject.reason} "
                f"({escape(reject.detail)})",
                highlight=False,
                soft_wrap=True,
            )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        elif self.count > _SHOWN_REJECTS:
            self.err.print(
                f"[yellow]… and {self.count - _SHOWN_REJECTS} more rejects; --rejects FILE lists "
                "them all[/]"
            )


def _progress(err: Console, path: Path) -> Progress:
    return Progress(
        TextColumn(f"{escape(path.name)}"),
        BarColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


def _summary(err: Console, stats: TrendStats, written: str) -> None:
    extra = f", {stats.empty_cells} empty cells skipped" if stats.empty_cells else ""
    if stats.ignored_rows:
        extra += f", {stats.ignored_rows} rows of unmapped points ignored"
    colour = "yellow" if stats.rejected else "green"
    err.print(
        f"[{colour}]{stats.rows} rows read, {stats.readings} readings {written}, "
        f"{stats.rows_rejected} rows and {stats.cells_rejected} cells rejected{extra}[/]",
        highlight=False,
    )


def _load(trend: Path, map_path: Path) -> TrendMap:
    if not trend.is_file():
        raise ConfigError(f"{trend} is not a readable file; give the trend-log CSV export")
    return load_trend_map(map_path)


def _stream(
    trend: Path, mapping: TrendMap, stats: TrendStats, progress: Progress
) -> Iterator[Reading | TrendReject]:
    size = max(1, trend.stat().st_size)
    task = progress.add_task("read", total=size)
    yield from read_trend(
        trend, mapping, stats, position=lambda at: progress.update(task, completed=at)
    )


@readings_app.command("convert")
def convert_command(
    trend: TrendArg, map_path: MapOpt, rejects: RejectsOpt = None, strict: StrictOpt = False
) -> None:
    """Stream a trend-log CSV to JSON Lines readings (the decode output format) on stdout.

    Rejected rows and cells (line, column, why) go to stderr or --rejects FILE; the rest flows.

    Example: facility readings convert trend.csv --map trend-map.yaml \\
             | facility rules replay --rules rules/library/ahu-g36.yaml --registry registry.yaml
    """
    err = Console(stderr=True)
    mapping = _load(trend, map_path)
    stats = TrendStats()
    sink = _Rejects(err, rejects)
    out = sys.stdout.buffer
    dumps = orjson.dumps
    try:
        with _progress(err, trend) as progress:
            for item in _stream(trend, mapping, stats, progress):
                if isinstance(item, Reading):
                    out.write(
                        dumps(
                            {
                                "kind": "reading",
                                "device": item.device,
                                "metric": item.metric,
                                "value": item.value,
                                "unit": item.unit,
                                "ts": item.ts.isoformat(),
                            }
                        )
                        + b"\n"
                    )
                else:
                    sink.add(item)
        out.flush()
    except BrokenPipeError:  # the reader (head, a replay that stopped) went away: not an error
        sys.stderr.close()
        return
    finally:
        sink.close()
    _summary(err, stats, "written")
    if strict and stats.rejected:
        raise typer.Exit(1)


@readings_app.command("import")
def import_command(
    trend: TrendArg,
    map_path: MapOpt,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=100_000, help="Readings per write.")
    ] = 5000,
) -> None:
    """Write a trend-log CSV's readings into the configured reading store, in batches.

    The store is the one `facility serve` writes (FACILITY_READING_STORE, FACILITY_INFLUX_URL,
    FACILITY_VICTORIA_URL or the SQL default). A point already stored is not stored twice, so
    an import that stopped can be run again. With --strict the file is checked first and
    nothing is written if any row or cell would be rejected.

    Example: facility readings import trend.csv --map trend-map.yaml --rejects rejects.jsonl
    """
    from facility.core.settings import load_settings
    from gateway.stores import open_reading_store

    err = Console(stderr=True)
    mapping = _load(trend, map_path)
    if strict:
        checked = TrendStats()
        sink = _Rejects(err, rejects)
        try:
            with _progress(err, trend) as progress:
                for item in _stream(trend, mapping, checked, progress):
                    if isinstance(item, TrendReject):
                        sink.add(item)
        finally:
            sink.close()
        if checked.rejected:
            _summary(err, checked, "checked (none written: --strict)")
            raise typer.Exit(1)
    stats = TrendStats()
    sink = _Rejects(err, None if strict else rejects)  # a bad --rejects path fails before the store
    settings = load_settings()
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # the SQLite default lives there
        store = open_reading_store(settings)
    except BaseException:
        sink.close()
        raise
    pending: list[Reading] = []
    written = 0
    try:
        with _progress(err, trend) as progress:
            for item in _stream(trend, mapping, stats, progress):
                if isinstance(item, TrendReject):
                    sink.add(item)
                    continue
                pending.append(item)
                if len(pending) >= batch:
                    _write(store, pending, written)
                    written += len(pending)
                    pending.clear()
            _write(store, pending, written)
            written += len(pending)
    finally:
        sink.close()
        store.close()
    _summary(err, stats, "written")
    if strict and stats.rejected:
        raise typer.Exit(1)


def _write(store: Any, batch: list[Reading], written: int) -> None:
    if not batch:
        return
    try:
        store.write(batch)
    except Unavailable as exc:
        raise ServiceUnavailable(
            f"{exc}; {written} readings were written before this batch; the import can be "
            "run again (points already stored are skipped)"
        ) from exc
