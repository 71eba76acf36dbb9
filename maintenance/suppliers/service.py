"""The supplier and contractor directory: qualification, certificates, contracts.

Qualification is a guarded state machine; every move is kept in ``supplier_status_changes``::

    candidate ─qualify─► qualified ─suspend─► suspended
        │                  ▲   │                 │
        │                  │   └──── remove ─────┤
        │                  └──── reinstate ──────┘
        └──────────────── remove ──────────────► removed (terminal)

Only a *qualified* company may receive new work: a purchase order (``services.purchasing``) or
an outsourced work order (:func:`maintenance.work_orders.outsourcing.outsource_work_order`).
Suspending a company does not take away what it already has; it only stops new work reaching it.

Certificates expire. :func:`expiring_certificates` lists those expiring within a window (and
those already expired); :func:`warn_expiring_certificates` puts one ``certificate_expiring`` (or
``certificate_expired``) message in the notification outbox per certificate, expiry date and
window. It is idempotent: the message carries a key ``certificate:<id>:<expires_on>:<days>``
and the certificate row is locked while the key is looked up, so running the check every hour,
from two workers at once, still warns once. A renewed certificate (new expiry date) or a
shorter reminder window (7 days after a 30-day warning) is a new key and warns again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facility.core.errors import Conflict, Forbidden, Invalid, NotFound
from maintenance.notifications.models import OutboxMessage
from maintenance.shared.actors import Actor
from maintenance.shared.vocabulary import Role
from maintenance.suppliers.models import (
    Certificate,
    Contract,
    QualificationStatus,
    Supplier,
    SupplierKind,
    SupplierStatusChange,
)

__all__ = [
    "DEFAULT_WARNING_DAYS",
    "PARTS_KINDS",
    "RESERVED_CODES",
    "SERVICE_KINDS",
    "TRANSITIONS",
    "CertificateAlert",
    "InvalidQualification",
    "NotQualified",
    "SupplierError",
    "SupplierNotFound",
    "active_contract",
    "add_certificate",
    "add_contract",
    "change_status",
    "clear_flag",
    "contract_targets",
    "create_supplier",
    "expiring_certificates",
    "get_supplier",
    "list_certificates",
    "list_contracts",
    "list_suppliers",
    "require_qualified",
    "status_history",
    "update_supplier",
    "warn_expiring_certificates",
]

Q = QualificationStatus

#: Allowed qualification moves; ``removed`` is terminal (a removed company is re-registered
#: under a new code, so its old history stays its own).
TRANSITIONS: dict[QualificationStatus, frozenset[QualificationStatus]] = {
    Q.CANDIDATE: frozenset({Q.QUALIFIED, Q.REMOVED}),
    Q.QUALIFIED: frozenset({Q.SUSPENDED, Q.REMOVED}),
    Q.SUSPENDED: frozenset({Q.QUALIFIED, Q.REMOVED}),
    Q.REMOVED: frozenset(),
}
#: Path words under ``/suppliers`` that a supplier code must not shadow.
RESERVED_CODES = frozenset({"certificates", "scorecards", "reviews", "contracts"})
DEFAULT_WARNING_DAYS = 30
_MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
#: Which kinds may receive which work.
PARTS_KINDS = frozenset({SupplierKind.SUPPLIER, SupplierKind.BOTH})
SERVICE_KINDS = frozenset({SupplierKind.CONTRACTOR, SupplierKind.BOTH})
_EDITABLE = frozenset({"name", "kind", "categories", "contact_name", "email", "phone", "notes"})


class SupplierError(Invalid):
    """A directory request is malformed or refers to something unknown."""


class SupplierNotFound(SupplierError, NotFound):
    """No supplier has the given code or id."""


class SupplierConflict(SupplierError, Conflict):
    """A supplier or contract with that code exists already."""


class InvalidQualification(SupplierError, Conflict):
    """The qualification machine does not allow this move."""


class NotQualified(SupplierError, Conflict):
    """The company is not qualified (or not of the right kind) for new work."""


# -- directory ------------------------------------------------------------------------------------
def get_supplier(
    session: Session, *, code: str | None = None, supplier_id: int | None = None
) -> Supplier:
    if supplier_id is not None:
        found = session.get(Supplier, supplier_id)
    else:
        found = session.scalar(sa.select(Supplier).where(Supplier.code == code))
    if found is None:
        shown = code if code is not None else f"#{supplier_id}"
        raise SupplierNotFound(
            f"supplier {str(shown)[:64]!r} does not exist; GET /api/v1/suppliers lists them"
        )
    return found


def create_supplier(
    session: Session,
    *,
    code: str,
    name: str,
    kind: SupplierKind,
    actor: str,
    categories: Iterable[str] = (),
    contact_name: str = "",
    email: str | None = None,
    phone: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> Supplier:
    """Register a company as a ``candidate``; it needs a manager's qualification for work."""
    now = now or datetime.now(UTC)
    if code.lower() in RESERVED_CODES:
        raise SupplierError(f"{code!r} is a reserved word; choose another supplier code")
    supplier = Supplier(
        code=code,
        name=name,
        kind=kind,
        status=Q.CANDIDATE,
        categories=sorted(set(categories)),
        contact_name=contact_name,
        email=email,
        phone=phone,
        notes=notes,
        created_at=now,
    )
    session.add(supplier)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise SupplierConflict(f"a supplier with code {code[:64]!r} exists") from None
    session.add(
        SupplierStatusChange(
            supplier_id=supplier.id,
            ts=now,
            from_status=None,
            to_status=Q.CANDIDATE.value,
            actor=actor,
            reason="registered",
        )
    )
    session.commit()
    return supplier


