"""The MeetingSystem contract against ZoomMeetings and the Zoom simulator, plus what only Zoom has:
fallback hosts, schedulers, the daily limit, passcode rules, topics and agendas, Zoom's series
types, retries and the number of calls on the hot path."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from tests.contract.meeting_contract import (
    DAILY_FIVE,
    MeetingInspector,
    MeetingSystemContract,
    SeenMeeting,
    base_start,
    meeting_request,
)
from tests.sandbox.zoom_support import ALICE, BASIC, BOB, CAROL, Clock, started

from hybridcal.connectors.errors import ConnectorError, TransientError
from hybridcal.connectors.meetings import zoom_wire
from hybridcal.connectors.meetings.base import MeetingRefusedError, MeetingRequest, MeetingSystem
from hybridcal.connectors.meetings.zoom import ZoomMeetings, ZoomOptions
from hybridcal.connectors.meetings.zoom_auth import ZoomTokens
from hybridcal.core.model import JoinInfo, ProblemKind
from hybridcal.sandbox.zoom import DropResponse, ZoomApp, ZoomRecord, ZoomSimulator

SCOPES = ("meeting:read:admin", "meeting:write:admin", "user:read:admin", "account:read:admin")
TOKEN_PATH = "/oauth/token"


class ZoomInspector:
    system_name = "zoom"
    uses_passcodes = True
    unknown_meeting_id = "12345678901"

    def __init__(self, sim: ZoomSimulator, clock: Callable[[], datetime]) -> None:
        self._sim = sim
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    async def meeting_exists(self, meeting_id: str) -> bool:
        return self._sim.meeting(meeting_id) is not None

    async def seen(self, meeting_id: str) -> SeenMeeting:
        meeting = self._sim.meeting(meeting_id)
        assert meeting is not None, f"no meeting {meeting_id}"
        start = _utc(meeting.get("start_time"))
        end = None if start is None else start + timedelta(minutes=meeting["duration"])
        return SeenMeeting(topic=meeting["topic"], start=start, end=end)

    async def occurrence_starts(self, meeting_id: str) -> list[datetime]:
        meeting = self._sim.meeting(meeting_id)
        assert meeting is not None, f"no meeting {meeting_id}"
        live = [o for o in meeting.get("occurrences", []) if o["status"] != "deleted"]
        return sorted(s for o in live if (s := _utc(o["start_time"])) is not None)

    async def without_account(self, organizer: str) -> None:
        if self._sim.user(organizer) is not None:
            self._sim.update_user(organizer, status="inactive")

    async def personal_room_link(self, organizer: str) -> str:
        return str(self._sim.personal_room(organizer)["link"])

    async def meeting_count(self, organizer: str) -> int:
        return len(self._sim.meetings(organizer))


def _utc(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sim(clock: Clock) -> AsyncIterator[ZoomSimulator]:
    async with started(now=clock) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def app(sim: ZoomSimulator) -> ZoomApp:
    return sim.create_app(SCOPES)


class Make:
    """``make(options=..., max_retries=...)``: a ZoomMeetings on the simulator."""

    def __init__(
        self, sim: ZoomSimulator, http: aiohttp.ClientSession, app: ZoomApp, clock: Clock
    ) -> None:
        self.sim, self.http, self.app, self.clock = sim, http, app, clock
        self.tokens: ZoomTokens | None = None

    def __call__(
        self,
        options: ZoomOptions | None = None,
        *,
        app: ZoomApp | None = None,
        token_clock: Callable[[], datetime] | None = None,
        **extra: Any,
    ) -> ZoomMeetings:
        chosen = app or self.app
        self.tokens = ZoomTokens(
            session=self.http,
            oauth_root=self.sim.oauth_root,
            account_id=chosen.account_id,
            client_id=chosen.client_id,
            client_secret=chosen.client_secret,
            now=token_clock or self.clock,
        )
        return ZoomMeetings(
            tokens=self.tokens,
            session=self.http,
            api_root=self.sim.api_root,
            options=options,
            now=self.clock,
            **extra,
        )


@pytest.fixture
def make(sim: ZoomSimulator, http: aiohttp.ClientSession, app: ZoomApp, clock: Clock) -> Make:
    return Make(sim, http, app, clock)


@pytest.fixture
def inspect(sim: ZoomSimulator, clock: Clock) -> ZoomInspector:
    return ZoomInspector(sim, clock)


def api_calls(sim: ZoomSimulator) -> list[ZoomRecord]:
    return [r for r in sim.request_log if r.path != TOKEN_PATH]


def meeting_of(sim: ZoomSimulator, meeting_id: str) -> dict[str, Any]:
    found = sim.meeting(meeting_id)
    assert found is not None
    return found


# -- the contract ----------------------------------------------------------------------------------


class TestZoomMeetingsContract(MeetingSystemContract):
    @pytest.fixture
    async def system(self, make: Make) -> AsyncIterator[MeetingSystem]:
        zoom = make()
        yield zoom
        await zoom.close()

    @pytest.fixture
    def organizer(self) -> str:
        return ALICE

    async def test_delete_occurrence_twice_is_not_an_error(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        await super().test_delete_occurrence_twice_is_not_an_error(system, inspect, organizer)


# -- hosts -----------------------------------------------------------------------------------------


async def test_the_fallback_host_hosts_when_the_organiser_has_no_zoom_user(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make(ZoomOptions(fallback_host=CAROL))
    request = meeting_request(inspect, "stranger@example.com")
    join = await zoom.create(request)
    assert meeting_of(sim, join.meeting_id)["host_email"] == CAROL
    found = await zoom.find(request)
    assert found is not None
    assert found.meeting_id == join.meeting_id


async def test_the_fallback_host_also_takes_a_basic_organisers_meetings(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make(ZoomOptions(fallback_host=CAROL))
    join = await zoom.create(meeting_request(inspect, BASIC))
    assert meeting_of(sim, join.meeting_id)["host_email"] == CAROL


async def test_an_organiser_with_a_zoom_user_hosts_despite_a_fallback(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make(ZoomOptions(fallback_host=CAROL))
    join = await zoom.create(meeting_request(inspect, BOB))
    assert meeting_of(sim, join.meeting_id)["host_email"] == BOB


async def test_without_organiser_or_fallback_nothing_is_sent(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    await zoom.passcode_policy()
    before = len(api_calls(sim))
    with pytest.raises(ConnectorError, match="fallback_host"):
        await zoom.create(replace(meeting_request(inspect, ALICE), organizer=None))
    assert len(api_calls(sim)) == before


async def test_a_scheduler_without_privilege_is_refused(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector, clock: Clock
) -> None:
    zoom = make(ZoomOptions(scheduler=CAROL))
    with pytest.raises(MeetingRefusedError) as refused:
        await zoom.create(meeting_request(inspect, ALICE))
    assert refused.value.problem.kind is ProblemKind.NO_PRIVILEGE
    assert ALICE in refused.value.problem.detail
    assert refused.value.retry_at == clock() + timedelta(hours=1)
    assert sim.meetings() == []


async def test_a_scheduler_with_privilege_creates_for_the_organiser(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    sim.grant_scheduling_privilege(CAROL, ALICE)
    zoom = make(ZoomOptions(scheduler=CAROL))
    join = await zoom.create(meeting_request(inspect, ALICE))
    made = meeting_of(sim, join.meeting_id)
    carol = sim.user(CAROL)
    assert carol is not None
    assert made["host_email"] == ALICE
    assert made["assistant_id"] == carol["id"]
    [create] = sim.calls("POST", "/v2")
    assert create.path == f"/v2/users/{CAROL}/meetings"
    assert create.body["schedule_for"] == ALICE


async def test_find_with_a_scheduler_finds_the_meeting_made_for_the_organiser(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    sim.grant_scheduling_privilege(CAROL, ALICE)
    zoom = make(ZoomOptions(scheduler=CAROL))
    request = meeting_request(inspect, ALICE)
    join = await zoom.create(request)
    found = await zoom.find(request)
    assert found is not None
    assert found.meeting_id == join.meeting_id


async def test_any_other_create_refusal_is_retried_hours_later(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector, clock: Clock
) -> None:
    zoom = make(ZoomOptions(alternative_hosts=(BASIC,)))  # Zoom refuses a basic alternative
    with pytest.raises(MeetingRefusedError) as refused:
        await zoom.create(meeting_request(inspect, ALICE))
    assert refused.value.problem.kind is ProblemKind.REFUSED
    assert "Zoom code 1114" in refused.value.problem.detail
    assert refused.value.retry_at == clock() + timedelta(hours=6)
    assert len(sim.calls("POST", "/v2")) == 1
    assert sim.meetings() == []


async def test_a_refusal_names_the_call_once(make: Make, inspect: ZoomInspector) -> None:
    zoom = make(ZoomOptions(alternative_hosts=(BASIC,)))
    with pytest.raises(MeetingRefusedError) as refused:
        await zoom.create(meeting_request(inspect, ALICE))
    assert refused.value.problem.detail.count("meetings.create") == 1


# -- limits ----------------------------------------------------------------------------------------


async def test_the_daily_limit_is_refused_until_after_midnight_utc(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector, clock: Clock
) -> None:
    zoom = make()
    sim.charge_daily(ALICE, 100)
    with pytest.raises(MeetingRefusedError) as refused:
        await zoom.create(meeting_request(inspect, ALICE))
    assert refused.value.problem.kind is ProblemKind.DAILY_LIMIT
    assert refused.value.retry_at == datetime(2030, 3, 5, 0, 1, tzinfo=UTC)
    assert clock().date() == datetime(2030, 3, 4, tzinfo=UTC).date()
    assert len(sim.calls("POST", "/v2")) == 1  # not retried
    assert sim.meetings() == []


async def create_like_the_executor(zoom: ZoomMeetings, request: MeetingRequest) -> JoinInfo:
    """Create; after a transient failure look the meeting up by its key before creating again."""
    for _ in range(5):
        try:
            return await zoom.create(request)
        except TransientError:
            found = await zoom.find(request)
            if found is not None:
                return found
    raise AssertionError("never created")


async def test_transient_server_errors_still_give_exactly_one_meeting(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    await zoom.passcode_policy()
    failures: list[int] = []

    async def heal_after_two(record: ZoomRecord) -> None:
        if record.status >= 500:
            failures.append(record.status)
            if len(failures) == 2:
                sim.faults.error_rate = 0.0

    sim.after_request.append(heal_after_two)
    sim.faults.error_rate = 1.0
    join = await create_like_the_executor(zoom, meeting_request(inspect, ALICE))
    assert len(failures) == 2
    assert set(failures) <= {500, 503}
    assert [m["id"] for m in sim.meetings()] == [int(join.meeting_id)]
    assert [r.status for r in sim.calls("POST", "/v2")][-1] == 201


async def test_transient_server_errors_are_retried_for_updates(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    request = meeting_request(inspect, ALICE)
    join = await zoom.create(request)
    failures: list[int] = []

    async def heal_after_one(record: ZoomRecord) -> None:
        if record.status >= 500:
            failures.append(record.status)
            sim.faults.error_rate = 0.0

    sim.after_request.append(heal_after_one)
    sim.faults.error_rate = 1.0
    await zoom.update(join, replace(request, topic="Renamed"))
    assert [r.status for r in sim.calls("PATCH")] == [*failures, 204]
    assert len(failures) == 1
    assert meeting_of(sim, join.meeting_id)["topic"] == "Renamed"


async def test_server_errors_beyond_the_retries_are_transient(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make(max_retries=1)
    await zoom.passcode_policy()
    sim.faults.error_rate = 1.0
    with pytest.raises(TransientError):
        await zoom.find(meeting_request(inspect, ALICE))
    assert len(sim.calls("GET", f"/v2/users/{ALICE}/meetings")) == 2


async def test_a_per_second_429_waits_for_retry_after(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    await zoom.passcode_policy()

    async def once(record: ZoomRecord) -> None:
        if record.status == 429:
            sim.faults.throttle_rate = 0.0

    sim.after_request.append(once)
    sim.faults.throttle_retry_after_s = 1
    sim.faults.throttle_rate = 1.0
    began = time.monotonic()
    join = await zoom.create(meeting_request(inspect, ALICE))
    waited = time.monotonic() - began
    # without Retry-After, the first backoff is at most 0.5 s
    assert 0.95 <= waited < 3
    assert [r.status for r in sim.calls("POST", "/v2")] == [429, 201]
    assert sim.meeting(join.meeting_id) is not None


async def test_the_create_path_is_one_call_once_the_passcode_rules_are_cached(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    await zoom.create(meeting_request(inspect, ALICE))
    [policy_read] = [r for r in api_calls(sim) if r.method == "GET"]
    assert policy_read.path == "/v2/accounts/me/settings"
    sim.request_log.clear()
    await asyncio.gather(*(zoom.create(meeting_request(inspect, ALICE)) for _ in range(3)))
    assert [(r.method, r.path) for r in api_calls(sim)] == [
        ("POST", f"/v2/users/{ALICE}/meetings")
    ] * 3
    assert not sim.calls(path_prefix=TOKEN_PATH)  # the token is reused too


async def test_an_expired_token_is_replaced_once(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector, clock: Clock
) -> None:
    zoom = make(token_clock=lambda: datetime.now(UTC))  # our clock says the token is fresh
    await zoom.create(meeting_request(inspect, ALICE))
    assert make.tokens is not None
    assert make.tokens.grants == 1
    sim.request_log.clear()
    clock.advance(hours=2)  # Zoom's says it expired
    await zoom.create(meeting_request(inspect, ALICE))
    assert make.tokens.grants == 2
    assert [r.status for r in api_calls(sim)] == [401, 200, 201]  # policy re-read, create
    assert api_calls(sim)[0].code == 124


async def test_a_lost_create_answer_is_adopted_not_made_twice(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    await zoom.passcode_policy()
    lost: list[int] = []

    async def lose_first_answer(record: ZoomRecord) -> None:
        if record.method == "POST" and record.status == 201 and not lost:
            lost.append(record.response["id"])
            raise DropResponse

    sim.after_request.append(lose_first_answer)
    join = await create_like_the_executor(zoom, meeting_request(inspect, ALICE))
    assert lost == [int(join.meeting_id)]
    assert [m["id"] for m in sim.meetings(ALICE)] == lost


# -- passcodes, topics, agendas --------------------------------------------------------------------


async def test_passcodes_follow_the_accounts_rules(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    sim.set_password_requirement(
        length=10,
        have_letter=True,
        have_number=True,
        have_special_character=True,
        have_upper_and_lower_characters=True,
        consecutive_characters_length=4,
        weak_enhance_detection=True,
    )
    zoom = make()
    codes = []
    for _ in range(8):  # the simulator refuses (300) a passcode that breaks a rule
        join = await zoom.create(meeting_request(inspect, ALICE))
        assert join.passcode is not None
        assert meeting_of(sim, join.meeting_id)["password"] == join.passcode
        codes.append(join.passcode)
    for code in codes:
        assert len(code) == 10
        assert any(c in "@-_*" for c in code)
        assert any(c.isupper() for c in code)
        assert any(c.islower() for c in code)
        assert any(c.isdigit() for c in code)
    assert len(set(codes)) == len(codes)


async def test_numeric_only_passcode_rules(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    sim.set_password_requirement(only_allow_numeric=True, length=9)
    zoom = make()
    join = await zoom.create(meeting_request(inspect, ALICE))
    assert join.passcode is not None
    assert join.passcode.isdigit()
    assert len(join.passcode) >= 9
    assert join.phone_passcode == join.passcode


async def test_passcode_rules_are_read_from_the_host_without_the_account_scope(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    sim.set_password_requirement(length=10, have_special_character=True)
    zoom = make(ZoomOptions(fallback_host=CAROL), app=sim.create_app(SCOPES[:3]))
    join = await zoom.create(meeting_request(inspect, ALICE))
    assert join.passcode is not None
    assert len(join.passcode) == 10
    await zoom.create(meeting_request(inspect, ALICE))  # the host's rules are cached
    paths = [r.path for r in api_calls(sim) if r.method == "GET"]
    assert paths == ["/v2/accounts/me/settings", f"/v2/users/{ALICE}/settings"]


async def test_passcode_rules_without_the_account_scope_or_a_fallback_host(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    sim.set_password_requirement(length=10)
    zoom = make(app=sim.create_app(SCOPES[:3]))
    join = await zoom.create(meeting_request(inspect, ALICE))
    assert join.passcode is not None


async def test_the_topic_template(make: Make, sim: ZoomSimulator, inspect: ZoomInspector) -> None:
    zoom = make(ZoomOptions(topic_template="{organizer_name} ({organizer}): {title}"))
    request = meeting_request(inspect, ALICE, topic="  Budget   review ")
    join = await zoom.create(request)
    expected = f"Alice Liddell ({ALICE}): Budget review"
    assert meeting_of(sim, join.meeting_id)["topic"] == expected
    await zoom.update(join, replace(request, topic="Budget"))
    assert meeting_of(sim, join.meeting_id)["topic"] == f"Alice Liddell ({ALICE}): Budget"


async def test_the_agenda_carries_the_key_and_fits_zoom(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    description = "".join(f"line {n}: discuss item {n}.\n" for n in range(300))[:5000]
    assert len(description) == 5000
    request = replace(meeting_request(inspect, ALICE), agenda=description)
    join = await zoom.create(request)
    agenda = meeting_of(sim, join.meeting_id)["agenda"]
    assert len(agenda) <= 2000
    assert agenda.startswith(f"hybridcal-ref: {request.idempotency_key}\n\nline 0: discuss")
    assert zoom_wire.key_in_agenda(agenda) == request.idempotency_key
    found = await zoom.find(request)
    assert found is not None
    assert found.meeting_id == join.meeting_id


async def test_find_pages_through_a_hosts_meetings(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hybridcal.connectors.meetings.zoom.LIST_PAGE_SIZE", 2)
    zoom = make()
    requests = [meeting_request(inspect, ALICE, topic=f"m{n}") for n in range(5)]
    joins = [await zoom.create(r) for r in requests]
    # same start: listed by id, so the largest id is on the last of three pages
    last, wanted = max(zip(joins, requests, strict=True), key=lambda jr: int(jr[0].meeting_id))
    sim.request_log.clear()
    found = await zoom.find(wanted)
    assert found is not None
    assert found.meeting_id == last.meeting_id
    pages = sim.calls("GET", f"/v2/users/{ALICE}/meetings")
    assert len(pages) == 3
    assert "next_page_token" in pages[-1].query


# -- series ----------------------------------------------------------------------------------------


async def test_exdates_are_deleted_after_the_create(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    start = base_start(inspect)  # 2030-03-06 09:00 UTC = 10:00 in Zurich
    skipped = start + timedelta(days=1)
    request = meeting_request(
        inspect, ALICE, recurrence=(*DAILY_FIVE, "EXDATE;TZID=Europe/Zurich:20300307T100000")
    )
    join = await zoom.create(request)
    starts = await inspect.occurrence_starts(join.meeting_id)
    assert starts == [start + timedelta(days=d) for d in (0, 2, 3, 4)]
    assert skipped not in starts
    deletes = sim.calls("DELETE")
    assert len(deletes) == 1
    assert deletes[0].query["occurrence_id"] == str(int(skipped.timestamp() * 1000))


async def test_an_endless_series_is_a_meeting_with_no_fixed_time(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    join = await zoom.create(meeting_request(inspect, ALICE, recurrence=("RRULE:FREQ=WEEKLY",)))
    made = meeting_of(sim, join.meeting_id)
    assert made["type"] == 3
    assert "start_time" not in made
    assert "occurrences" not in made
    assert join.join_url == made["join_url"]


async def test_a_daily_series_is_a_fixed_time_series(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    join = await zoom.create(meeting_request(inspect, ALICE, recurrence=DAILY_FIVE))
    made = meeting_of(sim, join.meeting_id)
    assert (made["type"], made["timezone"]) == (8, "Europe/Zurich")
    assert made["recurrence"] == {"type": 1, "repeat_interval": 1, "end_times": 5}


async def test_a_series_that_becomes_a_single_meeting(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    request = meeting_request(inspect, ALICE, recurrence=DAILY_FIVE)
    join = await zoom.create(request)
    await zoom.update(join, replace(request, recurrence=()))
    made = meeting_of(sim, join.meeting_id)
    assert made["type"] == 2
    assert "occurrences" not in made
    assert await inspect.occurrence_starts(join.meeting_id) == []


async def test_moving_an_occurrence_of_a_no_fixed_time_meeting_is_not_an_error(
    make: Make, inspect: ZoomInspector
) -> None:
    zoom = make()
    join = await zoom.create(meeting_request(inspect, ALICE, recurrence=("RRULE:FREQ=WEEKLY",)))
    first = base_start(inspect)
    later = first + timedelta(hours=1)
    await zoom.update_occurrence(join.meeting_id, first, later, later + timedelta(hours=1))


async def test_alternative_hosts_and_settings_are_sent(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    options = ZoomOptions(alternative_hosts=(ALICE, BOB), join_before_host=True, waiting_room=True)
    zoom = make(options)
    join = await zoom.create(meeting_request(inspect, ALICE))
    settings = meeting_of(sim, join.meeting_id)["settings"]
    assert settings["alternative_hosts"] == BOB  # the organiser is never their own alternative
    assert settings["join_before_host"] is True
    assert settings["waiting_room"] is True


async def test_join_info_from_the_simulator_has_phones_and_sip(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    join = await zoom.create(meeting_request(inspect, ALICE))
    made = meeting_of(sim, join.meeting_id)
    assert join.meeting_id == str(made["id"])
    assert join.phone_passcode == made["pstn_password"]
    assert join.sip == f"{made['id']}.{made['h323_password']}@zoomcrc.com"
    assert [p.number for p in join.phones] == [
        n["number"] for n in made["settings"]["global_dial_in_numbers"]
    ]
    assert "zak" not in repr(join)
    assert made["start_url"] not in repr(join)


# -- issue 9: documented operations only, deletes and the daily limit, tightened passcodes --------


def nulls_in(value: Any, where: str = "") -> list[str]:
    """Where ``value`` (a request body) holds a JSON null."""
    if value is None:
        return [where or "(body)"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nulls_in(v, f"{where}.{k}".lstrip("."))]
    if isinstance(value, list):
        return [p for n, v in enumerate(value) for p in nulls_in(v, f"{where}[{n}]")]
    return []


async def test_every_change_of_shape_uses_documented_fields_only(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make(ZoomOptions(alternative_hosts=(BOB,), waiting_room=True))
    single = meeting_request(inspect, ALICE)
    join = await zoom.create(single)
    series = replace(single, recurrence=DAILY_FIVE)
    await zoom.update(join, series)
    first = base_start(inspect)
    await zoom.update_occurrence(
        join.meeting_id, first + timedelta(days=1), first, first + timedelta(hours=1)
    )
    await zoom.delete_occurrence(join.meeting_id, first + timedelta(days=2))
    await zoom.update(join, single)  # the series becomes one meeting again
    await zoom.update(join, replace(single, recurrence=("RRULE:FREQ=WEEKLY",)))  # no fixed time
    await zoom.update(join, single)
    await zoom.delete(join.meeting_id)
    writes = [r for r in api_calls(sim) if r.method in {"POST", "PATCH", "DELETE"}]
    assert all(200 <= r.status < 300 for r in writes), [(r.method, r.status) for r in writes]
    assert [(r.method, r.path, nulls_in(r.body)) for r in writes if r.body is not None] == [
        (r.method, r.path, []) for r in writes if r.body is not None
    ]
    patches = [r.body for r in writes if r.method == "PATCH" and "occurrence_id" not in r.query]
    assert [p["type"] for p in patches] == [8, 2, 3, 2]
    assert [("recurrence" in p) for p in patches] == [True, False, False, False]
    assert [("start_time" in p) for p in patches] == [True, True, False, True]


async def test_a_series_becomes_one_meeting_with_one_patch_and_no_new_meeting(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    request = meeting_request(inspect, ALICE, recurrence=DAILY_FIVE)
    join = await zoom.create(request)
    sim.request_log.clear()
    await zoom.update(join, replace(request, recurrence=()))
    assert [(r.method, r.status) for r in api_calls(sim)] == [("PATCH", 204)]
    [patch] = api_calls(sim)
    assert patch.body["type"] == 2
    assert patch.body["start_time"] == base_start(inspect).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "recurrence" not in patch.body
    assert [m["id"] for m in sim.meetings(include_deleted=True)] == [int(join.meeting_id)]


async def test_the_simulator_refuses_the_old_null_way(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    """What the connector used to send, and why it must not: Zoom documents no null."""
    zoom = make()
    join = await zoom.create(meeting_request(inspect, ALICE, recurrence=DAILY_FIVE))
    with pytest.raises(ConnectorError, match="Zoom code 300"):
        await zoom._call(  # the request the old update made
            "PATCH",
            f"/meetings/{join.meeting_id}",
            json_body={"type": 2, "start_time": "2030-03-06T09:00:00Z", "recurrence": None},
            name="meetings.update",
        )
    assert meeting_of(sim, join.meeting_id)["type"] == 8


def use_up(sim: ZoomSimulator, host: str, leave: int = 0) -> None:
    """Charge ``host``'s daily create/update/delete budget until ``leave`` requests remain."""
    sim.charge_daily(host, sim.daily_limit - sim.daily_count(host) - leave)


