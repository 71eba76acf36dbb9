"""Pydantic schemas of log-in tokens and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from maintenance.shared.base import OutputModel
from maintenance.shared.vocabulary import Role

__all__ = ["ApiKeyCreate", "ApiKeyCreated", "ApiKeyPublic", "Token"]


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    role: str


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=56, pattern=r"^[A-Za-z0-9_.-]+$")
    role: Literal[Role.MANAGER, Role.TECH, Role.REQUESTER]


class ApiKeyPublic(OutputModel):
    name: str
    prefix: str
    role: Role
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str
