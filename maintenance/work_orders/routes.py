"""``/api/v1/work-orders``: list, read, create, move, check off, rate, attach, export.

Errors map one way everywhere: unknown or invisible order 404, role not allowed 403, state does
not allow it 409 (the message names the actions that are allowed), malformed request 422.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal, TypeVar

from fastapi import (
    APIRouter,
    File,
    Form,
    Header,
    HTTPException,
    Path,
    Query,
    Response,
    UploadFile,
    status,
)
from fastapi.responses import FileResponse, StreamingResponse

from facility.core.errors import Forbidden
from maintenance.people.deps import Caller, ContextDep, CurrentUser, SessionDep, parse_time
from maintenance.shared.vocabulary import Priority, Role
from maintenance.work_orders import service
from maintenance.work_orders.attachments import (
    MAX_ATTACHMENT_BYTES,
    attachment_path,
    store_attachment,
)
from maintenance.work_orders.export import rows_as_csv
from maintenance.work_orders.models import (
    WorkOrder,
    WorkOrderSource,
    WorkOrderStatus,
    WorkOrderType,
)
from maintenance.work_orders.schemas import (
    AttachmentPublic,
    ChecklistItemPublic,
    ChecklistResult,
    RatingCreate,
    SlaState,
    TransitionRequest,
    WorkOrderCreate,
    WorkOrderEventPublic,
    WorkOrderPublic,
    WorkOrdersPage,
)

#: What a requester may ask for, as the console's report form offers.
REQUESTER_PRIORITIES = frozenset({Priority.P2, Priority.P3, Priority.P4})

router = APIRouter(prefix="/work-orders", tags=["work orders"])

T = TypeVar("T")
#: Ids are 32-bit on every backend; a larger number is a client error, not a database error.
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def to_public(
    order: WorkOrder, *, caller: Caller | None = None, team: str | None = None, full: bool = False
) -> WorkOrderPublic:
    """The API's view of an order; ``allowed_actions`` are the caller's, not just the state's."""
    actions = (
        service.actions_for(order, caller.actor, team)
        if caller is not None
        else service.allowed_actions(order.status)
    )
    clear: bool | None = None
    if order.rule and order.resolved_at is not None:
        clear = order.fault_returned_at is None or order.fault_returned_at < order.resolved_at
    return WorkOrderPublic(
        id=order.id,
        title=order.title,
        description=order.description,
        status=order.status,
        priority=order.priority,
        source=order.source,
        order_type=order.order_type,
        rule=order.rule,
        device=order.device,
        asset=order.asset.code if order.asset else None,
        location=order.location,
        assignee=order.assignee,
        team=order.team,
        contractor=order.contractor.code if order.contractor else None,
        assignment_reason=order.assignment_reason,
        auto_assigned=order.auto_assigned,
        created_by=order.created_by,
        created_at=order.created_at,
        updated_at=order.updated_at,
        detected_at=order.detected_at,
        responded_at=order.responded_at,
        resolved_at=order.resolved_at,
        verified_at=order.verified_at,
        closed_at=order.closed_at,
        sla=SlaState(
            response_due_at=order.response_due_at,
            resolution_due_at=order.resolution_due_at,
            response_breached=order.response_breached_at is not None,
            resolution_breached=order.resolution_breached_at is not None,
            escalation_level=order.escalation_level,
            paused=order.on_hold_since is not None,
        ),
        reopen_count=order.reopen_count,
        fault_returned_at=order.fault_returned_at,
        clear_since_repair=clear,
        rating=order.rating,
        rating_comment=order.rating_comment,
        parent_id=order.parent_id,
        allowed_actions=actions,
        events=[WorkOrderEventPublic.model_validate(e) for e in order.events] if full else None,
        attachments=[AttachmentPublic.model_validate(a) for a in order.attachments]
        if full
        else None,
        checklist=[ChecklistItemPublic.model_validate(i) for i in order.checklist]
        if full
        else None,
    )


SortField = Literal[
    "id",
    "-id",
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "priority",
    "-priority",
    "status",
    "-status",
    "resolution_due_at",
    "-resolution_due_at",
    "title",
    "-title",
]


