"""``facility bacnet discover``: find BACnet devices, list their objects, draft a config.

A Who-Is goes to each target (a host or ``host:port`` as unicast, a CIDR as its directed
broadcast, nothing as the local broadcast); each device that answers with an I-Am is asked
for its name and ``object-list``, then for each value object's name, description and units
(ReadPropertyMultiple, or ReadProperty from a device that rejects it). Read-only, like the
connector.

:func:`draft_config` turns the result into a ``connectors:`` file an engineer edits: one
device per I-Am, one point per value object, metrics drafted from the object names. It loads
as it is (``facility`` validates it); points whose units have no mapping are listed in its
header comment, because they will be rejected until the engineer declares their ``unit:``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from bacpypes3.apdu import ErrorRejectAbortNack
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier

from facility.core.errors import ConfigError, ServiceUnavailable
from gateway.connectors.bacnet import make_application
from gateway.connectors.bacnet_units import unit_of
from gateway.connectors.config import BACNET_OBJECT_TYPES, parse_connectors

__all__ = ["FoundDevice", "FoundObject", "discover", "draft_config", "who_is_targets"]

#: at most this many objects are described per device (a huge controller stays readable)
MAX_OBJECTS = 2000


@dataclass(slots=True)
class FoundObject:
    type: str
    instance: int
    name: str = ""
    description: str = ""
    units: str = ""


@dataclass(slots=True)
class FoundDevice:
    instance: int
    address: str
    name: str = ""
    objects: list[FoundObject] = field(default_factory=list)


def who_is_targets(addresses: list[str], port: int) -> list[str | None]:
    """Where to send Who-Is: ``host:port`` (unicast), a CIDR's broadcast, or None (local)."""
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port {port} is not a port number (1-65535)")
    if not addresses:
        return [None]
    targets: list[str | None] = []
    for given in addresses:
        text = given.strip()
        if "/" in text:
            try:
                network = ipaddress.IPv4Network(text, strict=False)
            except ValueError as exc:
                raise ConfigError(f"--address {text!r} is not an IPv4 CIDR ({exc})") from None
            targets.append(f"{network.broadcast_address}:{port}")
            continue
        host, sep, port_text = text.rpartition(":")
        if not sep:
            host, port_text = text, str(port)
        if not host or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ConfigError(f"--address {text!r}: give HOST, HOST:PORT or a CIDR (10.0.0.0/24)")
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ConfigError(f"--address {text!r}: {host!r} is not an IPv4 address") from None
        targets.append(f"{host}:{port_text}")
    return targets


async def _ask(request: Any, timeout_s: float) -> Any:
    try:
        return await asyncio.wait_for(request, timeout_s)
    except ErrorRejectAbortNack as answer:
        return answer
    except (TimeoutError, OSError):
        return None


async def _describe(app: Any, device: FoundDevice, timeout_s: float) -> None:
    address = Address(device.address)
    me = ObjectIdentifier(f"device,{device.instance}")
    name = await _ask(app.read_property(address, me, "object-name"), timeout_s)
    device.name = str(name) if isinstance(name, str) else ""
    listed = await _ask(app.read_property(address, me, "object-list"), timeout_s)
    if listed is None or isinstance(listed, ErrorRejectAbortNack):
        return
    for object_identifier in list(listed)[:MAX_OBJECTS]:
        object_type = str(object_identifier[0])
        if object_type not in BACNET_OBJECT_TYPES:
            continue
        found = FoundObject(object_type, int(object_identifier[1]))
        props = ["object-name", "description"]
        if object_type.startswith("analog-"):
            props.append("units")
        answer = await _ask(
            app.read_property_multiple(address, [object_identifier, props]), timeout_s
        )
        values: dict[str, Any] = {}
        if isinstance(answer, list):
            values = {str(prop): value for _, prop, _, value in answer}
        else:  # no ReadPropertyMultiple: one property at a time
            for prop in props:
                values[prop] = await _ask(
                    app.read_property(address, object_identifier, prop), timeout_s
                )
        found.name = _text(values.get("object-name"))
        found.description = _text(values.get("description"))
        found.units = _text(values.get("units"))
        device.objects.append(found)


