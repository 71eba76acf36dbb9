"""The ``connectors:`` file (``FACILITY_CONNECTORS_FILE``): which field-bus devices to poll.

One YAML file, validated as a whole before anything connects, so a typo never leaves half a
plant polled. Errors are one :class:`~facility.core.errors.ConfigError` naming the device, the
point and the field, e.g. ``modbus device 'ahu-1', point 'supply_temp', field 'word_order':
Input should be 'big' or 'little'``. A worked example is in docs/connectors.md.

Unknown keys are refused (``extra="forbid"``): a misspelt ``word_ordre`` silently ignored would
decode every value of a meter wrongly and look plausible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from facility.core.errors import ConfigError
from gateway.connectors.decode import ByteOrder, DataType, WordOrder, register_count
from gateway.normalize import Rejection, canonical_metric

__all__ = [
    "BACNET_OBJECT_TYPES",
    "MAX_BITS_PER_REQUEST",
    "MAX_REGISTERS_PER_REQUEST",
    "BacnetConfig",
    "BacnetDevice",
    "BacnetForeign",
    "BacnetPoint",
    "ConnectorsConfig",
    "Function",
    "ModbusConfig",
    "ModbusDevice",
    "ModbusPoint",
    "load_connectors",
    "parse_connectors",
]

#: the protocol's limits for one read (Modbus application protocol v1.1b3, 6.1-6.4)
MAX_REGISTERS_PER_REQUEST = 125
MAX_BITS_PER_REQUEST = 2000


class Function(StrEnum):
    """The four read functions (FC1-FC4); the gateway has no write function on purpose."""

    COIL = "coil"  # FC1, read coils
    DISCRETE = "discrete"  # FC2, read discrete inputs
    HOLDING = "holding"  # FC3, read holding registers
    INPUT = "input"  # FC4, read input registers

    @property
    def is_bit(self) -> bool:
        return self in (Function.COIL, Function.DISCRETE)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_range_and_channel(low: float | None, high: float | None, device: str | None) -> None:
    """A point's plausible range and device-id override (Modbus and BACnet alike)."""
    if low is not None and high is not None and low > high:
        raise ValueError(f"min: {low} is above max {high}")
    if device is not None and (not device or any(ch in device for ch in "#+\x00")):
        raise ValueError(f"device: {device!r} is not a usable device id")


def _check_device(name: str, points: Sequence[Any]) -> None:
    """A device's name is a usable device id and no two of its points give one metric."""
    if any(ch in name for ch in "#+\x00") or name != name.strip():
        raise ValueError(f"name: {name!r} contains MQTT wildcards, NUL or edge spaces")
    seen: dict[tuple[str, str], str] = {}
    for point in points:
        key = (point.device or name, point.metric)
        if key in seen:
            raise ValueError(
                f"points: {point.label!r} and {seen[key]!r} both give {key[1]} of {key[0]}"
            )
        seen[key] = point.label


def _check_unique(devices: Sequence[Any]) -> None:
    names = [device.name for device in devices]
    doubles = sorted({name for name in names if names.count(name) > 1})
    if doubles:
        raise ValueError(f"devices: device names must be unique, {doubles} repeat")


