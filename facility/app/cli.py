"""The ``facility`` command: one sub-app per folder, mounted here.

Data (JSON Lines) goes to stdout; progress and messages to stderr. A :class:`FacilityError`
becomes ``error: <message>`` on one line and exit 1; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import logging
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from facility.core.errors import FacilityError
from facility.core.settings import Settings, load_settings
from gateway.connectors.cli import modbus_app

__all__ = ["app", "main"]

err = Console(stderr=True)


# -- lazy sub-apps -----------------------------------------------------------------------------
# The maintenance, console and dashboards sub-apps pull in FastAPI, SQLAlchemy models, pint,
# matplotlib...: ~1.5 s before ``facility --help`` could print. Each is imported when its name
# is invoked; ``--help`` lists them from the one-line help below (tests/unit/test_cli_startup.py
# checks that none of those modules is imported by ``import facility.app.cli``).
def _assets_app() -> typer.Typer:
    from console.cli import app as assets_app  # lazy for start-up
    from maintenance.assets.cli import register_asset_commands  # lazy for start-up
    from maintenance.insights.asset_cli import register_replacement_command  # lazy for start-up

    register_asset_commands(assets_app)
    register_replacement_command(assets_app)
    return assets_app


def _suppliers_app() -> typer.Typer:
    from maintenance.insights.cli import register_scorecard_commands  # lazy for start-up
    from maintenance.suppliers.cli import suppliers_app  # lazy for start-up

    register_scorecard_commands(suppliers_app)
    return suppliers_app


def _attr(module: str, name: str) -> Any:
    import importlib  # lazy for start-up

    return getattr(importlib.import_module(module), name)


#: name -> (what builds the sub-app, its one-line help for ``facility --help``)
_LAZY_APPS: dict[str, tuple[Any, str]] = {
    "dashboards": (
        lambda: _attr("dashboards.cli", "app"),
        "Grafana dashboards as code: build and publish.",
    ),
    "assets": (
        _assets_app,
        "Assets: the register (import, export, replacement plan) and QR stickers for reports.",
    ),
    "pm": (
        lambda: _attr("maintenance.pm.cli", "pm_app"),
        "Preventive maintenance: forecast and scheduler.",
    ),
    "stock": (
        lambda: _attr("maintenance.inventory.cli", "stock_app"),
        "Spare parts and supplies: stock reports.",
    ),
    "suppliers": (_suppliers_app, "Suppliers and contractors: scorecards, expiring certificates."),
    "report": (
        lambda: _attr("maintenance.review.cli", "report_app"),
        "Service reviews: the monthly PDCA report.",
    ),
    "sites": (lambda: _attr("maintenance.sites.cli", "sites_app"), "Sites and their time zones."),
    "devices": (
        lambda: _attr("maintenance.assets.devices_cli", "devices_app"),
        "Devices: list them, admit quarantined ones to an asset.",
    ),
    "bacnet": (
        lambda: _attr("gateway.connectors.cli", "bacnet_app"),
        "BACnet/IP: discover devices and draft a connector config.",
    ),
    "readings": (
        lambda: _attr("gateway.trends.cli", "readings_app"),
        "Readings: convert and import BMS trend-log CSV files.",
    ),
    "bridge": (
        lambda: _attr("gateway.bridge.cli", "bridge_app"),
        "Edge bridge: poll field-bus connectors and publish to a central MQTT broker.",
    ),
    "actions": (
        lambda: _attr("maintenance.review.actions_cli", "actions_app"),
        "Improvement actions from the monthly review: record, list, close, reopen.",
    ),
    "surveys": (
        lambda: _attr("maintenance.review.actions_cli", "surveys_app"),
        "Requester satisfaction surveys: create, list, read the results.",
    ),
}
_LOADED: dict[str, Any] = {}


class _LazyGroup(TyperGroup):
    """The root group: the sub-apps of ``_LAZY_APPS`` are built when first invoked."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in _LAZY_APPS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in _LAZY_APPS:
            return command
        build, short_help = _LAZY_APPS[cmd_name]
        if self._listing:  # the root --help: a stand-in with the help text, nothing imported
            return TyperGroup(name=cmd_name, help=short_help)
        if cmd_name not in _LOADED:  # mounted as add_typer would have: no completion options
            holder = typer.Typer(add_completion=False)
            holder.add_typer(build(), name=cmd_name)
            group = typer.main.get_command(holder)
            assert isinstance(group, TyperGroup)
            _LOADED[cmd_name] = group.commands[cmd_name]
        return _LOADED[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="facility",
    help="Facility: IoT monitoring that turns abnormal behaviour into maintenance work orders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=_LazyGroup,
)
gateway_app = typer.Typer(help="The MQTT gateway: decode payloads.", no_args_is_help=True)
rules_app = typer.Typer(help="Rules: validate and replay.", no_args_is_help=True)
db_app = typer.Typer(help="The work-order database.", no_args_is_help=True)
users_app = typer.Typer(help="API users and roles.", no_args_is_help=True)
config_app = typer.Typer(help="Effective settings.", no_args_is_help=True)
app.add_typer(gateway_app, name="gateway")
app.add_typer(rules_app, name="rules")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(config_app, name="config")
app.add_typer(modbus_app, name="modbus")

