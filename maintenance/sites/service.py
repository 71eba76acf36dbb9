"""Sites: the places the organisation looks after, each with its own time zone.

A site's time zone is not decoration. Business-hours SLA clocks, calendar and cron PM plans,
the months of the monthly review and survey periods are all read in it, so a site in Berlin
left at the default UTC has its 08:00 PM orders at 09:00 or 10:00 local time. Sites used to
appear only implicitly (a registry location, a CSV import, a rule's asset); this module lets
people create them, name them and set the zone, with the same rules everywhere (API, CLI,
registry sync).

Changing a zone affects what is computed from then on: deadlines already set on open orders
and PM occurrences already generated keep the instants they were given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.errors import Conflict, Invalid, NotFound
from maintenance.sites.models import Site

__all__ = [
    "SiteConflict",
    "SiteError",
    "SiteNotFound",
    "SiteSummary",
    "check_timezone",
    "create_site",
    "get_site",
    "list_sites",
    "summarise",
    "update_site",
]

_CODE_RE = re.compile(r"^[\w][\w.:-]{0,63}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
#: The asset register's table, seen from below: a site only counts the assets that point at it
#: (``assets.site_id`` → ``sites.id``, the foreign key the asset model declares). Importing the
#: Asset model would make sites depend on the package above it for one number.
_ASSETS = sa.table("assets", sa.column("site_id"))


class SiteError(Invalid):
    """A site request is malformed (HTTP 422)."""


class SiteNotFound(SiteError, NotFound):
    """No site has the given code (HTTP 404)."""


class SiteConflict(SiteError, Conflict):
    """A site with that code exists already (HTTP 409)."""


def check_timezone(name: str) -> str:
    """``name`` when it is an IANA zone this machine knows; :class:`SiteError` otherwise."""
    if not name or len(name) > 64 or _CONTROL_RE.search(name):
        raise SiteError("time zone must be an IANA name such as Europe/Berlin (at most 64 chars)")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        close = sorted(z for z in available_timezones() if z.lower() == name.lower())
        hint = f"; did you mean {close[0]}?" if close else " such as Europe/Berlin or Asia/Shanghai"
        raise SiteError(f"time zone {name[:64]!r} is not an IANA zone name{hint}") from exc
    return name


def _check_code(code: str) -> str:
    if not _CODE_RE.match(code):
        raise SiteError(
            f"site code {code[:40]!r} must be 1-64 letters, digits or . _ : - "
            "and start with a letter or digit"
        )
    return code


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200 or _CONTROL_RE.search(name):
        raise SiteError("site name must be 1-200 printable characters")
    return name


def get_site(session: Session, *, code: str) -> Site:
    site = session.scalar(sa.select(Site).where(Site.code == code))
    if site is None:
        raise SiteNotFound(
            f"site {code[:64]!r} does not exist; `facility sites list` shows them (codes are "
            "case-sensitive)"
        )
    return site


def create_site(session: Session, *, code: str, name: str | None, timezone: str) -> Site:
    """Add a site; :class:`SiteConflict` if the code is taken (nothing is changed then)."""
    _check_code(code)
    site = Site(
        code=code,
        name=_check_name(name) if name is not None else code,
        timezone=check_timezone(timezone),
    )
    if session.scalar(sa.select(Site.id).where(Site.code == code)) is not None:
        raise SiteConflict(f"site {code!r} exists already; change it with PATCH or `sites set`")
    try:
        with session.begin_nested():
            session.add(site)
    except sa.exc.IntegrityError as exc:  # a concurrent creator won the race
        raise SiteConflict(f"site {code!r} exists already") from exc
    return site


def update_site(
    session: Session, *, code: str, name: str | None = None, timezone: str | None = None
) -> Site:
    """Rename a site or set its time zone (what is given; ``None`` leaves a field alone)."""
    site = get_site(session, code=code)
    if name is not None:
        site.name = _check_name(name)
    if timezone is not None:
        site.timezone = check_timezone(timezone)
    session.flush()
    return site


@dataclass(frozen=True, slots=True)
class SiteSummary:
    code: str
    name: str
    timezone: str
    assets: int


def summarise(session: Session, site: Site) -> SiteSummary:
    """One site with its asset count."""
    assets = session.scalar(sa.select(sa.func.count()).where(_ASSETS.c.site_id == site.id)) or 0
    return SiteSummary(site.code, site.name, site.timezone, int(assets))


def list_sites(session: Session) -> list[SiteSummary]:
    """Every site, by code, with how many assets it holds."""
    counts = (
        sa.select(_ASSETS.c.site_id, sa.func.count().label("n"))
        .where(_ASSETS.c.site_id.is_not(None))
        .group_by(_ASSETS.c.site_id)
        .subquery()
    )
    found: list[SiteSummary] = []
    for row in session.execute(
        sa.select(Site, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.site_id == Site.id)
        .order_by(Site.code)
    ):
        site: Site = row[0]
        found.append(SiteSummary(site.code, site.name, site.timezone, int(row[1])))
    return found
