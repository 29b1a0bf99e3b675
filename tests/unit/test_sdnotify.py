"""sd_notify client against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from typing import TYPE_CHECKING

import pytest

from hybridcal.daemon.sdnotify import SystemdNotifier, watchdog_interval

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket, like the one systemd passes in $NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    yield sock, str(path)
    sock.close()


def received(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode().split("\n")


def test_absent_socket_is_a_no_op() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog() is False
    assert notifier.stopping() is False


def test_unsupported_transport_is_a_no_op() -> None:
    assert not SystemdNotifier({"NOTIFY_SOCKET": "vsock:2:1234"}).enabled


def test_ready_status_watchdog_stopping(manager: tuple[socket.socket, str]) -> None:
    sock, path = manager
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready("serving on http://127.0.0.1:8480")
    assert received(sock) == ["READY=1", "STATUS=serving on http://127.0.0.1:8480"]
    assert notifier.status("syncing 3 calendars")
    assert received(sock) == ["STATUS=syncing 3 calendars"]
    assert notifier.watchdog()
    assert received(sock) == ["WATCHDOG=1"]
    assert notifier.stopping()
    assert received(sock) == ["STOPPING=1"]
    assert notifier.notify("READY=1", "STATUS=raw")
    assert received(sock) == ["READY=1", "STATUS=raw"]
    notifier.close()


def test_status_text_cannot_inject_assignments(manager: tuple[socket.socket, str]) -> None:
    sock, path = manager
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    notifier.status("evil\nREADY=1")
    assert received(sock) == ["STATUS=evil READY=1"]
    with pytest.raises(ValueError, match="KEY=value"):
        notifier.notify("READY")
    notifier.close()


def test_abstract_namespace_socket() -> None:
    name = f"hybridcal-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind("\0" + name)
        sock.settimeout(2)
        notifier = SystemdNotifier({"NOTIFY_SOCKET": "@" + name})
        assert notifier.ready()
        assert received(sock) == ["READY=1"]
        notifier.close()
    finally:
        sock.close()


def test_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.enabled
    assert notifier.ready() is False
    notifier.close()


def test_full_socket_does_not_block(manager: tuple[socket.socket, str]) -> None:
    _sock, path = manager
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    # Nobody reads: the receive queue fills up and further sends fail instead of blocking.
    results = [notifier.status("x" * 1024) for _ in range(5000)]
    assert results[0] is True
    assert results[-1] is False
    notifier.close()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "60000000"}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "4242"}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "x"}, None),
    ],
)
def test_watchdog_interval(environ: dict[str, str], expected: float | None) -> None:
    assert watchdog_interval(environ, pid=4242) == expected


def test_watchdog_interval_defaults_to_own_pid() -> None:
    env = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_interval(env) == 1.0


async def test_watchdog_task_pings_only_while_healthy(manager: tuple[socket.socket, str]) -> None:
    sock, path = manager
    sock.setblocking(False)  # noqa: FBT003 - the stdlib's signature
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000"}  # ping every 10 ms
    notifier = SystemdNotifier(env)
    healthy = True
    task = notifier.start_watchdog(lambda: healthy)
    assert task is not None
    await asyncio.sleep(0.08)

    def drain() -> int:
        count = 0
        while True:
            try:
                assert sock.recv(64) == b"WATCHDOG=1"
            except BlockingIOError:
                return count
            count += 1

    assert drain() >= 2
    healthy = False
    await asyncio.sleep(0.02)  # let an in-flight iteration finish
    drain()
    await asyncio.sleep(0.08)
    assert drain() == 0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    notifier.close()


async def test_no_watchdog_task_without_watchdog(manager: tuple[socket.socket, str]) -> None:
    _sock, path = manager
    assert SystemdNotifier({"NOTIFY_SOCKET": path}).start_watchdog(lambda: True) is None
    assert SystemdNotifier({"WATCHDOG_USEC": "1000000"}).start_watchdog(lambda: True) is None