_state: dict[str, Any] = {"debug": False}


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    log_level: Annotated[str, typer.Option(help="Log level for stderr.")] = "WARNING",
) -> None:
    _state["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else getattr(logging, log_level.upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _settings() -> Settings:
    return load_settings()


# -- demo / serve ----------------------------------------------------------------------------
@app.command()
def demo(
    scenario: Annotated[str, typer.Option(help="Shipped scenario name or YAML file.")] = "office",
    speed: Annotated[float, typer.Option(min=0.1, max=1000, help="Simulated-time speed-up.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed of the simulators.")] = 42,
    protocol: Annotated[
        str, typer.Option(help="mqtt, or bacnet: the AHU served as a BACnet/IP device.")
    ] = "mqtt",
) -> None:
    """Run everything on the embedded default: broker, gateway, rules, API + console, simulators.

    Example: facility demo   (then open the printed console URL)
    """
    from facility.app.demo import run_demo

    logging.getLogger().setLevel(logging.WARNING)
    run_demo(
        _settings(),
        scenario_name=scenario,
        speed=speed,
        seed_value=seed,
        console=err,
        field_protocol=protocol,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="API host (FACILITY_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="API port.")] = None,
) -> None:
    """Production entry point: gateway, rules, maintenance and the API against configured services.

    Example: FACILITY_MQTT_URL=mqtt://broker:1883 facility serve --port 8000
    """
    from facility.app.stack import Stack, StackOptions

    settings = _settings()
    broker_url = settings.mqtt_url or "mqtt://127.0.0.1:1883"
    stack = Stack(
        settings,
        StackOptions(
            broker_url=broker_url,
            protocol=settings.mqtt_protocol,
            api_host=host or settings.api_host,
            api_port=port or settings.api_port,
            client_id=settings.mqtt_client_id,
            share_group=settings.mqtt_share_group,
            topics=settings.mqtt_topics,
        ),
    )
    stop = threading.Event()
    from facility.app.demo import _install_signal_handlers

    _install_signal_handlers(stop)
    try:
        stack.start()
    except FacilityError:
        stack.stop()
        raise
    err.print(f"[green]✓[/] serving {stack.api_url} (broker {broker_url}); Ctrl-C stops")
    try:
        stop.wait()
    finally:
        stack.stop()


# -- simulate --------------------------------------------------------------------------------
@app.command()
def simulate(
    scenario: Annotated[str, typer.Option(help="Shipped scenario name or YAML file.")] = "office",
    speed: Annotated[float, typer.Option(min=0.01, max=100000)] = 1.0,
    seed: Annotated[int, typer.Option()] = 0,
    broker: Annotated[str | None, typer.Option(help="Broker URL (FACILITY_MQTT_URL).")] = None,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many simulated seconds.")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="native|zigbee2mqtt|tasmota|shelly|esphome (all devices)."),
    ] = None,
    rate: Annotated[
        float | None, typer.Option(help="Aggregate messages/s (instead of --speed).")
    ] = None,
    devices: Annotated[
        int | None, typer.Option(help="Only the scenario's first N devices.")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Stop after N intervals.")] = None,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="Write {topic, payload} lines to stdout, no broker.")
    ] = False,
    expected: Annotated[
        bool, typer.Option("--expected", help="Print the scenario's expected alerts and exit.")
    ] = False,
    qos: Annotated[int, typer.Option(help="MQTT QoS of the readings: 0, 1 or 2.")] = 1,
    field_protocol: Annotated[
        str,
        typer.Option(
            "--protocol",
            help="mqtt, or serve the devices on loopback as bacnet (BACnet/IP) or modbus (TCP).",
        ),
    ] = "mqtt",
) -> None:
    """Publish a scenario's simulated devices to an MQTT broker, with a live rate display.

    With --protocol bacnet|modbus the devices are served as field-bus devices on 127.0.0.1 and
    a connectors file that reads them is written to stdout.

    Example: facility simulate --scenario campus --rate 5000 --broker mqtt://127.0.0.1:1883
    """
    from simulators.command import simulate as run_simulation

    if field_protocol != "mqtt":
        from simulators.command import serve_fieldbus

        serve_fieldbus(
            protocol=field_protocol,
            scenario_name=scenario,
            console=err,
            out=sys.stdout.buffer,
            stop=threading.Event(),
            speed=speed,
            seed=seed,
            devices=devices,
            duration_s=duration,
        )
        return
    settings = _settings()
    run_simulation(
        scenario_name=scenario,
        broker_url=broker or settings.mqtt_url or "mqtt://127.0.0.1:1883",
        console=err,
        out=sys.stdout.buffer,
        stop=threading.Event(),
        speed=speed,
        seed=seed,
        duration_s=duration,
        fmt=fmt,
        rate=rate,
        devices=devices,
        steps=steps,
        jsonl=jsonl,
        expected=expected,
        qos=qos,
        protocol=settings.mqtt_protocol,
    )


