"""``facility bridge``: the standalone edge bridge (docs/connectors.md, "Edge bridge")."""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

__all__ = ["bridge_app"]

# no help= here: the command's docstring below is its --help
bridge_app = typer.Typer(invoke_without_command=True)


@bridge_app.callback(invoke_without_command=True)
def bridge(
    config: Annotated[
        Path, typer.Option("--config", help="The connectors file (the connectors: YAML).")
    ],
    broker: Annotated[
        str, typer.Option("--broker", help="Central broker: mqtt://host:1883 or mqtts://host:8883.")
    ],
    site: Annotated[
        str, typer.Option("--site", help="Site id of the topics facility/<site>/<device>/<metric>.")
    ] = "edge",
    spool: Annotated[
        Path, typer.Option("--spool", help="Directory of the on-disk spool (created if missing).")
    ] = Path("data/bridge-spool"),
    spool_max_mb: Annotated[
        float, typer.Option("--spool-max-mb", min=0.001, max=1_000_000, help="Spool bound, MB.")
    ] = 100.0,
    client_id: Annotated[
        str | None,
        typer.Option("--client-id", help="MQTT client id (keep it fixed: the session is kept)."),
    ] = None,
    username: Annotated[str | None, typer.Option("--username", help="MQTT user name.")] = None,
    password_file: Annotated[
        Path | None,
        typer.Option("--password-file", help="File whose first line is the MQTT password."),
    ] = None,
    ca_file: Annotated[
        Path | None, typer.Option("--ca-file", help="CA that signed the broker (mqtts).")
    ] = None,
    cert_file: Annotated[
        Path | None, typer.Option("--cert-file", help="Client certificate (with --key-file).")
    ] = None,
    key_file: Annotated[Path | None, typer.Option("--key-file", help="Client key.")] = None,
    metrics_port: Annotated[
        int, typer.Option("--metrics-port", min=0, max=65535, help="/metrics port; 0 = off.")
    ] = 0,
    metrics_host: Annotated[str, typer.Option("--metrics-host", help="/metrics address.")] = (
        "127.0.0.1"
    ),
    log_every: Annotated[
        float, typer.Option("--log-every", min=0, help="Seconds between status lines; 0 = off.")
    ] = 60.0,
    reconnect_max_s: Annotated[
        int, typer.Option("--reconnect-max", min=1, max=3600, help="Longest reconnect wait, s.")
    ] = 30,
    drain_s: Annotated[
        float, typer.Option("--drain", min=0, max=600, help="On SIGTERM, seconds to empty spool.")
    ] = 5.0,
) -> None:
    """Poll the connectors of a file and publish every reading to a central broker (QoS 1).

    Readings go to facility/<site>/<device>/<metric> as {"value", "unit", "ts"}; they are
    written to a bounded on-disk spool first and deleted when the broker acknowledges them, so
    a broker or WAN outage loses nothing that fits in the spool (the oldest are dropped first,
    and counted). SIGTERM or Ctrl-C stops polling, drains for --drain seconds and exits 0.

    Example: facility bridge --config plant-room.yaml --broker mqtts://central:8883 \\
             --site plant-a --username bridge-a --password-file /etc/facility/mqtt.pass
    """
    from facility.core.errors import ConfigError
    from gateway.bridge.bridge import Bridge, BridgeOptions
    from gateway.bridge.metrics import serve_metrics
    from gateway.bridge.publisher import BrokerOptions, redact
    from gateway.connectors.config import load_connectors

    err = Console(stderr=True)
    password = None
    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, UnicodeDecodeError, IndexError) as exc:
            raise ConfigError(
                f"--password-file {str(password_file)!r} cannot be read "
                f"({getattr(exc, 'strerror', None) or 'empty or not text'}); "
                "put the password on its first line"
            ) from exc
    if not config.is_file():
        raise ConfigError(
            f"--config {str(config)!r} is not a readable file; give the connectors file"
        )
    connectors = load_connectors(config)
    options = BrokerOptions(
        url=broker,
        client_id=client_id or f"facility-bridge-{site}-{socket.gethostname()}"[:64],
        username=username,
        password=password,
        ca_file=ca_file,
        cert_file=cert_file,
        key_file=key_file,
        reconnect_max_s=reconnect_max_s,
    )
    edge = Bridge(
        connectors,
        options,
        BridgeOptions(
            site=site,
            spool_dir=spool,
            spool_max_bytes=int(spool_max_mb * 1024 * 1024),
            drain_s=drain_s,
        ),
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server: Any = serve_metrics(edge, metrics_host, metrics_port) if metrics_port else None
    try:
        edge.start()
        where = f"; /metrics on {metrics_host}:{metrics_port}" if server else ""
        err.print(
            f"[green]✓[/] bridging {config} to {redact(options.url)} as site {site!r} "
            f"(spool {spool}, {edge.spool.depth} waiting){where}; SIGTERM or Ctrl-C stops",
            highlight=False,
        )
        logged = time.monotonic()
        while not stop.wait(0.5):
            if log_every and time.monotonic() - logged >= log_every:
                logged = time.monotonic()
                logging.getLogger("gateway.bridge").warning("bridge: %s", edge.status_line())
    finally:
        edge.stop()
        if server is not None:
            server.shutdown()
    err.print(f"[green]✓[/] bridge stopped: {edge.status_line()}", highlight=False)
