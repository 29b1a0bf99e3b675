"""The MeetingSystem contract against WebexMeetings and the Webex simulator, plus what only Webex
has: hosts named on every call, the tag that finds a meeting again, join details, series with
Webex's limits, refusals and the number of calls on the hot path."""

from __future__ import annotations

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
from tests.webex_support import ALICE, UNLICENSED, MemoryVault, seed_vault, started

from hybridcal.connectors.errors import ThrottledError
from hybridcal.connectors.meetings import webex_wire
from hybridcal.connectors.meetings.base import MeetingRefusedError, MeetingSystem
from hybridcal.connectors.meetings.webex import WebexMeetings
from hybridcal.connectors.meetings.webex_auth import WebexTokens
from hybridcal.core.model import ProblemKind
from hybridcal.sandbox.webex import DropResponse, WebexSimulator


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class WebexInspector:
    system_name = "webex"
    # a scheduled meeting has a password (see test_the_hot_path_...); a personal room has none
    # in the API (its lock protects it), and the contract's personal-room test reads this flag
    uses_passcodes = False
    unknown_meeting_id = f"0123456789abcdef0123456789abcdef:{ALICE}"

    def __init__(self, sim: WebexSimulator, clock: Callable[[], datetime]) -> None:
        self._sim = sim
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    def _series(self, meeting_id: str) -> dict[str, Any] | None:
        series_id, _host = webex_wire.split_ref(meeting_id)
        return self._sim.meeting(series_id)

    async def meeting_exists(self, meeting_id: str) -> bool:
        return self._series(meeting_id) is not None

    async def seen(self, meeting_id: str) -> SeenMeeting:
        series = self._series(meeting_id)
        assert series is not None, f"no meeting {meeting_id}"
        return SeenMeeting(series["title"], _utc(series["start"]), _utc(series["end"]))

    async def occurrence_starts(self, meeting_id: str) -> list[datetime]:
        series = self._series(meeting_id)
        assert series is not None, f"no meeting {meeting_id}"
        if not series.get("recurrence"):
            return []
        return sorted(s for o in series["occurrences"] if (s := _utc(o["start"])) is not None)

    async def without_account(self, organizer: str) -> None:
        """Nothing to do: the simulator knows only the users a test adds."""

    async def personal_room_link(self, organizer: str) -> str:
        users = {u["email"]: u for u in self._sim.users()}
        return f"https://{self._sim.site.site_url}/meet/{users[organizer]['personalRoom']}"

    async def meeting_count(self, organizer: str) -> int:
        return len(self._sim.meetings(organizer))


