"""A minimal sd_notify(3) client: tell systemd we are ready, alive, or stopping.

The protocol is one datagram of newline-separated ``KEY=value`` lines to the AF_UNIX socket
named by ``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace). Outside systemd
the variable is absent and every call is a no-op. Sending never blocks and never raises: a
full or vanished socket must not take the daemon down (systemd's watchdog notices real hangs).
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

NOTIFY_SOCKET: Final = "NOTIFY_SOCKET"
WATCHDOG_USEC: Final = "WATCHDOG_USEC"
WATCHDOG_PID: Final = "WATCHDOG_PID"


def _address(value: str | None) -> str | None:
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]  # abstract namespace
    if value.startswith("/"):
        return value
    return None  # vsock:... and other transports are not supported


class SystemdNotifier:
    """Sends notifications to the service manager named in ``environ``."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._address = _address(environ.get(NOTIFY_SOCKET))
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *assignments: str) -> bool:
        """Send ``KEY=value`` assignments in one datagram; True when it was sent."""
        if self._address is None or not assignments:
            return False
        if not all("=" in item for item in assignments):
            raise ValueError(f"sd_notify assignments are KEY=value, got {assignments!r}")
        payload = "\n".join(_one_line(item) for item in assignments).encode()
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._socket.setblocking(False)  # noqa: FBT003 - the stdlib's signature
            self._socket.sendto(payload, self._address)
        except OSError:
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *_status(status))

    def status(self, text: str) -> bool:
        return self.notify(*_status(text))

    def watchdog(self) -> bool:
        """Call only while the work loop is really making progress."""
        return self.notify("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        return self.notify("STOPPING=1", *_status(status))

    def start_watchdog(
        self, healthy: Callable[[], bool], *, pid: int | None = None
    ) -> asyncio.Task[None] | None:
        """Ping the watchdog every half interval while ``healthy()`` says so; None when
        systemd has no watchdog for this process. The caller owns (and cancels) the task."""
        interval = watchdog_interval(self._environ, pid)
        if interval is None or not self.enabled:
            return None
        return asyncio.create_task(self._watchdog_loop(interval, healthy), name="sd-watchdog")

    async def _watchdog_loop(self, interval: float, healthy: Callable[[], bool]) -> None:
        while True:
            # A wedged work loop stops the pings, and systemd restarts the service.
            if healthy():
                self.watchdog()
            await asyncio.sleep(interval)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _status(text: str | None) -> tuple[str, ...]:
    return () if text is None else (f"STATUS={text}",)


def _one_line(value: str) -> str:
    # A newline would start a new assignment, letting a status text inject READY=1 and the like.
    return " ".join(value.splitlines())


def watchdog_interval(environ: Mapping[str, str], pid: int | None = None) -> float | None:
    """Seconds between ``WATCHDOG=1`` pings (half of ``WatchdogSec=``), or None when the
    watchdog is off or meant for another process (``$WATCHDOG_PID``)."""
    try:
        usec = int(environ.get(WATCHDOG_USEC, ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    owner = environ.get(WATCHDOG_PID)
    if owner:
        try:
            if int(owner) != (os.getpid() if pid is None else pid):
                return None
        except ValueError:
            return None
    return usec / 2_000_000
