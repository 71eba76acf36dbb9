"""The edge bridge (``facility bridge``): field-bus connectors → on-disk spool → central broker.

See :mod:`gateway.bridge.bridge` and docs/connectors.md, "Edge bridge". The CLI
(:mod:`gateway.bridge.cli`) is mounted lazily by ``facility``; nothing here loads paho's
client or a field-bus library until a bridge is built.
"""

from gateway.bridge.spool import Spool

__all__ = ["Spool"]
