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
    "MAX_BITS_PER_REQUEST",
    "MAX_REGISTERS_PER_REQUEST",
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
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min: {self.min} is above max {self.max}")
        if self.device is not None and (
            not self.device or any(ch in self.device for ch in "#+\x00")
        ):
            raise ValueError(f"device: {self.device!r} is not a usable device id")
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
        if any(ch in self.name for ch in "#+\x00") or self.name != self.name.strip():
            raise ValueError(f"name: {self.name!r} contains MQTT wildcards, NUL or edge spaces")
        seen: dict[tuple[str, str], str] = {}
        for point in self.points:
            key = (point.device or self.name, point.metric)
            if key in seen:
                raise ValueError(
                    f"points: {point.label!r} and {seen[key]!r} both give {key[1]} of {key[0]}"
                )
            seen[key] = point.label
        return self


class ModbusConfig(_Model):
    max_concurrency: int = Field(default=16, ge=1, le=1024, description="devices polled at once")
    devices: list[ModbusDevice] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Self:
        names = [device.name for device in self.devices]
        doubles = sorted({name for name in names if names.count(name) > 1})
        if doubles:
            raise ValueError(f"devices: device names must be unique, {doubles} repeat")
        return self


class ConnectorsConfig(_Model):
    modbus: ModbusConfig = Field(default_factory=ModbusConfig)


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
                label = item.get("name") or (
                    f"{item.get('metric')}@{item.get('address')}" if parent == "points" else None
                )
            kind = "point" if parent == "points" else "device"
            words.append(f"{kind} {label!r}" if label else f"{kind} #{part + 1}")
            node = item
            continue
        if part not in ("devices", "points", "modbus"):
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
        if message.partition(":")[0] in ModbusPoint.model_fields | ModbusDevice.model_fields:
            field, _, message = message.partition(": ")
            words.append(f"field {field!r}")
        where = ", ".join(["modbus", *words]) if first["loc"][:1] == ("modbus",) else ""
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