class ModbusPoint(_Model):
    """One value of one device: where it is, how it is encoded, what it means."""

    metric: str = Field(description="canonical metric name (design.md's table) or snake_case")
    name: str | None = Field(default=None, description="label for errors; default metric@address")
    function: Function = Function.HOLDING
    address: int = Field(ge=0, le=65535, description="0-based protocol address")
    type: DataType | None = Field(default=None, description="default uint16, bool for bits")
    bit: int | None = Field(default=None, ge=0, le=15, description="bit of a register (bool)")
    length: int = Field(default=0, ge=0, le=250, description="a string's length in bytes")
    byte_order: ByteOrder = ByteOrder.BIG
    word_order: WordOrder = WordOrder.BIG
    scale: float = 1.0
    offset: float = 0.0
    unit: str | None = Field(default=None, description="unit of the scaled value; converted")
    device: str | None = Field(default=None, description="device id override (a channel)")
    min: float | None = Field(default=None, description="values below are out_of_range")
    max: float | None = Field(default=None, description="values above are out_of_range")

    @model_validator(mode="after")
    def _check(self) -> Self:
        data_type = self.type or (DataType.BOOL if self.function.is_bit else DataType.UINT16)
        object.__setattr__(self, "type", data_type)
        try:
            object.__setattr__(self, "metric", canonical_metric(self.metric))
        except Rejection as exc:
            raise ValueError(f"metric: {exc.detail}") from None
        if self.function.is_bit and data_type is not DataType.BOOL:
            raise ValueError(f"type: a {self.function} is one bit, so its type is bool")
        if self.bit is not None and (self.function.is_bit or data_type is not DataType.BOOL):
            raise ValueError("bit: only a bool read from a holding or input register has a bit")
        if data_type is DataType.STRING and self.length < 1:
            raise ValueError("length: a string needs its length in bytes (1-250)")
        if self.address + self.registers - 1 > 65535:
            raise ValueError(f"address: {self.registers} registers from it pass 65535")
        if not math.isfinite(self.scale) or self.scale == 0 or not math.isfinite(self.offset):
            raise ValueError("scale: must be a finite, non-zero number (offset finite)")
        _check_range_and_channel(self.min, self.max, self.device)
        return self

    @property
    def data_type(self) -> DataType:
        assert self.type is not None  # set by the validator
        return self.type

    @property
    def registers(self) -> int:
        """Addresses the point occupies: registers, or 1 bit for a coil/discrete input."""
        if self.function.is_bit:
            return 1
        return register_count(self.type or DataType.UINT16, self.length)

    @property
    def label(self) -> str:
        return self.name or f"{self.metric}@{self.address}"


class ModbusDevice(_Model):
    """One Modbus TCP server (a meter, a controller, a serial gateway's unit)."""

    name: str = Field(min_length=1, max_length=200, description="the device id of its readings")
    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    unit: int = Field(default=1, ge=0, le=255, description="unit (slave) id")
    poll_s: float = Field(default=10.0, ge=0.05, le=86_400)
    timeout_s: float = Field(default=2.0, gt=0, le=60)
    retries: int = Field(default=1, ge=0, le=10, description="re-sends before a poll fails")
    max_gap: int = Field(
        default=8, ge=0, le=100, description="unmapped addresses read to merge two ranges"
    )
    max_registers: int = Field(default=MAX_REGISTERS_PER_REQUEST, ge=1, le=125)
    max_bits: int = Field(default=MAX_BITS_PER_REQUEST, ge=1, le=2000)
    backoff_max_s: float = Field(default=300.0, gt=0, le=3600)
    points: list[ModbusPoint] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_device(self.name, self.points)
        return self


class ModbusConfig(_Model):
    max_concurrency: int = Field(default=16, ge=1, le=1024, description="devices polled at once")
    devices: list[ModbusDevice] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_unique(self.devices)
        return self


#: the object types a BACnet point may read (the value objects of ASHRAE 135 clause 12);
#: camelCase spellings (``analogInput``, as bacpypes3 and EDE files write them) are accepted
BACNET_OBJECT_TYPES = (
    "analog-input",
    "analog-output",
    "analog-value",
    "binary-input",
    "binary-output",
    "binary-value",
    "multi-state-input",
    "multi-state-output",
    "multi-state-value",
)
_BACNET_MAX_INSTANCE = 4_194_302  # 2**22 - 2: 4194303 is the "any instance" wildcard


def _hyphenated(name: str) -> str:
    """``analogInput``/``analog_input``/``analog-input`` → ``analog-input`` (BACnet's own form)."""
    out: list[str] = []
    for ch in name.strip().replace("_", "-"):
        if ch.isupper():
            out.append("-" + ch.lower())
        else:
            out.append(ch)
    return "".join(out).strip("-").replace("multistate", "multi-state")


