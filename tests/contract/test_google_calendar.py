"""The CalendarConnector contract against GoogleCalendarConnector and the Google simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from tests.contract.calendar_contract import (
    CalendarConnectorContract,
    CalendarWorld,
    EventSpec,
    Person,
)

from hybridcal.connectors.calendars.base import AccessCheck, CalendarConnector
from hybridcal.connectors.calendars.google import SCOPES, GoogleCalendarConnector
from hybridcal.connectors.calendars.google_auth import DelegatedTokens
from hybridcal.core.model import CalendarKind, CalendarRecord, Provider, calendar_key
from hybridcal.sandbox.google import CALENDAR_SCOPE, GMAIL_SETTINGS_SCOPE, GoogleSimulator
from hybridcal.sandbox.keys import generate_service_account

ALICE = "alice@example.com"
BOB = "bob@example.com"
ADMIN = "admin@example.com"
GHOST = "ghost@example.com"
ROOM = "c_1888abc@resource.calendar.google.com"
ZONE = "Europe/Zurich"  # Alice's zone: her events are made in it


def record(address: str, kind: CalendarKind = CalendarKind.USER) -> CalendarRecord:
    return CalendarRecord(calendar_key(Provider.GOOGLE, address), Provider.GOOGLE, address, kind)


def when(moment: datetime) -> dict[str, str]:
    """Wall time in Alice's zone, as Google Calendar's UI sends it."""
    local = moment.astimezone(ZoneInfo(ZONE))
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": ZONE}


class GoogleWorld:
    """Alice using Google Calendar and Gmail; the simulator seen from behind."""

    calendar = record(ALICE)
    attendee = Person(BOB, "Bob Builder")
    room = Person(ROOM, "Room Matterhorn")
    room_calendar = record(ROOM, CalendarKind.ROOM)
    unknown_calendar = record(GHOST)
    expected_access = AccessCheck(locale="de", timezone="Europe/Zurich")
    conference_system = "meet"
    zone = ZONE

    def __init__(self, sim: GoogleSimulator) -> None:
        self._sim = sim

    def now(self) -> datetime:
        return datetime.now(UTC)

    def _body(self, spec: EventSpec) -> dict[str, Any]:
        people = [*spec.attendees, *([spec.room] if spec.room else [])]
        body: dict[str, Any] = {
            "summary": spec.summary,
            "start": when(spec.start),
            "end": when(spec.end),
        }
        if spec.location:
            body["location"] = spec.location
        if spec.description:
            body["description"] = spec.description
        if people:
            body["attendees"] = [{"email": p.email, "displayName": p.name} for p in people]
        return body

    async def create_event(self, spec: EventSpec) -> str:
        return str(self._sim.person_insert(ALICE, self._body(spec))["id"])

    async def create_weekly_series(self, spec: EventSpec, count: int) -> str:
        body = {**self._body(spec), "recurrence": [f"RRULE:FREQ=WEEKLY;COUNT={count}"]}
        return str(self._sim.person_insert(ALICE, body)["id"])

    async def move_occurrence(self, occurrence_id: str, start: datetime, end: datetime) -> None:
        self._sim.person_patch(ALICE, occurrence_id, {"start": when(start), "end": when(end)})

    async def cancel_occurrence(self, occurrence_id: str) -> None:
        self._sim.person_delete(ALICE, occurrence_id)

    async def edit_summary(self, event_id: str, summary: str) -> None:
        self._sim.person_patch(ALICE, event_id, {"summary": summary})

    async def delete_event(self, event_id: str) -> None:
        self._sim.person_delete(ALICE, event_id)

    async def out_of_office_on(self, start: datetime, end: datetime, message: str) -> None:
        self._sim.set_vacation(ALICE, enabled=True, start=start, end=end, subject=message)

    async def out_of_office_off(self) -> None:
        self._sim.set_vacation(ALICE, enabled=False)

    async def raw_event(self, event_id: str) -> dict[str, Any] | None:
        return self._sim.get(ALICE, event_id)

    async def expire_cursor(self) -> None:
        self._sim.expire_sync_tokens(ALICE)

    async def settle(self) -> None:
        await self._sim.drain()

    def notifications_delivered(self) -> int:
        return self._sim.notifications_sent

    def conferences_created(self) -> int:
        return self._sim.conferences_created()

    def open_channels(self) -> int:
        return len(self._sim.channels(ALICE))

    def handshake(self, request: web.Request) -> web.StreamResponse | None:
        return None  # Google validates nothing: the first message is a "sync"

    def notification_secrets(self, headers: Mapping[str, str], body: bytes) -> list[str]:
        return [headers.get("x-goog-channel-token", "")]  # one message per POST, no body


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sa_info() -> dict[str, str]:
    return generate_service_account()


@pytest.fixture
async def sim(sa_info: dict[str, str]) -> AsyncIterator[GoogleSimulator]:
    simulator = GoogleSimulator(domain="example.com", conference_delay_s=0.05)
    await simulator.start()
    simulator.register_service_account(sa_info)
    simulator.grant_delegation(sa_info["client_id"], [CALENDAR_SCOPE, GMAIL_SETTINGS_SCOPE])
    simulator.add_user(ALICE, name="Alice Liddell", locale="de", timezone="Europe/Zurich")
    simulator.add_user(BOB, name="Bob Builder")
    simulator.add_user(ADMIN, admin=True)
    simulator.add_room(ROOM, name="Room Matterhorn")
    yield simulator
    await simulator.close()


class TestGoogleCalendarContract(CalendarConnectorContract):
    @pytest.fixture
    async def connector(
        self, sim: GoogleSimulator, sa_info: dict[str, str]
    ) -> AsyncIterator[CalendarConnector]:
        tokens = DelegatedTokens(sa_info, SCOPES, token_uri=sim.token_uri)
        async with aiohttp.ClientSession() as session:
            google = GoogleCalendarConnector(
                tokens=tokens,
                session=session,
                calendar_root=sim.calendar_root,
                gmail_root=sim.gmail_root,
                room_access_user=ADMIN,
                max_retries=2,
            )
            yield google
            await google.close()

    @pytest.fixture
    def world(self, sim: GoogleSimulator) -> CalendarWorld:
        return GoogleWorld(sim)
