"""``facility readings convert|import`` end to end: a real store, a pipe into the rules replay,
and a million-row trend log streamed in bounded memory."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from gateway.stores.sql import SqlReadingStore, make_engine

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
TREND = EXAMPLES / "trend-ahu1.csv"
MAP = EXAMPLES / "trend-ahu1.map.yaml"


def _facility(
    *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "facility.app.cli", *args],
        input=stdin,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


def test_convert_piped_into_rules_replay_finds_the_fault_in_the_trend_log(tmp_path: Path) -> None:
    converted = _facility("readings", "convert", str(TREND), "--map", str(MAP))
    assert converted.returncode == 0, converted.stderr.decode()
    assert b"20 rows read, 98 readings written, 0 rows and 1 cells rejected" in converted.stderr
    assert b"line 12, column 'AHU-1 SA-T (\xc2\xb0F)': wrong_type" in converted.stderr
    replayed = _facility(
        "rules",
        "replay",
        "--rules",
        str(EXAMPLES / "trend-ahu1.rules.yaml"),
        "--registry",
        str(EXAMPLES / "trend-ahu1.registry.yaml"),
        stdin=converted.stdout,
    )
    assert replayed.returncode == 0, replayed.stderr.decode()
    alerts = [orjson.loads(line) for line in replayed.stdout.splitlines()]
    # 95 °F from 02:30 EST (07:30 UTC, after the clocks went back) held for 30 min
    assert [(a["rule"], a["asset"], a["state"], a["ts"]) for a in alerts] == [
        ("ahu-supply-air-too-warm", "AHU-1", "firing", "2026-11-01T08:00:00+00:00")
    ]
    assert alerts[0]["value"] == pytest.approx(35.0)


def test_import_writes_the_readings_once_even_when_run_twice(
    database_url: str, tmp_path: Path
) -> None:
    env = {"FACILITY_DATABASE_URL": database_url, "FACILITY_DATA_DIR": str(tmp_path)}
    rejects = tmp_path / "rejects.jsonl"
    for _ in range(2):
        done = _facility(
            "readings",
            "import",
            str(TREND),
            "--map",
            str(MAP),
            "--rejects",
            str(rejects),
            "--batch",
            "7",
            env=env,
        )
        assert done.returncode == 0, done.stderr.decode()
        assert b"98 readings written" in done.stderr
    store = SqlReadingStore(make_engine(database_url))
    try:
        assert store.count() == 98
        page = store.query(
            device="ahu-1",
            metric="duct_static_pressure",
            start=None,
            end=None,
            limit=1,
            cursor=None,
        )
    finally:
        store.close()
    assert page.total == 20
    assert page.items[0].value == pytest.approx(1.5 * 249.08891)
    assert page.items[0].unit == "Pa"
    assert page.items[0].ts == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    (reject,) = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert reject == {
        "line": 12,
        "column": "AHU-1 SA-T (°F)",
        "reason": "wrong_type",
        "detail": "'#ERR' is not a number",
        "value": "#ERR",
    }


def test_strict_import_writes_nothing_when_anything_is_rejected(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'readings.db'}"
    done = _facility(
        "readings",
        "import",
        str(TREND),
        "--map",
        str(MAP),
        "--strict",
        env={"FACILITY_DATABASE_URL": url},
    )
    assert done.returncode == 1
    assert b"none written: --strict" in done.stderr
    store = SqlReadingStore(make_engine(url))
    try:
        assert store.count() == 0
    finally:
        store.close()


def test_a_bad_map_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "map.yaml"
    bad.write_text("timestamp: {columns: Time, timezone: Europe/Atlantis}\ncolumns: {}\n")
    done = _facility("readings", "convert", str(TREND), "--map", str(bad))
    assert done.returncode == 1
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "timestamp.timezone" in lines[0] and "IANA" in lines[0]
    missing = _facility("readings", "convert", str(tmp_path / "nope.csv"), "--map", str(MAP))
    assert missing.returncode != 0
    assert done.stdout == b"" and missing.stdout == b""


def _write_trend(path: Path, rows: int) -> None:
    start = datetime(2024, 1, 1)  # 1M minutes: to November 2025
    step = timedelta(minutes=1)
    with path.open("w", encoding="utf-8") as out:
        out.write("Time,SAT,FAN\n")
        chunk: list[str] = []
        for i in range(rows):
            chunk.append(
                f"{(start + step * i).isoformat(' ')},{50 + i % 20},{'ON' if i % 7 else 'OFF'}\n"
            )
            if len(chunk) == 10_000:
                out.writelines(chunk)
                chunk.clear()
        out.writelines(chunk)


_PEAK = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "'PEAK_KB %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
    "from facility.app.cli import main\n"
    "sys.argv = ['facility', 'readings', 'convert', sys.argv[1], '--map', sys.argv[2]]\n"
    "main()\n"
)


def _peak_kb(trend: Path, mapping: Path) -> tuple[int, bytes]:
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(trend), str(mapping)],
        stdout=subprocess.DEVNULL,  # 2M JSON lines (~260 MB): counted in the summary instead
        stderr=subprocess.PIPE,
        timeout=900,
        check=True,
    )
    (line,) = [x for x in done.stderr.splitlines() if x.startswith(b"PEAK_KB")]
    return int(line.split()[1]), done.stderr


@pytest.mark.timeout(900)
def test_a_million_row_trend_log_streams_in_memory_independent_of_its_length(
    tmp_path: Path,
) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "timestamp: {columns: Time, format: iso, timezone: UTC}\n"
        "device: ahu-1\n"
        "columns:\n"
        "  SAT: {metric: supply_air_temperature, unit: degF}\n"
        "  FAN: {metric: supply_fan_status, value: bool}\n"
    )
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    _write_trend(small, 10_000)
    _write_trend(big, 1_000_000)
    small_kb, _ = _peak_kb(small, mapping)
    big_kb, stderr = _peak_kb(big, mapping)
    assert b"1000000 rows read, 2000000 readings written" in stderr  # nothing lost on the way
    # a 1M-row file (26 MB) costs at most a few MB more than a 10k-row one: one row at a time
    print(f"peak RSS: {small_kb} KiB for 10k rows, {big_kb} KiB for 1M rows")
    assert big_kb - small_kb < 16 * 1024, f"peak RSS {small_kb} KiB (10k rows) → {big_kb} KiB (1M)"
