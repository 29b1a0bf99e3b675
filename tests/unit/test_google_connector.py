"""GoogleCalendarConnector against a tiny recording server on loopback.

The server answers the OAuth token endpoint (recording the impersonated subject from the JWT)
and replays scripted answers for every API call, recording what the connector sent.
"""

from __future__ import annotations

import base64
import json
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hybridcal.connectors.calendars.google import (
    SCOPES,
    GoogleCalendarConnector,
    _error,
    _marker_properties,
)
from hybridcal.connectors.calendars.google_auth import DelegatedTokens
from hybridcal.connectors.errors import (
    AuthError,
    ConferenceRefusedError,
    ConflictError,
    ConnectorError,
    CursorExpiredError,
    ForbiddenError,
    NotFoundError,
    ThrottledError,
    TransientError,
    WritesPausedError,
)
from hybridcal.core.model import (
    CalendarKind,
    CalendarRecord,
    Channel,
    Event,
    EventStatus,
    Marker,
    Provider,
    Window,
    calendar_key,
)
from hybridcal.core.patch import EventPatch
from hybridcal.sandbox.keys import generate_service_account

ALICE = "alice@example.com"
ADMIN = "admin@example.com"
ROOM = "c_1888abc@resource.calendar.google.com"
USER_CAL = CalendarRecord(
    calendar_key(Provider.GOOGLE, ALICE), Provider.GOOGLE, ALICE, CalendarKind.USER
)
ROOM_CAL = CalendarRecord(
    calendar_key(Provider.GOOGLE, ROOM), Provider.GOOGLE, ROOM, CalendarKind.ROOM
)
EVENT_JSON: dict[str, Any] = {
    "id": "evt1",
    "etag": '"2"',
    "status": "confirmed",
    "location": "@meet",
    "start": {"dateTime": "2030-03-04T09:00:00Z"},
    "end": {"dateTime": "2030-03-04T10:00:00Z"},
    "organizer": {"email": ALICE, "self": True},
}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGoogle:
    """Scripted answers, first in first out; an empty script answers 200 ``{}``."""

    seen: list[Seen] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)  # one per token grant
    script: deque[tuple[int, str, dict[str, str]]] = field(default_factory=deque)

    def reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        text = body if isinstance(body, str) else json.dumps(body if body is not None else {})
        self.script.append((status, text, headers or {}))

    def fail(self, status: int, reason: str, message: str = "nope", **headers: str) -> None:
        error = {
            "code": status,
            "message": message,
            "errors": [{"reason": reason, "message": message}],
        }
        self.reply(status, {"error": error}, headers)

    @property
    def calls(self) -> list[Seen]:
        return [s for s in self.seen if s.path != "/token"]

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        payload = str(form["assertion"]).split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        self.subjects.append(claims["sub"])
        grant = {
            "access_token": f"tok-{len(self.subjects)}",
            "expires_in": 3600,
            "token_type": "Bearer",
        }
        return web.json_response(grant)

    async def api(self, request: web.Request) -> web.Response:
        raw = await request.text()
        self.seen.append(
            Seen(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                json.loads(raw) if raw else None,
            )
        )
        status, text, headers = self.script.popleft() if self.script else (200, "{}", {})
        return web.Response(
            status=status, text=text, headers=headers, content_type="application/json"
        )


@pytest.fixture(scope="module")
def sa_info() -> dict[str, str]:
    return generate_service_account()


@dataclass(frozen=True)
class Rig:
    fake: FakeGoogle
    base: str  # http://127.0.0.1:<port>
    connector: GoogleCalendarConnector
    clock: list[datetime]  # the connector's "now": clock[0]


@pytest.fixture
async def rig(sa_info: dict[str, str]) -> AsyncIterator[Rig]:
    fake = FakeGoogle()
    app = web.Application()
    app.router.add_post("/token", fake.token)
    app.router.add_route("*", "/{tail:.*}", fake.api)
    server = TestServer(app)
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    tokens = DelegatedTokens(sa_info, SCOPES, token_uri=f"{base}/token")
    clock = [datetime(2030, 3, 1, 8, 0, tzinfo=UTC)]
    async with aiohttp.ClientSession() as session:
        connector = GoogleCalendarConnector(
            tokens=tokens,
            session=session,
            calendar_root=f"{base}/calendar/v3/",
            gmail_root=f"{base}/",
            room_access_user=ADMIN,
            channel_ttl=timedelta(hours=6),
            max_retries=2,
            now=lambda: clock[0],
        )
        yield Rig(fake, base, connector, clock)
    await server.close()


