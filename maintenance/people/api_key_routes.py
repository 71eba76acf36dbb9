"""``/api/v1/api-keys``: machine credentials, managed by admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status

from facility.core.errors import FacilityError
from maintenance.people.api_keys import create_api_key, list_api_keys, revoke_api_key
from maintenance.people.deps import CurrentUser, SessionDep, require_roles
from maintenance.people.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from maintenance.shared.vocabulary import Role

router = APIRouter(
    prefix="/api-keys",
    tags=["api keys"],
    dependencies=[require_roles(Role.ADMIN)],  # type: ignore[list-item]
)


@router.post("", status_code=status.HTTP_201_CREATED)
def post_api_key(body: ApiKeyCreate, session: SessionDep, caller: CurrentUser) -> ApiKeyCreated:
    """Create a key; the ``key`` in the answer is shown only this once."""
    try:
        row, secret = create_api_key(
            session, name=body.name, role=body.role, created_by=caller.username
        )
    except FacilityError as exc:
        raise HTTPException(409 if "exists" in str(exc) else 422, str(exc)) from exc
    return ApiKeyCreated(**ApiKeyPublic.model_validate(row).model_dump(), key=secret)


@router.get("")
def get_api_keys(session: SessionDep) -> list[ApiKeyPublic]:
    """Every key, without secrets."""
    return [ApiKeyPublic.model_validate(row) for row in list_api_keys(session)]


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_api_key(name: Annotated[str, Path(max_length=60)], session: SessionDep) -> Response:
    """Revoke a key at once; calls with it answer 401 from now on."""
    try:
        revoke_api_key(session, name=name)
    except FacilityError as exc:
        raise HTTPException(404, str(exc)) from exc
    return Response(status_code=status.HTTP_204_NO_CONTENT)
