"""Bounded waiting on a condition, for start-up probes and tests alike."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["wait_until"]


def wait_until(
    condition: Callable[[], object],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = 0.05,
) -> None:
    """Poll ``condition`` until it is truthy, or raise ``TimeoutError`` naming ``what``.

    Exceptions raised by ``condition`` count as "not yet" so a probe can call a server that is
    still starting.
    """
    deadline = time.monotonic() + timeout_s
    last_error: BaseException | None = None
    while True:
        try:
            if condition():
                return
        except Exception as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            suffix = f" (last error: {last_error})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout_s:g}s waiting for {what}{suffix}")
        time.sleep(interval_s)
