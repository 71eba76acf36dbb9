"""Placeholder router (filled in by the assets work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["assets"])
