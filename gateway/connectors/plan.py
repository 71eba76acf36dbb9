"""Read planning: a device's points as few Modbus requests as the protocol allows.

A request costs a round trip (often tens of milliseconds through a serial gateway) whatever it
carries, and many devices serve one request at a time, so reading register by register is what
makes a poll slow. Points of one function are sorted by address and merged into one range while
the range stays within the protocol's limit (125 registers or 2000 bits, or the device's own
lower ``max_registers``/``max_bits``) and the hole between two points is at most ``max_gap``
addresses: reading a few unused registers is cheaper than another round trip. Some devices
refuse a read that touches an unmapped address; ``max_gap: 0`` then merges only adjacent
points. A point larger than the limit cannot occur (the largest, a 250-byte string, is 125
registers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.connectors.config import Function, ModbusDevice, ModbusPoint

__all__ = ["ReadRequest", "plan_device", "plan_reads"]


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One read: ``count`` addresses of ``function`` from ``start``, and the points in it."""

    function: Function
    start: int
    count: int
    points: tuple[ModbusPoint, ...]


def plan_reads(
    points: Sequence[ModbusPoint], *, max_gap: int, max_registers: int, max_bits: int
) -> list[ReadRequest]:
    """Merge ``points`` into requests (by function, then address); see the module docstring."""
    requests: list[ReadRequest] = []
    for function in Function:
        limit = max_bits if function.is_bit else max_registers
        mine = sorted(
            (p for p in points if p.function is function), key=lambda p: (p.address, p.registers)
        )
        start = end = -1
        members: list[ModbusPoint] = []
        for point in mine:
            point_end = point.address + point.registers
            fits = (
                members and point.address - end <= max_gap and max(end, point_end) - start <= limit
            )
            if fits:
                members.append(point)
                end = max(end, point_end)
                continue
            if members:
                requests.append(ReadRequest(function, start, end - start, tuple(members)))
            start, end, members = point.address, point_end, [point]
        if members:
            requests.append(ReadRequest(function, start, end - start, tuple(members)))
    return requests


def plan_device(device: ModbusDevice) -> list[ReadRequest]:
    """The requests of one poll of ``device``, with its own gap and size limits."""
    return plan_reads(
        device.points,
        max_gap=device.max_gap,
        max_registers=device.max_registers,
        max_bits=device.max_bits,
    )