def _host_port(text: str, *, default_port: int) -> tuple[str, int]:
    """``host`` or ``host:port`` (IPv4 or a name) with the port checked."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        host, port_text = text.strip(), str(default_port)
    if not host or any(ch.isspace() for ch in host) or "/" in host:
        raise ValueError(f"{text!r} is not host or host:port")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: port {port_text!r} is not a port number (1-65535)")
    return host, int(port_text)


class BacnetPoint(_Model):
    """One property of one BACnet object of a device (read-only: nothing is ever written)."""

    metric: str = Field(description="canonical metric name (design.md's table) or snake_case")
    name: str | None = Field(default=None, description="label for errors; default metric@object")
    type: str = Field(description="object type: analog-input, binary-value, multi-state-value...")
    instance: int = Field(ge=0, le=_BACNET_MAX_INSTANCE, description="object instance")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    prop: str = Field(default="present-value", alias="property", description="property read")
    unit: str | None = Field(
        default=None, description="overrides the object's BACnet units (needed when unmapped)"
    )
    device: str | None = Field(default=None, description="device id override (a channel)")
    cov: bool | None = Field(default=None, description="subscribe to COV; default: the device's")
    min: float | None = Field(default=None, description="values below are out_of_range")
    max: float | None = Field(default=None, description="values above are out_of_range")

    @model_validator(mode="after")
    def _check(self) -> Self:
        object_type = _hyphenated(self.type)
        if object_type not in BACNET_OBJECT_TYPES:
            raise ValueError(
                f"type: {self.type!r} is not a value object; use one of "
                + ", ".join(BACNET_OBJECT_TYPES)
            )
        object.__setattr__(self, "type", object_type)
        prop = _hyphenated(self.prop)
        if not prop or not all(ch.isalnum() or ch == "-" for ch in prop) or len(prop) > 64:
            raise ValueError(f"property: {self.prop[:80]!r} is not a BACnet property name")
        object.__setattr__(self, "prop", prop)
        try:
            object.__setattr__(self, "metric", canonical_metric(self.metric))
        except Rejection as exc:
            raise ValueError(f"metric: {exc.detail}") from None
        _check_range_and_channel(self.min, self.max, self.device)
        return self

    @property
    def object_id(self) -> str:
        """``analog-input,1``: the form bacpypes3's ObjectIdentifier parses."""
        return f"{self.type},{self.instance}"

    @property
    def label(self) -> str:
        return self.name or f"{self.metric}@{self.object_id}"


class BacnetDevice(_Model):
    """One BACnet/IP device (a controller), found by address and device instance."""

    name: str = Field(min_length=1, max_length=200, description="the device id of its readings")
    address: str | None = Field(
        default=None, description="host or host:port (47808); none: found by who-is (discover)"
    )
    instance: int = Field(ge=0, le=_BACNET_MAX_INSTANCE, description="device object instance")
    poll_s: float = Field(default=10.0, ge=0.05, le=86_400)
    timeout_s: float = Field(default=3.0, gt=0, le=60)
    backoff_max_s: float = Field(default=300.0, gt=0, le=3600)
    max_per_request: int = Field(
        default=16, ge=1, le=200, description="objects per ReadPropertyMultiple"
    )
    rpm: bool | None = Field(
        default=None, description="ReadPropertyMultiple: None = detect, False = never"
    )
    cov: bool = Field(default=False, description="subscribe to COV where the object allows")
    cov_lifetime_s: int = Field(default=300, ge=5, le=86_400)
    cov_confirmed: bool = Field(default=False, description="confirmed COV notifications")
    points: list[BacnetPoint] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_device(self.name, self.points)
        if self.address is not None:
            try:
                host, port = _host_port(self.address, default_port=47808)
            except ValueError as exc:
                raise ValueError(f"address: {exc}") from None
            object.__setattr__(self, "address", f"{host}:{port}")
        return self

    def wants_cov(self, point: BacnetPoint) -> bool:
        return self.cov if point.cov is None else point.cov


class BacnetForeign(_Model):
    """Foreign-device registration with a BBMD: how a gateway on another subnet hears
    broadcasts (who-is/i-am) of the building's BACnet network."""

    bbmd: str = Field(description="the BBMD's host or host:port (47808)")
    ttl_s: int = Field(default=300, ge=30, le=65_535, description="registration time-to-live")

    @model_validator(mode="after")
    def _check(self) -> Self:
        try:
            host, port = _host_port(self.bbmd, default_port=47808)
        except ValueError as exc:
            raise ValueError(f"bbmd: {exc}") from None
        object.__setattr__(self, "bbmd", f"{host}:{port}")
        return self