# -- gateway ---------------------------------------------------------------------------------
def _jsonl(obj: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj) + b"\n")


@gateway_app.command("decode")
def gateway_decode(
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="auto|native|zigbee2mqtt|tasmota|shelly|esphome|homeassistant"
        ),
    ] = "auto",
) -> None:
    """Decode JSON Lines {"topic", "payload"} from stdin into readings, presence or rejections.

    Example: echo '{"topic": "facility/hq/t1/temperature", "payload": "21.5"}' \\
             | facility gateway decode
    """
    from facility.core.types import Reading
    from gateway import codecs

    if fmt != "auto" and fmt not in codecs.CODECS:
        raise FacilityError(
            f"unknown --format {fmt!r}; choose auto or one of {', '.join(codecs.CODECS)}"
        )
    for line_number, line in enumerate(sys.stdin.buffer, start=1):
        if not line.strip():
            continue
        topic: Any = ""
        try:
            record = orjson.loads(line)
            if not isinstance(record, dict):
                raise TypeError("line is not a JSON object")
            topic, payload = record.get("topic"), record.get("payload")
            if not isinstance(topic, str) or not isinstance(payload, str):
                raise TypeError('needs string fields "topic" and "payload"')
        except (orjson.JSONDecodeError, TypeError) as exc:
            _jsonl(
                {
                    "kind": "rejected",
                    "topic": topic if isinstance(topic, str) else "",
                    "reason": "bad_input_line",
                    "detail": f"line {line_number}: {exc}"[:200],
                }
            )
            continue
        try:
            results = codecs.decode(topic, payload.encode("utf-8", "surrogatepass"), fmt=fmt)
        except FacilityError as exc:
            reason = getattr(exc, "reason", "rejected")
            _jsonl({"kind": "rejected", "topic": topic, "reason": reason, "detail": str(exc)[:300]})
            continue
        for item in results:
            if isinstance(item, Reading):
                _jsonl(
                    {
                        "kind": "reading",
                        "device": item.device,
                        "metric": item.metric,
                        "value": item.value,
                        "unit": item.unit,
                        "ts": item.ts.isoformat(),
                    }
                )
            else:
                _jsonl(
                    {
                        "kind": "presence",
                        "device": item.device,
                        "online": item.online,
                        "ts": item.ts.isoformat(),
                    }
                )
    sys.stdout.flush()


