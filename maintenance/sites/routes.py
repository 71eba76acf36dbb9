"""``/api/v1/sites``: the sites and their time zones.

Everyone signed in reads; admins and managers create sites and change their name or time zone
(the zone drives business-hours SLAs, PM calendars and the monthly review: see
``maintenance/sites/service.py``). Errors: unknown site 404, duplicate code 409, malformed 422.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, StringConstraints

from maintenance.people.deps import Caller, CurrentUser, SessionDep, require_roles
from maintenance.shared.vocabulary import Role
from maintenance.sites import service as sites
from maintenance.sites.models import Site

__all__ = ["router"]

router = APIRouter(tags=["sites"])

T = TypeVar("T")
SiteCode = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w][\w.:-]{0,63}$")
]
CodePath = Annotated[str, Path(min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Zone = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Manager = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER)]


class SiteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: SiteCode
    name: Name | None = None
    timezone: Zone = "UTC"


class SiteUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    timezone: Zone | None = None


class SitePublic(BaseModel):
    code: str
    name: str
    timezone: str
    assets: int


def _public(session: SessionDep, site: Site) -> SitePublic:
    summary = sites.summarise(session, site)
    return SitePublic(
        code=summary.code, name=summary.name, timezone=summary.timezone, assets=summary.assets
    )


@router.get("/sites")
def list_sites(session: SessionDep, _: CurrentUser) -> list[SitePublic]:
    """Every site by code, with its time zone and how many assets it holds."""
    return [
        SitePublic(code=s.code, name=s.name, timezone=s.timezone, assets=s.assets)
        for s in sites.list_sites(session)
    ]


@router.post("/sites", status_code=status.HTTP_201_CREATED)
def create_site(body: SiteCreate, session: SessionDep, _: Manager) -> SitePublic:
    site = sites.create_site(session, code=body.code, name=body.name, timezone=body.timezone)
    session.commit()
    return _public(session, site)


@router.get("/sites/{code}")
def get_site(code: CodePath, session: SessionDep, _: CurrentUser) -> SitePublic:
    return _public(session, (sites.get_site(session, code=code)))


@router.patch("/sites/{code}")
def update_site(code: CodePath, body: SiteUpdate, session: SessionDep, _: Manager) -> SitePublic:
    """Rename the site or set its time zone; from then on SLAs, PM and reviews use the new zone."""
    site = sites.update_site(session, code=code, name=body.name, timezone=body.timezone)
    session.commit()
    return _public(session, site)