class BacnetConfig(_Model):
    bind: str = Field(
        default="0.0.0.0:47808",
        description="local IPv4 address[/prefix][:port] of the connector's own BACnet device",
    )
    instance: int = Field(
        default=4_194_301, ge=0, le=_BACNET_MAX_INSTANCE, description="our own device instance"
    )
    foreign: BacnetForeign | None = None
    discover_timeout_s: float = Field(default=3.0, gt=0, le=60)
    max_concurrency: int = Field(default=16, ge=1, le=1024, description="devices read at once")
    devices: list[BacnetDevice] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_unique(self.devices)
        host, _, rest = self.bind.partition("/")
        prefix, _, port = rest.partition(":") if rest else ("", "", "")
        if not rest:
            host, _, port = self.bind.partition(":")
        try:
            _host_port(f"{host}:{port or 47808}", default_port=47808)
        except ValueError as exc:
            raise ValueError(f"bind: {exc}") from None
        if prefix and not (prefix.isdigit() and 0 <= int(prefix) <= 32):
            raise ValueError(f"bind: prefix /{prefix} is not 0-32")
        unplaced = [d.name for d in self.devices if d.address is None]
        if unplaced and not prefix and self.foreign is None:
            raise ValueError(
                f"bind: devices {unplaced} have no address, so they are found by a broadcast "
                "Who-Is, which needs the local network's prefix (bind: 10.0.4.9/24:47808) or a "
                "BBMD (foreign:); or give their address"
            )
        return self


class ConnectorsConfig(_Model):
    modbus: ModbusConfig = Field(default_factory=ModbusConfig)
    bacnet: BacnetConfig = Field(default_factory=BacnetConfig)


def _name_at(data: Any, loc: Sequence[int | str]) -> list[str]:
    """``loc`` (pydantic's path) in the engineer's words: device and point by name."""
    words: list[str] = []
    node = data
    path = list(loc)
    for i, part in enumerate(path):
        parent = path[i - 1] if i else None
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            item = node[part]
            label = None
            if isinstance(item, Mapping):
                where_at = (
                    f"{item.get('type')},{item.get('instance')}"
                    if "instance" in item and "address" not in item
                    else item.get("address")
                )
                label = item.get("name") or (
                    f"{item.get('metric')}@{where_at}" if parent == "points" else None
                )
            kind = "point" if parent == "points" else "device"
            words.append(f"{kind} {label!r}" if label else f"{kind} #{part + 1}")
            node = item
            continue
        if part not in ("devices", "points", "modbus", "bacnet"):
            words.append(f"field {part!r}")
        node = node.get(part) if isinstance(node, Mapping) else None
    return words


def parse_connectors(data: Any, *, source: str = "connectors file") -> ConnectorsConfig:
    """Validate a parsed ``connectors:`` section (or the whole file holding one)."""
    if isinstance(data, Mapping) and "connectors" in data:
        data = data["connectors"]
    if data is None:
        return ConnectorsConfig()
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a 'connectors:' mapping")
    try:
        return ConnectorsConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        words = _name_at(data, first["loc"])
        fields = ModbusPoint.model_fields | ModbusDevice.model_fields
        fields |= BacnetPoint.model_fields | BacnetDevice.model_fields | BacnetConfig.model_fields
        if message.partition(":")[0] in fields:
            field, _, message = message.partition(": ")
            words.append(f"field {field!r}")
        protocol = first["loc"][:1]
        where = (
            ", ".join([str(protocol[0]), *words]) if protocol in (("modbus",), ("bacnet",)) else ""
        )
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{source}: {where}: {message}{more}") from None


def load_connectors(path: Path) -> ConnectorsConfig:
    """Read and validate the connectors file; errors say where, in the file's own names."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"FACILITY_CONNECTORS_FILE={str(path)!r} cannot be read ({exc.strerror or exc})"
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    return parse_connectors(data, source=str(path))
