"""Hot reload of the rules file: poll its modification stamp, swap the rules in when it changes.

Polling (``os.stat``, a few bytes per second) instead of inotify keeps it portable and works on
bind mounts and network file systems where change events are unreliable; the caller drives
:meth:`RulesWatcher.poll` from a loop it already has (the stack's ticker). A file that fails
validation is refused: every error is logged and the old rules keep running.
"""

from __future__ import annotations

import hashlib
import logging
import os
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from facility.core.errors import RuleError
from rules.engine import ReloadReport, RuleEngine
from rules.loader import check_rules

__all__ = ["RulesWatcher"]

log = logging.getLogger(__name__)


class RulesWatcher:
    """Watches one rules file for one engine.

    Args:
        path: the rules file.
        engine: the engine to reload.
        lock: held while the rules are swapped (the caller's engine lock), so no reading is
            evaluated half-way through a reload.
    """

    def __init__(
        self,
        path: Path,
        engine: RuleEngine,
        *,
        lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        self.path = path
        self.engine = engine
        self._lock: AbstractContextManager[Any] = lock if lock is not None else nullcontext()
        self._stamp = self._stat()
        self._digest = self._hash()
        self.last_errors: list[RuleError] = []
        self.reloads = 0

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def _hash(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    def poll(self) -> ReloadReport | None:
        """Reload if the file changed; return the report, or None if nothing was swapped."""
        stamp = self._stat()
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        if stamp is None:
            log.error("rules file %s is gone; the current rules keep running", self.path)
            return None
        digest = self._hash()
        if digest == self._digest:
            return None  # touched, not changed
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.error("cannot read rules file %s (%s); current rules keep running", self.path, exc)
            return None
        parsed, errors = check_rules(text)
        if errors or parsed is None:
            self.last_errors = errors
            for error in errors:
                log.error("rules file %s refused: %s", self.path, error)
            log.error("the current rules keep running; fix %s and save it again", self.path)
            return None
        self._digest = digest
        self.last_errors = []
        with self._lock:
            report = self.engine.reload(parsed)
        self.reloads += 1
        return report
