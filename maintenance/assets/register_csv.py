"""Bulk import and export of the asset register as CSV, all-or-nothing.

Import reads the whole file, checks **every** row and cell, and reports every problem as
``(line, column, reason)`` — the line is the physical line of the file where the record starts
(the header is line 1), so a spreadsheet user can jump to it. If anything is wrong, nothing is
written; otherwise every row is written in one transaction. Rows are **upserted by code**: a code
that exists is updated (only the columns the file has; an empty cell clears an optional field),
a new code is created. A parent may be defined later in the same file; cycles (including ones
closed through assets already in the database) are refused.

Cells that look like formulas (``=cmd|' /C calc'!A0``) are stored as the text they are: they are
only dangerous when a spreadsheet opens an *export*, and the export defuses them with
:func:`maintenance.shared.csv_cells.neutralise` (the work-order export's helper too). An import
drops that helper's leading apostrophe again, so export → import round-trips exactly.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from maintenance.assets.lifecycle import (
    EDITABLE_FIELDS,
    TRANSITIONS,
    AssetError,
    AssetSpec,
    check_code,
    check_level,
    find_cycle,
)
from maintenance.assets.models import Asset, AssetLevel, AssetStatus, AssetStatusChange, Criticality
from maintenance.assets.register import ensure_site
from maintenance.shared.csv_cells import neutralise
from maintenance.sites.models import Site

__all__ = [
    "COLUMNS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "AssetImportRejected",
    "ImportError_",
    "ImportResult",
    "ParsedRow",
    "export_assets",
    "import_assets",
    "parse_csv",
    "validate_rows",
]

#: Every column, in export order. ``code`` and ``name`` are required in the header.
COLUMNS = (
    "code",
    "name",
    "level",
    "parent",
    "site",
    "asset_type",
    "category",
    "manufacturer",
    "model",
    "serial_number",
    "location",
    "installed_on",
    "commissioned_on",
    "warranty_end",
    "expected_life_years",
    "purchase_cost",
    "replacement_cost",
    "criticality",
    "status",
)
REQUIRED = ("code", "name")
#: Text limits = the database column sizes, so a row that passes never fails on insert.
TEXT_LIMITS: Mapping[str, int] = {
    "code": 200,
    "name": 200,
    "parent": 200,
    "site": 64,
    "asset_type": 64,
    "category": 64,
    "manufacturer": 120,
    "model": 120,
    "serial_number": 120,
    "location": 200,
}
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
#: Stop collecting after this many errors: the file is clearly wrong, and the report stays small.
MAX_ERRORS = 500
_MAX_MONEY = Decimal("999999999999.99")  # Numeric(14, 2)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DEFUSED = re.compile(r"^'[=+\-@]")


@dataclass(frozen=True, slots=True)
class ImportError_:  # noqa: N801 - ``ImportError`` is a builtin; the schema calls it ImportError
    """One problem: where (line, column) and why."""

    line: int
    column: str
    reason: str


class AssetImportRejected(AssetError):
    """The file has errors; ``errors`` lists every one and nothing was written (HTTP 422)."""

    def __init__(self, errors: list[ImportError_]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(
            f"{len(errors)} error(s) in the CSV, nothing imported; first: line {first.line}, "
            f"column {first.column or '-'}: {first.reason}"
        )

    @property
    def field_errors(self) -> list[dict[str, object]]:
        """Every finding, for the problem details' ``errors`` (field, reason, line, column)."""
        return [
            {
                "field": f"file.line {e.line}.{e.column or '-'}",
                "reason": e.reason,
                "line": e.line,
                "column": e.column,
            }
            for e in self.errors
        ]


@dataclass(slots=True)
class ParsedRow:
    """One record: its line, and the typed values of the columns the file has."""

    line: int
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return str(self.values.get("code", ""))


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    updated: int
    status_changes: int


# -- parsing (pure) -------------------------------------------------------------------------------
def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a date; use YYYY-MM-DD") from None


