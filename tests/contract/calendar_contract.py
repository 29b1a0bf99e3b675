"""The contract every CalendarConnector implementation must meet, as a mix-in test class.

A provider's test module subclasses :class:`CalendarConnectorContract` and provides two fixtures
(see ``test_google_calendar.py`` and ``test_microsoft_calendar.py``):

- ``connector``: a fresh :class:`CalendarConnector` talking to a fresh (simulated) provider;
- ``world``: a :class:`CalendarWorld`, a person using that calendar system (the organiser of
  :attr:`CalendarWorld.calendar`) who can also look at the provider behind the connector's back.

Every test here uses only the protocol and the world, so a new provider needs no new tests, and
what differs between providers (request bodies, webhook handshakes, where the secret travels)
lives in the world, not in if-statements here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from hybridcal.connectors.calendars.base import AccessCheck, CalendarConnector, ChangeBatch
from hybridcal.connectors.errors import (
    AuthError,
    ConflictError,
    CursorExpiredError,
    NotFoundError,
)
from hybridcal.core.model import (
    CalendarRecord,
    Event,
    EventStatus,
    JoinInfo,
    Marker,
    Window,
)
from hybridcal.core.patch import EventPatch
from hybridcal.core.render import block_digest_of, render_join_block, replace_block

HOOK_PATH = "/hooks/calendar"
WAIT_S = 5.0  # how long a provider may take to deliver or to complete a conference
QUIET_S = 0.3  # how long to listen for deliveries that must not come
INFO = JoinInfo("zoom", "93968804761", "https://zoom.us/j/93968804761?pwd=abc", passcode="123456")


@dataclass(frozen=True, slots=True)
class Person:
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class EventSpec:
    """An event as the organiser types it into the calendar's own UI."""

    summary: str
    start: datetime  # aware, UTC
    end: datetime
    location: str = ""
    description: str = ""  # plain text; a provider that stores HTML may wrap it
    attendees: tuple[Person, ...] = ()
    room: Person | None = None


class CalendarWorld(Protocol):
    """A person using the calendar system, and a look at the provider behind the connector."""

    calendar: CalendarRecord  # an enabled user calendar; the person below is its owner
    attendee: Person  # another user of the organisation
    room: Person  # a bookable room of the organisation
    room_calendar: CalendarRecord  # that room's calendar, enabled (kind ROOM)
    unknown_calendar: CalendarRecord  # a mailbox the organisation does not have
    expected_access: AccessCheck  # locale and time zone check_access must report (IANA)
    conference_system: str  # Conference.system of the calendar's native conference
    zone: str  # IANA name of the zone the person's events are made in (series follow its clock)

    def now(self) -> datetime:
        """The provider's and the connector's clock."""

    # -- the person ------------------------------------------------------------------------------

    async def create_event(self, spec: EventSpec) -> str:
        """Create ``spec`` as the calendar's owner; the id of the organiser's copy."""

    async def create_weekly_series(self, spec: EventSpec, count: int) -> str:
        """A weekly series of ``count`` occurrences from ``spec.start``; the master's id."""

    async def move_occurrence(self, occurrence_id: str, start: datetime, end: datetime) -> None:
        """Move one occurrence (an id from ``list_instances``) to another time."""

    async def cancel_occurrence(self, occurrence_id: str) -> None: ...

    async def edit_summary(self, event_id: str, summary: str) -> None: ...

    async def delete_event(self, event_id: str) -> None: ...

    async def out_of_office_on(self, start: datetime, end: datetime, message: str) -> None:
        """Vacation responder / automatic replies for [start, end) with a plain-text message."""

    async def out_of_office_off(self) -> None: ...

    # -- the provider ----------------------------------------------------------------------------

    async def raw_event(self, event_id: str) -> dict[str, Any] | None:
        """The organiser's copy as the provider stores it (None when gone)."""

    async def expire_cursor(self) -> None:
        """Make the calendar's sync tokens / delta links invalid."""

    async def settle(self) -> None:
        """Wait for the provider's background work: deliveries, room answers, conferences."""

    def notifications_delivered(self) -> int:
        """Change notifications the provider has delivered (acknowledged) so far."""

    def conferences_created(self) -> int:
        """Native conferences (Meet / Teams) the provider has created so far."""

    def open_channels(self) -> int:
        """Push channels / subscriptions the provider keeps open for the calendar."""

    def handshake(self, request: web.Request) -> web.StreamResponse | None:
        """The answer to a provider's validation request at the webhook, or None if it is a
        plain notification."""

    def notification_secrets(self, headers: Mapping[str, str], body: bytes) -> list[str]:
        """The channel secret carried by each notification in one POST (header names are
        lower-case); an empty string where a notification carries none."""


