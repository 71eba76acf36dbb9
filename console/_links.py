"""Signed, asset-scoped, revocable "report a problem" links (what the QR stickers encode).

A link token is ``v1.<asset id>.<issued at>.<mac>``, the numbers in base 36 and the MAC the
first 16 bytes of HMAC-SHA256 under the app secret, base64url. It names one asset, needs no
account and no database row, and stays short enough for a small QR code.

Revocation is per asset: ``facility assets revoke CODE`` records "links issued before now are
void" in ``<data dir>/report-links.json``; stickers printed afterwards work again. Rotating the
app secret voids every link at once.

Reports through a link are rate-limited in memory per (client address, asset) and per asset, which
is enough for one process; behind a proxy the limiter sees the proxy's address, so put the
proxy's own limit in front as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LinkError",
    "RateLimiter",
    "ReportLink",
    "Revocations",
    "sign_link",
    "verify_link",
]

_VERSION = "v1"
_MAX_TOKEN_CHARS = 80


class LinkError(Exception):
    """A report link that is malformed, forged, for another asset or revoked."""


@dataclass(frozen=True, slots=True)
class ReportLink:
    asset_id: int
    issued_at: int


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def _mac(secret: str, asset_id: int, issued_at: int) -> str:
    message = f"report-link:{_VERSION}:{asset_id}:{issued_at}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_link(*, secret: str, asset_id: int, issued_at: int | None = None) -> str:
    """A token for the report form of asset ``asset_id``."""
    if asset_id < 0:
        raise ValueError("asset id must be non-negative")
    issued = int(time.time()) if issued_at is None else issued_at
    return f"{_VERSION}.{_b36(asset_id)}.{_b36(issued)}.{_mac(secret, asset_id, issued)}"


def verify_link(token: str, *, secret: str, revocations: Revocations | None = None) -> ReportLink:
    """The asset a token grants, or :class:`LinkError` saying why not."""
    if not token or len(token) > _MAX_TOKEN_CHARS:
        raise LinkError("this report link is malformed")
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != _VERSION:
        raise LinkError("this report link is malformed")
    try:
        asset_id, issued_at = int(parts[1], 36), int(parts[2], 36)
    except ValueError:
        raise LinkError("this report link is malformed") from None
    if not hmac.compare_digest(_mac(secret, asset_id, issued_at), parts[3]):
        raise LinkError("this report link is not valid (it was not signed by this installation)")
    if revocations is not None and issued_at < revocations.not_before(asset_id):
        raise LinkError("this report link has been withdrawn; ask the facility team for a new one")
    return ReportLink(asset_id, issued_at)


class Revocations:
    """Per-asset "links issued before this instant are void", kept in a small JSON file.

    The file is re-read when its modification time changes, so ``facility assets revoke`` in
    another process takes effect on the running console without a restart.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._cache: dict[int, int] = {}

    def _load(self) -> dict[int, int]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self._mtime, self._cache = None, {}
            return self._cache
        if mtime != self._mtime:
            raw = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            self._cache = {int(k): int(v) for k, v in raw.items()}
            self._mtime = mtime
        return self._cache

    def not_before(self, asset_id: int) -> int:
        with self._lock:
            return self._load().get(asset_id, 0)

    def revoke(self, asset_id: int, *, at: int | None = None) -> int:
        """Void every link of ``asset_id`` issued before ``at`` (default: now + 1 s)."""
        when = int(time.time()) + 1 if at is None else at
        with self._lock:
            current = dict(self._load())
            current[asset_id] = when
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({str(k): v for k, v in sorted(current.items())}))
            os.replace(tmp, self.path)
            self._mtime = None
        return when


class RateLimiter:
    """Sliding-window limit: at most ``limit`` events per ``window_s`` for each key."""

    def __init__(self, *, limit: int, window_s: float, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, *, now: float | None = None) -> bool:
        """Count one event for ``key`` and say whether it is within the limit."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            if len(self._events) >= self.max_keys and key not in self._events:
                self._forget_idle(moment)
                if len(self._events) >= self.max_keys:
                    return False
            events = self._events.setdefault(key, deque())
            while events and moment - events[0] >= self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(moment)
            return True

    def _forget_idle(self, moment: float) -> None:
        for key in [k for k, v in self._events.items() if not v or moment - v[-1] >= self.window_s]:
            del self._events[key]