# -- rules -----------------------------------------------------------------------------------
@rules_app.command("check")
def rules_check(
    file: Annotated[Path, typer.Argument(help="Rules YAML file.")],
    points: Annotated[
        Path | None,
        typer.Option(
            help="Points file (one metric per line, or YAML mapping each asset to its metrics): "
            "say which rules each asset can run and which points the others miss."
        ),
    ] = None,
) -> None:
    """Validate a rules file; every error names the rule, the field and the line. Exit 1 on error.

    Example: facility rules check rules/library/ahu-g36.yaml --points ahu-1-points.txt
    """
    from rules.loader import check_rules

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FacilityError(f"cannot read {file}: {exc}") from exc
    parsed, errors = check_rules(text)
    for error in errors:
        err.print(f"[red]error[/]: {file}: {error}", highlight=False)
    if errors or parsed is None:
        raise typer.Exit(1)
    err.print(f"[green]✓[/] {file}: {len(parsed.rules)} rules OK")
    if points is not None:
        _print_coverage(parsed, points)


def _print_coverage(parsed: Any, points: Path) -> None:
    """Per asset of the points file: the rules it can run, and what the others miss."""
    from rules.coverage import coverage, parse_points

    try:
        text = points.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FacilityError(f"cannot read {points}: {exc}") from exc
    for found in coverage(parsed, parse_points(text)):
        total = len(found.runs) + len(found.skips)
        print(f"{found.asset}: {len(found.runs)} of {total} rules can run")
        for name in found.runs:
            print(f"  runs   {name}")
        for name, missing in found.skips.items():
            print(f"  skips  {name} (needs {', '.join(missing)})")


