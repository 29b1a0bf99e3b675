"""Push channels: create on activation, renew well before expiry, stop what we no longer need.

Graph subscriptions are extended in place. Google channels cannot be extended: renewal creates
a new channel (new id, new secret), stores it, and only then stops the old one, so that there
is no gap in which changes go unnoticed.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import structlog

from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.connectors.errors import ConnectorError
from hybridcal.core.model import CalendarRecord, CalendarState, Channel, Provider
from hybridcal.store.base import Store

log = structlog.get_logger(__name__)


PROVISIONAL_LIFETIME = timedelta(minutes=2)
# a calendar's channels are replaced because of a stray at most this often: forged
# notifications cannot make us open channels in a storm
STRAY_RECHECK = timedelta(minutes=10)
_RETIRED_KEPT = 1024  # ids of channels we stopped ourselves, remembered (bounded)


def new_channel_id() -> str:
    return f"hc-{secrets.token_hex(16)}"


class ChannelManager:
    def __init__(
        self,
        *,
        store: Store,
        connectors: Mapping[Provider, CalendarConnector],
        webhook_urls: Mapping[Provider, str],
        renew_before: timedelta,
        now: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._connectors = connectors
        self._urls = webhook_urls
        self._renew_before = renew_before
        self._now = now
        self.renewals = 0
        self._stray_checks: dict[str, datetime] = {}  # calendar -> last replacement by a stray
        self._retired: OrderedDict[str, None] = OrderedDict()  # channels we stopped ourselves

    async def ensure(self, calendar: CalendarRecord) -> Channel | None:
        """A live channel for the calendar, created when it has none that outlives the margin."""
        live = []
        for channel in await self._store.list_channels(calendar.key):
            if self._abandoned(channel):
                await self._store.delete_channel(channel.channel_id)
            elif not self._due(channel):
                live.append(channel)
        if live:
            return max(live, key=lambda c: c.expires_at)
        return await self._open(calendar)

    async def renew_due(
        self,
        on_renewed: Callable[[Provider], None] | None = None,
        *,
        owned: Callable[[str], bool] = lambda _key: True,
    ) -> int:
        """Extend or replace every channel close to expiry of the calendars ``owned`` (by this
        replica); returns how many were renewed and tells ``on_renewed`` the provider of each."""
        renewed = 0
        tell = on_renewed or (lambda _provider: None)
        for channel in await self._store.list_channels():
            if not self._due(channel) or not owned(channel.calendar_key):
                continue
            calendar = await self._store.get_calendar(channel.calendar_key)
            if calendar is None or calendar.state is not CalendarState.ACTIVE:
                await self._store.delete_channel(channel.channel_id)
                continue
            try:
                if await self.extend(calendar, channel) is None:
                    fresh = await self.ensure(calendar)
                    if fresh is None or fresh.channel_id == channel.channel_id:
                        continue
                    await self._stop(calendar, channel)
                renewed += 1
                tell(calendar.provider)
            except ConnectorError as exc:
                log.warning("channel.renew_failed", calendar=calendar.key, error=str(exc))
            except Exception:  # one calendar's odd answer must not leave the others to expire
                log.exception("channel.renew_failed", calendar=calendar.key)
        self.renewals += renewed
        return renewed

    async def extend(self, calendar: CalendarRecord, channel: Channel) -> Channel | None:
        """The channel extended in place and stored, or None where the provider cannot."""
        if channel.resource_id is None:
            return None  # provisional: nothing at the provider to extend
        connector = self._connectors[calendar.provider]
        extended = await connector.renew_channel(calendar, channel, now=self._now())
        if extended is not None:
            await self._store.put_channel(extended)
            log.info("channel.extended", calendar=calendar.key, channel=channel.channel_id)
        return extended

    async def replace(self, calendar: CalendarRecord) -> Channel | None:
        """Forget the calendar's channels (the provider removed them) and open a new one."""
        for channel in await self._store.list_channels(calendar.key):
            await self._store.delete_channel(channel.channel_id)
        return await self._open(calendar)

    async def recover_from_stray(
        self, calendar: CalendarRecord, channel_id: str, resource_id: str
    ) -> Channel | None:
        """Google delivers this calendar's changes to a channel we have no record of — the
        store was restored from an older copy, say: the stored channels may be ones Google
        stopped long ago, and no push would arrive until the next reconcile. There is no way
        to ask Google which channels live, so a new channel is opened and the stored ones are
        stopped after it (no gap). Returns the new channel, or None when nothing was done:
        the stray is one we stopped ourselves (a late notification after a renewal), its
        resource is not the one our channels watch (forged), or the calendar was recovered
        less than STRAY_RECHECK ago."""
        if channel_id in self._retired:
            return None
        stored = await self._store.list_channels(calendar.key)
        known = {c.resource_id for c in stored if c.resource_id}
        if known and resource_id not in known:
            return None
        now = self._now()
        last = self._stray_checks.get(calendar.key)
        if last is not None and now - last < STRAY_RECHECK:
            return None
        self._stray_checks[calendar.key] = now
        fresh = await self._open(calendar)
        if fresh is None:
            return None
        for channel in stored:
            if channel.channel_id != fresh.channel_id:
                await self._stop(calendar, channel)
        log.warning(
            "channel.recovered_from_stray",
            calendar=calendar.key,
            stray=channel_id,
            replaced=len(stored),
            channel=fresh.channel_id,
        )
        return fresh

    async def close_all(self, calendar: CalendarRecord) -> None:
        for channel in await self._store.list_channels(calendar.key):
            await self._stop(calendar, channel)

    async def _open(self, calendar: CalendarRecord) -> Channel | None:
        url = self._urls.get(calendar.provider)
        if url is None:
            return None
        connector = self._connectors[calendar.provider]
        now = self._now()
        # Stored before the watch call: Google may deliver the channel's first notification
        # before the call returns. The resource id is filled in once Google has named it.
        provisional = Channel(
            channel_id=new_channel_id(),
            calendar_key=calendar.key,
            secret=secrets.token_urlsafe(32),
            resource_id=None,
            # short-lived, so a record left behind by a crash during the call is soon replaced
            expires_at=now + PROVISIONAL_LIFETIME,
            created_at=now,
        )
        await self._store.put_channel(provisional)
        try:
            channel = await connector.watch(
                calendar,
                address=url,
                channel_id=provisional.channel_id,
                secret=provisional.secret,
                now=now,
            )
        except BaseException:
            await self._store.delete_channel(provisional.channel_id)
            raise
        await self._store.put_channel(channel)
        if channel.channel_id != provisional.channel_id:
            # the provider named the channel itself (Graph): the placeholder has served
            await self._store.delete_channel(provisional.channel_id)
        log.info(
            "channel.opened",
            calendar=calendar.key,
            channel=channel.channel_id,
            expires=channel.expires_at.isoformat(),
        )
        return channel

    async def _stop(self, calendar: CalendarRecord, channel: Channel) -> None:
        self._retired[channel.channel_id] = None
        if len(self._retired) > _RETIRED_KEPT:
            self._retired.popitem(last=False)
        try:
            await self._connectors[calendar.provider].stop_channel(calendar, channel)
        except ConnectorError as exc:
            log.info("channel.stop_failed", channel=channel.channel_id, error=str(exc))
        await self._store.delete_channel(channel.channel_id)

    def _abandoned(self, channel: Channel) -> bool:
        """A provisional record whose watch call never came back (a crash during the call)."""
        return (
            channel.resource_id is None and self._now() - channel.created_at > PROVISIONAL_LIFETIME
        )

    def _due(self, channel: Channel) -> bool:
        # a channel that lives shorter than the margin is renewed at half its life instead,
        # or every fresh channel would be due at once
        margin = min(self._renew_before, (channel.expires_at - channel.created_at) / 2)
        return channel.expires_at - margin <= self._now()
