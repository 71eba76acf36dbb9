"""Users, password hashing (argon2 via pwdlib) and API tokens (JWT via PyJWT)."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import sqlalchemy as sa
from pwdlib import PasswordHash
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from facility.core.errors import FacilityError, Invalid, NotFound
from facility.core.settings import Settings
from maintenance.people.models import User
from maintenance.shared.vocabulary import Role

__all__ = [
    "MIN_PASSWORD_SCORE",
    "RESERVED_USERNAMES",
    "AuthError",
    "TokenClaims",
    "UserNotFound",
    "WeakPassword",
    "authenticate",
    "check_claims",
    "check_password",
    "create_user",
    "ensure_secret_key",
    "issue_token",
    "read_token",
    "update_user",
    "withdraw_tokens",
]

_HASHER = PasswordHash.recommended()
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256
ALGORITHM = "HS256"


#: Names the system itself writes into audit trails; a person with one of them could pass for
#: the rules engine (and cancel its orders) or read every anonymous QR report.
RESERVED_USERNAMES = frozenset(
    {"system", "rules", "dispatch", "sla", "qr-link", "demo-seed", "pm-scheduler", "anonymous"}
)
#: zxcvbn's score (0-4) a password needs: 2 means "somewhat guessable" (~10^8 guesses), which
#: with argon2 and the log-in throttle is out of reach online; 0-1 are top-list passwords.
MIN_PASSWORD_SCORE = 2


class AuthError(FacilityError):
    """Bad credentials or token; the API answers 401."""


class UserNotFound(NotFound):
    """No user has that name."""


class WeakPassword(Invalid):
    """The password is on the lists attackers try first; the message says why and what to do."""


def check_password(password: str, *, username: str = "") -> None:
    """Refuse a password by length and guessability (zxcvbn's dictionaries, not our own list)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise WeakPassword(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    verdict = zxcvbn(password[:100], user_inputs=[username] if username else [])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        why = verdict["feedback"].get("warning") or "it is easy to guess"
        raise WeakPassword(
            f"password refused: {why.rstrip('.').lower()}; use a longer passphrase, "
            "e.g. three or four unrelated words"
        )


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    team: str | None = None,
    skills: Sequence[str] = (),
    email: str | None = None,
) -> User:
    """Add a user; ``team`` and ``skills`` (asset types) feed auto-dispatch, ``email`` alerts."""
    if not _USERNAME_RE.match(username):
        raise FacilityError(f"user name {username[:70]!r} must be 1-64 of A-Z a-z 0-9 _ . @ -")
    if username.lower() in RESERVED_USERNAMES:
        raise FacilityError(
            f"user name {username!r} is reserved for the system's own entries; pick another"
        )
    check_password(password, username=username)
    if team is not None and not _USERNAME_RE.match(team):
        raise FacilityError(f"team {team[:70]!r} must be 1-64 of A-Z a-z 0-9 _ . @ -")
    if email is not None and not _EMAIL_RE.match(email):
        raise FacilityError(f"email {email[:80]!r} is not an address like name@example.org")
    bad = [s for s in skills if not _USERNAME_RE.match(s)]
    if bad:
        raise FacilityError(f"skill {bad[0][:70]!r} must be an asset type like ahu or chiller")
    user = User(
        username=username,
        password_hash=_HASHER.hash(password),
        role=role,
        team=team,
        skills=sorted(set(skills)),
        email=email,
    )
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise FacilityError(f"user {username!r} already exists") from exc
    session.commit()
    return user


def set_password(session: Session, *, username: str, password: str) -> None:
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise FacilityError(f"no user {username!r}")
    check_password(password, username=username)
    user.password_hash = _HASHER.hash(password)
    withdraw_tokens(session, username=username)  # a changed password ends every sign-in
    session.commit()


def authenticate(session: Session, *, username: str, password: str) -> User:
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None or not user.active or len(password) > MAX_PASSWORD:
        _HASHER.hash("timing-equaliser")  # same cost whether or not the user exists
        raise AuthError("wrong user name or password")
    if not _HASHER.verify(password, user.password_hash):
        raise AuthError("wrong user name or password")
    return user


def issue_token(user: User, *, secret: str, ttl_s: int) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": user.username,
        "role": user.role.value,
        "ver": user.token_version,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_s),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid signature vouches for; :func:`check_claims` says if it still holds."""

    username: str
    role: Role
    version: int


def read_token(token: str, *, secret: str) -> TokenClaims:
    """The claims of a token signed with ``secret`` and not expired; AuthError otherwise."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
        return TokenClaims(str(claims["sub"]), Role(claims["role"]), int(claims.get("ver", 0)))
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise AuthError("token is invalid or expired; get a new one at /api/v1/auth/token") from exc


def check_claims(session: Session, claims: TokenClaims) -> Role:
    """The user's role *now*, if the token was not withdrawn; AuthError otherwise.

    A signature alone would keep a token valid for its whole lifetime (8 h) after the user was
    deactivated, changed role or signed out. One indexed read per request buys "at once".
    """
    row = session.execute(
        sa.select(User.role, User.active, User.token_version).where(
            User.username == claims.username
        )
    ).first()
    if row is None or not row.active or row.token_version != claims.version:
        raise AuthError(
            "this sign-in was withdrawn (signed out, deactivated, or role or password changed); "
            "sign in again"
        )
    return Role(row.role)


def withdraw_tokens(session: Session, *, username: str) -> None:
    """Make every token issued to ``username`` so far invalid (the caller commits)."""
    session.execute(
        sa.update(User)
        .where(User.username == username)
        .values(token_version=User.token_version + 1)
    )


def update_user(
    session: Session, *, username: str, role: Role | None = None, active: bool | None = None
) -> User:
    """Change a user's role or whether they may sign in; their tokens are withdrawn at once."""
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise UserNotFound(
            f"no user {username!r}; check the spelling (user names are case-sensitive)"
        )
    if role is not None:
        user.role = role
    if active is not None:
        user.active = active
    session.flush()
    withdraw_tokens(session, username=username)
    session.commit()
    session.refresh(user)
    return user


def ensure_secret_key(settings: Settings) -> str:
    """The token-signing key: from settings, else generated once into the data dir (0600)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