def _text(value: Any) -> str:
    if value is None or isinstance(value, ErrorRejectAbortNack) or hasattr(value, "errorCode"):
        return ""
    return str(value)[:200]


async def discover(
    addresses: list[str],
    *,
    port: int = 47808,
    timeout_s: float = 3.0,
    bind: str = "0.0.0.0:0",
    instance: int = 4_194_301,
    foreign: tuple[str, int] | None = None,
) -> list[FoundDevice]:
    """Who-Is to every target, then describe each device that answered.

    Raises:
        ServiceUnavailable: nothing answered (with what to check).
    """
    targets = who_is_targets(addresses, port)
    if None in targets and "/" not in bind and foreign is None:
        raise ConfigError(
            "a broadcast Who-Is needs the local network's prefix: give --bind ADDRESS/PREFIX "
            f"(e.g. 10.0.4.9/24), --bbmd HOST, or --address HOST|CIDR (--bind {bind!r})"
        )
    app = make_application(bind, instance, foreign=foreign, name="facility-discover")
    try:
        found: dict[int, FoundDevice] = {}
        for target in targets:
            address = Address(target) if target is not None else None
            try:
                answers = await app.who_is(address=address, timeout=timeout_s)
            except OSError as exc:  # no route, network unreachable
                where = target or "the local broadcast"
                raise ServiceUnavailable(
                    f"cannot send Who-Is to {where} ({exc.strerror or exc})"
                ) from exc
            for i_am in answers or []:
                identifier = i_am.iAmDeviceIdentifier
                found.setdefault(
                    int(identifier[1]), FoundDevice(int(identifier[1]), str(i_am.pduSource))
                )
        if not found:
            where = ", ".join(t or "the local broadcast" for t in targets)
            raise ServiceUnavailable(
                f"no BACnet device answered Who-Is at {where} within {timeout_s:g}s; check the "
                "address and UDP port (47808 by default), that a firewall lets UDP through, and "
                "use --address HOST for devices behind a router (broadcasts do not cross it)"
            )
        for device in found.values():
            await _describe(app, device, timeout_s)
        return sorted(found.values(), key=lambda d: d.instance)
    finally:
        app.close()


def _metric(name: str, fallback: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not text or not text[0].isalpha():
        text = fallback
    return text[:60]


def draft_config(devices: list[FoundDevice]) -> str:
    """A ``connectors:`` YAML draft for ``devices`` (validated before it is returned)."""
    unmapped: list[str] = []
    drafted: list[dict[str, Any]] = []
    for device in devices:
        points: list[dict[str, Any]] = []
        used: set[str] = set()
        for obj in device.objects:
            fallback = f"{obj.type.replace('-', '_')}_{obj.instance}"
            metric = _metric(obj.name, fallback)
            if metric in used:
                metric = f"{metric}_{obj.instance}"
            used.add(metric)
            point: dict[str, Any] = {"metric": metric, "type": obj.type, "instance": obj.instance}
            if obj.name:
                point["name"] = obj.name
            if obj.units and unit_of(obj.units) is None:
                unmapped.append(
                    f"{device.name or device.instance} {obj.type},{obj.instance} ({obj.units})"
                )
            points.append(point)
        if not points:
            continue
        name = _metric(device.name, f"device_{device.instance}").replace("_", "-")
        drafted.append(
            {
                "name": name,
                "address": device.address,
                "instance": device.instance,
                "poll_s": 10,
                "points": points,
            }
        )
    data = {"connectors": {"bacnet": {"devices": drafted}}}
    parse_connectors(data, source="drafted config")  # never hand out a file that does not load
    header = [
        "# Drafted by `facility bacnet discover`: check each metric name (design.md's canonical",
        "# metrics where one fits), delete the points you do not need, set poll_s, cov: true.",
    ]
    if unmapped:
        header.append("# These objects' units have no mapping; declare `unit:` on their points:")
        header += [f"#   {line}" for line in unmapped]
    return "\n".join(header) + "\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
