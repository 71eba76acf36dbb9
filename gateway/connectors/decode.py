"""Modbus register words to values: every data type in every byte and word order.

Modbus itself only moves 16-bit words (registers) and single bits (coils, discrete inputs);
what the words mean is the device maker's choice, and makers disagree on both orders:

* **byte order** — the order of the two bytes inside each register. The standard says big
  endian (most significant byte first); a few devices swap them.
* **word order** — the order of the registers of a 32/64-bit value. "Big" puts the most
  significant word at the lowest address (Modicon's convention, most meters); "little" puts it
  last (many PLCs, some Schneider and ABB products). ``float32`` with little word order is what
  manuals call "CDAB"; little byte order and big word order is "BADC".

Strings are the registers' bytes in address order (the byte order applies, the word order does
not: text is not a number made of words); trailing NULs and spaces are dropped. A bit of a
register (``bool`` with ``bit``) counts from the least significant bit, 0-15.

Everything here is pure and fast: it runs for every point of every poll, and the probe command
decodes a range in every type and order to find the one that shows a known value.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from enum import StrEnum

__all__ = [
    "ByteOrder",
    "DataType",
    "WordOrder",
    "decode_words",
    "encode_value",
    "register_count",
]


class DataType(StrEnum):
    """How a point's registers are read; ``bool`` is one bit of a register (or a coil)."""

    BOOL = "bool"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    STRING = "string"


class ByteOrder(StrEnum):
    """Byte order inside a register, and (as :data:`WordOrder`) register order in a value."""

    BIG = "big"
    LITTLE = "little"


WordOrder = ByteOrder

#: struct format (big endian) and register count of the fixed-size numeric types
_FORMATS: dict[DataType, tuple[str, int]] = {
    DataType.INT16: (">h", 1),
    DataType.UINT16: (">H", 1),
    DataType.INT32: (">i", 2),
    DataType.UINT32: (">I", 2),
    DataType.INT64: (">q", 4),
    DataType.FLOAT32: (">f", 2),
    DataType.FLOAT64: (">d", 4),
}


def register_count(data_type: DataType, length: int = 0) -> int:
    """How many registers a value of ``data_type`` occupies; ``length`` is a string's bytes."""
    if data_type is DataType.BOOL:
        return 1
    if data_type is DataType.STRING:
        if length < 1:
            raise ValueError("a string needs a length of at least 1 byte")
        return (length + 1) // 2
    return _FORMATS[data_type][1]


def _bytes_of(words: Sequence[int], byte_order: ByteOrder, word_order: WordOrder) -> bytes:
    """The value's bytes, most significant first, from registers in address order."""
    ordered = words if word_order is WordOrder.BIG else list(reversed(words))
    swap = byte_order is ByteOrder.LITTLE
    out = bytearray()
    for word in ordered:
        if not 0 <= word <= 0xFFFF:
            raise ValueError(f"register value {word!r} is not a 16-bit word")
        high, low = word >> 8, word & 0xFF
        out += bytes((low, high) if swap else (high, low))
    return bytes(out)


def decode_words(
    words: Sequence[int],
    data_type: DataType,
    *,
    byte_order: ByteOrder = ByteOrder.BIG,
    word_order: WordOrder = WordOrder.BIG,
    bit: int | None = None,
    length: int = 0,
) -> float | bool | str:
    """Decode the registers of one point (exactly :func:`register_count` words).

    Floats are returned as the device sent them, NaN and infinities included: refusing them is
    the caller's job (it knows which point it is and counts the rejection).

    Raises:
        ValueError: wrong number of words, a word outside 0-65535, or a bit outside 0-15.
    """
    need = register_count(data_type, length)
    if len(words) != need:
        raise ValueError(f"{data_type} needs {need} registers, got {len(words)}")
    if data_type is DataType.BOOL:
        if bit is None:
            bit = 0
        if not 0 <= bit <= 15:
            raise ValueError(f"bit {bit} is outside 0-15")
        if not 0 <= words[0] <= 0xFFFF:
            raise ValueError(f"register value {words[0]!r} is not a 16-bit word")
        return bool(words[0] >> bit & 1)
    if data_type is DataType.STRING:
        raw = _bytes_of(words, byte_order, WordOrder.BIG)[:length]
        return raw.rstrip(b"\x00 ").decode("latin-1")
    fmt, _ = _FORMATS[data_type]
    value: float = struct.unpack(fmt, _bytes_of(words, byte_order, word_order))[0]
    return value


def encode_value(
    value: float | bool | str,
    data_type: DataType,
    *,
    byte_order: ByteOrder = ByteOrder.BIG,
    word_order: WordOrder = WordOrder.BIG,
    bit: int | None = None,
    length: int = 0,
) -> list[int]:
    """The registers a device would hold for ``value``: the inverse of :func:`decode_words`.

    Used by the tests and the benchmark to fill a simulated device; the gateway never writes to
    a device (see docs/connectors.md).
    """
    if data_type is DataType.BOOL:
        return [(1 << (bit or 0)) if value else 0]
    if data_type is DataType.STRING:
        size = 2 * register_count(data_type, length)
        raw = str(value).encode("latin-1")[:length].ljust(size, b"\0")
    else:
        fmt, _ = _FORMATS[data_type]
        number = value if data_type in (DataType.FLOAT32, DataType.FLOAT64) else int(value)
        raw = struct.pack(fmt, number)
    pairs = [raw[i : i + 2] for i in range(0, len(raw), 2)]
    if byte_order is ByteOrder.LITTLE:
        pairs = [pair[::-1] for pair in pairs]
    words = [int.from_bytes(pair, "big") for pair in pairs]
    if data_type is not DataType.STRING and word_order is WordOrder.LITTLE:
        words.reverse()
    return words
