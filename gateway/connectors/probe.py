"""``facility modbus probe``: read a register range once and decode it every possible way.

Device manuals are often wrong or vague about data types and byte/word order; an engineer who
knows what a meter shows (230 V on its display) reads the range and looks for 230 in the table.
The read is one request per at most 125 registers and never a write (the gateway is read-only
toward Modbus, see docs/connectors.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from facility.core.errors import Invalid, ServiceUnavailable
from gateway.connectors.config import MAX_REGISTERS_PER_REQUEST, Function
from gateway.connectors.decode import ByteOrder, DataType, decode_words, register_count

__all__ = ["ORDERS", "PROBED_TYPES", "decodings", "parse_range", "read_registers"]

#: (byte order, word order) and the letters manuals use for a 32-bit value's bytes
ORDERS: tuple[tuple[ByteOrder, ByteOrder, str], ...] = (
    (ByteOrder.BIG, ByteOrder.BIG, "ABCD"),
    (ByteOrder.BIG, ByteOrder.LITTLE, "CDAB"),
    (ByteOrder.LITTLE, ByteOrder.BIG, "BADC"),
    (ByteOrder.LITTLE, ByteOrder.LITTLE, "DCBA"),
)
PROBED_TYPES = (
    DataType.INT16,
    DataType.UINT16,
    DataType.INT32,
    DataType.UINT32,
    DataType.INT64,
    DataType.FLOAT32,
    DataType.FLOAT64,
)


def parse_range(text: str) -> tuple[int, int]:
    """``A-B`` (inclusive) or ``A`` → (start, count); refuses what one probe cannot read."""
    first, _, last = text.partition("-")
    try:
        start = int(first)
        end = int(last) if last else start
    except ValueError:
        raise Invalid(f"--registers {text!r} is not A-B (e.g. 0-9)") from None
    if not 0 <= start <= end <= 65535:
        raise Invalid(f"--registers {text!r}: need 0 <= A <= B <= 65535")
    return start, end - start + 1


def decodings(words: Sequence[int], start: int) -> list[dict[str, Any]]:
    """One row per address: the raw word, its bits and text, and each type in each order.

    A type is shown at an address when its registers fit in the range read; 16-bit types have
    no word order, so they show the two byte orders only.
    """
    rows: list[dict[str, Any]] = []
    for index, word in enumerate(words):
        row: dict[str, Any] = {
            "address": start + index,
            "raw": word,
            "hex": f"0x{word:04x}",
            "bits": f"{word:016b}",
            "text": "".join(chr(b) if 32 <= b < 127 else "." for b in word.to_bytes(2, "big")),
        }
        for data_type in PROBED_TYPES:
            size = register_count(data_type)
            if index + size > len(words):
                continue
            chunk = words[index : index + size]
            values: dict[str, float] = {}
            for byte_order, word_order, name in ORDERS:
                if size == 1 and word_order is ByteOrder.LITTLE:
                    continue
                value = decode_words(chunk, data_type, byte_order=byte_order, word_order=word_order)
                assert not isinstance(value, str | bool)
                values[name if size > 1 else ("AB" if byte_order is ByteOrder.BIG else "BA")] = (
                    value
                )
            row[str(data_type)] = values
        rows.append(row)
    return rows


async def read_registers(
    host: str, port: int, unit: int, function: Function, start: int, count: int, timeout_s: float
) -> list[int]:
    """Read ``count`` registers from ``start`` (several requests past 125); read-only."""
    from pymodbus.client import AsyncModbusTcpClient  # noqa: PLC0415 (the CLI starts without it)
    from pymodbus.exceptions import ModbusException  # noqa: PLC0415

    if function.is_bit:
        raise Invalid("the probe decodes registers: use --function holding or input")
    client = AsyncModbusTcpClient(host, port=port, timeout=timeout_s, retries=0, reconnect_delay=0)
    try:
        if not await client.connect():
            raise ServiceUnavailable(
                f"cannot reach Modbus device at {host}:{port}; check the address and port"
            )
        read = (
            client.read_holding_registers
            if function is Function.HOLDING
            else client.read_input_registers
        )
        words: list[int] = []
        for first in range(start, start + count, MAX_REGISTERS_PER_REQUEST):
            size = min(MAX_REGISTERS_PER_REQUEST, start + count - first)
            try:
                response = await read(first, count=size, device_id=unit)
            except ModbusException as exc:
                raise ServiceUnavailable(f"{host}:{port} unit {unit}: {exc}") from exc
            if response.isError():
                raise Invalid(
                    f"{host}:{port} unit {unit} refused {function} {first}-{first + size - 1}"
                    f" (Modbus exception {getattr(response, 'exception_code', '?')});"
                    " check the unit id and the address range"
                )
            words.extend(response.registers)
        return words
    finally:
        client.close()
