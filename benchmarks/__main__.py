"""Run every benchmark, save each one's figures to results/<name>.json, and draw the chart.

Usage::

    python -m benchmarks                 # all bench_*.py modules, then results/benchmarks.png
    python -m benchmarks ingest latency  # only these
    python -m benchmarks --plot-only     # redraw the chart from the saved results

Each module runs in a process of its own (so one benchmark's memory and threads never colour
the next), its output is shown as it comes, and its last line, one JSON object, is saved with
the machine it ran on. The exit code is 1 when any benchmark failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TIMEOUT_S = 600


def modules() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def machine() -> dict[str, Any]:
    return {
        "cpu_cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }


def run(name: str) -> dict[str, Any] | None:
    """Run one benchmark module; return its JSON figures (None when it failed)."""
    print(f"\n== {name} " + "=" * (60 - len(name)), flush=True)
    context = machine()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", f"benchmarks.bench_{name}"],
        cwd=HERE.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    last = ""
    for line in proc.stdout:
        print(line, end="", flush=True)
        if line.strip():
            last = line.strip()
    try:
        code = proc.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = -9
    if code != 0:
        print(f"!! {name} failed (exit {code})", flush=True)
        return None
    try:
        figures: dict[str, Any] = json.loads(last)
    except json.JSONDecodeError:
        print(f"!! {name}: last line is not JSON: {last[:200]!r}", flush=True)
        return None
    record = {
        "figures": figures,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - started, 1),
        "machine": context,
        "command": f"python -m benchmarks.bench_{name}",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return figures


def load_results() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(RESULTS.glob("*.json")):
        try:
            found[path.stem] = json.loads(path.read_text(encoding="utf-8"))["figures"]
        except (OSError, ValueError, KeyError):
            continue
    return found


def plot(results: dict[str, dict[str, Any]]) -> Path | None:
    """One PNG with a panel per benchmark that has results (for the README)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'); no chart drawn")
        return None
    panels = [
        name for name in ("ingest", "latency", "memory", "scale_out", "rules") if name in results
    ]
    if not panels:
        return None
    columns = min(3, len(panels))
    rows = (len(panels) + columns - 1) // columns
    fig, grid = plt.subplots(rows, columns, figsize=(4.0 * columns, 3.4 * rows), squeeze=False)
    axes = [ax for row in grid for ax in row]
    for spare in axes[len(panels) :]:
        spare.set_visible(False)
    for ax, name in zip(axes, panels, strict=False):
        r = results[name]
        if name == "ingest":
            ax.bar(
                ["bare paho", "gateway"],
                [r["bare_readings_per_s"], r["gateway_readings_per_s"]],
                color=["#999999", "#1f77b4"],
            )
            ax.set_title(f"Ingest (ratio {r['ratio_vs_bare']:.2f})")
            ax.set_ylabel("readings/s")
        elif name == "latency":
            ax.bar(["p50", "p99"], [r["p50_ms"], r["p99_ms"]], color="#1f77b4")
            ax.axhline(r.get("target_p99_ms", 250), color="red", linestyle="--", label="p99 target")
            ax.set_title(f"Reading → work order\n@{r['background_readings_per_s']:,} readings/s")
            ax.set_ylabel("ms")
            ax.set_yscale("log")
            ax.legend(fontsize=7)
        elif name == "memory":
            ax.bar(
                ["start", f"{r['devices']:,} devices"],
                [r["rss_start_mb"], r["rss_mb"]],
                color=["#999999", "#1f77b4"],
            )
            ax.axhline(r.get("target_rss_mb", 200), color="red", linestyle="--", label="target")
            ax.set_title("Gateway worker RSS")
            ax.set_ylabel("MB")
            ax.legend(fontsize=7)
        elif name == "scale_out":
            ax.bar(
                ["1 worker", "2 workers"],
                [r["one_worker_readings_per_s"], r["two_workers_readings_per_s"]],
                color=["#999999", "#1f77b4"],
            )
            ax.set_title(f"Shared subscription (x{r['ratio']:.2f})\n{r['cpu_cores']} cores")
            ax.set_ylabel("readings/s")
        elif name == "rules":
            counts = list(r["readings_per_s"])
            ax.bar(counts, [r["readings_per_s"][c] for c in counts], color="#1f77b4")
            ax.set_title("Rules engine")
            ax.set_xlabel("rules loaded")
            ax.set_ylabel("readings/s")
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "benchmarks.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Facility benchmarks.")
    parser.add_argument("names", nargs="*", help=f"any of: {', '.join(modules())}")
    parser.add_argument("--plot-only", action="store_true", help="only redraw the chart")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(modules()))
    if unknown:
        parser.error(
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(modules())}"
        )
    failed: list[str] = []
    if not args.plot_only:
        for name in args.names or modules():
            if run(name) is None:
                failed.append(name)
    results = load_results()
    chart = plot(results)
    print()
    for name, figures in results.items():
        print(f"{name}: {json.dumps(figures, sort_keys=True)}")
    if chart is not None:
        print(f"chart: {chart.relative_to(HERE.parent)}")
    print(json.dumps({"results": results, "failed": failed}, sort_keys=True))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