async def test_an_occurrence_deleted_at_the_daily_limit_is_refused_until_after_midnight(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector, clock: Clock
) -> None:
    zoom = make()
    join = await zoom.create(meeting_request(inspect, ALICE, recurrence=DAILY_FIVE))
    fourth = base_start(inspect) + timedelta(days=3)
    use_up(sim, ALICE)
    sim.request_log.clear()
    with pytest.raises(MeetingRefusedError) as refused:
        await zoom.delete_occurrence(join.meeting_id, fourth)
    assert refused.value.problem.kind is ProblemKind.DAILY_LIMIT
    assert refused.value.retry_at == datetime(2030, 3, 5, 0, 1, tzinfo=UTC)
    assert [(r.method, r.status) for r in api_calls(sim)] == [("DELETE", 429)]
    assert fourth in await inspect.occurrence_starts(join.meeting_id)
    # Zoom said so for this meeting: more calls about it are refused here, without a request
    for attempt in (
        zoom.delete_occurrence(join.meeting_id, fourth),
        zoom.update_occurrence(join.meeting_id, fourth, fourth, fourth + timedelta(hours=1)),
        zoom.delete(join.meeting_id),
    ):
        with pytest.raises(MeetingRefusedError) as again:
            await attempt
        assert again.value.retry_at == refused.value.retry_at
    assert len(api_calls(sim)) == 1
    clock.now = refused.value.retry_at
    await zoom.delete_occurrence(join.meeting_id, fourth)
    assert fourth not in await inspect.occurrence_starts(join.meeting_id)
    assert sim.daily_count(ALICE) == 1


