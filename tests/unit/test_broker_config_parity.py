"""The embedded Mosquitto's generated config carries the production config's limits.

Every directive of ``deploy/mosquitto/mosquitto.conf`` is either the same in the generated one
(the limits, the protocol, persistence) or named below as different on purpose; a limit added
to the production file therefore fails this test until the embedded broker has it too.
"""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path

from gateway.broker import MosquittoBroker

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"

#: Directives the embedded broker sets differently, and why.
DIFFERENT_ON_PURPOSE = {
    "listener": "a free loopback port instead of 1883 on every interface",
    "allow_anonymous": "anonymous, because it listens on loopback only (checked below)",
    "password_file": "no accounts on a loopback-only broker",
    "acl_file": "no accounts, so no ACL",
    "persistence_location": "a temporary folder of its own",
    "log_dest": "stderr, captured into a log file the broker's errors are read from",
    "log_type": "errors and warnings only (notice would fill the demo's log)",
    "connection_messages": "logged at notice level, which the embedded broker does not log",
    #: mosquitto's default, which the embedded config leaves as is
    "per_listener_settings": "default false",
}
#: Mosquitto's defaults, for directives a config may leave out.
DEFAULTS = {"per_listener_settings": ["false"], "protocol": ["mqtt"]}


def _directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition(" ")
        found.setdefault(name, []).append(value.strip())
    return found


def _embedded() -> dict[str, list[str]]:
    broker = MosquittoBroker(binary="/bin/true", port=18830)  # only its config is read
    try:
        return _directives(broker.config_text())
    finally:
        shutil.rmtree(broker._dir, ignore_errors=True)


def test_every_production_directive_is_mirrored_or_differs_on_purpose() -> None:
    production = _directives(DEPLOY.read_text(encoding="utf-8"))
    embedded = _embedded()
    unexplained = {
        name: (values, embedded.get(name, DEFAULTS.get(name)))
        for name, values in production.items()
        if name not in DIFFERENT_ON_PURPOSE and embedded.get(name, DEFAULTS.get(name)) != values
    }
    assert unexplained == {}, "mirror these in gateway/broker.py or explain them here"


def test_the_limits_that_protect_ingestion_are_the_same() -> None:
    production = _directives(DEPLOY.read_text(encoding="utf-8"))
    embedded = _embedded()
    for name in ("max_packet_size", "max_queued_messages", "max_inflight_messages"):
        assert name in production, f"{name} left deploy/mosquitto/mosquitto.conf"
        assert embedded[name] == production[name], name


def test_the_anonymous_embedded_broker_listens_on_loopback_only() -> None:
    embedded = _embedded()
    assert embedded["allow_anonymous"] == ["true"]
    for listener in embedded["listener"]:
        port, _, host = listener.partition(" ")
        assert port.isdigit() and host, f"listener {listener!r} binds every interface"
        assert ipaddress.ip_address(host).is_loopback, listener
