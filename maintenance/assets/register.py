"""Sites, assets and devices: where equipment is and which sensor watches which asset.

:func:`ensure_asset` creates an asset only under a valid code (the API's pattern, plus ``/``
for a channel's own asset such as ``plug-7/switch:1``): every path that used to create one from
whatever id a device sent (a rule alert on an unknown device, the registry, a rule's work
order) goes through it, and an unknown device never reaches it any more, because quarantined
devices raise no alert (see ``gateway/registry.py``).
"""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facility.core.errors import Invalid
from maintenance.assets.models import Asset, Device
from maintenance.sites.models import Site

__all__ = [
    "ASSET_CODE_RE",
    "asset_code_of_device",
    "device_asset_code",
    "ensure_asset",
    "ensure_site",
    "link_device",
]

#: What :func:`ensure_asset` accepts: the API's code pattern, plus ``/`` (a channel's asset).
ASSET_CODE_RE = re.compile(r"^[\w][\w.:/-]{0,199}$")
_UNSAFE = re.compile(r"[^\w.:/-]")


def device_asset_code(device: str) -> str:
    """The asset code for a device admitted by pattern, which becomes its own asset.

    The id itself when it is a valid code; otherwise the id with every other character
    replaced by ``-``, cut to fit and made unique by a hash of the whole id, so two ids that
    differ only in such characters never share an asset.
    """
    if ASSET_CODE_RE.match(device):
        return device
    digest = hashlib.sha256(device.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    cleaned = _UNSAFE.sub("-", device).lstrip("-./:")[:180]
    return f"{cleaned or 'device'}-{digest}"


def ensure_site(
    session: Session, *, code: str, name: str | None = None, timezone: str = "UTC"
) -> Site:
    site = session.scalar(sa.select(Site).where(Site.code == code))
    if site is None:
        site = Site(code=code, name=name or code, timezone=timezone)
        session.add(site)
        session.flush()
    return site


def ensure_asset(
    session: Session,
    *,
    code: str,
    name: str | None = None,
    asset_type: str = "unknown",
    site: Site | None = None,
    location: str = "",
) -> Asset:
    """Return the asset with ``code``, creating it if needed (safe against a racing creator).

    Raises:
        Invalid: ``code`` is not a valid asset code, so nothing is created.
    """
    asset = session.scalar(sa.select(Asset).where(Asset.code == code))
    if asset is not None:
        return asset
    if not ASSET_CODE_RE.match(code):
        raise Invalid(
            f"{code[:80]!r} is not an asset code (a letter or digit, then letters, digits and"
            " . : / -, at most 200); create the asset under a valid code and admit the device"
            " to it"
        )
    try:
        with session.begin_nested():
            asset = Asset(
                code=code,
                name=name or code,
                asset_type=asset_type,
                site_id=site.id if site else None,
                location=location,
            )
            session.add(asset)
    except IntegrityError:
        asset = session.scalar(sa.select(Asset).where(Asset.code == code))
        assert asset is not None
    return asset


def link_device(
    session: Session, *, device: str, asset: Asset | None, kind: str = "unknown"
) -> Device:
    row = session.get(Device, device)
    if row is None:
        row = Device(id=device, asset_id=asset.id if asset else None, kind=kind)
        session.add(row)
    else:
        row.asset_id = asset.id if asset else row.asset_id
        row.kind = kind if kind != "unknown" else row.kind
    session.flush()
    return row


def asset_code_of_device(session: Session, device: str) -> str | None:
    return session.scalar(
        sa.select(Asset.code).join(Device, Device.asset_id == Asset.id).where(Device.id == device)
    )
