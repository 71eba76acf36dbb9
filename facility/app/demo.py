"""``facility demo``: the whole stack on the embedded default, with a simulated office."""

from __future__ import annotations

import logging
import secrets
import shutil
import signal
import threading
from types import FrameType

from rich.console import Console

from facility.app.demo_bacnet import BacnetDemo
from facility.app.demo_seed import seed_demo_data
from facility.app.stack import Stack, StackOptions
from facility.core.errors import ConfigError
from facility.core.settings import Settings
from gateway.broker import EmbeddedBroker, free_port, port_open
from maintenance.assets.register import ensure_asset, ensure_site, link_device
from maintenance.people.users import create_user
from maintenance.shared.vocabulary import Role
from rules import DEMO_RULES
from simulators.runner import Simulator
from simulators.scenario import Scenario, load_scenario

__all__ = ["pick_api_port", "run_demo"]

log = logging.getLogger(__name__)

DEMO_USERS = (Role.ADMIN, Role.MANAGER, Role.TECH, Role.REQUESTER)


def pick_api_port(host: str, preferred: int) -> int:
    """``preferred`` if free, else the next free port above it."""
    for port in range(preferred, min(preferred + 100, 65536)):
        if not port_open(host, port):
            return port
    return free_port(host)


def seed(stack: Stack, scenario: Scenario, password: str) -> None:
    """One user per role, and the scenario's site, assets and devices."""
    with stack.sessions() as session:
        for role in DEMO_USERS:
            create_user(session, username=role.value, password=password, role=role)
        site = ensure_site(session, code=scenario.site, name=f"Demo site {scenario.site}")
        for spec in scenario.devices:
            asset = ensure_asset(
                session,
                code=spec.asset,
                asset_type=spec.asset_type,
                site=site,
                location=spec.location,
            )
            link_device(session, device=spec.id, asset=asset, kind=spec.model)
        session.commit()


def run_demo(
    settings: Settings,
    *,
    scenario_name: str = "office",
    speed: float = 1.0,
    seed_value: int = 42,
    console: Console | None = None,
    stop: threading.Event | None = None,
    field_protocol: str = "mqtt",
) -> None:
    """Run until Ctrl-C (or ``stop``), then shut every part down cleanly.

    ``field_protocol="bacnet"`` serves the scenario's air handlers as simulated BACnet/IP devices on
    loopback ports, read by the BACnet connector (ReadPropertyMultiple and COV), while the other
    devices still publish MQTT: the same work order follows, through the field-bus path.
    """
    if field_protocol not in ("mqtt", "bacnet"):
        raise ConfigError(f"--protocol {field_protocol!r}: choose mqtt or bacnet")
    console = console or Console(stderr=True)
    stop = stop or threading.Event()
    scenario = load_scenario(scenario_name)
    bacnet: BacnetDemo | None = None
    mqtt_scenario = scenario
    if field_protocol == "bacnet":
        bacnet = BacnetDemo(scenario, seed=seed_value, speed=speed)
        mqtt_scenario = bacnet.rest
    demo_dir = settings.data_dir / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)  # a demo always starts from a clean slate
    settings = settings.model_copy(update={"data_dir": demo_dir, "database_url": None})
    console.print(
        f"[green]✓[/] demo data in {demo_dir.resolve()} (wiped at every start; "
        "`facility serve` keeps its own)"
    )

    broker: EmbeddedBroker | None = None
    broker_url = settings.mqtt_url
    protocol: str = settings.mqtt_protocol
    if broker_url is None:
        broker = EmbeddedBroker.best().start()
        broker_url, protocol = broker.url, broker.protocol
        kind = "mosquitto" if broker.protocol == "5" else "amqtt (in-process, MQTT 3.1.1)"
        console.print(f"[green]✓[/] embedded MQTT broker ({kind}) at {broker_url}")

    api_port = pick_api_port(settings.api_host, settings.api_port)
    if api_port != settings.api_port:
        console.print(f"[yellow]![/] port {settings.api_port} is busy; using {api_port}")

    password = (
        settings.demo_password.get_secret_value()
        if settings.demo_password
        else secrets.token_urlsafe(9)
    )
    stack = Stack(
        settings,
        StackOptions(
            broker_url=broker_url,
            protocol=protocol,
            rules_file=settings.rules_file or DEMO_RULES,
            api_host=settings.api_host,
            api_port=api_port,
        ),
    )
    simulator_thread: threading.Thread | None = None
    previous_handlers = _install_signal_handlers(stop)
    try:
        seed(stack, scenario, password)
        seed_demo_data(stack.sessions, scenario=scenario)  # assets, PM, stock, suppliers
        stack.start()
        if bacnet is not None:
            bacnet.start(stack.gateway.submit, stop)
            for line in bacnet.describe():
                console.print(f"[green]✓[/] {line}")
        simulator = Simulator(mqtt_scenario, seed=seed_value)
        simulator_thread = threading.Thread(
            target=simulator.run,
            kwargs={"broker_url": broker_url, "speed": speed, "stop": stop, "protocol": protocol},
            name="simulator",
            daemon=True,
        )
        simulator_thread.start()
        console.print(f"[green]✓[/] console   {stack.api_url}/console/")
        console.print(f"[green]✓[/] API docs  {stack.api_url}/docs")
        console.print(f"[green]✓[/] metrics   {stack.api_url}/metrics")
        users = ", ".join(r.value for r in DEMO_USERS)
        shown = "(FACILITY_DEMO_PASSWORD)" if settings.demo_password else password
        console.print(f"[green]✓[/] users {users}; password: [bold]{shown}[/]")
        console.print(
            f"[cyan]…[/] simulating scenario '{scenario.name}' ({len(scenario.devices)} devices); "
            "the AHU's cooling fails at 10 s and a work order follows within a minute."
        )
        console.print("Press Ctrl-C to stop.")
        stop.wait()
    finally:
        console.print("stopping…")
        stop.set()
        if simulator_thread is not None:
            simulator_thread.join(timeout=10)
        if bacnet is not None:
            bacnet.stop()
        stack.stop()
        if broker is not None:
            broker.stop()
        _restore_signal_handlers(previous_handlers)
        console.print("[green]✓[/] stopped")


def _install_signal_handlers(stop: threading.Event) -> dict[int, object]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, object] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_signal_handlers(previous: dict[int, object]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]
