"""Push notification channels (events.watch / channels.stop) and their delivery.

A channel watches one calendar's events. Right after creation Google POSTs a ``sync`` message,
then ``exists`` for every change. Messages have **no body**; the headers carry everything:
``X-Goog-Channel-ID``, ``X-Goog-Message-Number`` (1 first, then increasing but not by one),
``X-Goog-Resource-ID``, ``X-Goog-Resource-State``, ``X-Goog-Resource-URI``, and only when set
``X-Goog-Channel-Expiration`` and ``X-Goog-Channel-Token``. A 2xx acknowledges; a 5xx or a
failed connection is retried with exponential backoff a few times. Nothing is sent after the
channel's expiration (default TTL 7 days, ``params.ttl`` in seconds). ``resourceId`` is stable
per watched calendar. Google requires an HTTPS address; the sandbox also accepts plain HTTP to
loopback addresses, because a local daemon has no certificate.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.google.errors import ApiError, bad_request, required
from hybridcal.sandbox.google.times import ms_epoch
from hybridcal.sandbox.tasks import TaskSet

DEFAULT_TTL = timedelta(days=7)
MAX_TTL = timedelta(days=30)
_CHANNEL_ID = re.compile(r"^[A-Za-z0-9\-_+/=]{1,64}$")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


@dataclass
class Channel:
    id: str
    resource_id: str
    resource_uri: str
    calendar: str
    address: str
    token: str | None
    expiration: datetime
    silent_after: datetime | None
    message_number: int = 0
    stopped: bool = False

    def live(self, now: datetime) -> bool:
        if self.stopped or now >= self.expiration:
            return False
        return self.silent_after is None or now < self.silent_after

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "api#channel",
            "id": self.id,
            "resourceId": self.resource_id,
            "resourceUri": self.resource_uri,
            "expiration": ms_epoch(self.expiration),
            "calendar": self.calendar,
            "address": self.address,
        }
        if self.token is not None:
            out["token"] = self.token
        return out


def resource_id_for(calendar: str) -> str:
    digest = hashlib.sha256(("events:" + calendar).encode()).digest()[:20]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class PushService:
    def __init__(
        self,
        faults: Faults,
        now: Callable[[], datetime],
        tasks: TaskSet,
        *,
        retries: int = 3,
        backoff_s: float = 0.05,
    ) -> None:
        self._faults = faults
        self._now = now
        self._tasks = tasks
        self._retries = retries
        self._backoff = backoff_s
        self._numbers = random.Random(faults.seed + 1)  # noqa: S311 - message numbering only
        self._session: aiohttp.ClientSession | None = None
        self.channels: dict[str, Channel] = {}
        self.sent = 0
        self.dropped = 0
        self.failed = 0

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- API -----------------------------------------------------------------------------------

    def watch(self, calendar: str, body: Mapping[str, Any], resource_uri: str) -> dict[str, Any]:
        channel_id = body.get("id")
        if not channel_id:
            raise required("id")
        if not _CHANNEL_ID.match(str(channel_id)):
            raise bad_request("Invalid channel id value.", parameter="id")
        if body.get("type") not in {"web_hook", "webhook"}:
            raise bad_request("Invalid value for: Unsupported channel type.", parameter="type")
        address = body.get("address")
        if not address:
            raise required("address")
        parts = urlsplit(str(address))
        secure = parts.scheme == "https" or (
            parts.scheme == "http" and _is_loopback(parts.hostname)
        )
        if not secure or not parts.hostname:
            raise bad_request(
                f"WebHook callback must be HTTPS: {address}",
                reason="push.webhookUrlNotHttps",
                parameter="address",
            )
        token = body.get("token")
        if token is not None and len(str(token)) > 256:
            raise bad_request("Channel token too long.", parameter="token")
        if channel_id in self.channels:
            raise ApiError(400, "channelIdNotUnique", f"Channel id {channel_id} not unique")
        ttl = self._ttl(body.get("params") or {})
        now = self._now()
        silent = self._faults.channel_silent_expiry_s
        channel = Channel(
            id=str(channel_id),
            resource_id=resource_id_for(calendar),
            resource_uri=resource_uri,
            calendar=calendar,
            address=str(address),
            token=None if token is None else str(token),
            expiration=now + ttl,
            silent_after=None if silent is None else now + timedelta(seconds=silent),
        )
        self.channels[channel.id] = channel
        self._send(channel, "sync")
        out = channel.describe()
        del out["calendar"], out["address"]
        return out

    def _ttl(self, params: Mapping[str, Any]) -> timedelta:
        raw = params.get("ttl")
        ttl = DEFAULT_TTL
        if raw is not None:
            try:
                seconds = int(str(raw))
            except ValueError:
                raise bad_request("Invalid ttl value.", parameter="params.ttl") from None
            if seconds <= 0:
                raise bad_request("Invalid ttl value.", parameter="params.ttl")
            ttl = min(timedelta(seconds=seconds), MAX_TTL)
        capped = self._faults.channel_ttl_s(ttl.total_seconds())
        return timedelta(seconds=capped)

    def stop(self, body: Mapping[str, Any]) -> None:
        channel = self.channels.get(str(body.get("id", "")))
        if channel is None or channel.resource_id != body.get("resourceId"):
            raise ApiError(404, "notFound", f"Channel '{body.get('id')}' not found")
        channel.stopped = True
        del self.channels[channel.id]

    def live(self, calendar: str | None = None) -> list[Channel]:
        now = self._now()
        return [
            c
            for c in self.channels.values()
            if c.live(now) and (calendar is None or c.calendar == calendar)
        ]

    # -- delivery ------------------------------------------------------------------------------

    def changed(self, calendar: str) -> None:
        for channel in self.live(calendar):
            self._send(channel, "exists")

    def _send(self, channel: Channel, state: str) -> None:
        channel.message_number += 1 if channel.message_number == 0 else self._numbers.randint(1, 7)
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Message-Number": str(channel.message_number),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-State": state,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Channel-Expiration": format_datetime(channel.expiration, usegmt=True),
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        if self._faults.drop_notification():
            self.dropped += 1
            return
        self._tasks.spawn(self._deliver(channel, headers))

    async def _deliver(self, channel: Channel, headers: dict[str, str]) -> None:
        for attempt in range(self._retries + 1):
            if not channel.live(self._now()) or self._session is None:
                return
            try:
                async with self._session.post(channel.address, headers=headers) as resp:
                    status = resp.status
                    await resp.read()
            except (aiohttp.ClientError, TimeoutError):
                status = 599
            if 200 <= status < 300:
                self.sent += 1
                return
            if status < 500:
                break  # the receiver refused it: Google does not retry client errors
            if attempt < self._retries:
                await asyncio.sleep(self._backoff * (2**attempt))
        self.failed += 1
