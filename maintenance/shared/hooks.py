"""Hooks: how one domain reacts to another's events without importing it.

A lower domain publishes (the work-order life cycle publishes ``order_moved``); a higher one
subscribes (inventory settles the order's reserved parts, PM opens a condition plan's order).
Handlers run synchronously, in subscription order, inside the publisher's transaction: a handler
that raises aborts the change that published, so stock and orders can never disagree. This is
netbox's ``signals.py`` without Django: one small generic class, no registry of strings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Hook"]

E = TypeVar("E")


class Hook(Generic[E]):
    """A named event that handlers subscribe to; :meth:`publish` calls each with the event."""

    __slots__ = ("_handlers", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Callable[[E], None]] = []

    def subscribe(self, handler: Callable[[E], None]) -> Callable[[E], None]:
        """Add ``handler`` (once; subscribing again is a no-op). Usable as a decorator."""
        if handler not in self._handlers:
            self._handlers.append(handler)
        return handler

    def unsubscribe(self, handler: Callable[[E], None]) -> None:
        """Remove ``handler`` if it is subscribed."""
        if handler in self._handlers:
            self._handlers.remove(handler)

    def publish(self, event: E) -> None:
        """Call every handler with ``event``; an exception propagates to the publisher."""
        for handler in tuple(self._handlers):
            handler(event)

    def __repr__(self) -> str:
        return f"Hook({self.name!r}, {len(self._handlers)} handlers)"