async def test_deleting_a_meeting_at_the_daily_limit_is_refused_and_keeps_it(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    join = await zoom.create(meeting_request(inspect, ALICE))
    use_up(sim, ALICE)
    with pytest.raises(MeetingRefusedError) as refused:
        await zoom.delete(join.meeting_id)
    assert refused.value.problem.kind is ProblemKind.DAILY_LIMIT
    assert sim.meeting(join.meeting_id) is not None


async def test_a_create_at_the_daily_limit_is_asked_once_per_host(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    await zoom.passcode_policy()
    use_up(sim, ALICE)
    for _ in range(3):
        with pytest.raises(MeetingRefusedError):
            await zoom.create(meeting_request(inspect, ALICE))
    assert len(sim.calls("POST", "/v2")) == 1
    await zoom.create(meeting_request(inspect, BOB))  # another host's budget


async def test_a_series_whose_exclusions_meet_the_daily_limit_is_made_and_finished_later(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector, clock: Clock
) -> None:
    zoom = make()
    start = base_start(inspect)  # 2030-03-06 09:00 UTC = 10:00 in Zurich
    request = meeting_request(
        inspect,
        ALICE,
        recurrence=(
            *DAILY_FIVE,
            "EXDATE;TZID=Europe/Zurich:20300307T100000",
            "EXDATE;TZID=Europe/Zurich:20300309T100000",
        ),
    )
    use_up(sim, ALICE, leave=2)  # the create and one exclusion
    with pytest.raises(MeetingRefusedError) as refused:
        await zoom.create(request)
    made = refused.value.made
    assert made is not None
    assert refused.value.problem.kind is ProblemKind.DAILY_LIMIT
    [meeting] = sim.meetings(ALICE)
    assert made.meeting_id == str(meeting["id"])
    assert made.join_url == meeting["join_url"]
    assert await inspect.occurrence_starts(made.meeting_id) == [
        start + timedelta(days=d) for d in (0, 2, 3, 4)
    ]
    clock.now = refused.value.retry_at
    await zoom.update(made, request)  # what the executor does at the retry
    assert await inspect.occurrence_starts(made.meeting_id) == [
        start + timedelta(days=d) for d in (0, 2, 4)
    ]
    assert len(sim.meetings(ALICE, include_deleted=True)) == 1


async def test_a_passcode_policy_tightened_after_the_cache_was_filled(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    await zoom.create(meeting_request(inspect, ALICE))  # the rules are read and cached
    sim.set_password_requirement(only_allow_numeric=True, length=10)  # the admin tightens them
    sim.request_log.clear()
    join = await zoom.create(meeting_request(inspect, ALICE))
    assert join.passcode is not None
    assert join.passcode.isdigit()
    assert len(join.passcode) == 10
    assert [(r.method, r.path, r.status) for r in api_calls(sim)] == [
        ("POST", f"/v2/users/{ALICE}/meetings", 400),
        ("GET", "/v2/accounts/me/settings", 200),
        ("POST", f"/v2/users/{ALICE}/meetings", 201),
    ]
    assert api_calls(sim)[0].code == 300
    assert meeting_of(sim, join.meeting_id)["password"] == join.passcode
    sim.request_log.clear()
    await zoom.create(meeting_request(inspect, BOB))  # the fresh rules are cached for everyone
    assert [(r.method, r.status) for r in api_calls(sim)] == [("POST", 201)]


async def test_a_hosts_own_stricter_rules_are_read_when_the_accounts_allow_the_passcode(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector
) -> None:
    zoom = make()
    await zoom.passcode_policy()
    sim.set_password_requirement(user=ALICE, length=10, have_special_character=True)
    join = await zoom.create(meeting_request(inspect, ALICE))
    assert join.passcode is not None
    assert len(join.passcode) == 10
    assert any(c in "-_*" for c in join.passcode)
    assert [(r.method, r.path, r.status) for r in api_calls(sim)][-4:] == [
        ("POST", f"/v2/users/{ALICE}/meetings", 400),
        ("GET", "/v2/accounts/me/settings", 200),
        ("GET", f"/v2/users/{ALICE}/settings", 200),
        ("POST", f"/v2/users/{ALICE}/meetings", 201),
    ]
    sim.request_log.clear()
    await zoom.create(meeting_request(inspect, ALICE))  # Alice's rules are remembered
    await zoom.create(meeting_request(inspect, BOB))  # Bob keeps the account's
    assert [(r.method, r.status) for r in api_calls(sim)] == [("POST", 201), ("POST", 201)]


async def test_a_passcode_refused_twice_is_a_refusal_for_later(
    make: Make, sim: ZoomSimulator, inspect: ZoomInspector, clock: Clock
) -> None:
    zoom = make()
    await zoom.passcode_policy()
    sim.set_password_requirement(length=10)

    async def tighten_again(record: ZoomRecord) -> None:
        if record.path.endswith("/settings"):  # right after we read them: numbers only now
            sim.set_password_requirement(only_allow_numeric=True)

    sim.after_request.append(tighten_again)
    sim.request_log.clear()
    with pytest.raises(MeetingRefusedError) as refused:
        await zoom.create(meeting_request(inspect, ALICE))
    assert refused.value.problem.kind is ProblemKind.REFUSED
    assert "passcode" in refused.value.problem.detail
    assert refused.value.retry_at == clock() + timedelta(hours=6)
    assert [r.status for r in sim.calls("POST", "/v2")] == [400, 400]  # once again, not more
    assert sim.meetings() == []


# -- personal meeting IDs (@zoom:pmr) --------------------------------------------------------------


async def test_personal_room_is_two_reads_with_zooms_own_link_and_passcode(
    make: Make, sim: ZoomSimulator
) -> None:
    zoom = make(ZoomOptions(fallback_host=CAROL))
    sim.request_log.clear()
    join = await zoom.personal_room(ALICE)
    held = sim.personal_room(ALICE)
    assert [(r.method, r.path) for r in api_calls(sim)] == [
        ("GET", f"/v2/users/{ALICE}"),
        ("GET", f"/v2/users/{ALICE}/settings"),
    ]
    assert join.meeting_id == str(held["pmi"])
    assert join.passcode == held["pmi_password"]
    assert join.join_url.startswith(f"{held['link']}?pwd=")  # Zoom's link, passcode embedded
    assert join.sip == f"{held['pmi']}.{held['pmi_password']}@zoomcrc.com"
    assert sim.daily_count(ALICE) == 0  # reads: not counted against the daily limit


async def test_a_personal_room_without_a_passcode_has_a_plain_link_and_dial_string(
    make: Make, sim: ZoomSimulator
) -> None:
    sim.set_meeting_security(account=False, user=BOB, pmi_password=False)
    join = await make().personal_room(BOB)
    pmi = sim.personal_room(BOB)["pmi"]
    assert join.passcode is None
    assert join.join_url == sim.personal_room(BOB)["link"]
    assert join.sip == f"{pmi}@zoomcrc.com"


async def test_a_turned_off_personal_room_is_refused_and_the_fallback_host_is_not_used(
    make: Make, sim: ZoomSimulator, clock: Clock
) -> None:
    sim.update_user(BOB, personal_meeting=False)
    with pytest.raises(MeetingRefusedError) as refused:
        await make(ZoomOptions(fallback_host=CAROL)).personal_room(BOB)
    assert refused.value.problem.kind is ProblemKind.REFUSED
    assert "Personal Meeting ID is turned off" in refused.value.problem.detail
    assert refused.value.retry_at == clock() + zoom_wire.RETRY_HOST_PROBLEM


async def test_an_inactive_hosts_personal_room_is_refused(make: Make, sim: ZoomSimulator) -> None:
    sim.update_user(BOB, status="inactive")
    with pytest.raises(MeetingRefusedError) as refused:
        await make(ZoomOptions(fallback_host=CAROL)).personal_room(BOB)
    assert refused.value.problem.kind is ProblemKind.HOST_NOT_FOUND
    assert sim.meetings() == []