# -- helpers ---------------------------------------------------------------------------------------


def base_start(world: CalendarWorld, *, days: int = 2, hour: int = 9) -> datetime:
    """A whole hour ``days`` after the clock's now, in UTC: inside every provider's sync window."""
    now = world.now().astimezone(UTC)
    return (now + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def meeting_spec(
    world: CalendarWorld, summary: str = "Budget review", *, days: int = 2, hour: int = 9
) -> EventSpec:
    start = base_start(world, days=days, hour=hour)
    return EventSpec(
        summary=summary,
        start=start,
        end=start + timedelta(minutes=45),
        location="Level 3, east wing",
        description="Agenda: numbers for the second quarter",
        attendees=(world.attendee,),
        room=world.room,
    )


def weekly_starts(first: datetime, zone: str, count: int) -> list[datetime]:
    """A weekly series' starts: the same wall time in ``zone`` each week, as UTC instants."""
    local = first.astimezone(ZoneInfo(zone))
    return [(local + timedelta(weeks=n)).astimezone(UTC) for n in range(count)]


def in_utc(value: datetime | None) -> bool:
    return value is not None and value.utcoffset() == timedelta(0)


def by_id(batch: ChangeBatch) -> dict[str, Event]:
    return {e.event_id: e for e in batch.events}


async def created_and_listed(
    connector: CalendarConnector, world: CalendarWorld, spec: EventSpec
) -> tuple[str, ChangeBatch]:
    event_id = await world.create_event(spec)
    await world.settle()
    return event_id, await connector.list_changes(world.calendar)


async def read(connector: CalendarConnector, world: CalendarWorld, event_id: str) -> Event:
    event = await connector.get_event(world.calendar, event_id)
    assert event is not None, f"event {event_id} not found"
    return event


async def eventually(probe: Callable[[], Awaitable[bool]], limit_s: float = WAIT_S) -> None:
    """Re-read with ``probe()`` until it says yes, for at most about ``limit_s`` seconds."""
    pause = 0.05
    for _ in range(int(limit_s / pause)):
        if await probe():
            return
        await asyncio.sleep(pause)
    raise AssertionError(f"not so after {limit_s} s")


@dataclass
class Receiver:
    """A real webhook on loopback: answers handshakes, records each notification's secret."""

    url: str = ""
    secrets: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int, limit_s: float = WAIT_S) -> None:
        async with asyncio.timeout(limit_s):
            while len(self.secrets) < count:
                self.arrived.clear()
                await self.arrived.wait()


# -- the contract ----------------------------------------------------------------------------------


