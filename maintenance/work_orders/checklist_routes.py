"""``/api/v1/checklists``: the standard operating procedures new orders copy their steps from."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from facility.core.errors import WorkOrderError
from maintenance.people.deps import CurrentUser, SessionDep, require_roles
from maintenance.shared.vocabulary import Role
from maintenance.work_orders.checklists import create_template, list_templates
from maintenance.work_orders.schemas import ChecklistTemplateCreate, ChecklistTemplatePublic

router = APIRouter(prefix="/checklists", tags=["checklists"])


@router.get("")
def get_checklists(session: SessionDep, caller: CurrentUser) -> list[ChecklistTemplatePublic]:
    """Every checklist template."""
    return [ChecklistTemplatePublic.model_validate(t) for t in list_templates(session)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[require_roles(Role.ADMIN, Role.MANAGER)],  # type: ignore[list-item]
)
def post_checklist(body: ChecklistTemplateCreate, session: SessionDep) -> ChecklistTemplatePublic:
    """Add a template; orders of its type and asset type created from now on get its items."""
    try:
        template = create_template(
            session,
            name=body.name,
            order_type=body.order_type.value if body.order_type else None,
            asset_type=body.asset_type,
            items=[item.model_dump() for item in body.items],
        )
    except WorkOrderError as exc:
        raise HTTPException(409 if "exists" in str(exc) else 422, str(exc)) from exc
    return ChecklistTemplatePublic.model_validate(template)
