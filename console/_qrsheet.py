"""A printable PDF sheet of QR stickers, one per asset, written without a PDF library.

segno computes each QR matrix; this module lays them out on A4 pages (3 by 4 stickers) as filled
rectangles (vector, so they print sharp at any size) with the asset's code and name underneath.
A minimal PDF needs only a catalogue, a page tree, pages, one content stream per page and the
built-in Helvetica font, which is all this writes; that is less code than pinning a PDF library.

Helvetica in a PDF without embedded fonts covers Latin-1 only, so other characters in asset
names print as ``?``; the QR code itself is unaffected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import segno

__all__ = ["Sticker", "qr_sheet_pdf"]

PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
COLUMNS, ROWS = 3, 4
MARGIN = 36.0
QR_SIZE = 126.0


@dataclass(frozen=True, slots=True)
class Sticker:
    code: str
    name: str
    url: str


def _pdf_text(text: str, limit: int = 40) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "..."
    latin = shown.encode("latin-1", errors="replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _modules(url: str) -> tuple[int, list[tuple[int, int, int]]]:
    """The QR matrix's size and its dark runs as (row, first column, length), no quiet zone."""
    qr = segno.make(url, error="m", micro=False)
    runs = []
    for row, line in enumerate(qr.matrix):
        col = 0
        while col < len(line):
            if line[col]:
                start = col
                while col < len(line) and line[col]:
                    col += 1
                runs.append((row, start, col - start))
            else:
                col += 1
    return len(qr.matrix), runs


def _sticker_ops(sticker: Sticker, x: float, y: float, cell_w: float) -> list[str]:
    """Drawing operators for one sticker whose cell's lower-left corner is (x, y)."""
    size, runs = _modules(sticker.url)
    module = QR_SIZE / size
    left = x + (cell_w - QR_SIZE) / 2
    top = y + 48 + QR_SIZE
    ops = ["0 g"]
    for row, col, length in runs:
        ops.append(
            f"{left + col * module:.2f} {top - (row + 1) * module:.2f} "
            f"{length * module:.2f} {module:.2f} re"
        )
    ops.append("f")
    centre = x + cell_w / 2
    for text, size_pt, dy in (
        (sticker.code, 11, 30),
        (sticker.name if sticker.name != sticker.code else "", 8, 18),
        ("Scan to report a problem", 7, 6),
    ):
        if not text:
            continue
        shown = _pdf_text(text)
        width = len(shown) * size_pt * 0.5  # Helvetica's average advance, good enough to centre
        ops.append(f"BT /F1 {size_pt} Tf {centre - width / 2:.2f} {y + dy:.2f} Td ({shown}) Tj ET")
    ops.append(f"0.6 G 0.5 w {x + 4:.2f} {y:.2f} {cell_w - 8:.2f} {top - y + 8:.2f} re S")
    return ops


def qr_sheet_pdf(stickers: Sequence[Sticker]) -> bytes:
    """A PDF with one QR sticker per entry, twelve to an A4 page."""
    if not stickers:
        raise ValueError("no stickers to print: there are no assets (or none matched)")
    cell_w = (PAGE_W - 2 * MARGIN) / COLUMNS
    cell_h = (PAGE_H - 2 * MARGIN) / ROWS
    per_page = COLUMNS * ROWS
    pages: list[bytes] = []
    for first in range(0, len(stickers), per_page):
        ops: list[str] = []
        for index, sticker in enumerate(stickers[first : first + per_page]):
            col, row = index % COLUMNS, index // COLUMNS
            x = MARGIN + col * cell_w
            y = PAGE_H - MARGIN - (row + 1) * cell_h
            ops.extend(_sticker_ops(sticker, x, y, cell_w))
        pages.append("\n".join(ops).encode("latin-1"))

    objects: list[bytes] = []  # object n is objects[n - 1]
    font_id = 3
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    for pid, content in zip(page_ids, pages, strict=True):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W:.0f} {PAGE_H:.0f}] "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {pid + 1} 0 R >>".encode()
        )
        objects.append(
            f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)