class CalendarConnectorContract:
    """Subclass and provide ``connector`` and ``world`` fixtures."""

    @pytest.fixture
    async def receiver(self, world: CalendarWorld) -> AsyncIterator[Receiver]:
        received = Receiver()

        async def hook(request: web.Request) -> web.StreamResponse:
            answer = world.handshake(request)
            if answer is not None:
                return answer
            body = await request.read()
            if request.path == HOOK_PATH:  # not the lifecycle URL a provider may also call
                headers = {k.lower(): v for k, v in request.headers.items()}
                received.secrets += world.notification_secrets(headers, body)
                received.arrived.set()
            return web.Response(status=202)

        app = web.Application()
        app.router.add_post("/{tail:.*}", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        received.url = f"http://127.0.0.1:{port}{HOOK_PATH}"
        yield received
        await runner.cleanup()

    # -- activation ------------------------------------------------------------------------------

    async def test_check_access_gives_locale_and_timezone(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        assert connector.provider is world.calendar.provider
        check = await connector.check_access(world.calendar)
        assert isinstance(check, AccessCheck)
        assert check.locale
        assert check.timezone
        assert (check.locale, check.timezone) == (
            world.expected_access.locale,
            world.expected_access.timezone,
        )

    async def test_check_access_of_an_unknown_mailbox_names_it(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        with pytest.raises((NotFoundError, AuthError)) as caught:
            await connector.check_access(world.unknown_calendar)
        assert world.unknown_calendar.address in str(caught.value)

    # -- listing ---------------------------------------------------------------------------------

    async def test_full_listing_gives_core_events_and_a_cursor(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        spec = meeting_spec(world)
        event_id, batch = await created_and_listed(connector, world, spec)
        assert batch.full
        assert batch.cursor
        assert not batch.skipped
        event = by_id(batch)[event_id]
        assert event.calendar_key == world.calendar.key
        assert event.status is EventStatus.CONFIRMED
        assert event.is_organizer_copy
        assert event.organizer == world.calendar.address
        assert event.summary == spec.summary
        assert event.location == spec.location
        assert spec.description in event.description
        assert event.etag
        assert (event.start, event.end) == (spec.start, spec.end)
        assert in_utc(event.start)
        assert in_utc(event.end)
        assert not event.all_day
        assert not event.is_series_master
        attendees = {a.email: a for a in event.attendees}
        assert world.attendee.email in attendees
        assert not attendees[world.attendee.email].resource
        assert world.room.email in attendees
        assert attendees[world.room.email].resource

    async def test_the_rooms_calendar_lists_its_copy(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        spec = meeting_spec(world, "Booked the room")
        event_id, _ = await created_and_listed(connector, world, spec)
        organiser_copy = await read(connector, world, event_id)
        batch = await connector.list_changes(world.room_calendar)
        assert batch.full
        [copy] = [e for e in batch.events if e.summary == spec.summary]
        assert copy.calendar_key == world.room_calendar.key
        assert not copy.is_organizer_copy
        assert copy.organizer == world.calendar.address
        assert (copy.start, copy.end) == (spec.start, spec.end)
        assert copy.ical_uid == organiser_copy.ical_uid
        assert copy.ical_uid
        assert any(a.resource and a.email == world.room.email for a in copy.attendees)
        presence = await connector.get_presence(world.room_calendar, world.now())
        assert not presence.out_of_office

    async def test_a_second_round_from_the_cursor_is_empty(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        _, first = await created_and_listed(connector, world, meeting_spec(world))
        assert first.events
        second = await connector.list_changes(replace(world.calendar, cursor=first.cursor))
        assert not second.full
        assert second.events == []
        assert second.cursor

    async def test_a_persons_edit_is_exactly_the_change(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        edited = await world.create_event(meeting_spec(world, "Edited later"))
        _, first = await created_and_listed(connector, world, meeting_spec(world, "Untouched"))
        await world.edit_summary(edited, "Edited by a person")
        await world.settle()
        changed = await connector.list_changes(replace(world.calendar, cursor=first.cursor))
        assert not changed.full
        assert [e.event_id for e in changed.events] == [edited]
        assert changed.events[0].summary == "Edited by a person"
        assert changed.events[0].status is EventStatus.CONFIRMED
        quiet = await connector.list_changes(replace(world.calendar, cursor=changed.cursor))
        assert quiet.events == []

    async def test_a_deleted_event_comes_back_cancelled(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        event_id, first = await created_and_listed(connector, world, meeting_spec(world))
        await world.delete_event(event_id)
        await world.settle()
        changed = await connector.list_changes(replace(world.calendar, cursor=first.cursor))
        assert [e.event_id for e in changed.events] == [event_id]
        assert changed.events[0].status is EventStatus.CANCELLED
        assert changed.events[0].is_cancelled
        gone = await connector.get_event(world.calendar, event_id)
        assert gone is None or gone.is_cancelled

    async def test_an_expired_cursor_raises_and_a_fresh_listing_recovers(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        event_id, first = await created_and_listed(connector, world, meeting_spec(world))
        await world.expire_cursor()
        with pytest.raises(CursorExpiredError):
            await connector.list_changes(replace(world.calendar, cursor=first.cursor))
        again = await connector.list_changes(replace(world.calendar, cursor=None))
        assert again.full
        assert event_id in by_id(again)
        quiet = await connector.list_changes(replace(world.calendar, cursor=again.cursor))
        assert quiet.events == []

    # -- series ----------------------------------------------------------------------------------

    async def test_series_master_and_its_instances_with_exceptions(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        spec = replace(meeting_spec(world, "Weekly sync"), attendees=(), room=None)
        week = timedelta(days=7)
        master_id = await world.create_weekly_series(spec, count=4)
        await world.settle()
        batch = await connector.list_changes(world.calendar)
        master = by_id(batch)[master_id]
        assert master.is_series_master
        assert any(
            line.startswith("RRULE:") and "FREQ=WEEKLY" in line for line in master.recurrence
        )
        assert master.start == spec.start
        assert master.recurring_event_id is None

        window = Window(spec.start - timedelta(days=1), spec.start + 5 * week)
        instances = await connector.list_instances(world.calendar, master_id, window)
        expected = weekly_starts(spec.start, world.zone, 4)
        assert [i.start for i in instances] == expected
        assert all(i.recurring_event_id == master_id for i in instances)
        assert all(i.end is not None and i.start is not None for i in instances)
        assert len({i.event_id for i in instances}) == 4
        narrow = Window(spec.start + timedelta(days=6), spec.start + timedelta(days=10))
        assert [
            i.event_id for i in await connector.list_instances(world.calendar, master_id, narrow)
        ] == [instances[1].event_id]

        second, third = instances[1], instances[2]
        assert second.start is not None
        moved_to = second.start + timedelta(hours=3)
        await world.move_occurrence(second.event_id, moved_to, moved_to + timedelta(minutes=45))
        await world.cancel_occurrence(third.event_id)
        await world.settle()
        after = await connector.list_instances(world.calendar, master_id, window)
        assert sorted(i.start for i in after if i.start) == [expected[0], moved_to, expected[3]]
        assert all(not i.is_cancelled for i in after)
        assert third.event_id not in {i.event_id for i in after}
        moved = next(i for i in after if i.start == moved_to)
        assert moved.end == moved_to + timedelta(minutes=45)
        assert moved.recurring_event_id == master_id
        assert moved.original_start == second.start

        # the next sync round names both exceptions, each tied to its series
        changes = by_id(await connector.list_changes(replace(world.calendar, cursor=batch.cursor)))
        assert changes[second.event_id].start == moved_to
        assert changes[second.event_id].recurring_event_id == master_id
        assert changes[second.event_id].original_start == second.start
        assert changes[third.event_id].status is EventStatus.CANCELLED
        assert changes[third.event_id].recurring_event_id == master_id
        assert changes[third.event_id].original_start == third.start

    async def test_a_persons_edit_of_a_series_is_its_master(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        spec = replace(meeting_spec(world, "Weekly sync"), room=None)
        master_id = await world.create_weekly_series(spec, count=4)
        await world.settle()
        first = await connector.list_changes(world.calendar)
        await world.edit_summary(master_id, "Weekly sync, renamed")
        await world.settle()
        changed = await connector.list_changes(replace(world.calendar, cursor=first.cursor))
        assert [e.event_id for e in changed.events] == [master_id]
        assert changed.events[0].summary == "Weekly sync, renamed"
        assert changed.events[0].is_series_master

    async def test_a_deleted_series_comes_back_with_its_master_cancelled(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        spec = replace(meeting_spec(world, "Weekly sync"), room=None)
        master_id = await world.create_weekly_series(spec, count=4)
        await world.settle()
        first = await connector.list_changes(world.calendar)
        assert master_id in by_id(first)
        await world.delete_event(master_id)
        await world.settle()
        changed = by_id(await connector.list_changes(replace(world.calendar, cursor=first.cursor)))
        assert all(e.is_cancelled for e in changed.values())
        # the series' binding (and its meeting) hangs on the master: it must be told
        assert master_id in changed
        assert changed[master_id].status is EventStatus.CANCELLED

    # -- writing ---------------------------------------------------------------------------------

    async def test_a_marker_is_written_and_read_back(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        # a keyword event, as every event we mark is (a connector may skip reading markers
        # of events with neither keyword, our block nor an online meeting)
        spec = replace(meeting_spec(world), location="Level 3 @zoom")
        event_id, first = await created_and_listed(connector, world, spec)
        event = await read(connector, world, event_id)
        assert event.marker is None
        marker = Marker("zoom", f"req-{uuid4().hex}", INFO.meeting_id, "0123456789abcdef")
        patched = await connector.patch_event(world.calendar, event, EventPatch(marker=marker))
        assert patched.event_id == event_id
        assert patched.marker == marker
        assert patched.etag != event.etag
        again = await read(connector, world, event_id)
        assert again.marker == marker
        assert (again.summary, again.start, again.end) == (event.summary, event.start, event.end)
        # the echo of our own write, as the next sync round sees it, carries the marker
        echo = by_id(await connector.list_changes(replace(world.calendar, cursor=first.cursor)))
        assert echo[event_id].marker == marker

    async def test_our_block_in_the_description_keeps_the_persons_text(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        spec = meeting_spec(world)
        event_id = await world.create_event(spec)
        await world.settle()
        event = await read(connector, world, event_id)
        block = render_join_block(INFO, "en")
        wanted = replace_block(event.description, block)
        patched = await connector.patch_event(world.calendar, event, EventPatch(description=wanted))
        assert block_digest_of(patched.description) == block.digest
        again = await read(connector, world, event_id)
        assert again.description == wanted
        assert spec.description in again.description
        assert INFO.join_url in again.description
        # and out again: the person's text as it was
        removed = await connector.patch_event(
            world.calendar, again, EventPatch(description=replace_block(again.description, None))
        )
        assert block_digest_of(removed.description) is None
        assert (await read(connector, world, event_id)).description == event.description

    async def test_a_stale_etag_conflicts_and_changes_nothing(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        event_id = await world.create_event(meeting_spec(world))
        await world.settle()
        stale = await read(connector, world, event_id)
        await world.edit_summary(event_id, "Renamed meanwhile")
        await world.settle()
        before = await world.raw_event(event_id)
        block = render_join_block(INFO, "en")
        marker = Marker("zoom", f"req-{uuid4().hex}", INFO.meeting_id, block.digest)
        patch = EventPatch(description=replace_block(stale.description, block), marker=marker)
        with pytest.raises(ConflictError):
            await connector.patch_event(world.calendar, stale, patch)
        assert await world.raw_event(event_id) == before
        fresh = await read(connector, world, event_id)
        assert fresh.summary == "Renamed meanwhile"
        assert fresh.marker is None
        assert block_digest_of(fresh.description) is None

    async def test_clear_marker_removes_it(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        event_id = await world.create_event(meeting_spec(world))
        await world.settle()
        marker = Marker("teams", f"req-{uuid4().hex}")
        await connector.patch_event(
            world.calendar, await read(connector, world, event_id), EventPatch(marker=marker)
        )
        marked = await read(connector, world, event_id)
        assert marked.marker == marker
        cleared = await connector.patch_event(world.calendar, marked, EventPatch(clear_marker=True))
        assert cleared.marker is None
        assert (await read(connector, world, event_id)).marker is None

    async def test_a_conference_request_makes_the_native_conference(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        event_id = await world.create_event(meeting_spec(world))
        await world.settle()
        event = await read(connector, world, event_id)
        assert event.conference is None
        before = world.conferences_created()
        request_id = f"req-{uuid4().hex}"
        patched = await connector.patch_event(
            world.calendar, event, EventPatch(conference_request_id=request_id)
        )
        assert patched.conference is not None  # at least pending
        assert patched.conference.system == world.conference_system
        done: list[Event] = []

        async def completed() -> bool:
            await world.settle()
            again = await read(connector, world, event_id)
            if again.conference is not None and again.conference.join_url:
                done.append(again)
                return True
            return False

        await eventually(completed)
        conference = done[-1].conference
        assert conference is not None
        assert conference.system == world.conference_system
        assert conference.status in (None, "success")
        assert conference.join_url is not None
        assert conference.join_url.startswith("https://")
        assert conference.conference_id
        assert world.conferences_created() == before + 1

    # -- push ------------------------------------------------------------------------------------

    async def test_watch_delivers_notifications_with_the_secret(
        self, connector: CalendarConnector, world: CalendarWorld, receiver: Receiver
    ) -> None:
        now = world.now()
        secret = f"s-{uuid4().hex}"
        channel = await connector.watch(
            world.calendar, address=receiver.url, channel_id=uuid4().hex, secret=secret, now=now
        )
        assert channel.calendar_key == world.calendar.key
        assert channel.secret == secret
        assert channel.expires_at > now
        assert world.open_channels() == 1
        await world.settle()
        heard, delivered = len(receiver.secrets), world.notifications_delivered()
        await world.create_event(meeting_spec(world))
        await receiver.wait_for(heard + 1)
        await world.settle()
        fresh = receiver.secrets[heard:]
        assert fresh
        assert set(fresh) == {secret}
        assert world.notifications_delivered() - delivered == len(fresh)

    async def test_stop_channel_stops_deliveries(
        self, connector: CalendarConnector, world: CalendarWorld, receiver: Receiver
    ) -> None:
        secret = f"s-{uuid4().hex}"
        channel = await connector.watch(
            world.calendar,
            address=receiver.url,
            channel_id=uuid4().hex,
            secret=secret,
            now=world.now(),
        )
        event_id = await world.create_event(meeting_spec(world))
        await receiver.wait_for(1)
        await world.settle()
        await connector.stop_channel(world.calendar, channel)
        assert world.open_channels() == 0
        heard, delivered = len(receiver.secrets), world.notifications_delivered()
        await world.edit_summary(event_id, "Changed after the stop")
        await world.create_event(meeting_spec(world, "Also after the stop"))
        await world.settle()
        await asyncio.sleep(QUIET_S)
        assert len(receiver.secrets) == heard
        assert world.notifications_delivered() == delivered
        await connector.stop_channel(world.calendar, channel)  # stopped twice: not an error

    # -- presence and lifecycle ------------------------------------------------------------------

    async def test_presence_follows_out_of_office(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        now = world.now().astimezone(UTC).replace(microsecond=0)
        calendar = world.calendar
        off = await connector.get_presence(calendar, now)
        assert off.calendar_key == calendar.key
        assert not off.out_of_office
        start, end = now - timedelta(hours=1), now + timedelta(days=2)
        await world.out_of_office_on(start, end, "On leave until Wednesday")
        on = await connector.get_presence(calendar, now)
        assert on.out_of_office
        assert (on.starts_at, on.ends_at) == (start, end)
        assert on.message == "On leave until Wednesday"
        assert not (await connector.get_presence(calendar, end + timedelta(hours=1))).out_of_office
        await world.out_of_office_off()
        assert not (await connector.get_presence(calendar, now)).out_of_office

    async def test_close_is_fine_even_twice(
        self, connector: CalendarConnector, world: CalendarWorld
    ) -> None:
        await connector.check_access(world.calendar)
        await connector.close()
        await connector.close()
