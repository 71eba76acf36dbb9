"""Sites, assets and devices: where equipment is and which sensor watches which asset."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maintenance.assets.models import Asset, Device
from maintenance.sites.models import Site

__all__ = ["asset_code_of_device", "ensure_asset", "ensure_site", "link_device"]


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
    """Return the asset with ``code``, creating it if needed (safe against a racing creator)."""
    asset = session.scalar(sa.select(Asset).where(Asset.code == code))
    if asset is not None:
        return asset
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