def _utc(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    return datetime.fromisoformat(text).astimezone(UTC)


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sim(clock: Clock) -> AsyncIterator[WebexSimulator]:
    async with started(now=clock) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def vault() -> MemoryVault:
    return MemoryVault()


@pytest.fixture
def make(
    sim: WebexSimulator, http: aiohttp.ClientSession, vault: MemoryVault, clock: Clock
) -> Callable[..., WebexMeetings]:
    secret = seed_vault(vault, sim)

    def build(**extra: Any) -> WebexMeetings:
        tokens = WebexTokens(
            session=http,
            vault=vault,
            token_url=sim.token_url,
            client_id=sim.client_id,
            client_secret=secret,
            now=clock,
        )
        return WebexMeetings(tokens=tokens, session=http, api_root=sim.api_root, now=clock, **extra)

    return build


@pytest.fixture
def system(make: Callable[..., WebexMeetings]) -> MeetingSystem:
    return make()


@pytest.fixture
def inspect(sim: WebexSimulator, clock: Clock) -> MeetingInspector:
    return WebexInspector(sim, clock)


@pytest.fixture
def organizer() -> str:
    return ALICE


class TestWebexMeetings(MeetingSystemContract):
    pass


# -- what only Webex has ---------------------------------------------------------------------------


async def test_the_hot_path_is_one_create_with_the_host_and_no_mail(
    make: Callable[..., WebexMeetings], sim: WebexSimulator, clock: Clock
) -> None:
    system = make()
    inspect = WebexInspector(sim, clock)
    await system.create(meeting_request(inspect, ALICE))  # the first call refreshes the token
    sim.request_log.clear()
    request = meeting_request(inspect, ALICE)
    join = await system.create(request)
    assert [(r.method, r.path) for r in sim.request_log] == [("POST", "/v1/meetings")]
    body = sim.request_log[0].body
    assert body["hostEmail"] == ALICE
    assert body["sendEmail"] is False
    assert body["integrationTags"] == [f"hybridcal-{request.idempotency_key}"]
    assert body["agenda"].startswith(f"hybridcal-ref: {request.idempotency_key}")
    assert join.meeting_id.endswith(f":{ALICE}")
    series = sim.meeting(webex_wire.split_ref(join.meeting_id)[0])
    assert series is not None
    assert join.join_url == series["webLink"]
    assert webex_wire.meeting_number(join) == series["meetingNumber"]
    assert join.passcode == series["password"]
    assert join.phone_passcode == series["phoneAndVideoSystemPassword"]
    assert join.phone_passcode is not None
    assert join.phone_passcode.isdigit()
    assert join.sip == series["sipAddress"]


async def test_call_in_numbers_become_phones(
    make: Callable[..., WebexMeetings], sim: WebexSimulator, clock: Clock
) -> None:
    sim.set_call_in_numbers(
        [
            {"label": "United States Toll", "callInNumber": "+1-415-555-0100", "tollType": "toll"},
            {"label": "Switzerland", "callInNumber": "+41 44 555 01 00", "tollType": "tollFree"},
        ]
    )
    join = await make().create(meeting_request(WebexInspector(sim, clock), ALICE))
    assert [(p.number, p.label) for p in join.phones] == [
        ("+1-415-555-0100", "United States Toll"),
        ("+41 44 555 01 00", "Switzerland, toll free"),
    ]


async def test_an_unlicensed_host_is_refused_with_what_to_do(
    make: Callable[..., WebexMeetings], sim: WebexSimulator, clock: Clock
) -> None:
    inspect = WebexInspector(sim, clock)
    with pytest.raises(MeetingRefusedError) as refused:
        await make().create(meeting_request(inspect, UNLICENSED))
    assert refused.value.problem.kind is ProblemKind.HOST_NOT_FOUND
    assert "licence" in refused.value.problem.detail
    assert UNLICENSED in refused.value.problem.detail
    assert refused.value.retry_at == clock() + webex_wire.RETRY_HOST_PROBLEM or (
        refused.value.retry_at > clock()
    )
    assert sim.meetings(UNLICENSED) == []


async def test_a_revoked_authorisation_is_a_refusal_the_admin_can_act_on(
    make: Callable[..., WebexMeetings], sim: WebexSimulator, clock: Clock
) -> None:
    system = make()
    inspect = WebexInspector(sim, clock)
    await system.create(meeting_request(inspect, ALICE))
    sim.revoke()
    with pytest.raises(MeetingRefusedError) as refused:
        await system.create(meeting_request(inspect, ALICE))
    assert refused.value.problem.kind is ProblemKind.REFUSED
    assert "Control Hub" in refused.value.problem.detail
    assert "hybridcal webex authorize" in refused.value.problem.detail
    assert refused.value.retry_at > clock()


async def test_a_setting_the_site_refuses_is_a_refusal(
    make: Callable[..., WebexMeetings], sim: WebexSimulator, clock: Clock
) -> None:
    from hybridcal.connectors.meetings.webex import WebexOptions  # noqa: PLC0415

    system = make(options=WebexOptions(site_url="other.webex.com"))
    with pytest.raises(MeetingRefusedError) as refused:
        await system.create(meeting_request(WebexInspector(sim, clock), ALICE))
    assert refused.value.problem.kind is ProblemKind.REFUSED
    assert "HTTP 400" in refused.value.problem.detail


async def test_throttling_is_retried_after_retry_after(
    make: Callable[..., WebexMeetings], sim: WebexSimulator, clock: Clock
) -> None:
    system = make(max_retries=0)
    await system.create(meeting_request(WebexInspector(sim, clock), ALICE))  # token first
    sim.faults.throttle_rate = 1.0
    sim.faults.throttle_retry_after_s = 7
    with pytest.raises(ThrottledError) as throttled:
        await system.create(meeting_request(WebexInspector(sim, clock), ALICE))
    assert throttled.value.retry_after == 7


async def test_a_lost_create_answer_is_found_by_its_tag(
    make: Callable[..., WebexMeetings], sim: WebexSimulator, clock: Clock
) -> None:
    system = make()
    inspect = WebexInspector(sim, clock)
    request = meeting_request(inspect, ALICE, recurrence=DAILY_FIVE)

    async def drop(record: Any) -> None:
        if record.method == "POST" and record.path == "/v1/meetings":
            raise DropResponse

    sim.after_request.append(drop)
    with pytest.raises(Exception):  # noqa: B017 - the connection dies, whatever it raises
        await system.create(request)
    sim.after_request.clear()
    found = await system.find(request)
    assert found is not None
    assert len(sim.meetings(ALICE)) == 1
    listed = [r for r in sim.request_log if r.method == "GET" and r.path == "/v1/meetings"]
    assert listed[-1].query["integrationTag"] == f"hybridcal-{request.idempotency_key}"


async def test_a_series_that_has_begun_starts_at_its_next_occurrence(
    make: Callable[..., WebexMeetings], sim: WebexSimulator, clock: Clock
) -> None:
    inspect = WebexInspector(sim, clock)
    request = meeting_request(inspect, ALICE, recurrence=DAILY_FIVE)
    assert request.start is not None
    assert request.end is not None
    begun = replace(
        request,
        start=request.start - timedelta(days=3),
        end=request.end - timedelta(days=3),
    )
    join = await make().create(begun)
    first = request.start - timedelta(days=3)
    every = [first + timedelta(days=d) for d in range(5)]
    assert await inspect.occurrence_starts(join.meeting_id) == [o for o in every if o > clock()]


async def test_excluded_occurrences_are_deleted_after_the_create(
    make: Callable[..., WebexMeetings], sim: WebexSimulator, clock: Clock
) -> None:
    inspect = WebexInspector(sim, clock)
    start = base_start(inspect)
    third = (start + timedelta(days=2)).strftime("%Y%m%dT%H%M%SZ")
    request = meeting_request(inspect, ALICE, recurrence=(*DAILY_FIVE, f"EXDATE:{third}"))
    join = await make().create(request)
    assert await inspect.occurrence_starts(join.meeting_id) == [
        start + timedelta(days=d) for d in (0, 1, 3, 4)
    ]


async def test_an_edit_of_an_event_that_is_over_changes_nothing(
    make: Callable[..., WebexMeetings], sim: WebexSimulator, clock: Clock
) -> None:
    system = make()
    inspect = WebexInspector(sim, clock)
    request = meeting_request(inspect, ALICE)
    join = await system.create(request)
    clock.offset = timedelta(days=5)  # the meeting is over
    assert await system.update(join, replace(request, topic="Renamed later")) == join
    assert not [r for r in sim.request_log if r.method == "PATCH"]