def update_supplier(session: Session, *, code: str, changes: Mapping[str, Any]) -> Supplier:
    """Change contact and classification fields (not the status: see :func:`change_status`)."""
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise SupplierError(
            f"cannot change {', '.join(sorted(unknown))}; editable: {', '.join(sorted(_EDITABLE))}"
        )
    supplier = get_supplier(session, code=code)
    for field, value in changes.items():
        setattr(supplier, field, sorted(set(value)) if field == "categories" else value)
    session.commit()
    return supplier


def list_suppliers(
    session: Session,
    *,
    status: QualificationStatus | None = None,
    kind: SupplierKind | None = None,
    category: str | None = None,
    search: str | None = None,
    flagged: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Supplier], int]:
    """A filtered page of the directory by code; ``category`` is matched in Python (JSON
    lists are not portably searchable), so it is applied before paging."""
    query = sa.select(Supplier)
    if status is not None:
        query = query.where(Supplier.status == status)
    if kind is not None:
        # a company that is both matches either kind
        query = query.where(Supplier.kind.in_([kind, SupplierKind.BOTH]))
    if flagged is not None:
        flag = Supplier.flagged_for_review_at.is_not(None)
        query = query.where(flag if flagged else sa.not_(flag))
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                Supplier.name.ilike(pattern, escape="\\"), Supplier.code.ilike(pattern, escape="\\")
            )
        )
    query = query.order_by(Supplier.code)
    if category is not None:
        rows = [s for s in session.scalars(query) if category in (s.categories or [])]
        return rows[offset : offset + limit], len(rows)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    return list(session.scalars(query.limit(limit).offset(offset))), int(total)