def _money(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text[:40]!r} is not a number; use e.g. 12500.00") from None
    if not value.is_finite():
        raise ValueError(f"{text[:40]!r} is not a finite amount")
    if value < 0 or value > _MAX_MONEY:
        raise ValueError(f"{text[:40]!r} is out of range (0 to {_MAX_MONEY})")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"{text[:40]!r} has more than 2 decimal places")
    return value


def _years(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a number of years; use e.g. 15") from None
    if not 0 < value <= 200:
        raise ValueError(f"{text[:40]!r} is out of range (more than 0, at most 200 years)")
    return value


def _choice(kind: type[AssetLevel] | type[AssetStatus]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return kind(text.strip().lower())
        except ValueError:
            options = ", ".join(m.value for m in kind)
            raise ValueError(f"{text[:40]!r} is not one of: {options}") from None

    return convert


def _criticality(text: str) -> Criticality:
    try:
        return Criticality(text.strip().upper())
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a criticality; use A, B or C") from None


_CONVERTERS: Mapping[str, Callable[[str], Any]] = {
    "level": _choice(AssetLevel),
    "status": _choice(AssetStatus),
    "criticality": _criticality,
    "installed_on": _date,
    "commissioned_on": _date,
    "warranty_end": _date,
    "expected_life_years": _years,
    "purchase_cost": _money,
    "replacement_cost": _money,
}


def _cell(column: str, raw: str) -> Any:
    """The typed value of one cell (``None`` for an empty optional cell); ValueError says why."""
    text = raw.strip()
    if "\x00" in raw:
        raise ValueError("contains a NUL character")
    if _CONTROL.search(raw):
        raise ValueError("contains a control character or line break")
    if _DEFUSED.match(text):
        text = text[1:]  # undo export's formula neutralisation
    limit = TEXT_LIMITS.get(column)
    if limit is not None and len(text) > limit:
        raise ValueError(f"is {len(text)} characters; at most {limit}")
    if column in ("code", "parent", "site") and text:
        problem = check_code(text, what=column)
        if problem:
            raise ValueError(problem)
    if not text:
        if column in REQUIRED:
            raise ValueError(f"{column} is required")
        return None
    converter = _CONVERTERS.get(column)
    return converter(text) if converter else text


def parse_csv(
    data: bytes, *, max_bytes: int = MAX_FILE_BYTES
) -> tuple[list[ParsedRow], list[str], list[ImportError_]]:
    """Rows with typed values, the header's columns, and every error found without a database."""
    errors: list[ImportError_] = []
    if len(data) > max_bytes:
        return [], [], [ImportError_(0, "", f"the file is {len(data)} bytes; at most {max_bytes}")]
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        return [], [], [ImportError_(line, "", "contains a NUL byte; this is not a text CSV")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return [], [], [ImportError_(line, "", "is not UTF-8 text; save the file as CSV UTF-8")]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [], [ImportError_(1, "", f"malformed header: {exc}")]
    if not header or not any(h.strip() for h in header):
        return [], [], [ImportError_(1, "", "the file is empty; the first line must be a header")]
    columns = [h.strip().lower() for h in header]
    for index, name in enumerate(columns):
        if name not in COLUMNS:
            errors.append(
                ImportError_(1, name[:60] or f"#{index + 1}", f"unknown column; known: {COLUMNS}")
            )
        elif columns.index(name) != index:
            errors.append(ImportError_(1, name, "the column appears twice"))
    for name in REQUIRED:
        if name not in columns:
            errors.append(ImportError_(1, name, "required column is missing from the header"))
    if errors:
        return [], columns, errors
    rows: list[ParsedRow] = []
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(ImportError_(line, "", f"malformed CSV: {exc}"))
            break
        start, line = line, reader.line_num + 1
        if not record or all(not cell.strip() for cell in record):
            continue  # blank lines are allowed (spreadsheets leave them)
        if len(rows) >= MAX_ROWS:
            errors.append(ImportError_(start, "", f"more than {MAX_ROWS} rows; split the file"))
            break
        if len(record) != len(columns):
            errors.append(
                ImportError_(
                    start, "", f"has {len(record)} cells but the header has {len(columns)}"
                )
            )
            continue
        row = ParsedRow(start)
        for name, raw in zip(columns, record, strict=True):
            try:
                row.values[name] = _cell(name, raw)
            except ValueError as exc:
                errors.append(ImportError_(start, name, str(exc)))
        rows.append(row)
        if len(errors) >= MAX_ERRORS:
            break
    return rows, columns, errors


# -- validation against the register (pure given the snapshot) ------------------------------------
@dataclass(frozen=True, slots=True)
class Existing:
    """What validation needs to know about an asset already in the database."""

    code: str
    parent: str | None
    level: AssetLevel
    status: AssetStatus
    installed_on: date | None = None
    commissioned_on: date | None = None


def validate_rows(rows: list[ParsedRow], existing: Mapping[str, Existing]) -> list[ImportError_]:
    """Duplicates, parents, cycles, levels, dates and status moves, against ``existing``."""
    errors: list[ImportError_] = []
    first_line: dict[str, int] = {}
    by_code: dict[str, ParsedRow] = {}
    for row in rows:
        code = row.code
        if not code:
            continue
        if code in first_line:
            errors.append(
                ImportError_(row.line, "code", f"{code[:60]!r} is also on line {first_line[code]}")
            )
            continue
        first_line[code] = row.line
        by_code[code] = row

    def merged(code: str, name: str) -> Any:
        row = by_code.get(code)
        if row is not None and name in row.values:
            return row.values[name]
        old = existing.get(code)
        return getattr(old, name) if old is not None else None

    parents: dict[str, str | None] = {code: old.parent for code, old in existing.items()}
    for code in by_code:
        parents[code] = merged(code, "parent")
    cyclic: set[str] = set()
    for code, row in by_code.items():
        level = merged(code, "level") or AssetLevel.EQUIPMENT
        parent = parents[code]
        if parent is not None:
            if parent == code:
                errors.append(ImportError_(row.line, "parent", "an asset cannot be its own parent"))
                cyclic.add(code)
                continue
            if parent not in parents:
                errors.append(
                    ImportError_(
                        row.line,
                        "parent",
                        f"{parent[:60]!r} is neither in the register nor in this file",
                    )
                )
                continue
            cycle = find_cycle(parents, code)
            if cycle is not None and code in cycle and code not in cyclic:
                cyclic.update(cycle)
                errors.append(
                    ImportError_(
                        row.line, "parent", "makes a cycle: " + " → ".join(c[:40] for c in cycle)
                    )
                )
                continue
            problem = check_level(merged(parent, "level") or AssetLevel.EQUIPMENT, level)
            if problem:
                errors.append(ImportError_(row.line, "level", problem))
        installed, commissioned = merged(code, "installed_on"), merged(code, "commissioned_on")
        if installed and commissioned and commissioned < installed:
            errors.append(
                ImportError_(
                    row.line,
                    "commissioned_on",
                    f"{commissioned} is before installed_on {installed}",
                )
            )
        old = existing.get(code)
        wanted = row.values.get("status")
        if old is not None:
            if "name" in row.values and row.values["name"] is None:
                errors.append(ImportError_(row.line, "name", "name is required"))
            if (
                wanted is not None
                and wanted != old.status
                and wanted not in TRANSITIONS[old.status]
            ):
                allowed = ", ".join(sorted(s.value for s in TRANSITIONS[old.status])) or "none"
                errors.append(
                    ImportError_(
                        row.line,
                        "status",
                        f"cannot move from {old.status.value!r} to {wanted.value!r}; "
                        f"allowed: {allowed}",
                    )
                )
    return sorted(
        errors, key=lambda e: (e.line, COLUMNS.index(e.column) if e.column in COLUMNS else -1)
    )


def _merge(first: list[ImportError_], second: list[ImportError_]) -> list[ImportError_]:
    merged = sorted(set(first) | set(second), key=lambda e: (e.line, _column_index(e.column)))
    return merged[:MAX_ERRORS]


def _column_index(column: str) -> int:
    return COLUMNS.index(column) if column in COLUMNS else -1


# -- import (one transaction) ---------------------------------------------------------------------
def _snapshot(session: Session) -> dict[str, Existing]:
    parent = aliased(Asset)
    rows = session.execute(
        sa.select(
            Asset.code,
            parent.code,
            Asset.level,
            Asset.status,
            Asset.installed_on,
            Asset.commissioned_on,
        ).outerjoin(parent, parent.id == Asset.parent_id)
    )
    return {r[0]: Existing(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows}


def _order(rows: list[ParsedRow], existing: Mapping[str, Existing]) -> list[ParsedRow]:
    """Parents before children, so each row's parent exists when it is written."""
    by_code = {row.code: row for row in rows}
    done: set[str] = set(existing) - set(by_code)
    ordered: list[ParsedRow] = []

    def visit(code: str, depth: int) -> None:
        if code in done or depth > len(by_code) + 1:
            return
        row = by_code[code]
        parent = row.values.get("parent") if "parent" in row.values else None
        if parent is not None and parent in by_code:
            visit(parent, depth + 1)
        done.add(code)
        ordered.append(row)

    for code in by_code:
        visit(code, 0)
    return ordered


def import_assets(
    session: Session,
    *,
    data: bytes,
    actor: str,
    now: datetime,
    max_bytes: int = MAX_FILE_BYTES,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Check the whole file, then upsert every row by code in one transaction.

    Raises:
        AssetImportRejected: with every (line, column, reason); nothing was written.
    """
    rows, _, errors = parse_csv(data, max_bytes=max_bytes)
    existing = _snapshot(session)
    if rows:  # cell errors do not stop the tree checks: the user gets every error at once
        errors = _merge(errors, validate_rows(rows, existing))
    if errors:
        raise AssetImportRejected(errors)
    try:
        result = _write(session, _order(rows, existing), actor=actor, now=now, progress=progress)
    except BaseException:
        session.rollback()
        raise
    session.commit()
    return result


_SPEC_FIELDS = frozenset(AssetSpec.__dataclass_fields__)
_OPTIONAL_TEXT = ("asset_type", "category", "manufacturer", "model", "serial_number", "location")


def _by_code(session: Session, codes: Iterable[str]) -> dict[str, Asset]:
    wanted = sorted(set(codes))
    found: dict[str, Asset] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            (a.code, a) for a in session.scalars(sa.select(Asset).where(Asset.code.in_(chunk)))
        )
    return found


def _write(
    session: Session,
    rows: list[ParsedRow],
    *,
    actor: str,
    now: datetime,
    progress: Callable[[int, int], None] | None,
) -> ImportResult:
    """Write validated rows (parents first) with a few batched statements, not several per row.

    Rows are already checked (types, tree, levels, status moves); what is left to refuse here is
    what needs the written tree: a child whose explicit site differs from its parent's.
    """
    sites = {
        code: ensure_site(session, code=code).id
        for code in sorted({r.values["site"] for r in rows if r.values.get("site")})
    }
    assets = _by_code(session, [r.code for r in rows])
    parents = _by_code(
        session,
        [
            r.values["parent"]
            for r in rows
            if r.values.get("parent") and r.values["parent"] not in assets
        ],
    )
    created = updated = 0
    moves: list[tuple[ParsedRow, Asset, AssetStatus]] = []
    fresh: list[Asset] = []
    total = len(rows)
    for index, row in enumerate(rows, start=1):
        values = dict(row.values)
        status = values.pop("status", None)
        asset = assets.get(row.code)
        if asset is None:
            spec = AssetSpec(
                **{k: v for k, v in values.items() if v is not None and k in _SPEC_FIELDS},
                **({"status": status} if status is not None else {}),
            )
            asset = Asset(
                code=spec.code,
                created_at=now,
                status=spec.status,
                status_since=now,
                **{name: getattr(spec, name) for name in EDITABLE_FIELDS},
            )
            session.add(asset)
            assets[row.code] = asset
            fresh.append(asset)
            created += 1
        else:
            _apply(asset, values)
            updated += 1
            if status is not None and status != asset.status:
                moves.append((row, asset, status))
        if "site" in values:
            asset.site_id = sites[values["site"]] if values["site"] else None
        if progress is not None and (index % 200 == 0 or index == total):
            progress(index, total)
    session.flush()  # ids for the new rows, in one batched INSERT per table
    everything = {**parents, **assets}
    for row in rows:  # parents first, so a parent's site is settled before its children's
        if "parent" not in row.values:
            continue
        asset = assets[row.code]
        parent_code = row.values["parent"]
        if parent_code is None:
            asset.parent_id = None
            continue
        parent = everything[parent_code]
        asset.parent_id = parent.id
        if parent.site_id is not None:
            if row.values.get("site") and asset.site_id != parent.site_id:
                raise AssetImportRejected(
                    [
                        ImportError_(
                            row.line,
                            "site",
                            f"differs from the site of parent {parent_code[:60]!r}",
                        )
                    ]
                )
            asset.site_id = parent.site_id
    last = _last_change(session, [a.id for _, a, _ in moves])
    for row, asset, status in moves:
        if asset.id in last and now < last[asset.id]:
            raise AssetImportRejected(
                [
                    ImportError_(
                        row.line, "status", f"the last status change is after {now.isoformat()}"
                    )
                ]
            )
        session.add(
            AssetStatusChange(
                asset_id=asset.id,
                ts=now,
                from_status=asset.status,
                to_status=status,
                actor=actor,
                reason=f"CSV import, line {row.line}",
            )
        )
        asset.status, asset.status_since = status, now
    session.add_all(
        AssetStatusChange(
            asset_id=a.id,
            ts=now,
            from_status=None,
            to_status=a.status,
            actor=actor,
            reason="created",
        )
        for a in fresh
    )
    session.flush()
    return ImportResult(created, updated, len(moves))


def _last_change(session: Session, asset_ids: list[int]) -> dict[int, datetime]:
    last: dict[int, datetime] = {}
    for start in range(0, len(asset_ids), 500):
        chunk = asset_ids[start : start + 500]
        query = (
            sa.select(AssetStatusChange.asset_id, sa.func.max(AssetStatusChange.ts))
            .where(AssetStatusChange.asset_id.in_(chunk))
            .group_by(AssetStatusChange.asset_id)
        )
        for asset_id, ts in session.execute(query):
            last[asset_id] = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return last


def _apply(asset: Asset, values: Mapping[str, Any]) -> None:
    """Set the file's columns on an existing asset (empty cell: text → "", others → None)."""
    for name, value in values.items():
        if name in ("code", "parent", "site"):
            continue
        if name in _OPTIONAL_TEXT:
            setattr(asset, name, value or ("unknown" if name == "asset_type" else ""))
        elif name == "level":
            asset.level = value or AssetLevel.EQUIPMENT
        elif name == "criticality":
            asset.criticality = value or Criticality.C
        else:
            setattr(asset, name, value)


# -- export ---------------------------------------------------------------------------------------
def export_assets(session: Session, *, site: str | None = None) -> Iterator[str]:
    """The register as CSV (header, then one line per asset by code); formulas defused."""
    parent = aliased(Asset)
    query = (
        sa.select(Asset, parent.code, Site.code)
        .outerjoin(parent, parent.id == Asset.parent_id)
        .outerjoin(Site, Site.id == Asset.site_id)
        .order_by(Asset.code)
    )
    if site is not None:
        query = query.where(Site.code == site)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for asset, parent_code, site_code in session.execute(query):
        cells: dict[str, object] = {name: getattr(asset, name, None) for name in COLUMNS}
        cells["parent"], cells["site"] = parent_code, site_code
        writer.writerow([_export_cell(cells[name]) for name in COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def _export_cell(value: object) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return neutralise(value.value)
    return neutralise(value)