def event(etag: str | None = '"1"') -> Event:
    return Event(USER_CAL.key, "evt1", etag, EventStatus.CONFIRMED, None, None)


# -- patch: only our fields, conference data version 1, If-Match ------------------------------


async def test_patch_sends_only_our_fields_with_if_match(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.reply(200, EVENT_JSON)
    marker = Marker("zoom", "req-1", "93968804761", "0123456789abcdef")
    result = await connector.patch_event(
        USER_CAL, event(), EventPatch(description="Hi", marker=marker)
    )
    (call,) = fake.calls
    assert call.method == "PATCH"
    assert call.path == "/calendar/v3/calendars/alice@example.com/events/evt1"
    assert call.query["conferenceDataVersion"] == "1"
    assert call.query["sendUpdates"] == "none"
    assert call.headers["If-Match"] == '"1"'
    assert call.headers["Authorization"] == "Bearer tok-1"
    assert call.body == {
        "description": "Hi",
        "extendedProperties": {"private": marker.to_properties()},
    }
    assert result.etag == '"2"'
    assert result.is_organizer_copy


def calendar_entry(*solutions: str) -> dict[str, Any]:
    return {
        "kind": "calendar#calendarListEntry",
        "id": ALICE,
        "conferenceProperties": {"allowedConferenceSolutionTypes": list(solutions)},
    }


async def test_patch_asks_for_a_meet_conference(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.reply(200, calendar_entry("hangoutsMeet"))
    fake.reply(200, EVENT_JSON)
    patch = EventPatch(marker=Marker("meet", "req-1"), conference_request_id="req-1")
    await connector.patch_event(USER_CAL, event(), patch)
    listed, patched = fake.calls
    assert listed.path == f"/calendar/v3/users/me/calendarList/{ALICE}"
    body = patched.body
    assert set(body) == {"extendedProperties", "conferenceData"}
    assert body["conferenceData"] == {
        "createRequest": {"requestId": "req-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}
    }
    assert body["extendedProperties"]["private"] == {
        "hybridcal.system": "meet",
        "hybridcal.request": "req-1",
        "hybridcal.meeting": None,  # null deletes a stale key of an earlier marker
        "hybridcal.hash": None,
    }


async def test_meet_is_not_asked_for_where_the_calendar_does_not_allow_it(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.reply(200, calendar_entry("eventHangout"))
    patch = EventPatch(marker=Marker("meet", "req-1"), conference_request_id="req-1")
    with pytest.raises(ConferenceRefusedError, match="not an allowed conference solution"):
        await connector.patch_event(USER_CAL, event(), patch)
    with pytest.raises(ConferenceRefusedError):  # the calendar list is not read again at once
        await connector.patch_event(USER_CAL, event(), patch)
    assert [c.method for c in fake.calls] == ["GET"]  # no PATCH was sent
    # half an hour later the calendar list is read again: Meet may be allowed by now
    rig.clock[0] += timedelta(minutes=31)
    fake.reply(200, calendar_entry("hangoutsMeet"))
    fake.reply(200, EVENT_JSON)
    await connector.patch_event(USER_CAL, event(), patch)
    assert [c.method for c in fake.calls] == ["GET", "GET", "PATCH"]


async def test_invalid_conference_type_is_a_refused_conference(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.reply(200, calendar_entry("hangoutsMeet"))
    fake.fail(400, "invalid", "Invalid conference type value.")
    patch = EventPatch(marker=Marker("meet", "req-1"), conference_request_id="req-1")
    with pytest.raises(ConferenceRefusedError, match="Invalid conference type value"):
        await connector.patch_event(USER_CAL, event(), patch)
    assert len(fake.calls) == 2


async def test_usage_limit_pauses_that_users_writes_only(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.fail(403, "quotaExceeded", "Calendar usage limits exceeded.")
    with pytest.raises(WritesPausedError) as info:
        await connector.patch_event(USER_CAL, event(), EventPatch(description="x"))
    assert info.value.until == rig.clock[0] + timedelta(hours=3)
    assert "until 2030-03-01 11:00 UTC" in str(info.value)
    # further writes of alice are not sent at all while the pause lasts; her reads are
    with pytest.raises(WritesPausedError):
        await connector.patch_event(USER_CAL, event(), EventPatch(description="y"))
    assert len(fake.calls) == 1
    fake.reply(200, EVENT_JSON)
    assert await connector.get_event(USER_CAL, "evt1") is not None
    assert len(fake.calls) == 2
    # it resumes by itself
    rig.clock[0] += timedelta(hours=3)
    fake.reply(200, EVENT_JSON)
    await connector.patch_event(USER_CAL, event(), EventPatch(description="z"))
    assert [c.method for c in fake.calls] == ["PATCH", "GET", "PATCH"]


async def test_throttled_patch_is_retried_with_backoff(rig: Rig) -> None:
    """A "slow down" answer means the write was not applied: sending it again is safe."""
    fake, connector = rig.fake, rig.connector
    fake.fail(403, "userRateLimitExceeded", "User Rate Limit Exceeded")
    fake.reply(200, EVENT_JSON)
    await connector.patch_event(USER_CAL, event(), EventPatch(description="x"))
    assert [c.method for c in fake.calls] == ["PATCH", "PATCH"]


async def test_teardown_patch_nulls_our_keys_and_conference(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.reply(200, EVENT_JSON)
    patch = EventPatch(description="", clear_marker=True, clear_conference=True)
    await connector.patch_event(USER_CAL, event(etag=None), patch)
    call = fake.calls[0]
    assert "If-Match" not in call.headers
    assert call.body == {
        "description": "",
        "extendedProperties": {"private": dict.fromkeys(Marker.property_names())},
        "conferenceData": None,
    }


@pytest.mark.parametrize(
    ("status", "reason", "error"),
    [
        (412, "conditionNotMet", ConflictError),
        (503, "backendError", TransientError),
        (404, "notFound", NotFoundError),
    ],
)
async def test_patch_is_never_retried(
    rig: Rig,
    status: int,
    reason: str,
    error: type[Exception],
) -> None:
    fake, connector = rig.fake, rig.connector
    fake.fail(status, reason)
    with pytest.raises(error):
        await connector.patch_event(USER_CAL, event(), EventPatch(description="x"))
    assert len(fake.calls) == 1


# -- tokens and retries ------------------------------------------------------------------------


async def test_refused_token_is_fetched_again_once(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.fail(401, "authError", "Invalid Credentials")
    fake.reply(200, EVENT_JSON)
    assert await connector.get_event(USER_CAL, "evt1") is not None
    assert [c.headers["Authorization"] for c in fake.calls] == ["Bearer tok-1", "Bearer tok-2"]
    assert fake.subjects == [ALICE, ALICE]


async def test_token_refused_twice_is_an_auth_error(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.fail(401, "authError")
    fake.fail(401, "authError")
    with pytest.raises(AuthError):
        await connector.get_event(USER_CAL, "evt1")
    assert len(fake.calls) == 2


async def test_throttled_reads_are_retried_after_retry_after(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.fail(429, "rateLimitExceeded", **{"Retry-After": "0"})
    fake.reply(200, EVENT_JSON)
    assert await connector.get_event(USER_CAL, "evt1") is not None
    assert len(fake.calls) == 2
    assert fake.subjects == [ALICE]  # the token was reused


async def test_retries_stop_and_keep_the_retry_after(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    for _ in range(3):
        fake.fail(403, "userRateLimitExceeded", **{"Retry-After": "0"})
    with pytest.raises(ThrottledError) as info:
        await connector.get_event(USER_CAL, "evt1")
    assert info.value.retry_after == 0.0
    assert len(fake.calls) == 2  # max_retries


async def test_unreachable_api_is_transient(rig: Rig, sa_info: dict[str, str]) -> None:
    base = rig.base
    tokens = DelegatedTokens(sa_info, SCOPES, token_uri=f"{base}/token")
    async with aiohttp.ClientSession() as session:
        closed = GoogleCalendarConnector(
            tokens=tokens,
            session=session,
            calendar_root="http://127.0.0.1:9/",
            gmail_root="http://127.0.0.1:9/",
        )
        with pytest.raises(TransientError) as info:
            await closed.patch_event(USER_CAL, event(), EventPatch(description="x"))
    assert "events.patch" in str(info.value)


# -- reading -----------------------------------------------------------------------------------


async def test_list_changes_pages_until_the_sync_token(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    broken = {
        "id": "bad",
        "start": {"dateTime": "2030-03-04T10:00:00Z"},
        "end": {"dateTime": "2030-03-04T09:00:00Z"},
    }
    fake.reply(200, {"items": [EVENT_JSON, broken], "nextPageToken": "p2"})
    fake.reply(200, {"items": [dict(EVENT_JSON, id="evt2")], "nextSyncToken": "sync-2"})
    batch = await connector.list_changes(USER_CAL)
    assert [e.event_id for e in batch.events] == ["evt1", "evt2"]
    assert [s.event_id for s in batch.skipped] == ["bad"]
    assert (batch.cursor, batch.full, batch.api_calls) == ("sync-2", True, 2)
    first, second = fake.calls
    assert "syncToken" not in first.query
    assert "pageToken" not in first.query
    assert second.query["pageToken"] == "p2"
    assert first.query["maxResults"] == "250"


async def test_list_changes_continues_from_the_cursor(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.reply(200, {"items": [], "nextSyncToken": "sync-3"})
    calendar = CalendarRecord(
        USER_CAL.key, Provider.GOOGLE, ALICE, CalendarKind.USER, cursor="sync-2"
    )
    batch = await connector.list_changes(calendar)
    assert fake.calls[0].query["syncToken"] == "sync-2"
    assert (batch.cursor, batch.full) == ("sync-3", False)


async def test_expired_cursor(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.fail(410, "fullSyncRequired", "Sync token is no longer valid")
    calendar = CalendarRecord(USER_CAL.key, Provider.GOOGLE, ALICE, CalendarKind.USER, cursor="old")
    with pytest.raises(CursorExpiredError):
        await connector.list_changes(calendar)


async def test_listing_without_sync_token_is_an_error(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.reply(200, {"items": []})
    with pytest.raises(ConnectorError, match="nextSyncToken"):
        await connector.list_changes(USER_CAL)


async def test_instances_of_a_series_in_the_window(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.reply(200, {"items": [dict(EVENT_JSON, id="s_1", recurringEventId="s")]})
    start = datetime(2030, 3, 1, tzinfo=UTC)
    found = await connector.list_instances(USER_CAL, "s", Window(start, start + timedelta(days=31)))
    assert [e.event_id for e in found] == ["s_1"]
    call = fake.calls[0]
    assert call.path == "/calendar/v3/calendars/alice@example.com/events/s/instances"
    assert (call.query["timeMin"], call.query["timeMax"]) == (
        "2030-03-01T00:00:00Z",
        "2030-04-01T00:00:00Z",
    )


async def test_missing_event_reads_as_none(rig: Rig) -> None:
    rig.fake.fail(404, "notFound")
    assert await rig.connector.get_event(USER_CAL, "gone") is None


# -- access, rooms, channels, presence ---------------------------------------------------------


async def test_check_access_reads_locale_and_zone(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.reply(200, {"value": "de"})
    fake.reply(200, {"value": "Europe/Berlin"})
    check = await connector.check_access(USER_CAL)
    assert (check.locale, check.timezone) == ("de", "Europe/Berlin")
    assert [c.path for c in fake.calls] == [
        "/calendar/v3/users/me/settings/locale",
        "/calendar/v3/users/me/settings/timezone",
    ]


async def test_rooms_are_read_as_the_room_access_user(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.reply(200, {"items": [], "nextSyncToken": "s"})
    await connector.check_access(ROOM_CAL)
    assert fake.calls[0].path == f"/calendar/v3/calendars/{ROOM}/events"
    assert fake.subjects == [ADMIN]


async def test_rooms_without_room_access_user_explain_why(
    rig: Rig, sa_info: dict[str, str]
) -> None:
    base = rig.base
    tokens = DelegatedTokens(sa_info, SCOPES, token_uri=f"{base}/token")
    async with aiohttp.ClientSession() as session:
        plain = GoogleCalendarConnector(
            tokens=tokens,
            session=session,
            calendar_root=f"{base}/calendar/v3/",
            gmail_root=f"{base}/",
        )
        with pytest.raises(AuthError, match="room_access_user"):
            await plain.check_access(ROOM_CAL)
    assert rig.fake.seen == []


async def test_watch_opens_a_channel(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    expires = datetime(2030, 3, 4, 15, tzinfo=UTC)
    fake.reply(
        200,
        {"id": "ch1", "resourceId": "res-1", "expiration": str(int(expires.timestamp() * 1000))},
    )
    now = datetime(2030, 3, 4, 9, tzinfo=UTC)
    channel = await connector.watch(
        USER_CAL,
        address="https://hc.example.com/webhooks/google",
        channel_id="ch1",
        secret="s3cret",
        now=now,
    )
    assert channel == Channel("ch1", USER_CAL.key, "s3cret", "res-1", expires, now)
    assert fake.calls[0].body == {
        "id": "ch1",
        "type": "web_hook",
        "address": "https://hc.example.com/webhooks/google",
        "token": "s3cret",
        "params": {"ttl": str(6 * 3600)},
    }


async def test_stopping_a_channel_that_is_gone_is_fine(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    fake.fail(404, "notFound")
    now = datetime(2030, 3, 4, tzinfo=UTC)
    await connector.stop_channel(USER_CAL, Channel("ch1", USER_CAL.key, "s", "res-1", now, now))
    assert fake.calls[0].path == "/calendar/v3/channels/stop"
    assert fake.calls[0].body == {"id": "ch1", "resourceId": "res-1"}


async def test_presence_from_gmail_vacation(rig: Rig) -> None:
    fake, connector = rig.fake, rig.connector
    start, end = datetime(2030, 3, 1, tzinfo=UTC), datetime(2030, 3, 10, tzinfo=UTC)
    fake.reply(
        200,
        {
            "enableAutoReply": True,
            "responseSubject": "Away",
            "startTime": str(int(start.timestamp() * 1000)),
            "endTime": str(int(end.timestamp() * 1000)),
        },
    )
    presence = await connector.get_presence(USER_CAL, datetime(2030, 3, 4, tzinfo=UTC))
    assert (presence.out_of_office, presence.starts_at, presence.ends_at) == (True, start, end)
    assert presence.message == "Away"
    assert fake.calls[0].path == "/gmail/v1/users/alice@example.com/settings/vacation"
    later = await connector.get_presence(USER_CAL, end)
    assert not later.out_of_office


async def test_rooms_have_no_presence(rig: Rig) -> None:
    presence = await rig.connector.get_presence(ROOM_CAL, datetime(2030, 3, 4, tzinfo=UTC))
    assert not presence.out_of_office
    assert rig.fake.seen == []


# -- error mapping and marker properties -------------------------------------------------------


def google_error(status: int, reason: str, message: str = "text") -> str:
    return json.dumps(
        {"error": {"code": status, "message": message, "errors": [{"reason": reason}]}}
    )


@pytest.mark.parametrize(
    ("status", "reason", "kind"),
    [
        (401, "authError", AuthError),
        (403, "forbiddenForNonOrganizer", ForbiddenError),
        (403, "rateLimitExceeded", ThrottledError),
        (403, "userRateLimitExceeded", ThrottledError),
        (429, "rateLimitExceeded", ThrottledError),
        (404, "notFound", NotFoundError),
        (410, "fullSyncRequired", CursorExpiredError),
        (412, "conditionNotMet", ConflictError),
        (500, "backendError", TransientError),
        (503, "backendError", TransientError),
    ],
)
def test_error_mapping(status: int, reason: str, kind: type[ConnectorError]) -> None:
    err = _error("events.get", status, google_error(status, reason, "Rate Limit Exceeded"), "7")
    assert type(err) is kind
    assert str(err).startswith(f"events.get: {status} {reason}")


def test_unlisted_client_errors_are_plain_connector_errors() -> None:
    err = _error("events.patch", 400, google_error(400, "invalid", "Invalid value"), None)
    assert type(err) is ConnectorError
    assert "Invalid value" in str(err)


@pytest.mark.parametrize(
    ("header", "expected"), [("12", 12.0), ("1.5", 1.5), ("-3", 0.0), ("soon", None), (None, None)]
)
def test_retry_after_values(header: str | None, expected: float | None) -> None:
    err = _error("events.list", 429, google_error(429, "rateLimitExceeded"), header)
    assert isinstance(err, ThrottledError)
    assert err.retry_after == expected


def test_non_json_error_body_is_cut_short() -> None:
    err = _error("events.list", 502, "<html>" + "x" * 1000, None)
    assert isinstance(err, TransientError)
    assert len(str(err)) < 250


def test_marker_properties_cover_exactly_our_keys() -> None:
    full = Marker("zoom", "req-1", "m-1", "h-1")
    assert _marker_properties(EventPatch(marker=full)) == full.to_properties()
    assert _marker_properties(EventPatch(marker=Marker("meet", "req-2"))) == {
        "hybridcal.system": "meet",
        "hybridcal.request": "req-2",
        "hybridcal.meeting": None,
        "hybridcal.hash": None,
    }
    assert _marker_properties(EventPatch(clear_marker=True)) == dict.fromkeys(
        Marker.property_names()
    )
    assert _marker_properties(EventPatch(description="x")) == {}