# -- qualification --------------------------------------------------------------------------------
def change_status(
    session: Session,
    *,
    code: str,
    to: QualificationStatus,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> Supplier:
    """Move a company through the qualification machine (managers and admins).

    Raises:
        Forbidden: the caller is not a manager or admin.
        InvalidQualification: the move is not in :data:`TRANSITIONS` (names those that are).
        SupplierError: a suspension or removal without a reason.
    """
    now = now or datetime.now(UTC)
    if actor.role not in _MANAGERS:
        raise Forbidden("qualification decisions need the manager or admin role")
    supplier = session.scalar(
        sa.select(Supplier)
        .where(Supplier.code == code)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if supplier is None:
        raise SupplierNotFound(f"supplier {code[:64]!r} does not exist")
    allowed = TRANSITIONS[supplier.status]
    if to not in allowed:
        options = ", ".join(sorted(s.value for s in allowed)) or "none (removed is final)"
        raise InvalidQualification(
            f"cannot move supplier {code!r} from {supplier.status.value!r} to {to.value!r}; "
            f"allowed: {options}"
        )
    if to in (Q.SUSPENDED, Q.REMOVED) and len(reason.strip()) < 3:
        raise SupplierError(f"say why the supplier is {to.value} (a reason of 3+ characters)")
    previous = supplier.status
    supplier.status = to
    session.add(
        SupplierStatusChange(
            supplier_id=supplier.id,
            ts=now,
            from_status=previous.value,
            to_status=to.value,
            actor=actor.username,
            reason=reason.strip(),
        )
    )
    session.commit()
    return supplier


def status_history(session: Session, *, code: str) -> list[SupplierStatusChange]:
    supplier = get_supplier(session, code=code)
    return list(
        session.scalars(
            sa.select(SupplierStatusChange)
            .where(SupplierStatusChange.supplier_id == supplier.id)
            .order_by(SupplierStatusChange.id)
        )
    )


def require_qualified(
    session: Session, *, supplier: Supplier, kinds: frozenset[SupplierKind], purpose: str
) -> Supplier:
    """Refuse new work to a company that is not qualified or not of a kind that does it."""
    if supplier.status is not Q.QUALIFIED:
        raise NotQualified(
            f"supplier {supplier.code!r} is {supplier.status.value}; only qualified suppliers "
            f"may receive {purpose} (a manager qualifies it with POST .../status)"
        )
    if supplier.kind not in kinds:
        raise NotQualified(
            f"supplier {supplier.code!r} is a {supplier.kind.value}; {purpose} go to "
            + " or ".join(sorted(k.value for k in kinds))
        )
    return supplier


def clear_flag(session: Session, *, code: str, actor: Actor) -> Supplier:
    """A manager has looked at a flagged supplier: clear the review flag."""
    if actor.role not in _MANAGERS:
        raise Forbidden("clearing a review flag needs the manager or admin role")
    supplier = get_supplier(session, code=code)
    supplier.flagged_for_review_at = None
    session.commit()
    return supplier


# -- certificates ---------------------------------------------------------------------------------
def add_certificate(
    session: Session,
    *,
    code: str,
    name: str,
    expires_on: date,
    number: str = "",
    issued_on: date | None = None,
    now: datetime | None = None,
) -> Certificate:
    supplier = get_supplier(session, code=code)
    if issued_on is not None and issued_on > expires_on:
        raise SupplierError(f"certificate issued {issued_on} after it expires ({expires_on})")
    certificate = Certificate(
        supplier_id=supplier.id,
        name=name,
        number=number,
        issued_on=issued_on,
        expires_on=expires_on,
        created_at=now or datetime.now(UTC),
    )
    session.add(certificate)
    session.commit()
    return certificate


def list_certificates(session: Session, *, code: str) -> list[Certificate]:
    supplier = get_supplier(session, code=code)
    return list(
        session.scalars(
            sa.select(Certificate)
            .where(Certificate.supplier_id == supplier.id)
            .order_by(Certificate.expires_on, Certificate.id)
        )
    )


@dataclass(frozen=True, slots=True)
class CertificateAlert:
    """A certificate that expires within the window (``days_left`` < 0: already expired)."""

    certificate: Certificate
    supplier_code: str
    supplier_name: str
    days_left: int

    @property
    def expired(self) -> bool:
        return self.days_left < 0


def expiring_certificates(
    session: Session,
    *,
    within_days: int = DEFAULT_WARNING_DAYS,
    now: datetime,
    include_expired: bool = True,
) -> list[CertificateAlert]:
    """Certificates of companies not removed that expire on or before ``now + within_days``.

    A certificate is valid through its ``expires_on`` day (UTC): on that day ``days_left`` is 0,
    the day after it is expired (-1).
    """
    if within_days < 0:
        raise SupplierError(f"the warning window is a number of days >= 0, got {within_days}")
    today = now.astimezone(UTC).date()
    horizon = today + timedelta(days=within_days)
    query = (
        sa.select(Certificate, Supplier.code, Supplier.name)
        .join(Supplier, Supplier.id == Certificate.supplier_id)
        .where(Certificate.expires_on <= horizon, Supplier.status != Q.REMOVED)
        .order_by(Certificate.expires_on, Certificate.id)
    )
    if not include_expired:
        query = query.where(Certificate.expires_on >= today)
    return [
        CertificateAlert(cert, code, name, (cert.expires_on - today).days)
        for cert, code, name in session.execute(query)
    ]


def _warning_key(alert: CertificateAlert, within_days: int) -> str:
    window = "expired" if alert.expired else str(within_days)
    return f"certificate:{alert.certificate.id}:{alert.certificate.expires_on}:{window}"


def warn_expiring_certificates(
    session: Session, *, within_days: int = DEFAULT_WARNING_DAYS, now: datetime
) -> list[OutboxMessage]:
    """Put one outbox message per certificate that newly entered the window (or expired).

    Returns the messages written by this call (empty when everything was already warned).
    Managers are the recipients: they own the supplier relationship.
    """
    written: list[OutboxMessage] = []
    for alert in expiring_certificates(session, within_days=within_days, now=now):
        key = _warning_key(alert, within_days)
        # Lock the certificate so two checkers racing on it queue up here; the second then
        # finds the first one's message and writes nothing.
        session.scalar(
            sa.select(Certificate.id)
            .where(Certificate.id == alert.certificate.id)
            .with_for_update()
        )
        seen = session.scalar(
            sa.select(OutboxMessage.id).where(
                OutboxMessage.event.in_(("certificate_expiring", "certificate_expired")),
                OutboxMessage.payload["key"].as_string() == key,
            )
        )
        if seen is not None:
            continue
        event = "certificate_expired" if alert.expired else "certificate_expiring"
        cert = alert.certificate
        message = OutboxMessage(
            created_at=now,
            event=event,
            work_order_id=None,
            recipients=[f"role:{Role.MANAGER.value}"],
            payload={
                "event": event,
                "key": key,
                "ts": now.isoformat(),
                "supplier": {"code": alert.supplier_code, "name": alert.supplier_name},
                "certificate": {
                    "id": cert.id,
                    "name": cert.name,
                    "number": cert.number,
                    "expires_on": cert.expires_on.isoformat(),
                },
                "days_left": alert.days_left,
                "window_days": within_days,
            },
        )
        session.add(message)
        session.flush()
        written.append(message)
    session.commit()
    return written


# -- contracts ------------------------------------------------------------------------------------
def add_contract(
    session: Session,
    *,
    supplier_code: str,
    code: str,
    title: str,
    starts_on: date,
    ends_on: date,
    scope: str = "",
    annual_value: Any = None,
    response_target_h: float | None = None,
    resolution_target_h: float | None = None,
    now: datetime | None = None,
) -> Contract:
    supplier = get_supplier(session, code=supplier_code)
    if ends_on < starts_on:
        raise SupplierError(f"contract {code!r} ends ({ends_on}) before it starts ({starts_on})")
    for label, hours in (("response", response_target_h), ("resolution", resolution_target_h)):
        if hours is not None and not 0 < hours <= 24 * 365:
            raise SupplierError(f"{label}_target_h must be between 0 and 8760 hours, got {hours}")
    if (
        response_target_h is not None
        and resolution_target_h is not None
        and resolution_target_h < response_target_h
    ):
        raise SupplierError("the resolution target cannot be shorter than the response target")
    contract = Contract(
        supplier_id=supplier.id,
        code=code,
        title=title,
        scope=scope,
        starts_on=starts_on,
        ends_on=ends_on,
        annual_value=annual_value,
        response_target_h=response_target_h,
        resolution_target_h=resolution_target_h,
        created_at=now or datetime.now(UTC),
    )
    session.add(contract)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise SupplierConflict(f"a contract with code {code[:64]!r} exists") from None
    return contract


def list_contracts(session: Session, *, code: str) -> list[Contract]:
    supplier = get_supplier(session, code=code)
    return list(
        session.scalars(
            sa.select(Contract)
            .where(Contract.supplier_id == supplier.id)
            .order_by(Contract.starts_on, Contract.id)
        )
    )


def active_contract(session: Session, *, supplier_id: int, on: date) -> Contract | None:
    """The contract in force on ``on`` (the latest-starting one if several overlap)."""
    return session.scalar(
        sa.select(Contract)
        .where(
            Contract.supplier_id == supplier_id,
            Contract.starts_on <= on,
            Contract.ends_on >= on,
        )
        .order_by(Contract.starts_on.desc(), Contract.id.desc())
        .limit(1)
    )


def contract_targets(contract: Contract | None) -> tuple[float | None, float | None]:
    """(response, resolution) targets in hours from a contract, None where it sets none."""
    if contract is None:
        return None, None
    return contract.response_target_h, contract.resolution_target_h
