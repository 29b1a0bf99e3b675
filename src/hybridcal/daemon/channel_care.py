"""Channels that need more than renewal: a Google notification from a channel we do not know
(our own may be dead: a restored store?), and Graph's lifecycle notifications
(``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime

import structlog

from hybridcal.cluster.base import Coordinator
from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.connectors.errors import ConnectorError
from hybridcal.core.model import CalendarRecord, CalendarState, Channel, Provider
from hybridcal.daemon.calendar_work import Deliver
from hybridcal.daemon.channels import ChannelManager
from hybridcal.store.base import Store

log = structlog.get_logger(__name__)

# how long a stray notification waits for one of ours on the same calendar (Google notifies
# every live channel of a change at about the same time)
STRAY_GRACE_S = 5.0


class ChannelCare:
    def __init__(
        self,
        *,
        store: Store,
        connectors: Mapping[Provider, CalendarConnector],
        channels: ChannelManager,
        coordinator: Coordinator,
        deliver: Deliver,
        now: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._connectors = connectors
        self._channels = channels
        self._coordinator = coordinator
        self._deliver = deliver
        self._now = now
        self._recovering: dict[str, asyncio.Task[None]] = {}  # calendar -> its channel check
        self.stray_grace_s = STRAY_GRACE_S
        # whether one of our channels of a calendar delivered within some seconds (the Google
        # webhook knows; set once it exists, since it also needs this object)
        self.delivered_within: Callable[[str, float], bool] = lambda _key, _seconds: False

    # -- Google: a notification from a channel we do not know -------------------------------

    async def stop_unknown_channel(self, channel_id: str, resource_id: str, address: str) -> None:
        connector = self._connectors.get(Provider.GOOGLE)
        calendar = await self._store.get_calendar(f"{Provider.GOOGLE.value}:{address.lower()}")
        if connector is None or calendar is None:
            return
        stray = Channel(channel_id, calendar.key, "", resource_id, self._now(), self._now())
        await connector.stop_channel(calendar, stray)
        log.info("channel.unknown_stopped", channel=channel_id, calendar=calendar.key)
        if (
            calendar.state is CalendarState.ACTIVE
            and calendar.key not in self._recovering
            and self._coordinator.owns(calendar.key)  # the owner's channels are the owner's
        ):
            # Google delivers this calendar's changes somewhere we do not know (a restored
            # store?): our own channels may be dead. Checked in the background, so that the
            # webhook answers at once; one check per calendar at a time.
            self._recovering[calendar.key] = asyncio.create_task(
                self._recover(calendar, channel_id, resource_id),
                name=f"channel-recovery-{calendar.key}",
            )

    async def wait_checks(self) -> None:
        """Until the channel checks started by stray notifications are done (tests, demo)."""
        await asyncio.gather(*self._recovering.values(), return_exceptions=True)

    async def aclose(self) -> None:
        for task in self._recovering.values():
            task.cancel()
        await self.wait_checks()

    async def _recover(self, calendar: CalendarRecord, channel_id: str, resource_id: str) -> None:
        try:
            await asyncio.sleep(self.stray_grace_s)
            if self.delivered_within(calendar.key, 2 * self.stray_grace_s):
                log.info("channel.stray_ours_alive", calendar=calendar.key, stray=channel_id)
                return  # ours delivered the same change: a leftover, already stopped
            try:
                fresh = await self._channels.recover_from_stray(calendar, channel_id, resource_id)
            except ConnectorError as exc:
                log.warning("channel.recover_failed", calendar=calendar.key, error=str(exc))
                return
            if fresh is not None:
                self._deliver(calendar.key)  # what the dead channel did not tell us
        except Exception:
            log.exception("channel.recover_failed", calendar=calendar.key)
        finally:
            self._recovering.pop(calendar.key, None)

    # -- Graph lifecycle notifications -------------------------------------------------------

    async def renew_subscription(self, subscription_id: str) -> None:
        """``reauthorizationRequired``: extend the subscription now."""
        channel = await self._store.get_channel(subscription_id)
        calendar = await self._store.get_calendar(channel.calendar_key) if channel else None
        if channel is None or calendar is None:
            return
        try:
            await self._channels.extend(calendar, channel)
        except ConnectorError as exc:
            log.warning("channel.reauthorize_failed", calendar=calendar.key, error=str(exc))

    async def recreate_subscription(self, key: str) -> None:
        """``subscriptionRemoved``: a new subscription, then a resync of the window. Another
        replica's calendar is left to its owner, whose sweep replaces missing channels."""
        calendar = await self._store.get_calendar(key)
        if calendar is None or calendar.state is not CalendarState.ACTIVE:
            return
        if self._coordinator.owns(key):
            try:
                await self._channels.replace(calendar)
            except ConnectorError as exc:
                log.warning("channel.recreate_failed", calendar=key, error=str(exc))
        await self.resync(key)

    async def resync(self, key: str) -> None:
        """``missed``: notifications were lost; read the whole window again."""
        self._deliver(key, full=True)
