"""The device API: authentication, isolation, windows, OBTP buttons, privacy and ETag polling."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hybridcal.core.model import (
    CalendarKind,
    CalendarRecord,
    CalendarState,
    Device,
    JoinLink,
    MeetingEntry,
    Presence,
    Provider,
    calendar_key,
)
from hybridcal.crypto import Keyring, RecordCipher
from hybridcal.daemon.devices import (
    TOKEN_PREFIX,
    hash_token,
    is_well_formed,
    issue_device,
    new_device_token,
    token_matches,
)
from hybridcal.daemon.endpoint_api import (
    MEETINGS_PATH,
    PRIVATE_TITLE,
    EndpointApi,
    add_endpoint_routes,
)
from hybridcal.daemon.metrics import Metrics
from hybridcal.store.base import DeviceView, SyncResult
from hybridcal.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence
    from pathlib import Path

NOW = datetime(2025, 3, 10, 9, 20, tzinfo=UTC)
ROOM = calendar_key(Provider.GOOGLE, "room-1@example.com")
OTHER = calendar_key(Provider.MICROSOFT, "room-2@example.com")
ZOOM = JoinLink(
    provider="zoom",
    url="https://example.zoom.us/j/123456789?pwd=secret",
    meeting_id="123456789",
    passcode="424242",
    dial="123456789.424242@zoomcrc.com",
)
TEAMS = JoinLink(provider="teams", url="https://teams.microsoft.com/l/meetup-join/abc")


class CountingStore(SQLiteStore):
    """The real store, counting ``list_entries`` calls to prove the 304 path reads no rows."""

    list_calls = 0

    async def list_entries(
        self, calendar_key: str, start: datetime, end: datetime
    ) -> list[MeetingEntry]:
        self.list_calls += 1
        return await super().list_entries(calendar_key, start, end)


async def open_store(db: Path, cls: type[CountingStore] = CountingStore) -> CountingStore:
    store = await cls.open(db, RecordCipher(Keyring.generate()))
    assert isinstance(store, cls)
    for key, kind in ((ROOM, CalendarKind.ROOM), (OTHER, CalendarKind.ROOM)):
        provider, address = key.split(":", 1)
        await store.add_calendar(
            CalendarRecord(
                key=key,
                provider=Provider(provider),
                address=address,
                kind=kind,
                state=CalendarState.ACTIVE,
                display_name=f"Display {address}",
            )
        )
    return store


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def entry(
    key: str,
    start: datetime,
    minutes: int = 30,
    *,
    calendar: str = ROOM,
    links: Sequence[JoinLink] = (ZOOM,),
    **fields: Any,
) -> MeetingEntry:
    return MeetingEntry(
        calendar_key=calendar,
        event_key=key,
        source_id=key,
        start=start,
        end=start + timedelta(minutes=minutes),
        title=fields.pop("title", f"Meeting {key}"),
        organizer="alice@example.com",
        organizer_name="Alice",
        attendees=("bob@example.com",),
        location=fields.pop("location", "Room 1"),
        links=tuple(links),
        **fields,
    )


class Harness:
    def __init__(
        self, store: CountingStore, client: TestClient[web.Request, web.Application]
    ) -> None:
        self.store = store
        self.client = client

    async def close(self) -> None:
        await self.client.close()
        await self.store.close()

    async def register(self, calendar: str, name: str = "panel") -> tuple[Device, str]:
        issued = issue_device(calendar, name, now=NOW)
        await self.store.add_device(issued.device)
        return issued.device, issued.token

    async def sync(self, calendar: str, *rows: MeetingEntry) -> None:
        await self.store.apply_sync(
            SyncResult(
                calendar_key=calendar,
                replace={r.source_id: [r] for r in rows},
                remove=(),
                cursor="c",
            )
        )

    async def get(
        self,
        token: str | None,
        params: dict[str, str] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any] | None, Any]:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        resp = await self.client.get(MEETINGS_PATH, params=params or {}, headers=all_headers)
        body = await resp.read()
        data = await resp.json() if body else None
        return resp.status, data, resp.headers


def make_api(
    store: CountingStore | None, clock: Clock, metrics: Metrics, **overrides: Any
) -> EndpointApi:
    settings: dict[str, Any] = {
        "now": clock,
        "obtp_lead_minutes": 5,
        "hide_tentative": False,
        "hide_private_titles": True,
        "max_window_days": 14,
    }
    settings.update(overrides)
    return EndpointApi(store, metrics, **settings)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(process_metrics=False)


async def _start(
    store: CountingStore, api: EndpointApi
) -> TestClient[web.Request, web.Application]:
    app = web.Application()
    add_endpoint_routes(app, api)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def make_harness(
    db: Path,
    clock: Clock,
    metrics: Metrics,
    store_cls: type[CountingStore] = CountingStore,
    **overrides: Any,
) -> Harness:
    store = await open_store(db, store_cls)
    return Harness(store, await _start(store, make_api(store, clock, metrics, **overrides)))


@pytest.fixture
async def harness(tmp_path: Path, clock: Clock, metrics: Metrics) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path / "store.db", clock, metrics)
    try:
        yield h
    finally:
        await h.close()


# -- tokens ---------------------------------------------------------------------------------------
def test_device_tokens_are_random_prefixed_and_stored_hashed() -> None:
    tokens = {new_device_token() for _ in range(100)}
    assert len(tokens) == 100
    token = tokens.pop()
    assert token.startswith(TOKEN_PREFIX)
    assert is_well_formed(token)
    assert not is_well_formed(token[:-1])
    assert not is_well_formed(token[:-1] + "!")
    assert not is_well_formed("xyz_" + token[4:])
    assert len(hash_token(token)) == 64
    assert hash_token(token) != hash_token(token.upper())
    assert token_matches(token, hash_token(token))
    assert not token_matches(new_device_token(), hash_token(token))
    issued = issue_device(ROOM, "lobby", now=NOW)
    assert issued.device.token_hash == hash_token(issued.token)
    assert issued.token not in repr(issued.device)
    assert (issued.device.calendar_key, issued.device.name) == (ROOM, "lobby")


# -- authentication ------------------------------------------------------------------------------
async def test_missing_token_is_401_with_bearer_challenge(harness: Harness) -> None:
    status, data, headers = await harness.get(None)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert data == {"error": "unauthorized", "message": "a valid device token is required"}


async def test_other_schemes_and_malformed_tokens_are_401(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    for header in (f"Basic {token}", "Bearer", "Bearer not-a-token", f"Bearer {token}x"):
        resp = await harness.client.get(MEETINGS_PATH, headers={"Authorization": header})
        assert resp.status == 401, header


async def test_forged_and_revoked_tokens_get_the_same_answer(harness: Harness) -> None:
    device, token = await harness.register(ROOM)
    assert (await harness.get(token))[0] == 200
    forged = await harness.get(new_device_token())
    await harness.store.revoke_device(device.device_id)
    revoked = await harness.get(token)
    assert forged[0] == revoked[0] == 401
    assert forged[1] == revoked[1]
    assert forged[2]["WWW-Authenticate"] == revoked[2]["WWW-Authenticate"]
    assert 'error="invalid_token"' in revoked[2]["WWW-Authenticate"]


async def test_device_sees_only_its_own_calendar(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    await harness.sync(ROOM, entry("mine", NOW + timedelta(hours=1)))
    await harness.sync(OTHER, entry("theirs", NOW + timedelta(hours=1), calendar=OTHER))
    # No parameter names a calendar: attempts to pick another one are ignored.
    status, data, _ = await harness.get(token, {"calendar": OTHER, "calendar_key": OTHER})
    assert status == 200
    assert data is not None
    assert [m["id"] for m in data["meetings"]] == ["mine"]
    assert data["calendar"] == {
        "address": "room-1@example.com",
        "kind": "room",
        "display_name": "Display room-1@example.com",
    }


async def test_device_of_removed_calendar_is_401(harness: Harness) -> None:
    _, token = await harness.register(OTHER)
    assert (await harness.get(token))[0] == 200
    await harness.store.remove_calendar(OTHER)
    assert (await harness.get(token))[0] == 401


# -- window ---------------------------------------------------------------------------------------
async def test_default_window_follows_the_hour(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    _, data, _ = await harness.get(token)
    assert data is not None
    assert data["window"] == {"from": "2025-03-10T08:00:00Z", "to": "2025-03-11T10:00:00Z"}
    assert data["generated_at"] == "2025-03-10T09:20:00Z"


async def test_explicit_window_with_offsets(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    await harness.sync(
        ROOM,
        entry("inside", datetime(2025, 3, 12, 9, 0, tzinfo=UTC)),
        entry("outside", datetime(2025, 3, 13, 9, 0, tzinfo=UTC)),
    )
    _, data, _ = await harness.get(
        token, {"from": "2025-03-12T08:00:00+01:00", "to": "2025-03-13T00:00:00Z"}
    )
    assert data is not None
    assert data["window"] == {"from": "2025-03-12T07:00:00Z", "to": "2025-03-13T00:00:00Z"}
    assert [m["id"] for m in data["meetings"]] == ["inside"]


async def test_unencoded_plus_in_offset_is_tolerated(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    url = f"{MEETINGS_PATH}?from=2025-03-12T08:00:00+01:00"  # '+' arrives as a space
    resp = await harness.client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    assert (await resp.json())["window"]["from"] == "2025-03-12T07:00:00Z"


async def test_window_is_clamped_to_cache_and_max_length(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    _, data, _ = await harness.get(
        token, {"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    )
    assert data is not None
    # 7 days back from the start of the hour, then at most max_window_days (14) long.
    assert data["window"] == {"from": "2025-03-03T09:00:00Z", "to": "2025-03-17T09:00:00Z"}
    _, data, _ = await harness.get(token, {"from": "2025-04-01T00:00:00Z"})
    assert data is not None
    assert data["window"]["to"] == "2025-04-02T02:00:00Z"  # 'to' defaults to 'from' + 26 h
    _, data, _ = await harness.get(
        token, {"from": "2025-04-01T00:00:00Z", "to": "2025-05-01T00:00:00Z"}
    )
    assert data is not None
    # 31 days ahead of the start of the hour is the far end of the cache.
    assert data["window"] == {"from": "2025-04-01T00:00:00Z", "to": "2025-04-10T09:00:00Z"}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "yesterday"}, "bad_parameter"),
        ({"from": "2025-03-10T08:00:00"}, "bad_parameter"),  # no offset
        ({"to": "2025-03-10"}, "bad_parameter"),
        ({"from": "2025-03-10T10:00:00Z", "to": "2025-03-10T10:00:00Z"}, "bad_window"),
        ({"from": "2025-03-10T10:00:00Z", "to": "2025-03-10T09:00:00Z"}, "bad_window"),
        ({"from": "2025-06-01T00:00:00Z"}, "out_of_range"),
        ({"lead": "abc"}, "bad_parameter"),
        ({"lead": "-1"}, "bad_parameter"),
        ({"lead": "121"}, "bad_parameter"),
        ({"lead": "5.5"}, "bad_parameter"),
        ({"lead": "\u00b2"}, "bad_parameter"),  # passes str.isdigit()
        ({"lead": "\u0661\u0662"}, "bad_parameter"),  # Arabic-Indic digits: int() takes them
        ({"lead": "99999999999999999999"}, "bad_parameter"),
        ({"lead": "NaN"}, "bad_parameter"),
        ({"lead": " 5"}, "bad_parameter"),
        ({"from": "9999-12-31T23:59:59-23:59"}, "bad_parameter"),  # overflows in UTC
        ({"from": "0001-01-01T00:00:00+14:00"}, "bad_parameter"),  # underflows in UTC
        ({"to": "9999-12-31T23:59:59Z"}, "bad_parameter"),
        ({"from": "1969-12-31T23:59:59Z"}, "bad_parameter"),
        ({"from": "\u0662\u0660\u0662\u0665-03-10T10:00:00Z"}, "bad_parameter"),
        ({"from": "NaN"}, "bad_parameter"),
        ({"from": "2025-03-10T10:00:00Z" + "0" * 5000}, "bad_parameter"),
    ],
)
async def test_bad_parameters_are_400(harness: Harness, params: dict[str, str], code: str) -> None:
    _, token = await harness.register(ROOM)
    status, data, headers = await harness.get(token, params)
    assert status == 400
    assert data is not None
    assert data["error"] == code
    assert headers["Content-Type"].startswith("application/json")


async def test_repeated_parameters_are_400(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    auth = {"Authorization": f"Bearer {token}"}
    for name, value in (("lead", "5"), ("from", "2025-03-10T10:00:00Z")):
        resp = await harness.client.get(MEETINGS_PATH, params=[(name, value)] * 2, headers=auth)
        assert resp.status == 400, name
        assert (await resp.json())["error"] == "bad_parameter"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer hcd_\u00e9\u00e9\u00e9",
        "Bearer " + "A" * 8000,
        "\u00e9",
        "Bearer hcd_" + "\u00fc" * 43,
        "Bearer  ",
    ],
)
async def test_odd_authorization_headers_are_401(harness: Harness, header: str) -> None:
    resp = await harness.client.get(MEETINGS_PATH, headers={"Authorization": header})
    assert resp.status == 401
    assert harness.store.list_calls == 0


async def test_bad_parameters_without_token_are_401_not_400(harness: Harness) -> None:
    assert (await harness.get(None, {"lead": "abc"}))[0] == 401


# -- OBTP -----------------------------------------------------------------------------------------
async def test_button_shows_from_lead_before_start_until_end(
    harness: Harness, clock: Clock
) -> None:
    _, token = await harness.register(ROOM)
    start = NOW + timedelta(minutes=30)
    await harness.sync(ROOM, entry("m", start, 30))

    async def button() -> tuple[bool, str]:
        _, data, _ = await harness.get(token)
        assert data is not None
        (meeting,) = data["meetings"]
        return meeting["obtp"]["show_button"], meeting["obtp"]["show_from"]

    clock.now = start - timedelta(minutes=5, seconds=1)
    assert await button() == (False, "2025-03-10T09:45:00Z")
    clock.now = start - timedelta(minutes=5)
    assert (await button())[0] is True
    clock.now = start + timedelta(minutes=30) - timedelta(seconds=1)
    assert (await button())[0] is True
    clock.now = start + timedelta(minutes=30)
    assert (await button())[0] is False


async def test_lead_parameter_and_calendar_override(harness: Harness, clock: Clock) -> None:
    _, token = await harness.register(ROOM)
    start = NOW + timedelta(minutes=10)
    await harness.sync(ROOM, entry("m", start))
    _, data, _ = await harness.get(token)
    assert data is not None
    assert data["meetings"][0]["obtp"]["show_button"] is False  # org default: 5 minutes
    _, data, _ = await harness.get(token, {"lead": "10"})
    assert data is not None
    assert data["meetings"][0]["obtp"]["show_button"] is True
    record = await harness.store.get_calendar(ROOM)
    assert record is not None
    await harness.store.update_calendar(replace(record, obtp_lead_minutes=15))
    _, data, _ = await harness.get(token)
    assert data is not None
    assert data["meetings"][0]["obtp"] == {
        "show_from": "2025-03-10T09:15:00Z",
        "show_button": True,
    }
    _, data, _ = await harness.get(token, {"lead": "0"})  # the parameter beats the override
    assert data is not None
    assert data["meetings"][0]["obtp"]["show_button"] is False


async def test_meeting_without_link_never_shows_a_button(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    await harness.sync(ROOM, entry("plain", NOW - timedelta(minutes=5), links=()))
    _, data, _ = await harness.get(token)
    assert data is not None
    (meeting,) = data["meetings"]
    assert meeting["join"] is None
    assert meeting["links"] == []
    assert meeting["obtp"]["show_button"] is False


async def test_join_carries_the_passcode_and_links_do_not(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    await harness.sync(ROOM, entry("m", NOW + timedelta(hours=1), links=(ZOOM, TEAMS)))
    _, data, _ = await harness.get(token)
    assert data is not None
    (meeting,) = data["meetings"]
    # every field a client knew before is unchanged; representation 2 adds numeric_passcode
    assert meeting["join"] == {**ZOOM.to_json(), "numeric_passcode": "424242"}
    assert [link["provider"] for link in meeting["links"]] == ["zoom", "teams"]
    assert all("passcode" not in link for link in meeting["links"])
    assert meeting["organizer"] == {"email": "alice@example.com", "name": "Alice"}
    assert meeting["status"] == "confirmed"
    assert "attendees" not in meeting


# -- privacy --------------------------------------------------------------------------------------
async def test_private_titles_are_replaced(tmp_path: Path, clock: Clock, metrics: Metrics) -> None:
    for hide, title in ((True, PRIVATE_TITLE), (False, "Board meeting")):
        h = await make_harness(tmp_path / f"{hide}.db", clock, metrics, hide_private_titles=hide)
        try:
            _, token = await h.register(ROOM)
            start = NOW + timedelta(hours=1)
            await h.sync(
                ROOM,
                entry("secret", start, title="Board meeting", location="Vault", private=True),
                entry("open", start + timedelta(hours=1), title="Stand-up"),
            )
            _, data, _ = await h.get(token)
            assert data is not None
            assert [m["title"] for m in data["meetings"]] == [title, "Stand-up"]
            assert data["meetings"][0]["location"] == ("" if hide else "Vault")
            assert data["meetings"][0]["join"] is not None  # the room can still join
        finally:
            await h.close()


async def test_tentative_meetings_hidden_on_request(
    tmp_path: Path, clock: Clock, metrics: Metrics
) -> None:
    for hide, expected in ((True, ["firm"]), (False, ["firm", "maybe"])):
        h = await make_harness(tmp_path / f"{hide}.db", clock, metrics, hide_tentative=hide)
        try:
            _, token = await h.register(ROOM)
            await h.sync(
                ROOM,
                entry("firm", NOW + timedelta(hours=1)),
                entry("maybe", NOW + timedelta(hours=2), tentative=True),
            )
            _, data, _ = await h.get(token)
            assert data is not None
            assert [m["id"] for m in data["meetings"]] == expected
            assert [m["status"] for m in data["meetings"]] == ["confirmed", "tentative"][
                : len(expected)
            ]
        finally:
            await h.close()


async def test_presence_without_message(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    _, data, _ = await harness.get(token)
    assert data is not None
    assert data["presence"] is None
    await harness.store.put_presence(
        Presence(ROOM, out_of_office=True, ends_at=NOW + timedelta(days=2), message="On leave")
    )
    _, data, _ = await harness.get(token)
    assert data is not None
    assert data["presence"] == {
        "out_of_office": True,
        "starts_at": None,
        "ends_at": "2025-03-12T09:20:00Z",
    }


# -- ETag / 304 -----------------------------------------------------------------------------------
async def test_conditional_get_is_304_without_reading_rows(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    await harness.sync(ROOM, entry("m", NOW + timedelta(hours=2)))
    status, _, headers = await harness.get(token)
    assert status == 200
    etag = headers["ETag"]
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    reads = harness.store.list_calls
    resp = await harness.client.get(
        MEETINGS_PATH, headers={"Authorization": f"Bearer {token}", "If-None-Match": etag}
    )
    assert resp.status == 304
    assert await resp.read() == b""
    assert resp.headers["ETag"] == etag
    assert harness.store.list_calls == reads  # answered from the version alone
    # A list of tags, and the strong form of the same tag, match too (weak comparison).
    for header in (f'"nope", {etag}', etag.removeprefix("W/")):
        assert (await harness.get(token, headers={"If-None-Match": header}))[0] == 304
    assert (await harness.get(token, headers={"If-None-Match": '"nope"'}))[0] == 200


async def test_unchanged_list_is_answered_from_the_snapshot(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    _, other_token = await harness.register(ROOM, "second panel")
    await harness.sync(ROOM, entry("m", NOW + timedelta(hours=2)))
    _, data, headers = await harness.get(token)
    reads = harness.store.list_calls
    # Another device of the same calendar shares the snapshot, with its own ETag.
    _, again, other_headers = await harness.get(other_token)
    assert harness.store.list_calls == reads
    assert again is not None
    assert data is not None
    assert again["meetings"] == data["meetings"]
    assert other_headers["ETag"] != headers["ETag"]
    await harness.sync(ROOM, entry("m", NOW + timedelta(hours=2), title="Moved"))
    _, data, _ = await harness.get(token)
    assert data is not None
    assert data["meetings"][0]["title"] == "Moved"
    assert harness.store.list_calls == reads + 1


async def test_without_kept_rendering_full_answers_read_rows(
    tmp_path: Path, clock: Clock, metrics: Metrics
) -> None:
    h = await make_harness(tmp_path / "store.db", clock, metrics, keep_rendered=False)
    try:
        _, token = await h.register(ROOM)
        await h.sync(ROOM, entry("m", NOW + timedelta(hours=2)))
        status, first, headers = await h.get(token)
        status, second, _ = await h.get(token)
        assert status == 200
        assert first == second
        assert h.store.list_calls == 2
        assert (await h.get(token, headers={"If-None-Match": headers["ETag"]}))[0] == 304
        assert h.store.list_calls == 2
    finally:
        await h.close()


async def test_etag_changes_when_the_cache_changes(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    await harness.sync(ROOM, entry("m", NOW + timedelta(hours=2)))
    etag = (await harness.get(token))[2]["ETag"]
    await harness.sync(ROOM, entry("m", NOW + timedelta(hours=2), title="Renamed"))
    status, data, headers = await harness.get(token, headers={"If-None-Match": etag})
    assert status == 200
    assert data is not None
    assert data["meetings"][0]["title"] == "Renamed"
    assert headers["ETag"] != etag


async def test_etag_changes_when_a_button_appears(harness: Harness, clock: Clock) -> None:
    _, token = await harness.register(ROOM)
    start = NOW + timedelta(minutes=20)
    await harness.sync(ROOM, entry("m", start))
    etag = (await harness.get(token))[2]["ETag"]
    clock.now = start - timedelta(minutes=6)  # still no button: 304
    assert (await harness.get(token, headers={"If-None-Match": etag}))[0] == 304
    clock.now = start - timedelta(minutes=5)  # the button appears: a new list
    status, data, headers = await harness.get(token, headers={"If-None-Match": etag})
    assert status == 200
    assert data is not None
    assert data["meetings"][0]["obtp"]["show_button"] is True
    assert headers["ETag"] != etag


async def test_etag_matches_after_restart_without_remembered_tags(
    tmp_path: Path, clock: Clock, metrics: Metrics
) -> None:
    store = await open_store(tmp_path / "store.db")
    first = await _start(store, make_api(store, clock, metrics))
    second = await _start(store, make_api(store, clock, metrics))
    try:
        h1, h2 = Harness(store, first), Harness(store, second)
        _, token = await h1.register(ROOM)
        await h1.sync(ROOM, entry("m", NOW + timedelta(hours=2)))
        etag = (await h1.get(token))[2]["ETag"]
        reads = store.list_calls
        assert (await h2.get(token, headers={"If-None-Match": etag}))[0] == 304
        assert store.list_calls == reads + 1  # decided after reading rows, still no body
    finally:
        await first.close()
        await second.close()
        await store.close()


async def test_presence_change_changes_the_etag(harness: Harness) -> None:
    _, token = await harness.register(ROOM)
    etag = (await harness.get(token))[2]["ETag"]
    await harness.store.put_presence(Presence(ROOM, out_of_office=True))
    assert (await harness.get(token, headers={"If-None-Match": etag}))[0] == 200


# -- metrics --------------------------------------------------------------------------------------
async def test_every_answer_is_counted_and_timed(harness: Harness, metrics: Metrics) -> None:
    _, token = await harness.register(ROOM)
    await harness.get(None)
    etag = (await harness.get(token))[2]["ETag"]
    await harness.get(token, headers={"If-None-Match": etag})
    await harness.get(token, {"lead": "x"})
    text = metrics.render()[0].decode()
    for status in ("200", "304", "400", "401"):
        assert f'hybridcal_endpoint_requests_total{{status="{status}"}} 1.0' in text
    assert "hybridcal_endpoint_request_duration_seconds_count 4.0" in text


class BrokenStore(CountingStore):
    async def device_view(self, token_hash: str) -> DeviceView | None:
        raise RuntimeError("disk on fire")


async def test_store_failure_is_a_counted_500(
    tmp_path: Path, clock: Clock, metrics: Metrics
) -> None:
    h = await make_harness(tmp_path / "store.db", clock, metrics, BrokenStore)
    try:
        _, token = await h.register(ROOM)
        status, data, _ = await h.get(token)
        assert status == 500
        assert data == {"error": "internal", "message": "internal error"}
        assert 'status="500"} 1.0' in metrics.render()[0].decode()
    finally:
        await h.close()


def test_constructor_rejects_bad_settings(clock: Clock, metrics: Metrics) -> None:
    with pytest.raises(ValueError, match="obtp_lead_minutes"):
        make_api(None, clock, metrics, obtp_lead_minutes=121)
    with pytest.raises(ValueError, match="window"):
        make_api(None, clock, metrics, max_window_days=0)
