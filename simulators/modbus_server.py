"""A Modbus TCP device on a loopback port, for tests, benchmarks and the probe's examples.

It is pymodbus's own asyncio server with its simulator datastore, run in a thread so that
synchronous code (pytest, the benchmark) can start it, change its registers, count the requests
it served and make it stop answering, without an event loop of its own:

* :meth:`LoopbackModbusServer.set_registers` / :meth:`set_bits` change what it serves;
* :attr:`requests` counts the read requests per function (``"holding"``, ``"coil"``...), and
  :attr:`request_sizes` their address counts, so a test can assert on batching from the
  server's side;
* :meth:`stop_answering` makes it accept requests and never reply (what a device behind a dead
  serial gateway does: the TCP connection stays up, the answers never come), until
  :meth:`answer_again`.

Every address 0-``size``-1 of each of the four tables exists and starts at zero.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

__all__ = ["LoopbackModbusServer"]

_FUNCTION_NAMES = {1: "coil", 2: "discrete", 3: "holding", 4: "input"}
#: the function code whose table a set operation changes (5: coils, 2: discrete, 16, 4)
_SET_CODES = {"coil": 5, "discrete": 2, "holding": 16, "input": 4}


class LoopbackModbusServer:
    """One simulated device (unit ``unit``) on ``127.0.0.1:<free port>``."""

    def __init__(self, *, unit: int = 1, size: int = 1000) -> None:
        self.unit = unit
        self.size = size
        self.port = 0
        self.requests: collections.Counter[str] = collections.Counter()
        self.request_sizes: list[tuple[str, int, int]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="modbus-sim")
        self._server: ModbusTcpServer | None = None
        self._answering = asyncio.Event()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"modbus://127.0.0.1:{self.port}"

    def start(self) -> LoopbackModbusServer:
        self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._answering.set)  # release held requests
            self._call(self._server.shutdown())  # type: ignore[no-untyped-call]
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> LoopbackModbusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- behaviour --------------------------------------------------------------------------
    def set_registers(self, function: str, address: int, words: Sequence[int]) -> None:
        """Set holding or input registers from ``address`` (what the device will answer)."""
        self._set(function, address, [int(w) for w in words])

    def set_bits(self, function: str, address: int, bits: Sequence[bool]) -> None:
        """Set coils or discrete inputs from ``address``."""
        self._set(function, address, [bool(b) for b in bits])

    def stop_answering(self) -> None:
        """Take requests and never answer them, until :meth:`answer_again`."""
        self._loop.call_soon_threadsafe(self._answering.clear)

    def answer_again(self) -> None:
        self._loop.call_soon_threadsafe(self._answering.set)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.request_sizes.clear()

    # -- inside the server's loop -----------------------------------------------------------
    def _call(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(10)

    def _set(self, function: str, address: int, values: list[int] | list[bool]) -> None:
        assert self._server is not None, "start the server first"
        context: Any = self._server.context
        code = _SET_CODES[function]
        error = self._call(context.async_setValues(self.unit, code, address, values))
        if error:
            raise ValueError(f"cannot set {function} {address}+{len(values)}: {error}")

    async def _action(
        self,
        function_code: int,
        _start: int,
        address: int,
        count: int,
        _registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> None:
        if set_values is None and function_code in _FUNCTION_NAMES:
            name = _FUNCTION_NAMES[function_code]
            with self._lock:
                self.requests[name] += 1
                self.request_sizes.append((name, address, count))
            await self._answering.wait()

    async def _start(self) -> None:
        self._answering.set()

        def bits() -> list[SimData]:
            return [SimData(0, count=self.size, values=False, datatype=DataType.BITS)]

        def registers() -> list[SimData]:
            return [SimData(0, count=self.size, values=0, datatype=DataType.REGISTERS)]

        device = SimDevice(
            self.unit, simdata=(bits(), bits(), registers(), registers()), action=self._action
        )
        self._server = ModbusTcpServer(device, address=("127.0.0.1", 0))
        await self._server.serve_forever(background=True)
        transport: Any = self._server.transport
        self.port = int(transport.sockets[0].getsockname()[1])
