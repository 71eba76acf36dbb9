"""``/api/v1/suppliers`` and ``/api/v1/purchase-orders``: the supplier and contractor directory,
qualification, certificates, contracts, reviews, scorecards and purchase orders; plus
``/api/v1/work-orders/{id}/labour|parts|contractor`` (:data:`work_order_router`, mounted by the
work-order router ahead of its ``/{id}/{action}`` route so those paths are not taken as actions).

Who may do what: admins and managers keep the directory, decide qualifications, review,
compute scorecards and handle purchase orders; technicians may read the directory; contractors
see none of it (only their own company's orders). Errors: unknown 404, role 403, a move the
qualification machine or the PO's state refuses 409, malformed 422.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Body, HTTPException, Path, Query, status

from facility.core.errors import InvalidTransition, WorkOrderError, WorkOrderNotFound
from maintenance.insights import scorecards
from maintenance.insights.schemas import ScorecardPublic, ScorecardsPage, ScoreRequest
from maintenance.inventory import service as inventory
from maintenance.inventory.models import StockItem, Storeroom
from maintenance.inventory.schemas import MovementPublic, PartsCreate
from maintenance.people.deps import (
    Caller,
    ContextDep,
    CurrentUser,
    SessionDep,
    parse_time,
    require_roles,
)
from maintenance.purchasing import service as purchasing
from maintenance.purchasing.models import PurchaseOrder, PurchaseOrderStatus
from maintenance.purchasing.schemas import (
    PurchaseOrderCreate,
    PurchaseOrderPublic,
    PurchaseOrderReceive,
    PurchaseOrdersPage,
)
from maintenance.shared.vocabulary import Role
from maintenance.suppliers import service as directory
from maintenance.suppliers.models import QualificationStatus, Supplier, SupplierKind
from maintenance.suppliers.schemas import (
    CODE,
    PERIOD,
    CertificateAlertPublic,
    CertificateCreate,
    CertificatePublic,
    ContractCreate,
    ContractPublic,
    ReviewCreate,
    ReviewPublic,
    StatusChangePublic,
    StatusChangeRequest,
    SupplierCreate,
    SupplierPublic,
    SuppliersPage,
    SupplierUpdate,
    WarningsPublic,
)
from maintenance.suppliers.service import CertificateAlert
from maintenance.work_orders import labour
from maintenance.work_orders.schemas import (
    LabourCreate,
    LabourEntryPublic,
    LabourPublic,
    OutsourceRequest,
    WorkOrderPublic,
)

__all__ = ["router", "work_order_router"]

router = APIRouter(tags=["suppliers"])
work_order_router = APIRouter(tags=["suppliers"])

T = TypeVar("T")
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
CodePath = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
PeriodQuery = Annotated[str | None, Query(pattern=PERIOD, description="YYYY-MM")]
Manager = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER)]
Staff = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER, Role.TECH)]
Worker = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER, Role.TECH, Role.CONTRACTOR)]


def _call(function: Callable[[], T]) -> T:
    """Run a service call and turn its errors into the API's status codes."""
    try:
        return function()
    except (directory.SupplierNotFound, purchasing.PurchaseOrderNotFound, WorkOrderNotFound) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except PermissionError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except (
        directory.InvalidQualification,
        directory.NotQualified,
        InvalidTransition,
        inventory.InsufficientStock,
    ) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except (directory.SupplierError, inventory.StockError, WorkOrderError) as exc:
        code = status.HTTP_409_CONFLICT if " exists" in str(exc) else 422
        raise HTTPException(code, str(exc)) from exc


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
    supplier = _call(
        lambda: directory.create_supplier(
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
    alerts = _call(
        lambda: directory.expiring_certificates(session, within_days=days, now=context.clock())
    )
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
    messages = _call(
        lambda: directory.warn_expiring_certificates(session, within_days=days, now=now)
    )
    # a certificate added between the two reads is warned but not listed; the next run lists it
    warned = [before.get(m.payload["certificate"]["id"]) for m in messages]
    return WarningsPublic(window_days=days, warned=[_alert(a) for a in warned if a is not None])


# -- scorecards -----------------------------------------------------------------------------------
@router.post("/suppliers/scorecards")
def compute_scorecards(
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
    period: Annotated[str, Query(pattern=PERIOD, description="YYYY-MM")],
    body: Annotated[ScoreRequest | None, Body()] = None,
) -> list[ScorecardPublic]:
    """Compute, rank and store every company's scorecard for ``period`` (weights, threshold
    and lead-time cap in the optional body; see docs/suppliers.md), flagging low scorers."""
    settings = body or ScoreRequest()
    now = context.clock()
    cards = _call(
        lambda: scorecards.compute_scorecards(
            session,
            period=period,
            now=now,
            weights=settings.weights,
            threshold=float(settings.threshold),
            lead_time_cap_days=float(settings.lead_time_cap_days),
        )
    )
    return [
        ScorecardPublic(
            supplier=c.code,
            name=c.name,
            period=c.period,
            score=c.score,
            rank=c.rank,
            components=c.components,
            flagged=c.flagged,
            computed_at=now,
        )
        for c in cards
    ]


def _scores_page(
    session: SessionDep, *, supplier: str | None, period: str | None, limit: int, offset: int
) -> ScorecardsPage:
    rows, total = _call(
        lambda: scorecards.list_scores(
            session, supplier_code=supplier, period=period, limit=limit, offset=offset
        )
    )
    return ScorecardsPage(
        items=[
            ScorecardPublic(
                supplier=s.code,
                name=s.name,
                period=row.period,
                score=row.score,
                rank=row.rank,
                components=row.components,
                flagged=s.flagged_for_review_at is not None,
                computed_at=row.computed_at,
            )
            for row, s in rows
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


SupplierQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=CODE)]


@router.get("/suppliers/scorecards")
def get_scorecards(
    session: SessionDep,
    caller: Manager,
    period: PeriodQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ScorecardsPage:
    """The stored ranking of ``period`` (all periods when left out), best first."""
    return _scores_page(session, supplier=None, period=period, limit=limit, offset=offset)


@router.get("/suppliers/scorecards/history")
def get_scorecard_history(
    session: SessionDep,
    caller: Manager,
    supplier: SupplierQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ScorecardsPage:
    """Every stored scorecard of one company (or all), newest period first."""
    return _scores_page(session, supplier=supplier, period=None, limit=limit, offset=offset)


# -- one supplier ---------------------------------------------------------------------------------
@router.get("/suppliers/{code}")
def get_supplier(code: CodePath, session: SessionDep, caller: Staff) -> SupplierPublic:
    return SupplierPublic.model_validate(_call(lambda: directory.get_supplier(session, code=code)))


@router.patch("/suppliers/{code}")
def update_supplier(
    code: CodePath, body: SupplierUpdate, session: SessionDep, caller: Manager
) -> SupplierPublic:
    """Change contact and classification fields; only the fields sent change."""
    changes = body.model_dump(exclude_unset=True)
    nulls = sorted(k for k, v in changes.items() if v is None and k != "email")
    if nulls:
        raise HTTPException(422, f"{', '.join(nulls)} cannot be null; leave a field out to keep it")
    supplier = _call(lambda: directory.update_supplier(session, code=code, changes=changes))
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
    supplier = _call(
        lambda: directory.change_status(
            session,
            code=code,
            to=body.status,
            actor=caller.actor,
            reason=body.reason,
            now=context.clock(),
        )
    )
    return SupplierPublic.model_validate(supplier)


@router.get("/suppliers/{code}/status-history")
def get_status_history(
    code: CodePath, session: SessionDep, caller: Manager
) -> list[StatusChangePublic]:
    rows = _call(lambda: directory.status_history(session, code=code))
    return [StatusChangePublic.model_validate(r) for r in rows]


@router.delete("/suppliers/{code}/flag")
def clear_flag(code: CodePath, session: SessionDep, caller: Manager) -> SupplierPublic:
    """A manager has reviewed a flagged company: clear its review flag."""
    supplier = _call(lambda: directory.clear_flag(session, code=code, actor=caller.actor))
    return SupplierPublic.model_validate(supplier)


@router.get("/suppliers/{code}/certificates")
def list_certificates(
    code: CodePath, session: SessionDep, caller: Staff
) -> list[CertificatePublic]:
    rows = _call(lambda: directory.list_certificates(session, code=code))
    return [CertificatePublic.model_validate(c) for c in rows]


@router.post("/suppliers/{code}/certificates", status_code=status.HTTP_201_CREATED)
def add_certificate(
    code: CodePath,
    body: CertificateCreate,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
) -> CertificatePublic:
    certificate = _call(
        lambda: directory.add_certificate(
            session,
            code=code,
            name=body.name,
            number=body.number,
            issued_on=body.issued_on,
            expires_on=body.expires_on,
            now=context.clock(),
        )
    )
    return CertificatePublic.model_validate(certificate)


@router.get("/suppliers/{code}/contracts")
def list_contracts(code: CodePath, session: SessionDep, caller: Manager) -> list[ContractPublic]:
    rows = _call(lambda: directory.list_contracts(session, code=code))
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
    contract = _call(
        lambda: directory.add_contract(
            session,
            supplier_code=code,
            code=body.code,
            title=body.title,
            scope=body.scope,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            annual_value=body.annual_value,
            response_target_h=None
            if body.response_target_h is None
            else float(body.response_target_h),
            resolution_target_h=None
            if body.resolution_target_h is None
            else float(body.resolution_target_h),
            now=context.clock(),
        )
    )
    return ContractPublic.model_validate(contract)


@router.put("/suppliers/{code}/reviews")
def put_review(
    code: CodePath,
    body: ReviewCreate,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
) -> ReviewPublic:
    """The manager's qualitative 0-100 score for a month (a second one replaces the first)."""
    review = _call(
        lambda: scorecards.record_review(
            session,
            supplier_code=code,
            period=body.period,
            score=float(body.score),
            comment=body.comment,
            reviewer=caller.username,
            now=context.clock(),
        )
    )
    return ReviewPublic.model_validate(review)


# -- purchase orders ------------------------------------------------------------------------------
def _po(session: SessionDep, order: PurchaseOrder) -> PurchaseOrderPublic:
    supplier = session.get_one(Supplier, order.supplier_id)
    item = session.get_one(StockItem, order.item_id)
    room = session.get_one(Storeroom, order.storeroom_id)
    return PurchaseOrderPublic(
        id=order.id,
        supplier=supplier.code,
        sku=item.sku,
        storeroom=room.code,
        quantity=order.quantity,
        unit_cost=order.unit_cost,
        ordered_at=order.ordered_at,
        expected_at=order.expected_at,
        status=order.status,
        received_at=order.received_at,
        quantity_received=order.quantity_received,
        created_by=order.created_by,
    )


@router.get("/purchase-orders")
def list_purchase_orders(
    session: SessionDep,
    caller: Manager,
    supplier: SupplierQuery = None,
    status_: Annotated[PurchaseOrderStatus | None, Query(alias="status")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PurchaseOrdersPage:
    """Purchase orders, newest first; filter by ``supplier`` and ``status``."""
    rows, total = _call(
        lambda: purchasing.list_purchase_orders(
            session, supplier_code=supplier, status=status_, limit=limit, offset=offset
        )
    )
    return PurchaseOrdersPage(
        items=[_po(session, o) for o in rows], total=total, limit=limit, offset=offset
    )


@router.post("/purchase-orders", status_code=status.HTTP_201_CREATED)
def create_purchase_order(
    body: PurchaseOrderCreate, session: SessionDep, context: ContextDep, caller: Manager
) -> PurchaseOrderPublic:
    """Order parts from a qualified supplier by the promised ``expected_at``."""
    expected_at = parse_time(body.expected_at, "expected_at")
    assert expected_at is not None
    order = _call(
        lambda: purchasing.create_purchase_order(
            session,
            supplier_code=body.supplier,
            sku=body.sku,
            storeroom=body.storeroom,
            quantity=body.quantity,
            unit_cost=body.unit_cost,
            expected_at=expected_at,
            actor=caller.username,
            now=context.clock(),
        )
    )
    return _po(session, order)


@router.get("/purchase-orders/{purchase_order_id}")
def get_purchase_order(
    purchase_order_id: IdPath, session: SessionDep, caller: Manager
) -> PurchaseOrderPublic:
    order = _call(
        lambda: purchasing.get_purchase_order(session, purchase_order_id=purchase_order_id)
    )
    return _po(session, order)


@router.post("/purchase-orders/{purchase_order_id}/receive")
def receive_purchase_order(
    purchase_order_id: IdPath,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
    body: Annotated[PurchaseOrderReceive | None, Body()] = None,
) -> PurchaseOrderPublic:
    """Book a delivery (the rest of the PO unless ``quantity``; ``final`` closes it short)
    as a stock receipt that names the supplier and the PO."""
    request = body or PurchaseOrderReceive()
    order, _ = _call(
        lambda: purchasing.receive_purchase_order(
            session,
            purchase_order_id=purchase_order_id,
            quantity=request.quantity,
            final=request.final,
            actor=caller.username,
            now=context.clock(),
        )
    )
    return _po(session, order)


@router.post("/purchase-orders/{purchase_order_id}/cancel")
def cancel_purchase_order(
    purchase_order_id: IdPath, session: SessionDep, context: ContextDep, caller: Manager
) -> PurchaseOrderPublic:
    order = _call(
        lambda: purchasing.cancel_purchase_order(
            session, purchase_order_id=purchase_order_id, now=context.clock()
        )
    )
    return _po(session, order)


# -- work orders: outsourcing, labour, parts -----------------------------------------------------
@work_order_router.post("/{work_order_id}/contractor")
def outsource_work_order(
    work_order_id: IdPath,
    body: OutsourceRequest,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
) -> WorkOrderPublic:
    """Outsource an open order to a qualified contractor (``null`` takes it back in-house);
    the contract in force sets its SLA targets. Recorded in the order's audit trail."""
    from maintenance.work_orders.routes import to_public
    from maintenance.work_orders.service import team_of

    order = _call(
        lambda: directory.outsource_work_order(
            session,
            work_order_id=work_order_id,
            supplier_code=body.contractor,
            actor=caller.actor,
            note=body.note,
            now=context.clock(),
        )
    )
    return to_public(order, caller=caller, team=team_of(session, caller.actor), full=True)


@work_order_router.get("/{work_order_id}/labour")
def get_labour(work_order_id: IdPath, session: SessionDep, caller: CurrentUser) -> LabourPublic:
    """Time booked on an order, its total hours and cost (for whoever can see the order)."""
    summary = _call(
        lambda: labour.list_labour(session, work_order_id=work_order_id, actor=caller.actor)
    )
    return LabourPublic(
        work_order_id=work_order_id,
        entries=[LabourEntryPublic.model_validate(e) for e in summary.entries],
        hours=summary.hours,
        cost=summary.cost,
    )


@work_order_router.post("/{work_order_id}/labour", status_code=status.HTTP_201_CREATED)
def post_labour(
    work_order_id: IdPath,
    body: LabourCreate,
    session: SessionDep,
    context: ContextDep,
    caller: Worker,
) -> LabourEntryPublic:
    """Book hours on an order: a technician their own on their orders, a contractor's staff on
    their company's orders (naming the worker), managers on any."""
    entry = _call(
        lambda: labour.record_labour(
            session,
            work_order_id=work_order_id,
            actor=caller.actor,
            hours=body.hours,
            worker=body.worker,
            hourly_rate=body.hourly_rate,
            note=body.note,
            now=context.clock(),
        )
    )
    return LabourEntryPublic.model_validate(entry)


@work_order_router.post("/{work_order_id}/parts", status_code=status.HTTP_201_CREATED)
def post_parts(
    work_order_id: IdPath,
    body: PartsCreate,
    session: SessionDep,
    context: ContextDep,
    caller: Worker,
) -> MovementPublic:
    """Issue parts from stock to an order (contractors included, on their company's orders)."""
    move = _call(
        lambda: labour.issue_parts(
            session,
            work_order_id=work_order_id,
            actor=caller.actor,
            sku=body.sku,
            storeroom=body.storeroom,
            quantity=body.quantity,
            now=context.clock(),
        )
    )
    return MovementPublic(
        id=move.id,
        ts=move.ts,
        kind=move.kind,
        sku=body.sku,
        storeroom=body.storeroom,
        quantity=move.quantity,
        unit_cost=move.unit_cost,
        work_order_id=move.work_order_id,
        reason=move.reason,
        transfer_id=move.transfer_id,
        actor=move.actor,
    )
