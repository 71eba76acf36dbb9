"""Placeholder router (filled in by the suppliers work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["suppliers"])
