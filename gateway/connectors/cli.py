"""``facility modbus ...``: field-bus commands. pymodbus loads inside the command, not here."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from gateway.connectors.config import Function
from gateway.connectors.probe import ORDERS, PROBED_TYPES, decodings, parse_range

__all__ = ["bacnet_app", "modbus_app"]

modbus_app = typer.Typer(help="Modbus TCP: probe a device's registers.", no_args_is_help=True)


@modbus_app.command("probe")
def probe(
    host: Annotated[str, typer.Argument(help="Device or serial gateway address.")],
    registers: Annotated[str, typer.Option("--registers", help="Range A-B, inclusive.")],
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 502,
    unit: Annotated[int, typer.Option("--unit", help="Unit (slave) id.")] = 1,
    function: Annotated[
        str, typer.Option("--function", help="holding (FC3) or input (FC4).")
    ] = "holding",
    timeout_s: Annotated[float, typer.Option("--timeout", help="Seconds per request.")] = 3.0,
) -> None:
    """Read registers once and show each address decoded in every type and byte/word order.

    Find the decoding of a point from a value you know (the meter shows 230.1 V: look for
    230.1). A rich table goes to stderr, one JSON line per address to stdout. Read-only.

    Example: facility modbus probe 10.0.0.5 --unit 3 --registers 3000-3011 --function input
    """
    from gateway.connectors.probe import read_registers

    if function not in ("holding", "input"):
        raise typer.BadParameter("choose holding or input", param_hint="--function")
    start, count = parse_range(registers)
    words = asyncio.run(
        read_registers(host, port, unit, Function(function), start, count, timeout_s)
    )
    rows = decodings(words, start)
    table = Table(title=f"{host}:{port} unit {unit} {function} {registers}")
    table.add_column("address", justify="right")
    table.add_column("type")
    for _, _, name in ORDERS:
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(str(row["address"]), "raw", row["hex"], row["bits"], repr(row["text"]), "")
        for data_type in PROBED_TYPES:
            values = row.get(str(data_type))
            if values:
                shown = [f"{v:.6g}" if isinstance(v, float) else str(v) for v in values.values()]
                if len(shown) == 2:  # 16-bit: AB, BA
                    shown = [shown[0], "", shown[1], ""]
                table.add_row("", str(data_type), *shown)
        typer.echo(orjson.dumps(row).decode())
    Console(stderr=True).print(table)


bacnet_app = typer.Typer(
    help="BACnet/IP: discover devices and draft a config.", no_args_is_help=True
)


@bacnet_app.command("discover")
def bacnet_discover(
    address: Annotated[
        list[str] | None,
        typer.Option(
            "--address", help="HOST, HOST:PORT or CIDR; repeat for several. Default: broadcast."
        ),
    ] = None,
    port: Annotated[int, typer.Option("--port", help="UDP port of the devices.")] = 47808,
    timeout_s: Annotated[
        float, typer.Option("--timeout", min=0.1, max=60, help="Seconds to wait for answers.")
    ] = 3.0,
    bind: Annotated[
        str, typer.Option("--bind", help="Local address[:port] to send from.")
    ] = "0.0.0.0:0",
    output: Annotated[
        Path | None, typer.Option("--output", help="Write a draft connectors.yaml here.")
    ] = None,
    bbmd: Annotated[
        str | None,
        typer.Option("--bbmd", help="Register as a foreign device with this BBMD (HOST[:PORT])."),
    ] = None,
) -> None:
    """List BACnet devices and their objects (name, type, units, description); read-only.

    A rich table goes to stderr and one JSON line per object to stdout; ``--output`` writes a
    draft ``connectors:`` file to edit and load with FACILITY_CONNECTORS_FILE.

    Example: facility bacnet discover --address 10.0.4.0/24 --output connectors.yaml
    """
    from gateway.connectors.bacnet_discover import discover, draft_config

    foreign = None
    if bbmd is not None:
        from gateway.connectors.config import BacnetForeign

        try:
            foreign = (BacnetForeign(bbmd=bbmd).bbmd, 300)
        except ValidationError as exc:
            message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            raise typer.BadParameter(message, param_hint="--bbmd") from None
    devices = asyncio.run(
        discover(address or [], port=port, timeout_s=timeout_s, bind=bind, foreign=foreign)
    )
    console = Console(stderr=True)
    for device in devices:
        table = Table(title=f"device {device.instance} {device.name!r} at {device.address}")
        for column in ("object", "name", "units", "description"):
            table.add_column(column)
        for obj in device.objects:
            table.add_row(f"{obj.type},{obj.instance}", obj.name, obj.units, obj.description)
            line = {"device": device.instance, "address": device.address, **asdict(obj)}
            typer.echo(orjson.dumps(line).decode())
        console.print(table)
    if output is not None:
        output.write_text(draft_config(devices), encoding="utf-8")
        console.print(
            f"[green]✓[/] wrote {output} ({len(devices)} devices); "
            "edit it, then point FACILITY_CONNECTORS_FILE at it"
        )