@rules_app.command("replay")
def rules_replay(
    rules: Annotated[Path, typer.Option("--rules", help="Rules YAML file.")],
    readings: Annotated[
        str, typer.Option("--readings", help="Decode-output JSON Lines file, or - for stdin.")
    ] = "-",
    start: Annotated[
        str | None,
        typer.Option("--from", help="Replay the configured reading store from this time."),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="... up to this time (ISO 8601 or epoch s).")
    ] = None,
    device: Annotated[str | None, typer.Option(help="With --from/--to: only this device.")] = None,
    include_suppressed: Annotated[
        bool, typer.Option(help="Also print alerts held back by maintenance windows/flapping.")
    ] = False,
    tick: Annotated[
        str, typer.Option(help="Simulated-clock step for heartbeat/stale rules (e.g. 10s, 1m).")
    ] = "10s",
    registry: Annotated[
        Path | None,
        typer.Option(help="Device registry YAML: assets, types and locations for selectors."),
    ] = None,
) -> None:
    """Run the live engine over recorded readings in timestamp order; print alerts as JSON Lines.

    The clock is the readings' own timestamps (ticked at every event), so a month replays in
    seconds. With --from/--to the readings come from the configured store instead of a file.

    Example: facility gateway decode < capture.jsonl | facility rules replay --rules office.yaml
    """
    from collections.abc import Iterator

    from facility.core.types import AlertState, Presence, Reading
    from rules.engine import RuleEngine
    from rules.loader import load_rules
    from rules.model import parse_duration
    from rules.replay import replay

    try:
        tick_s = parse_duration(tick).total_seconds()
    except ValueError as exc:
        raise FacilityError(f"--tick {tick!r}: {exc}") from exc
    if tick_s < 0.001:
        raise FacilityError(f"--tick {tick!r} must be at least 1ms, e.g. --tick 10s")
    engine = RuleEngine(
        load_rules(rules), asset_of=_registry_assets(registry) if registry else None
    )
    events: Iterator[Reading | Presence]
    skipped = 0
    if start is not None or end is not None:
        events = _stored_readings(_parse_when(start, "--from"), _parse_when(end, "--to"), device)
    else:
        source = sys.stdin.buffer if readings == "-" else _open(Path(readings))
        loaded: list[Reading | Presence] = []
        for line in source:
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                ts = datetime.fromisoformat(record["ts"])
                if record["kind"] == "reading":
                    loaded.append(
                        Reading(
                            device=record["device"],
                            metric=record["metric"],
                            value=record["value"],
                            unit=record.get("unit", ""),
                            ts=ts,
                        )
                    )
                elif record["kind"] == "presence":
                    loaded.append(
                        Presence(device=record["device"], online=bool(record["online"]), ts=ts)
                    )
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                skipped += 1
        loaded.sort(key=lambda e: e.ts)
        events = iter(loaded)
    held = 0
    for alert in replay(engine, events, tick_s=tick_s):
        if alert.state is AlertState.SUPPRESSED:
            held += 1
            if not include_suppressed:
                continue
        _jsonl(
            {
                "rule": alert.rule,
                "device": alert.device,
                "asset": alert.asset,
                "state": alert.state.value,
                "severity": alert.severity.value,
                "ts": alert.ts.isoformat(),
                "value": alert.value,
                "message": alert.message,
                **({"reason": alert.reason} if alert.reason else {}),
            }
        )
    if skipped:
        err.print(f"[yellow]skipped {skipped} lines that are not readings or presence[/]")
    if held and not include_suppressed:
        err.print(
            f"[yellow]{held} alerts suppressed (maintenance/flapping); "
            "--include-suppressed lists them[/]"
        )