def _query(
    session: SessionDep,
    caller: Caller,
    *,
    status_: list[WorkOrderStatus] | None,
    priority: list[Priority] | None,
    order_type: list[WorkOrderType] | None,
    asset: str | None,
    rule: str | None,
    assignee: str | None,
    source: WorkOrderSource | None,
    breached: bool | None,
    created_from: str | None,
    created_to: str | None,
    q: str | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[list[WorkOrder], int]:
    return service.list_work_orders(
        session,
        status=status_ or (),
        priority=priority or (),
        order_type=order_type or (),
        asset_code=asset,
        rule=rule,
        assignee=assignee,
        source=source,
        breached=breached,
        created_from=parse_time(created_from, "created_from"),
        created_to=parse_time(created_to, "created_to"),
        search=q,
        sort=sort,
        actor=caller.actor,
        limit=limit,
        offset=offset,
    )


StatusQ = Annotated[list[WorkOrderStatus] | None, Query(alias="status", max_length=20)]
PriorityQ = Annotated[list[Priority] | None, Query(max_length=4)]
TypeQ = Annotated[list[WorkOrderType] | None, Query(alias="type", max_length=4)]
AssetQ = Annotated[str | None, Query(max_length=200)]
RuleQ = Annotated[str | None, Query(max_length=100)]
AssigneeQ = Annotated[str | None, Query(max_length=64)]
TimeQ = Annotated[str | None, Query(max_length=40, description="ISO 8601 or epoch s")]
SearchQ = Annotated[str | None, Query(max_length=200, description="text in the title")]


@router.get("")
def list_work_orders(
    session: SessionDep,
    caller: CurrentUser,
    status_: StatusQ = None,
    priority: PriorityQ = None,
    order_type: TypeQ = None,
    asset: AssetQ = None,
    rule: RuleQ = None,
    assignee: AssigneeQ = None,
    source: WorkOrderSource | None = None,
    breached: bool | None = None,
    created_from: TimeQ = None,
    created_to: TimeQ = None,
    q: SearchQ = None,
    sort: SortField = "-id",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> WorkOrdersPage:
    """Orders the caller may see, newest first; filter with ``?status=new&status=assigned``,
    ``priority``, ``type``, ``asset``, ``assignee``, ``breached``, ``created_from``/``_to``,
    ``q`` (title text); sort with ``sort=-priority``; page with ``limit``/``offset``."""
    rows, total = _query(
        session,
        caller,
        status_=status_,
        priority=priority,
        order_type=order_type,
        asset=asset,
        rule=rule,
        assignee=assignee,
        source=source,
        breached=breached,
        created_from=created_from,
        created_to=created_to,
        q=q,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    team = service.team_of(session, caller.actor)
    return WorkOrdersPage(
        items=[to_public(o, caller=caller, team=team) for o in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/export.csv", response_class=StreamingResponse)
def export_work_orders(
    session: SessionDep,
    caller: CurrentUser,
    status_: StatusQ = None,
    priority: PriorityQ = None,
    order_type: TypeQ = None,
    asset: AssetQ = None,
    created_from: TimeQ = None,
    created_to: TimeQ = None,
    sort: SortField = "id",
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> StreamingResponse:
    """The same orders as the list (same filters) as CSV; formulas in cells are defused."""
    rows, _ = _query(
        session,
        caller,
        status_=status_,
        priority=priority,
        order_type=order_type,
        asset=asset,
        rule=None,
        assignee=None,
        source=None,
        breached=None,
        created_from=created_from,
        created_to=created_to,
        q=None,
        sort=sort,
        limit=limit,
        offset=0,
    )
    lines: Iterator[str] = rows_as_csv(rows)
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="work-orders.csv"'},
    )


@router.get("/{work_order_id}")
def get_work_order(
    work_order_id: IdPath, session: SessionDep, caller: CurrentUser
) -> WorkOrderPublic:
    """One work order with its audit trail, checklist and attachments."""
    order = service.get_work_order(session, work_order_id=work_order_id, actor=caller.actor)
    return to_public(order, caller=caller, team=service.team_of(session, caller.actor), full=True)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_work_order(
    body: WorkOrderCreate,
    session: SessionDep,
    context: ContextDep,
    caller: CurrentUser,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> WorkOrderPublic:
    """Create a work order; a requester's is a ``request`` and is dispatched automatically.

    Send ``Idempotency-Key`` so a retried request never makes two (the retry answers 200 with
    the first order). The asset must exist (``GET /api/v1/assets``).
    """
    if caller.role is Role.CONTRACTOR:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "contractors work the orders outsourced to them; ask the facility team to raise one",
        )
    is_request = caller.role is Role.REQUESTER
    if is_request and body.priority not in REQUESTER_PRIORITIES:
        # the console offers requesters P2-P4; a P1 (emergency) is a dispatcher's judgement
        raise Forbidden(
            "a requester may ask for priority P2, P3 or P4; call the facility desk for an "
            "emergency and a manager will raise it to P1"
        )
    order_type = (
        WorkOrderType.REQUEST if is_request else (body.order_type or WorkOrderType.CORRECTIVE)
    )
    if not body.asset and not body.location:
        raise HTTPException(422, "say where the problem is: give an asset or a location")
    order, created = service.create_work_order(
        session,
        title=body.title,
        description=body.description,
        priority=body.priority,
        asset_code=body.asset,
        location=body.location,
        order_type=order_type,
        source=WorkOrderSource.REQUEST if is_request else WorkOrderSource.API,
        actor=caller.username,
        idempotency_key=idempotency_key,
        create_asset=False,
        auto_assign=context.auto_assign and (is_request or caller.role is not Role.TECH),
        now=context.clock(),
        policy=context.policy,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    full = service.get_work_order(session, work_order_id=order.id)
    return to_public(full, caller=caller, team=service.team_of(session, caller.actor), full=True)


@router.post("/{work_order_id}/checklist/{item_id}")
def record_checklist_item(
    work_order_id: IdPath,
    item_id: IdPath,
    body: ChecklistResult,
    session: SessionDep,
    context: ContextDep,
    caller: CurrentUser,
) -> WorkOrderPublic:
    """Record a checklist item's result (the order must be in progress). A failed item in an
    inspection opens a linked corrective order on the same asset."""
    order = service.record_checklist_item(
        session,
        work_order_id=work_order_id,
        item_id=item_id,
        value=body.value,
        actor=caller.username,
        role=caller.role,
        now=context.clock(),
        policy=context.policy,
    )
    return to_public(order, caller=caller, team=service.team_of(session, caller.actor), full=True)


@router.post("/{work_order_id}/rating")
def rate_work_order(
    work_order_id: IdPath,
    body: RatingCreate,
    session: SessionDep,
    context: ContextDep,
    caller: CurrentUser,
) -> WorkOrderPublic:
    """Rate the repair 1-5 with a comment, once, after verification."""
    order = service.rate_work_order(
        session,
        work_order_id=work_order_id,
        rating=body.rating,
        comment=body.comment,
        actor=caller.username,
        role=caller.role,
        now=context.clock(),
    )
    return to_public(order, caller=caller, team=service.team_of(session, caller.actor), full=True)


@router.post("/{work_order_id}/attachments", status_code=status.HTTP_201_CREATED)
def upload_attachment(
    work_order_id: IdPath,
    session: SessionDep,
    context: ContextDep,
    caller: CurrentUser,
    file: Annotated[UploadFile, File(description="a JPEG, PNG or WebP photo, at most 5 MiB")],
    filename: Annotated[str | None, Form(max_length=200)] = None,
) -> AttachmentPublic:
    """Attach a photo; it stays with the order for its whole life."""
    root = context.attachments_dir
    if root is None:
        raise HTTPException(503, "attachments are not configured on this server")
    order = service.get_work_order(session, work_order_id=work_order_id, actor=caller.actor)
    content = file.file.read(MAX_ATTACHMENT_BYTES + 1)
    name = filename or file.filename or "photo"
    attachment = store_attachment(
        session,
        root=root,
        order=order,
        filename=name,
        content=content,
        uploaded_by=caller.username,
        actor=caller.actor,
        team=service.team_of(session, caller.actor),
        quota_per_order_bytes=context.attachment_quota_per_order_bytes,
        quota_per_user_bytes=context.attachment_quota_per_user_bytes,
    )
    service.record_event(
        order,
        actor=caller.username,
        kind="attachment",
        now=context.clock(),
        note=attachment.filename,
        data={"size_bytes": attachment.size_bytes, "content_type": attachment.content_type},
    )
    session.commit()
    return AttachmentPublic.model_validate(attachment)


@router.get("/{work_order_id}/attachments/{attachment_id}", response_class=FileResponse)
def download_attachment(
    work_order_id: IdPath,
    attachment_id: IdPath,
    session: SessionDep,
    context: ContextDep,
    caller: CurrentUser,
) -> FileResponse:
    """The attachment's bytes, served as a download with its checked content type."""
    root = context.attachments_dir
    if root is None:
        raise HTTPException(503, "attachments are not configured on this server")
    order = service.get_work_order(session, work_order_id=work_order_id, actor=caller.actor)
    attachment = next((a for a in order.attachments if a.id == attachment_id), None)
    if attachment is None:
        raise HTTPException(404, f"work order {work_order_id} has no attachment {attachment_id}")
    path = attachment_path(root, attachment)
    if not path.is_file():
        raise HTTPException(410, "the attachment's file is missing on the server")
    return FileResponse(
        path,
        media_type=attachment.content_type,
        filename=attachment.filename,
        headers={"X-Content-Type-Options": "nosniff"},
    )


# Outsourcing and labour (contractor_routes.py) and parts (maintenance/inventory/parts_routes.py)
# are registered by maintenance/api/app.py before this router, so the catch-all action route
# below does not take ``/{id}/labour`` for an unknown action.
@router.post("/{work_order_id}/{action}")
def transition(
    work_order_id: IdPath,
    action: Annotated[str, Path(max_length=40)],
    session: SessionDep,
    context: ContextDep,
    caller: CurrentUser,
    body: TransitionRequest | None = None,
) -> WorkOrderPublic:
    """Apply ``assign`` (``assignee``, ``team`` or neither for auto-dispatch), ``start``,
    ``hold``, ``resume``, ``resolve``, ``verify``, ``reopen`` (failed verification), ``close``
    or ``cancel``. An illegal move is 409 and names the allowed ones."""
    body = body or TransitionRequest()
    if action not in service.ACTIONS:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"unknown action {action[:40]!r}; actions: {', '.join(service.ACTIONS)}",
        )
    order = service.transition(
        session,
        work_order_id=work_order_id,
        action=action,
        actor=caller.username,
        role=caller.role,
        note=body.note,
        assignee=body.assignee,
        team=body.team,
        now=context.clock(),
        policy=context.policy,
    )
    return to_public(order, caller=caller, team=service.team_of(session, caller.actor), full=True)
