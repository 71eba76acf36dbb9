"""Rules evaluation cost per reading with 10, 1,000 and 10,000 rules loaded.

All rules watch the same metric (``temperature``), the worst case for a metric-only index; each
unrelated rule selects its own device by exact name, as rules generated per sensor do. A constant
few rules match the benchmark's devices (one exact-name rule per device and two glob rules), so
the work per reading is the same in every run and only the number of loaded rules grows.

Target: t(10,000) / t(10) <= 1.5. Prints a table, then one JSON object as the last line.

Run: .venv/bin/python benchmarks/bench_rules.py [--readings N] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta

from facility.core.types import Reading
from rules import RuleEngine, RuleFile, parse_rules

DEVICES = [f"bench-{i}" for i in range(4)]


def rules_text(count: int) -> str:
    """``count`` rules: two globs and one exact rule per bench device match; the rest do not."""
    lines = ["rules:"]
    matching = [
        '  - {name: glob-hot, kind: threshold, select: {device: "bench-*", metric: temperature},'
        " above: 30, clear_below: 28, for: 60s}",
        '  - {name: glob-rate, kind: rate, select: {device: "bench-*", metric: temperature},'
        " rise: 5, window: 10m}",
    ]
    matching += [
        f"  - {{name: exact-{d}, kind: threshold, select: {{device: {d}, metric: temperature}},"
        " below: 5}"
        for d in DEVICES
    ]
    lines += matching
    for i in range(max(0, count - len(matching))):
        lines.append(
            f"  - {{name: other-{i}, kind: threshold, "
            f"select: {{device: room-{i}, metric: temperature}}, above: 27, for: 5m}}"
        )
    return "\n".join(lines) + "\n"


def readings(count: int) -> list[Reading]:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    return [
        Reading(
            DEVICES[i % len(DEVICES)],
            "temperature",
            20.0 + (i % 17) * 0.7,
            "degC",
            start + timedelta(seconds=i),
        )
        for i in range(count)
    ]


def run_once(rule_file: RuleFile, batch: list[Reading]) -> float:
    """Seconds per reading through a fresh engine (batches of 100, as the gateway hands them)."""
    engine = RuleEngine(rule_file)
    began = time.perf_counter()
    for start in range(0, len(batch), 100):
        engine.process(batch[start : start + 100])
    return (time.perf_counter() - began) / len(batch)


def measure(counts: tuple[int, ...], batch: list[Reading], repeats: int) -> dict[int, float]:
    """Best of ``repeats`` per rule count, interleaving the counts so that load from other
    processes on the machine hits every count alike."""
    files = {count: parse_rules(rules_text(count)) for count in counts}
    best = dict.fromkeys(counts, float("inf"))
    for _ in range(repeats):
        for count in counts:
            best[count] = min(best[count], run_once(files[count], batch))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    batch = readings(args.readings)
    results = measure((10, 1_000, 10_000), batch, args.repeats)
    print(f"{'rules':>8} {'readings/s':>12} {'us/reading':>11}")
    for count, per_reading in results.items():
        print(f"{count:>8} {1 / per_reading:>12,.0f} {per_reading * 1e6:>11.2f}")
    ratio = results[10_000] / results[10]
    print(f"ratio t(10000)/t(10) = {ratio:.2f} (target <= 1.5)")
    print(
        json.dumps(
            {
                "benchmark": "rules",
                "readings": args.readings,
                "readings_per_s": {str(k): round(1 / v) for k, v in results.items()},
                "ratio_10000_over_10": round(ratio, 3),
                "target": 1.5,
                "ok": ratio <= 1.5,
            }
        )
    )


if __name__ == "__main__":
    main()