@rules_app.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of the rules file format (for editors and CI validation).

    Example: facility rules schema > rules.schema.json
    """
    from rules.model import RuleFile

    sys.stdout.write(orjson.dumps(RuleFile.json_schema(), option=orjson.OPT_INDENT_2).decode())
    sys.stdout.write("\n")


def _registry_assets(path: Path) -> Any:
    """An asset resolver for replay from a device registry file (as the live stack uses)."""
    from gateway.registry import load_registry

    found = load_registry(path)

    def resolve(device: str) -> dict[str, str] | None:
        asset = found.resolve(device).asset
        if asset is None:
            return None
        where = asset.location
        return {
            "asset": asset.code,
            "asset_type": asset.asset_type,
            "site": where.site or "",
            "building": where.building or "",
            "floor": where.floor or "",
            "zone": where.zone or "",
        }

    return resolve


def _parse_when(value: str | None, option: str) -> datetime | None:
    """ISO 8601 or epoch seconds → aware datetime (naive = UTC); FacilityError naming the option."""
    from facility.core.types import utc

    if value is None:
        return None
    text = value.strip()
    try:
        if text.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), UTC)
        return utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError, OSError) as exc:
        raise FacilityError(
            f"{option} {value!r} is not a time; give ISO 8601 (2026-01-05T08:00:00Z) "
            "or epoch seconds"
        ) from exc


def _stored_readings(start: datetime | None, end: datetime | None, device: str | None) -> Any:
    """Readings from the configured SQL reading store, page by page, in timestamp order."""
    from gateway.stores import open_reading_store

    if start is not None and end is not None and end <= start:
        raise FacilityError(f"--to {end.isoformat()} must be after --from {start.isoformat()}")
    settings = _settings()
    store = open_reading_store(settings)
    cursor: str | None = None
    try:
        while True:
            page = store.query(
                device=device, metric=None, start=start, end=end, limit=5000, cursor=cursor
            )
            yield from page.items
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    finally:
        store.close()


def _open(path: Path) -> Any:
    try:
        return path.open("rb")
    except OSError as exc:
        raise FacilityError(f"cannot read {path}: {exc}") from exc


# -- db, users, config -----------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations to head on FACILITY_DATABASE_URL (or the SQLite default).

    Example: FACILITY_DATABASE_URL=postgresql://facility@db/facility facility db upgrade
    """
    from maintenance.shared.db import connect, upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine, _ = connect(settings.effective_database_url())
    with err.status("migrating…"):
        tables = upgrade(engine)
    err.print(f"[green]✓[/] database at head ({len(tables)} tables)")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help="admin | manager | tech | requester")],
    team: Annotated[str | None, typer.Option(help="Team (technicians).")] = None,
    skill: Annotated[
        list[str] | None, typer.Option(help="Asset type this technician handles; repeatable.")
    ] = None,
    email: Annotated[str | None, typer.Option(help="Address for notifications.")] = None,
) -> None:
    """Add an API user. The password is read from stdin when it is not a terminal.

    Example: echo 's3cret-pass' | facility users add alice --role tech --team hvac --skill ahu
    """
    from maintenance.people.users import create_user
    from maintenance.shared.db import connect, upgrade
    from maintenance.shared.vocabulary import Role

    try:
        role_value = Role(role)
    except ValueError:
        raise FacilityError(
            f"role {role!r} is not one of: {', '.join(r.value for r in Role)}"
        ) from None
    if sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline(1024).rstrip("\r\n")
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine, sessions = connect(settings.effective_database_url())
    upgrade(engine)
    with sessions() as session:
        create_user(
            session,
            username=name,
            password=password,
            role=role_value,
            team=team,
            skills=skill or [],
            email=email,
        )
    err.print(f"[green]✓[/] user {name!r} added with role {role_value.value}")


@users_app.command("set")
def users_set(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str | None, typer.Option(help="New role: admin | manager | tech | ...")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Allow or stop signing in.")
    ] = None,
) -> None:
    """Change a user's role or stop them signing in; their sign-ins end at once.

    Example: facility users set alice --inactive
    """
    from maintenance.people.users import update_user
    from maintenance.shared.db import connect, upgrade
    from maintenance.shared.vocabulary import Role

    if role is None and active is None:
        raise FacilityError("nothing to change: give --role, --active or --inactive")
    try:
        role_value = Role(role) if role is not None else None
    except ValueError:
        raise FacilityError(
            f"role {role!r} is not one of: {', '.join(r.value for r in Role)}"
        ) from None
    settings = _settings()
    engine, sessions = connect(settings.effective_database_url())
    upgrade(engine)
    with sessions() as session:
        user = update_user(session, username=name, role=role_value, active=active)
        state = "active" if user.active else "inactive"
        err.print(f"[green]✓[/] user {name!r}: {user.role.value}, {state}; earlier sign-ins ended")


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings as JSON, secrets masked.

    Example: FACILITY_API_PORT=9000 facility config show
    """
    sys.stdout.buffer.write(orjson.dumps(_settings().masked(), option=orjson.OPT_INDENT_2) + b"\n")


def main() -> None:
    """Console-script entry point: one red line for our errors, the traceback with --debug."""
    try:
        result = app(standalone_mode=False)
        if isinstance(result, int) and result:
            sys.exit(result)  # click returns the code of typer.Exit in non-standalone mode
    except FacilityError as exc:
        if _state["debug"]:
            raise
        # the message may quote user input ("[/]", "[bold]"): print it as text, not markup
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        # typer >= 0.20 vendors click: its usage errors are not click.ClickException instances
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise


if __name__ == "__main__":
    main()
