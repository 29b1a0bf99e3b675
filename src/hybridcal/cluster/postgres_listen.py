"""The LISTEN side of the coordinator: one dedicated autocommit connection that receives the
other replicas' notifications, and comes back by itself when the connection drops.

PostgreSQL does not queue notifications for a session that is gone, so whatever was sent while
the connection was down is lost; ``on_reconnect`` lets the coordinator treat every calendar it
owns as notified.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import structlog

from hybridcal.cluster.postgres_leases import CONTROL_CHANNEL, SYNC_CHANNEL, AsyncConn

log = structlog.get_logger(__name__)

FIRST_BACKOFF = 0.1
MAX_BACKOFF = 5.0


class Listener:
    def __init__(
        self,
        connect: Callable[[], Awaitable[AsyncConn]],
        *,
        on_sync: Callable[[str, bool], None],
        on_control: Callable[[str, str], None],
        on_reconnect: Callable[[], None],
    ) -> None:
        self._connect = connect
        self._on_sync = on_sync
        self._on_control = on_control
        self._on_reconnect = on_reconnect
        self._conn: AsyncConn | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect and LISTEN now (so start-up fails loudly), then listen in the background."""
        self._conn = await self._listen()
        self._task = asyncio.create_task(self._run(), name="hybridcal-cluster-listen")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close()

    async def _listen(self) -> AsyncConn:
        conn = await self._connect()
        try:
            await conn.execute(f"LISTEN {SYNC_CHANNEL}")
            await conn.execute(f"LISTEN {CONTROL_CHANNEL}")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await self._conn.close()
            self._conn = None

    async def _run(self) -> None:
        backoff = FIRST_BACKOFF
        while True:
            if self._conn is None:
                try:
                    self._conn = await self._listen()
                except (psycopg.Error, OSError) as exc:
                    log.warning("cluster listen reconnect failed", error=str(exc), retry=backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                backoff = FIRST_BACKOFF
                log.info("cluster listen connection restored")
                self._on_reconnect()
            try:
                async for notify in self._conn.notifies():
                    self._dispatch(notify.channel, notify.payload)
            except (psycopg.Error, OSError) as exc:
                log.warning("cluster listen connection lost", error=str(exc))
            await self._close()

    def _dispatch(self, channel: str, payload: str) -> None:
        try:
            message: dict[str, Any] = json.loads(payload)
            if channel == SYNC_CHANNEL:
                deliver = functools.partial(
                    self._on_sync, str(message["calendar"]), bool(message["full"])
                )
            else:
                deliver = functools.partial(
                    self._on_control, str(message["replica"]), str(message["event"])
                )
        except (ValueError, KeyError, TypeError):
            # Anyone with database access can NOTIFY: a malformed message is dropped, not fatal.
            log.warning("cluster notification ignored", channel=channel, size=len(payload))
            return
        try:
            deliver()
        except Exception:
            log.exception("cluster notification handler failed", channel=channel)
