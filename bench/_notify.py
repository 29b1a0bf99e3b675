"""The benchmark as the daemon's service manager: a Unix datagram socket passed to the daemon
as ``NOTIFY_SOCKET``, on which its own ``READY=1`` arrives (see ``hybridcal.daemon.sdnotify``).

The datagram is timestamped when it arrives, so READY is what the daemon says, not when a
poller got round to asking ``/readyz``.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from hybridcal.daemon.sdnotify import NOTIFY_SOCKET


class NotifyListener:
    """``with NotifyListener(path) as notify:``; ``notify.env`` goes into the daemon's
    environment, ``await notify.ready(within)`` returns the ``perf_counter`` time of READY=1."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._sock: socket.socket | None = None
        self.messages: list[tuple[float, str]] = []
        self._arrived = asyncio.Event()

    def __enter__(self) -> Self:
        self._path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(self._path))
        sock.setblocking(False)  # noqa: FBT003 - the stdlib's signature
        self._sock = sock
        # read by a callback of the loop, never by a cancellable await: a datagram read at the
        # moment a wait times out would otherwise be lost with the cancelled task
        asyncio.get_running_loop().add_reader(sock.fileno(), self._read)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        self._path.unlink(missing_ok=True)

    def _read(self) -> None:
        if self._sock is None:
            return
        while True:
            try:
                data = self._sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                break
            self.messages.append((time.perf_counter(), data.decode(errors="replace")))
            self._arrived.set()

    @property
    def env(self) -> dict[str, str]:
        return {NOTIFY_SOCKET: str(self._path)}

    def clear(self) -> None:
        self.messages.clear()

    async def wait_for(
        self, assignment: str, within: float, *, alive: Callable[[], None] | None = None
    ) -> float:
        """The ``perf_counter`` time at which a datagram holding ``assignment`` (e.g.
        ``READY=1``) arrived; raises TimeoutError after ``within`` seconds. ``alive`` is called
        every 0.1 s while waiting and raises when the sender has died."""
        if self._sock is None:
            raise RuntimeError("the notify socket is not open")
        deadline = time.monotonic() + within
        while True:
            for at, text in self.messages:
                if assignment in text.splitlines():
                    return at
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {assignment} within {within:.0f} s")
            self._arrived.clear()
            try:
                async with asyncio.timeout(0.1):
                    await self._arrived.wait()
            except TimeoutError:
                if alive is not None:
                    alive()
