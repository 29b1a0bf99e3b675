"""The CalendarConnector contract against MicrosoftCalendarConnector and the Graph simulator."""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from tests.contract.calendar_contract import (
    CalendarConnectorContract,
    CalendarWorld,
    EventSpec,
    Person,
)
from tests.sandbox.graph_tls import ca_bundle, start_tls

from hybridcal.connectors.calendars.base import AccessCheck, CalendarConnector
from hybridcal.connectors.calendars.microsoft import MicrosoftCalendarConnector
from hybridcal.connectors.calendars.microsoft_auth import EntraCredential, make_credential
from hybridcal.core.model import CalendarKind, CalendarRecord, Provider, calendar_key
from hybridcal.sandbox.microsoft import GraphApp, GraphSimulator

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
GHOST = "ghost@contoso.example"
ROOM = "room1@contoso.example"


def record(address: str, kind: CalendarKind = CalendarKind.USER) -> CalendarRecord:
    return CalendarRecord(
        calendar_key(Provider.MICROSOFT, address), Provider.MICROSOFT, address, kind
    )


WINDOWS_ZONE = "W. Europe Standard Time"  # Alice's zone, as Exchange names it
ZONE = "Europe/Berlin"  # the same zone's IANA name


def when(moment: datetime) -> dict[str, str]:
    """Wall time in Alice's zone, as Outlook sends it."""
    local = moment.astimezone(ZoneInfo(ZONE))
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": WINDOWS_ZONE}


def recipient(person: Person, kind: str) -> dict[str, Any]:
    return {"type": kind, "emailAddress": {"address": person.email, "name": person.name}}


class GraphWorld:
    """Alice using Outlook; the Graph simulator seen from behind."""

    calendar = record(ALICE)
    attendee = Person(BOB, "Bob")
    room = Person(ROOM, "Room 1")
    room_calendar = record(ROOM, CalendarKind.ROOM)
    unknown_calendar = record(GHOST)
    # "W. Europe Standard Time" is Windows' name; the connector reports the IANA zone
    expected_access = AccessCheck(locale="de-CH", timezone=ZONE)
    conference_system = "teams"
    zone = ZONE

    def __init__(self, sim: GraphSimulator) -> None:
        self._sim = sim

    def now(self) -> datetime:
        return datetime.now(UTC)

    def _body(self, spec: EventSpec) -> dict[str, Any]:
        attendees = [recipient(p, "required") for p in spec.attendees]
        if spec.room is not None:
            attendees.append(recipient(spec.room, "resource"))
        body: dict[str, Any] = {
            "subject": spec.summary,
            "start": when(spec.start),
            "end": when(spec.end),
            "attendees": attendees,
        }
        if spec.location:
            body["location"] = {"displayName": spec.location}
        if spec.description:  # Outlook stores what a person types as HTML
            body["body"] = {
                "contentType": "html",
                "content": f"<p>{html.escape(spec.description)}</p>",
            }
        return body

    async def create_event(self, spec: EventSpec) -> str:
        return str(self._sim.person_create(ALICE, self._body(spec))["id"])

    async def create_weekly_series(self, spec: EventSpec, count: int) -> str:
        start = spec.start.astimezone(ZoneInfo(ZONE))
        recurrence = {
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "daysOfWeek": [start.strftime("%A").lower()],
            },
            "range": {
                "type": "numbered",
                "startDate": start.date().isoformat(),
                "numberOfOccurrences": count,
                "recurrenceTimeZone": WINDOWS_ZONE,
            },
        }
        body = {**self._body(spec), "recurrence": recurrence}
        return str(self._sim.person_create(ALICE, body)["id"])

    async def move_occurrence(self, occurrence_id: str, start: datetime, end: datetime) -> None:
        self._sim.person_update(ALICE, occurrence_id, {"start": when(start), "end": when(end)})

    async def cancel_occurrence(self, occurrence_id: str) -> None:
        self._sim.person_cancel_occurrence(ALICE, occurrence_id)

    async def edit_summary(self, event_id: str, summary: str) -> None:
        self._sim.person_update(ALICE, event_id, {"subject": summary})

    async def delete_event(self, event_id: str) -> None:
        self._sim.person_delete(ALICE, event_id)

    async def out_of_office_on(self, start: datetime, end: datetime, message: str) -> None:
        self._sim.set_automatic_replies(
            ALICE, status="scheduled", start=start, end=end, message=f"<p>{message}</p>"
        )

    async def out_of_office_off(self) -> None:
        self._sim.set_automatic_replies(ALICE, status="disabled")

    async def raw_event(self, event_id: str) -> dict[str, Any] | None:
        return self._sim.get_event(ALICE, event_id)

    async def expire_cursor(self) -> None:
        self._sim.expire_delta_tokens(ALICE)

    async def settle(self) -> None:
        await self._sim.drain()

    def notifications_delivered(self) -> int:
        return self._sim.notifications_sent

    def conferences_created(self) -> int:
        return self._sim.teams_meetings_created

    def open_channels(self) -> int:
        return len(self._sim.subscriptions())

    def handshake(self, request: web.Request) -> web.StreamResponse | None:
        token = request.query.get("validationToken")
        if token is None:
            return None
        return web.Response(text=token, content_type="text/plain")

    def notification_secrets(self, headers: Mapping[str, str], body: bytes) -> list[str]:
        items = json.loads(body).get("value", [])
        return [str(item.get("clientState", "")) for item in items]


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
async def sim() -> AsyncIterator[GraphSimulator]:
    simulator = await start_tls(GraphSimulator())
    simulator.add_user(ALICE, name="Alice", timezone=WINDOWS_ZONE, language="de-CH")
    simulator.add_user(BOB, name="Bob")
    simulator.add_room(ROOM, name="Room 1")
    yield simulator
    await simulator.close()


@pytest.fixture
def app(sim: GraphSimulator) -> GraphApp:
    return sim.register_app()


@pytest.fixture
async def credential(sim: GraphSimulator, app: GraphApp) -> AsyncIterator[EntraCredential]:
    cred = make_credential(
        tenant_id=app.tenant_id,
        client_id=app.client_id,
        client_secret=app.client_secret,
        authority=sim.authority,
        ca_bundle=ca_bundle(),
    )
    yield cred
    await cred.close()


class TestMicrosoftCalendarContract(CalendarConnectorContract):
    @pytest.fixture
    async def connector(
        self, sim: GraphSimulator, credential: EntraCredential
    ) -> AsyncIterator[CalendarConnector]:
        graph = MicrosoftCalendarConnector(
            credential=credential, graph_root=sim.graph_root, max_retries=3, ca_bundle=ca_bundle()
        )
        yield graph
        await graph.close()

    @pytest.fixture
    def world(self, sim: GraphSimulator) -> CalendarWorld:
        return GraphWorld(sim)
