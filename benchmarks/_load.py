"""Background load in a process of its own: ``python -m benchmarks._load --port P --rate R``.

Drives the campus scenario at an aggregate rate of readings per second (converted to messages
per second from the campus's readings per message) for a number of seconds, so that the process
under test does not share its interpreter with the load generator.
"""

from __future__ import annotations

import argparse
import threading

from simulators.runner import Simulator
from simulators.scenario import load_scenario

#: Readings per message of the campus scenario in the native format (measured; see _common).
READINGS_PER_MESSAGE = 2.43


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--readings-per-s", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--site", default="campus")
    args = parser.parse_args()
    rate = args.readings_per_s / READINGS_PER_MESSAGE
    simulator = Simulator(load_scenario("campus"), seed=7)
    stop = threading.Event()
    simulator.run(
        f"mqtt://127.0.0.1:{args.port}",
        rate=rate,
        max_messages=int(rate * args.seconds),
        stop=stop,
        announce=False,
    )
    print(f"load: {simulator.stats.published} messages at {simulator.stats.rate:.0f} msg/s")


if __name__ == "__main__":
    main()
