"""ChannelManager with a fake connector, a fake store and a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.connectors.errors import TransientError
from hybridcal.core.model import (
    CalendarKind,
    CalendarRecord,
    CalendarState,
    Channel,
    Provider,
    calendar_key,
)
from hybridcal.daemon.channels import ChannelManager
from hybridcal.store.base import Store

T0 = datetime(2030, 3, 4, 9, tzinfo=UTC)
URL = "https://hc.example.com/webhooks/google"
ALICE = CalendarRecord(
    calendar_key(Provider.GOOGLE, "alice@example.com"),
    Provider.GOOGLE,
    "alice@example.com",
    CalendarKind.USER,
    CalendarState.ACTIVE,
)
BOB = CalendarRecord(
    calendar_key(Provider.GOOGLE, "bob@example.com"),
    Provider.GOOGLE,
    "bob@example.com",
    CalendarKind.USER,
    CalendarState.ACTIVE,
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class World:
    """Store and connector in one, writing every step to one log so that order is visible."""

    def __init__(self, clock: Clock, ttl: timedelta = timedelta(days=7)) -> None:
        self.clock = clock
        self.ttl = ttl
        self.extends = False  # True: the provider extends channels in place (Graph)
        self.log: list[tuple[str, str]] = []
        self.channels: dict[str, Channel] = {}
        self.calendars = {ALICE.key: ALICE, BOB.key: BOB}
        self.watch_error: Exception | None = None
        self.stop_error: Exception | None = None

    # store
    async def list_channels(self, calendar_key: str | None = None) -> list[Channel]:
        return [c for c in self.channels.values() if calendar_key in (None, c.calendar_key)]

    async def put_channel(self, channel: Channel) -> None:
        self.log.append(("put", channel.channel_id))
        self.channels[channel.channel_id] = channel

    async def delete_channel(self, channel_id: str) -> None:
        self.log.append(("delete", channel_id))
        self.channels.pop(channel_id, None)

    async def get_calendar(self, key: str) -> CalendarRecord | None:
        return self.calendars.get(key)

    # connector
    async def watch(
        self, calendar: CalendarRecord, *, address: str, channel_id: str, secret: str, now: datetime
    ) -> Channel:
        assert address == URL
        self.log.append(("watch", channel_id))
        if self.watch_error is not None:
            raise self.watch_error
        return Channel(channel_id, calendar.key, secret, f"res-{channel_id}", now + self.ttl, now)

    async def renew_channel(
        self, calendar: CalendarRecord, channel: Channel, *, now: datetime
    ) -> Channel | None:
        if not self.extends:
            return None  # like Google: a new channel replaces it
        self.log.append(("extend", channel.channel_id))
        return Channel(
            channel.channel_id,
            calendar.key,
            channel.secret,
            channel.resource_id,
            now + self.ttl,
            now,
        )

    async def stop_channel(self, calendar: CalendarRecord, channel: Channel) -> None:
        self.log.append(("stop", channel.channel_id))
        if self.stop_error is not None:
            raise self.stop_error

    def ops(self, channel_id: str) -> list[str]:
        return [op for op, cid in self.log if cid == channel_id]


def manager(
    world: World, *, renew_before: timedelta = timedelta(days=1), url: str | None = URL
) -> ChannelManager:
    return ChannelManager(
        store=cast("Store", world),
        connectors={Provider.GOOGLE: cast("CalendarConnector", world)},
        webhook_urls={Provider.GOOGLE: url} if url else {},
        renew_before=renew_before,
        now=world.clock,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(clock: Clock) -> World:
    return World(clock)


async def test_ensure_opens_a_channel_once(world: World) -> None:
    channels = manager(world)
    first = await channels.ensure(ALICE)
    assert first is not None
    assert first.channel_id.startswith("hc-")
    assert len(first.secret) >= 32
    assert (first.resource_id, first.expires_at) == (
        f"res-{first.channel_id}",
        T0 + timedelta(days=7),
    )
    assert world.channels == {first.channel_id: first}
    assert await channels.ensure(ALICE) == first
    assert [op for op, _ in world.log].count("watch") == 1


async def test_channel_is_known_before_the_watch_call_returns(world: World) -> None:
    channel = await manager(world).ensure(ALICE)
    assert channel is not None
    assert world.ops(channel.channel_id) == ["put", "watch", "put"]


async def test_failed_watch_leaves_no_channel_behind(world: World) -> None:
    world.watch_error = TransientError("down")
    with pytest.raises(TransientError):
        await manager(world).ensure(ALICE)
    assert world.channels == {}


async def test_secrets_and_ids_differ_per_channel(world: World) -> None:
    channels = manager(world)
    a = await channels.ensure(ALICE)
    b = await channels.ensure(BOB)
    assert a is not None
    assert b is not None
    assert a.channel_id != b.channel_id
    assert a.secret != b.secret


async def test_no_webhook_url_means_no_channel(world: World) -> None:
    assert await manager(world, url=None).ensure(ALICE) is None
    assert world.log == []


async def test_renewal_happens_at_the_margin(world: World, clock: Clock) -> None:
    channels = manager(world)
    old = await channels.ensure(ALICE)
    assert old is not None
    clock.now = old.expires_at - timedelta(days=1, seconds=1)
    assert await channels.renew_due() == 0
    assert list(world.channels) == [old.channel_id]
    clock.now = old.expires_at - timedelta(days=1)
    assert await channels.renew_due() == 1
    assert channels.renewals == 1
    (new,) = world.channels.values()
    assert new.channel_id != old.channel_id
    assert new.expires_at == clock.now + timedelta(days=7)


async def test_new_channel_is_live_before_the_old_is_stopped(world: World, clock: Clock) -> None:
    channels = manager(world)
    old = await channels.ensure(ALICE)
    assert old is not None
    clock.now = old.expires_at - timedelta(hours=1)
    world.log.clear()
    await channels.renew_due()
    (new,) = world.channels
    order = [f"{op}:{'new' if cid == new else 'old'}" for op, cid in world.log]
    assert order == ["put:new", "watch:new", "put:new", "stop:old", "delete:old"]


async def test_short_channels_renew_at_half_life(clock: Clock) -> None:
    world = World(clock, ttl=timedelta(hours=2))
    channels = manager(world, renew_before=timedelta(days=1))
    first = await channels.ensure(ALICE)
    assert first is not None
    assert await channels.ensure(ALICE) == first  # not due the moment it is made
    clock.now = T0 + timedelta(minutes=59)
    assert await channels.renew_due() == 0
    clock.now = T0 + timedelta(hours=1)
    assert await channels.renew_due() == 1
    assert first.channel_id not in world.channels


async def test_failed_renewal_keeps_the_old_channel(world: World, clock: Clock) -> None:
    channels = manager(world)
    old = await channels.ensure(ALICE)
    assert old is not None
    clock.now = old.expires_at - timedelta(hours=1)
    world.watch_error = TransientError("down")
    assert await channels.renew_due() == 0
    assert list(world.channels) == [old.channel_id]
    assert "stop" not in world.ops(old.channel_id)
    world.watch_error = None
    assert await channels.renew_due() == 1  # the next run tries again


async def test_failed_stop_still_forgets_the_old_channel(world: World, clock: Clock) -> None:
    channels = manager(world)
    old = await channels.ensure(ALICE)
    assert old is not None
    clock.now = old.expires_at - timedelta(hours=1)
    world.stop_error = TransientError("down")
    assert await channels.renew_due() == 1
    assert old.channel_id not in world.channels
    assert len(world.channels) == 1


async def test_two_due_channels_of_one_calendar_get_one_successor(
    world: World, clock: Clock
) -> None:
    channels = manager(world)
    for n in range(2):
        await world.put_channel(
            Channel(f"old-{n}", ALICE.key, "s", "r", T0 + timedelta(hours=n + 1), T0)
        )
    clock.now = T0 + timedelta(hours=1)  # both past half their life
    assert await channels.renew_due() == 2
    assert [op for op, _ in world.log].count("watch") == 1
    assert len(world.channels) == 1


async def test_channels_of_inactive_or_removed_calendars_are_dropped(
    world: World, clock: Clock
) -> None:
    channels = manager(world)
    world.calendars[BOB.key] = CalendarRecord(
        BOB.key, Provider.GOOGLE, BOB.address, CalendarKind.USER, CalendarState.ERROR
    )
    await world.put_channel(Channel("bob-1", BOB.key, "s", "r", T0 + timedelta(hours=1), T0))
    await world.put_channel(
        Channel("gone-1", "google:gone@example.com", "s", "r", T0 + timedelta(hours=1), T0)
    )
    clock.now = T0 + timedelta(minutes=45)
    assert await channels.renew_due() == 0
    assert world.channels == {}
    assert "watch" not in [op for op, _ in world.log]


async def test_close_all_stops_every_channel_of_the_calendar(world: World) -> None:
    channels = manager(world)
    alice = await channels.ensure(ALICE)
    bob = await channels.ensure(BOB)
    assert alice is not None
    assert bob is not None
    await channels.close_all(ALICE)
    assert list(world.channels) == [bob.channel_id]
    assert world.ops(alice.channel_id)[-2:] == ["stop", "delete"]


async def test_provisional_channel_left_by_a_crash_is_not_live(world: World, clock: Clock) -> None:
    leftover = Channel("hc-crashed", ALICE.key, "s", None, T0 + timedelta(days=1), T0)
    await world.put_channel(leftover)
    clock.now = T0 + timedelta(minutes=10)  # long after any watch call would have returned
    channel = await manager(world).ensure(ALICE)
    assert channel is not None
    assert channel.resource_id is not None


async def test_a_provider_that_extends_channels_keeps_the_same_one() -> None:
    clock = Clock()
    world = World(clock)
    world.extends = True
    mgr = manager(world)
    channel = await mgr.ensure(ALICE)
    assert channel is not None
    clock.now += timedelta(days=6, hours=1)  # inside the renewal margin
    assert await mgr.renew_due() == 1
    [renewed] = await world.list_channels(ALICE.key)
    assert renewed.channel_id == channel.channel_id
    assert renewed.expires_at > channel.expires_at
    assert world.ops(channel.channel_id) == ["put", "watch", "put", "extend", "put"]


# -- a stray channel of a calendar we watch (a store restored from a backup) --------------------


async def test_a_stray_replaces_our_channels_new_one_first(world: World, clock: Clock) -> None:
    channels = manager(world)
    old = await channels.ensure(ALICE)
    assert old is not None
    assert old.resource_id is not None
    world.log.clear()
    fresh = await channels.recover_from_stray(ALICE, "hc-unknown", old.resource_id)
    assert fresh is not None
    order = [f"{op}:{'new' if cid == fresh.channel_id else 'old'}" for op, cid in world.log]
    assert order == ["put:new", "watch:new", "put:new", "stop:old", "delete:old"]
    assert list(world.channels) == [fresh.channel_id]
    # more strays soon after change nothing (forged ones cannot make us open channels)
    assert (
        await channels.recover_from_stray(ALICE, "hc-unknown-2", "res-" + fresh.channel_id) is None
    )
    clock.now += timedelta(minutes=11)
    assert await channels.recover_from_stray(ALICE, "hc-3", "res-" + fresh.channel_id) is not None


async def test_strays_that_prove_nothing_change_nothing(world: World, clock: Clock) -> None:
    channels = manager(world)
    old = await channels.ensure(ALICE)
    assert old is not None
    # a resource our channels do not watch: forged
    assert await channels.recover_from_stray(ALICE, "hc-forged", "res-elsewhere") is None
    # a channel we stopped ourselves (a late notification after a renewal)
    clock.now = old.expires_at - timedelta(hours=1)
    await channels.renew_due()
    (new,) = world.channels
    log = len(world.log)
    assert await channels.recover_from_stray(ALICE, old.channel_id, f"res-{new}") is None
    assert len(world.log) == log
