"""The embedded MQTT broker for ``facility demo`` and for tests.

A ``mosquitto`` binary on PATH (or in /usr/sbin, where Debian puts it) is started on a free port
with a generated config; without one, amqtt (MQTT 3.1.1 only) runs in-process on a thread of its
own. Either way the caller gets a URL and a ``stop()``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

from facility.core.errors import ServiceUnavailable
from facility.core.wait import wait_until

__all__ = [
    "MAX_PACKET_BYTES",
    "AmqttBroker",
    "EmbeddedBroker",
    "MosquittoBroker",
    "find_mosquitto",
    "free_port",
]

#: The largest MQTT packet the embedded Mosquitto accepts, the same as the production config's
#: ``max_packet_size``: a device reading is well under 1 KiB; a 256 MB PUBLISH once froze
#: ingestion for minutes. (amqtt, the in-process fallback, has no such limit: say so in docs.)
MAX_PACKET_BYTES = 262_144

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (bind to 0, read it back, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def find_mosquitto() -> str | None:
    """The path of a mosquitto binary, looking in /usr/sbin too (not on a user's PATH)."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/usr/local/sbin"
    return shutil.which("mosquitto", path=path)


class EmbeddedBroker:
    """Common face of the two embedded brokers."""

    host = "127.0.0.1"
    port: int
    #: the highest MQTT protocol the broker speaks ("5" or "3.1.1")
    protocol: str

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> EmbeddedBroker:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def best(port: int | None = None) -> EmbeddedBroker:
        """Mosquitto if installed, else amqtt."""
        binary = find_mosquitto()
        if binary:
            return MosquittoBroker(binary, port=port)
        log.info("no mosquitto binary found; using the in-process amqtt broker (MQTT 3.1.1)")
        return AmqttBroker(port=port)


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


class MosquittoBroker(EmbeddedBroker):
    """A real ``mosquitto`` process on a free port, with persistence in a temporary folder."""

    protocol = "5"

    def __init__(self, binary: str | None = None, *, port: int | None = None) -> None:
        self._port_chosen = port is None  # then a port taken meanwhile is retried on another
        found = binary or find_mosquitto()
        if found is None:
            raise ServiceUnavailable("mosquitto is not installed; apt-get install -y mosquitto")
        self.binary = found
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="facility-mosquitto-"))
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> MosquittoBroker:
        """Start and wait until it listens; retry on another free port if ours was taken."""
        for attempt in range(5):
            try:
                return self._start_once()
            except ServiceUnavailable as exc:
                in_use = "Address already in use" in str(exc)
                if not (in_use and self._port_chosen) or attempt == 4:
                    raise
                log.info("port %d was taken before mosquitto bound it; trying another", self.port)
                (self._dir / "mosquitto.log").unlink(missing_ok=True)
                self.port = free_port()
        raise AssertionError("unreachable")

    def config_text(self) -> str:
        """The generated ``mosquitto.conf``: the limits of ``deploy/mosquitto/mosquitto.conf``
        (a test compares them), anonymous but on loopback only."""
        return (
            f"listener {self.port} {self.host}\n"
            "protocol mqtt\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self._dir}/\n"
            "autosave_interval 30\n"
            "max_queued_messages 100000\n"
            "max_inflight_messages 100\n"
            # as deploy/mosquitto/mosquitto.conf: one huge PUBLISH must not freeze ingestion
            f"max_packet_size {MAX_PACKET_BYTES}\n"
            "log_dest stderr\n"
            "log_type error\n"
            "log_type warning\n" + ("user root\n" if _running_as_root() else "")
            # started as root (CI, a container), mosquitto drops to its own user, which cannot
            # write its persistence file into our 0700 folder: sessions would not survive a
            # restart. The process is root already; keeping that loses no privilege.
        )

    def _start_once(self) -> MosquittoBroker:
        conf = self._dir / "mosquitto.conf"
        conf.write_text(self.config_text())
        log_file = (self._dir / "mosquitto.log").open("ab")
        # its own session: a Ctrl-C in the terminal reaches `facility` only, which disconnects
        # its clients and then stops the broker, instead of the broker dying under them
        self._proc = subprocess.Popen(
            [self.binary, "-c", str(conf)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()
        try:
            wait_until(
                lambda: self._alive() and port_open(self.host, self.port),
                timeout_s=10,
                what=f"mosquitto on port {self.port}",
            )
        except TimeoutError as exc:
            self.stop()
            raise ServiceUnavailable(f"mosquitto did not start: {self.log_tail()}") from exc
        return self

    def _alive(self) -> bool:
        if self._proc is None or self._proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {self.log_tail()}")
        return True

    def log_tail(self) -> str:
        path = self._dir / "mosquitto.log"
        return path.read_text(errors="replace")[-500:] if path.exists() else ""

    def stop(self) -> None:
        """Terminate mosquitto and wait for it; returns its exit code via ``returncode``."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.returncode


class AmqttBroker(EmbeddedBroker):
    """amqtt in-process: MQTT 3.1.1 only, slower than Mosquitto, but needs nothing installed."""

    protocol = "3.1.1"

    def __init__(self, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="amqtt-broker", daemon=True)
        self._broker: object | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start())
        except BaseException as exc:
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        from amqtt.broker import Broker  # noqa: PLC0415  (lazy: only the embedded fallback)

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        broker = Broker(config, loop=self._loop)
        await broker.start()
        self._broker = broker

    def start(self) -> AmqttBroker:
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.ERROR)
        self._thread.start()
        self._started.wait(timeout=15)
        if self._error is not None or self._broker is None:
            raise ServiceUnavailable(f"the embedded amqtt broker did not start: {self._error}")
        return self

    def stop(self) -> None:
        if self._broker is None:
            return
        broker = self._broker
        self._broker = None

        async def shutdown() -> None:
            await broker.shutdown()  # type: ignore[attr-defined]

        future = asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        try:
            future.result(timeout=10)
        except Exception as exc:
            log.warning("amqtt shutdown: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
