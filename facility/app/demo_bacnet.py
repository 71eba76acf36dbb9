"""The BACnet half of ``facility demo --protocol bacnet``: simulated devices and the connector.

The scenario's air handlers are served as :class:`~simulators.bacnet_server.LoopbackBacnetDevice`
objects (stepped by :class:`~simulators.bacnet_server.BacnetSimulation`), and a
:class:`~gateway.connectors.bacnet.BacnetConnector` reads every object of theirs, with COV, into
the stack's gateway, exactly as ``facility serve`` would read a real controller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from facility.core.errors import ConfigError
from facility.core.types import Presence, Reading
from simulators.fieldbus import split_scenario
from simulators.scenario import Scenario

__all__ = ["BacnetDemo"]

_SERVED_MODELS = ("air_handler", "scheduled_air_handler")


class BacnetDemo:
    """Which devices go over BACnet (``served``) and which stay on MQTT (``rest``)."""

    def __init__(self, scenario: Scenario, *, seed: int, speed: float) -> None:
        from simulators.bacnet_server import BacnetSimulation

        served = [d.id for d in scenario.devices if d.model in _SERVED_MODELS]
        if not served:
            raise ConfigError(
                f"scenario {scenario.name!r} has no air handler to serve over BACnet; "
                "use --protocol mqtt or a scenario with an air_handler device"
            )
        self.simulation = BacnetSimulation(scenario, device_ids=served, seed=seed)
        _, rest = split_scenario(scenario, served)
        if rest is None:
            raise ConfigError(
                f"scenario {scenario.name!r} has only air handlers; --protocol bacnet needs "
                "other devices for MQTT too (or use facility simulate --protocol bacnet)"
            )
        self.rest = rest
        self.speed = speed
        self.connector: Any = None
        self._thread: threading.Thread | None = None

    def start(
        self, emit: Callable[[str, Sequence[Reading | Presence]], None], stop: threading.Event
    ) -> None:
        from gateway.connectors import parse_connectors
        from gateway.connectors.bacnet import BacnetConnector

        self.simulation.start()
        poll_s = max(0.5, self.simulation.scenario.interval.total_seconds() / self.speed)
        config = parse_connectors(
            self.simulation.connectors(poll_s=poll_s), source="demo BACnet config"
        )
        self.connector = BacnetConnector(config.bacnet, emit=emit).start()
        self._thread = threading.Thread(
            target=self.simulation.run,
            kwargs={"speed": self.speed, "stop": stop},
            name="bacnet-simulation",
            daemon=True,
        )
        self._thread.start()

    def describe(self) -> list[str]:
        return [f"{line}, read by the connector" for line in self.simulation.describe()]

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.connector is not None:
            self.connector.stop()
        self.simulation.stop()
