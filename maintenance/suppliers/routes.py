"""``/api/v1/suppliers``: the supplier and contractor directory, qualification, certificates
and contracts. Reviews and scorecards are :mod:`maintenance.insights.scorecard_routes`, purchase
orders :mod:`maintenance.purchasing.routes`, an order's contractor and labour
:mod:`maintenance.work_orders.contractor_routes` and its parts
:mod:`maintenance.inventory.parts_routes`.

Who may do what: admins and managers keep the directory and decide qualifications; technicians
may read the directory; contractors see none of it (only their own company's orders). Errors:
unknown 404, role 403, a move the qualification machine refuses 409, malformed 422.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query, status

from maintenance.people.deps import Caller, ContextDep, SessionDep, require_roles
from maintenance.shared.fields import CODE
from maintenance.shared.vocabulary import Role
from maintenance.suppliers import service as directory
from maintenance.suppliers.models import QualificationStatus, SupplierKind
from maintenance.suppliers.schemas import (
    CertificateAlertPublic,
    CertificateCreate,
    CertificatePublic,
    ContractCreate,
    ContractPublic,
    StatusChangePublic,
    StatusChangeRequest,
    SupplierCreate,
    SupplierPublic,
    SuppliersPage,
    SupplierUpdate,
    WarningsPublic,
)
from maintenance.suppliers.service import CertificateAlert

__all__ = ["router"]

router = APIRouter(tags=["suppliers"])

T = TypeVar("T")
CodePath = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
Manager = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER)]
Staff = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER, Role.TECH)]


# -- directory ------------------------------------------------------------------------------------
@router.get("/suppliers")
def list_suppliers(
    session: SessionDep,
    caller: Staff,
    status_: Annotated[QualificationStatus | None, Query(alias="status")] = None,
    kind: SupplierKind | None = None,
    category: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    flagged: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> SuppliersPage:
    """The directory by code; filter by ``status``, ``kind`` (a ``both`` company matches
    either), ``category``, ``q`` (name or code text) and ``flagged`` for review."""
    rows, total = directory.list_suppliers(
        session,
        status=status_,
        kind=kind,
        category=category,
        search=q,
        flagged=flagged,
        limit=limit,
        offset=offset,
    )
    return SuppliersPage(
        items=[SupplierPublic.model_validate(s) for s in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post("/suppliers", status_code=status.HTTP_201_CREATED)
def create_supplier(
    body: SupplierCreate, session: SessionDep, context: ContextDep, caller: Manager
) -> SupplierPublic:
    """Register a company; it starts as a ``candidate`` and needs qualifying before work."""
    supplier = directory.create_supplier(
        session,
        code=body.code,
        name=body.name,
        kind=body.kind,
        categories=body.categories,
        contact_name=body.contact_name,
        email=body.email,
        phone=body.phone,
        notes=body.notes,
        actor=caller.username,
        now=context.clock(),
    )
    return SupplierPublic.model_validate(supplier)


# -- certificates across the directory (before /suppliers/{code} so the words are not codes) -----
def _alert(alert: CertificateAlert) -> CertificateAlertPublic:
    return CertificateAlertPublic(
        supplier=alert.supplier_code,
        supplier_name=alert.supplier_name,
        certificate=CertificatePublic.model_validate(alert.certificate),
        days_left=alert.days_left,
        expired=alert.expired,
    )


Days = Annotated[int, Query(ge=0, le=3650, description="the warning window in days")]


@router.get("/suppliers/certificates/expiring")
def get_expiring_certificates(
    session: SessionDep, context: ContextDep, caller: Manager, days: Days = 30
) -> list[CertificateAlertPublic]:
    """Certificates expiring within ``days`` days, and those already expired, soonest first."""
    alerts = directory.expiring_certificates(session, within_days=days, now=context.clock())
    return [_alert(a) for a in alerts]


@router.post("/suppliers/certificates/warnings")
def post_certificate_warnings(
    session: SessionDep, context: ContextDep, caller: Manager, days: Days = 30
) -> WarningsPublic:
    """Put a warning in the notification outbox for each certificate newly within ``days``
    days of expiry (or expired); a certificate already warned for this window is skipped."""
    now = context.clock()
    before = {
        a.certificate.id: a
        for a in directory.expiring_certificates(session, within_days=days, now=now)
    }
    messages = directory.warn_expiring_certificates(session, within_days=days, now=now)
    # a certificate added between the two reads is warned but not listed; the next run lists it
    warned = [before.get(m.payload["certificate"]["id"]) for m in messages]
    return WarningsPublic(window_days=days, warned=[_alert(a) for a in warned if a is not None])


# -- one supplier ---------------------------------------------------------------------------------
@router.get("/suppliers/{code}")
def get_supplier(code: CodePath, session: SessionDep, caller: Staff) -> SupplierPublic:
    return SupplierPublic.model_validate(directory.get_supplier(session, code=code))


@router.patch("/suppliers/{code}")
def update_supplier(
    code: CodePath, body: SupplierUpdate, session: SessionDep, caller: Manager
) -> SupplierPublic:
    """Change contact and classification fields; only the fields sent change."""
    changes = body.model_dump(exclude_unset=True)
    nulls = sorted(k for k, v in changes.items() if v is None and k != "email")
    if nulls:
        raise HTTPException(422, f"{', '.join(nulls)} cannot be null; leave a field out to keep it")
    supplier = directory.update_supplier(session, code=code, changes=changes)
    return SupplierPublic.model_validate(supplier)


@router.post("/suppliers/{code}/status")
def change_status(
    code: CodePath,
    body: StatusChangeRequest,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
) -> SupplierPublic:
    """Qualify, suspend, reinstate or remove (with a reason); 409 names the allowed moves."""
    supplier = directory.change_status(
        session,
        code=code,
        to=body.status,
        actor=caller.actor,
        reason=body.reason,
        now=context.clock(),
    )
    return SupplierPublic.model_validate(supplier)


@router.get("/suppliers/{code}/status-history")
def get_status_history(
    code: CodePath, session: SessionDep, caller: Manager
) -> list[StatusChangePublic]:
    rows = directory.status_history(session, code=code)
    return [StatusChangePublic.model_validate(r) for r in rows]


@router.delete("/suppliers/{code}/flag")
def clear_flag(code: CodePath, session: SessionDep, caller: Manager) -> SupplierPublic:
    """A manager has reviewed a flagged company: clear its review flag."""
    supplier = directory.clear_flag(session, code=code, actor=caller.actor)
    return SupplierPublic.model_validate(supplier)


@router.get("/suppliers/{code}/certificates")
def list_certificates(
    code: CodePath, session: SessionDep, caller: Staff
) -> list[CertificatePublic]:
    rows = directory.list_certificates(session, code=code)
    return [CertificatePublic.model_validate(c) for c in rows]


@router.post("/suppliers/{code}/certificates", status_code=status.HTTP_201_CREATED)
def add_certificate(
    code: CodePath,
    body: CertificateCreate,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
) -> CertificatePublic:
    certificate = directory.add_certificate(
        session,
        code=code,
        name=body.name,
        number=body.number,
        issued_on=body.issued_on,
        expires_on=body.expires_on,
        now=context.clock(),
    )
    return CertificatePublic.model_validate(certificate)


@router.get("/suppliers/{code}/contracts")
def list_contracts(code: CodePath, session: SessionDep, caller: Manager) -> list[ContractPublic]:
    rows = directory.list_contracts(session, code=code)
    return [ContractPublic.model_validate(c) for c in rows]


@router.post("/suppliers/{code}/contracts", status_code=status.HTTP_201_CREATED)
def add_contract(
    code: CodePath,
    body: ContractCreate,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
) -> ContractPublic:
    """A contract with scope, period, value and its own SLA targets (hours), which replace the
    priority defaults on orders outsourced while it is in force."""
    contract = directory.add_contract(
        session,
        supplier_code=code,
        code=body.code,
        title=body.title,
        scope=body.scope,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        annual_value=body.annual_value,
        response_target_h=None if body.response_target_h is None else float(body.response_target_h),
        resolution_target_h=None
        if body.resolution_target_h is None
        else float(body.resolution_target_h),
        now=context.clock(),
    )
    return ContractPublic.model_validate(contract)
