"""Signed, asset-scoped, revocable "report a problem" links (what the QR stickers encode).

A link token is ``v1.<asset id>.<issued at>.<mac>``, the numbers in base 36 and the MAC the
first 16 bytes of HMAC-SHA256 under the *link secret*, base64url. It names one asset, needs no
account and no database row, and stays short enough for a small QR code.

The link secret is not the session secret: rotating ``FACILITY_SECRET_KEY`` (to void every
session token) must not void every printed sticker. It is ``FACILITY_QR_SECRET`` when set, else
``<data dir>/qr_secret``, created once (0600) by :func:`ensure_link_secret`. An installation that
printed stickers before the two were split seeds that file with its session secret, so those
stickers keep working; a new installation gets a random one. Deleting the file (or setting
``FACILITY_QR_SECRET``) voids every sticker at once.

Revocation is per asset: ``facility assets revoke CODE`` records "links issued before now are
void" in ``<data dir>/report-links.json``; stickers printed afterwards work again.

Reports through a link are rate-limited in memory per (client address, asset), per link and per
asset (:class:`RateLimiter`, bounded tables that forget their oldest keys), which is enough for
one process. Behind a proxy the client address is the one the proxy forwards only when the
proxy is in ``FACILITY_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LinkError",
    "RateLimiter",
    "ReportLink",
    "Revocations",
    "ensure_link_secret",
    "sign_link",
    "verify_link",
]

_VERSION = "v1"
_MAX_TOKEN_CHARS = 80
LINK_SECRET_FILE = "qr_secret"  # noqa: S105  (a file name, not a secret)
SESSION_SECRET_FILE = "secret_key"  # noqa: S105


def ensure_link_secret(
    *, configured: str | None, data_dir: Path, session_secret: str | None
) -> str:
    """The key that signs report links: ``configured``, else the one kept in the data dir.

    On first use the file is seeded with ``session_secret`` when the installation already has
    one (``FACILITY_SECRET_KEY`` or ``<data dir>/secret_key`` exists), because the stickers it
    printed so far were signed with it; otherwise it gets a fresh random key. Either way the
    link secret is fixed from then on, whatever happens to the session secret.
    """
    if configured:
        return configured
    path = data_dir / LINK_SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    existing = session_secret
    if existing is None and (data_dir / SESSION_SECRET_FILE).exists():
        existing = (data_dir / SESSION_SECRET_FILE).read_text(encoding="utf-8").strip()
    key = existing or secrets.token_urlsafe(48)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process got there first: use its key
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


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
    """Sliding-window limit: at most ``limit`` events per ``window_s`` for each key.

    The table holds at most ``max_keys`` keys. When it is full, a new key evicts the key used
    least recently instead of being refused: a flood of distinct keys (addresses) can then only
    push out other flooders' counters, never turn the limiter into "429 for everyone". Budgets
    that must survive a flood are keyed by something the flooder cannot multiply (the asset, the
    link), in their own limiter.
    """

    def __init__(self, *, limit: int, window_s: float, max_keys: int = 10_000) -> None:
        if limit <= 0 or window_s <= 0 or max_keys <= 0:
            raise ValueError("limit, window_s and max_keys must be positive")
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, text: str, *, max_keys: int = 10_000) -> RateLimiter:
        """A limiter from ``COUNT/PERIOD`` (``"5/10minutes"``), the form the settings use."""
        from limits import parse  # noqa: PLC0415  (~50 ms of imports, only where it is served)

        item = parse(text)
        return cls(limit=item.amount, window_s=float(item.get_expiry()), max_keys=max_keys)

    def allow(self, key: str, *, now: float | None = None) -> bool:
        """Count one event for ``key`` and say whether it is within the limit."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.get(key)
            if events is None:
                while len(self._events) >= self.max_keys:
                    self._events.popitem(last=False)
                events = self._events[key] = deque()
            else:
                self._events.move_to_end(key)
            while events and moment - events[0] >= self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(moment)
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)
