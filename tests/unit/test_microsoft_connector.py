"""MicrosoftCalendarConnector and its credentials against the Graph simulator, over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp import web
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from tests.sandbox.graph_tls import ca_bundle, start_tls

from hybridcal.connectors.calendars.microsoft import (
    CURSOR_PREFIX,
    MicrosoftCalendarConnector,
)
from hybridcal.connectors.calendars.microsoft_auth import (
    EntraCredential,
    explain_entra_error,
    make_credential,
)
from hybridcal.connectors.calendars.microsoft_wire import MARKER_PROPERTY_ID, MARKER_TOMBSTONE
from hybridcal.connectors.errors import (
    AuthError,
    ConflictError,
    CursorExpiredError,
    NotFoundError,
    ThrottledError,
    TransientError,
)
from hybridcal.core.model import (
    Binding,
    CalendarKind,
    CalendarRecord,
    Channel,
    Event,
    EventStatus,
    JoinInfo,
    Marker,
    Provider,
    Window,
    calendar_key,
)
from hybridcal.core.patch import EventPatch
from hybridcal.core.planner import CreateMeeting, PatchEvent, Policy, SaveBinding, created, plan
from hybridcal.core.render import block_digest_of, render_join_block, replace_block
from hybridcal.daemon.graph_webhook import GraphWebhook
from hybridcal.sandbox.microsoft import GraphApp, GraphSimulator
from hybridcal.store.base import Store

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
ROOM = "room1@contoso.example"
NOW = datetime.now(UTC).replace(microsecond=0)
TOMORROW = (NOW + timedelta(days=1)).replace(hour=9, minute=0, second=0)


def record(address: str, kind: CalendarKind = CalendarKind.USER) -> CalendarRecord:
    return CalendarRecord(
        calendar_key(Provider.MICROSOFT, address), Provider.MICROSOFT, address, kind
    )


ALICE_CAL = record(ALICE)
ROOM_CAL = record(ROOM, CalendarKind.ROOM)


def local(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def meeting(subject: str = "Planning", *, at: datetime = TOMORROW, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": subject,
        "location": {"displayName": "@zoom"},
        "start": {"dateTime": local(at), "timeZone": "UTC"},
        "end": {"dateTime": local(at + timedelta(hours=1)), "timeZone": "UTC"},
        "body": {"contentType": "html", "content": "<p>Agenda</p>"},
    }
    body.update(extra)
    return body


@pytest.fixture
async def sim() -> AsyncIterator[GraphSimulator]:
    simulator = await start_tls(GraphSimulator())
    simulator.add_user(ALICE, name="Alice", timezone="W. Europe Standard Time", language="de-CH")
    simulator.add_user(BOB, name="Bob")
    simulator.add_room(ROOM, name="Room 1")
    yield simulator
    await simulator.close()


@pytest.fixture
def app(sim: GraphSimulator) -> GraphApp:
    return sim.register_app()


class Calls:
    def __init__(self) -> None:
        self.names: Counter[str] = Counter()

    def __call__(self, name: str) -> None:
        self.names[name] += 1


@pytest.fixture
def calls() -> Calls:
    return Calls()


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


def build(
    sim: GraphSimulator, credential: EntraCredential, calls: Calls, **options: Any
) -> MicrosoftCalendarConnector:
    return MicrosoftCalendarConnector(
        credential=credential,
        graph_root=sim.graph_root,
        on_call=calls,
        ca_bundle=ca_bundle(),
        **options,
    )


@pytest.fixture
async def connector(
    sim: GraphSimulator, credential: EntraCredential, calls: Calls
) -> AsyncIterator[MicrosoftCalendarConnector]:
    conn = build(sim, credential, calls, page_size=2, max_retries=3)
    yield conn
    await conn.close()


def graph_calls(sim: GraphSimulator, operation: str) -> list[Any]:
    return [r for r in sim.request_log if r.operation == operation]


# -- credentials ------------------------------------------------------------------------------


def secret_credential(sim: GraphSimulator, app: GraphApp, **change: Any) -> EntraCredential:
    """azure-identity's ClientSecretCredential against the simulator's TLS token endpoint."""
    settings: dict[str, Any] = {
        "tenant_id": app.tenant_id,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "authority": sim.authority,
        "ca_bundle": ca_bundle(),
        **change,
    }
    return make_credential(**settings)


async def test_token_is_reused_and_refreshed_once_under_concurrency(
    sim: GraphSimulator, app: GraphApp
) -> None:
    clock = [time.time()]
    cred = secret_credential(sim, app, now=lambda: clock[0])
    try:
        scope = "https://graph.microsoft.com/.default"
        tokens = await asyncio.gather(*(cred.get_token(scope) for _ in range(10)))
        assert len({t.token for t in tokens}) == 1
        assert cred.refreshes == 1
        assert len(graph_calls(sim, "token")) == 1
        [grant] = graph_calls(sim, "token")
        assert grant.body["grant_type"] == "client_credentials"  # azure-identity's own request
        clock[0] = tokens[0].expires_on - 240  # inside our five-minute margin
        await cred.get_token(scope)
        assert cred.refreshes == 2  # asked azure-identity again (its own cache answers)
        await cred.get_token(scope, claims='{"access_token":{}}')  # a CAE challenge: fresh
        assert cred.refreshes == 3
        assert len(graph_calls(sim, "token")) == 2  # azure-identity went to Entra for it
        assert app.client_secret not in repr(cred)
    finally:
        await cred.close()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"client_secret": "wrong"}, "client secret"),
        ({"client_id": "00000000-0000-0000-0000-000000000000"}, "knows no app"),
        ({"tenant_id": "no-such-tenant.example"}, "has no tenant"),
    ],
)
async def test_entra_errors_tell_the_admin_what_to_fix(
    sim: GraphSimulator, app: GraphApp, change: dict[str, str], words: str
) -> None:
    cred = secret_credential(sim, app, **change)
    try:
        with pytest.raises(AuthError, match=words) as caught:
            await cred.get_token("https://graph.microsoft.com/.default")
        assert app.client_secret not in str(caught.value)
    finally:
        await cred.close()


@pytest.mark.parametrize("how", ["revoked", "expired early"])
async def test_a_refused_token_is_replaced_although_azure_identity_still_caches_it(
    how: str, calls: Calls
) -> None:
    later = [datetime.now(UTC)]
    sim = await start_tls(GraphSimulator(now=lambda: later[0]))
    try:
        sim.add_user(ALICE, name="Alice")
        app = sim.register_app()
        cred = secret_credential(sim, app)
        connector = build(sim, cred, calls)
        await connector.check_access(ALICE_CAL)
        assert len(graph_calls(sim, "token")) == 1
        if how == "revoked":
            sim.invalidate_tokens()
        else:  # Graph's clock says the token expired; azure-identity's cache says it has not
            later[0] += timedelta(hours=2)
        await connector.check_access(ALICE_CAL)
        assert len(graph_calls(sim, "token")) == 2  # one new grant, then the calls succeed
        assert [r.status for r in graph_calls(sim, "users.get")] == [200, 401, 200]
        await connector.close()
        await cred.close()
    finally:
        await sim.close()


async def test_forgetting_gets_a_new_token_past_azure_identitys_own_cache(
    sim: GraphSimulator, app: GraphApp
) -> None:
    cred = secret_credential(sim, app)
    try:
        scope = "https://graph.microsoft.com/.default"
        first = await cred.get_token(scope)
        assert (await cred.get_token(scope)).token == first.token
        cred.forget()  # what the connector does when Graph answers 401
        fresh = await cred.get_token(scope)
        assert fresh.token != first.token
        assert len(graph_calls(sim, "token")) == 2
    finally:
        await cred.close()


async def test_invalid_scope_is_explained(sim: GraphSimulator, app: GraphApp) -> None:
    cred = secret_credential(sim, app)
    try:
        with pytest.raises(AuthError, match="scope"):
            await cred.get_token("https://graph.microsoft.com/Calendars.Read")
    finally:
        await cred.close()


async def test_an_untrusted_token_endpoint_is_refused(sim: GraphSimulator, app: GraphApp) -> None:
    """Without the CA in microsoft.ca_bundle, the system's store does not trust the endpoint:
    azure-identity verifies TLS, it is not told to skip it."""
    cred = secret_credential(sim, app, ca_bundle=None)
    try:
        with pytest.raises((TransientError, AuthError)):
            await cred.get_token("https://graph.microsoft.com/.default")
        assert graph_calls(sim, "token") == []
    finally:
        await cred.close()


async def test_certificate_credential_against_the_tls_token_endpoint(
    sim: GraphSimulator, app: GraphApp, tmp_path: Path, calls: Calls
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hybridcal")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    sim.add_certificate(app.client_id, cert_pem)
    pem = tmp_path / "app.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert_pem
    )
    pem.chmod(0o600)
    cred = make_credential(
        tenant_id=app.tenant_id,
        client_id=app.client_id,
        certificate_path=str(pem),
        authority=sim.authority,
        ca_bundle=ca_bundle(),
    )
    connector = build(sim, cred, calls)
    try:
        check = await connector.check_access(ALICE_CAL)  # Graph over TLS with that token
        assert check.display_name == "Alice"
        [grant] = graph_calls(sim, "token")
        assert grant.body["client_assertion_type"].endswith("jwt-bearer")
        assert "client_secret" not in grant.body
    finally:
        await connector.close()
        await cred.close()


def explain(detail: str) -> str:
    return explain_entra_error(detail, tenant_id="t", client_id="c")


def test_explanations_of_other_codes() -> None:
    assert "expired" in explain("AADSTS7000222: The provided client secret keys are expired.")
    assert "certificate" in explain("invalid_client AADSTS700027: Client assertion failed")
    assert "admin consent" in explain("AADSTS65001: The user or administrator has not consented")
    assert explain("AADSTS12345: something").endswith("AADSTS12345")


def test_credentials_are_azure_identitys_and_need_https(tmp_path: Path) -> None:
    https = make_credential(tenant_id="t", client_id="c", client_secret="s")
    assert isinstance(https, EntraCredential)
    gov = make_credential(
        tenant_id="t", client_id="c", client_secret="s", authority="login.microsoftonline.us"
    )
    assert isinstance(gov, EntraCredential)
    for plain in ("http://127.0.0.1:9", "http://idp"):  # loopback too: no hand-made path
        with pytest.raises(AuthError, match="https"):
            make_credential(tenant_id="t", client_id="c", client_secret="s", authority=plain)
    with pytest.raises(AuthError, match="exactly one"):
        make_credential(tenant_id="t", client_id="c")
    with pytest.raises(AuthError, match="certificate"):
        make_credential(tenant_id="t", client_id="c", certificate_path="/nonexistent.pem")
    with pytest.raises(AuthError, match="ca_bundle"):
        make_credential(
            tenant_id="t", client_id="c", client_secret="s", ca_bundle=str(tmp_path / "none")
        )


def test_graph_root_must_be_https_off_loopback(credential: EntraCredential) -> None:
    with pytest.raises(ValueError, match="https"):
        MicrosoftCalendarConnector(credential=credential, graph_root="http://graph.example/v1.0")


# -- check_access -----------------------------------------------------------------------------


async def test_check_access_reads_user_and_mailbox_settings(
    connector: MicrosoftCalendarConnector,
) -> None:
    check = await connector.check_access(ALICE_CAL)
    assert check.locale == "de-CH"
    assert check.timezone == "Europe/Berlin"  # Windows zone name mapped to IANA
    assert check.display_name == "Alice"
    room = await connector.check_access(ROOM_CAL)
    assert room.display_name == "Room 1"


async def test_check_access_without_consent(
    sim: GraphSimulator, app: GraphApp, connector: MicrosoftCalendarConnector
) -> None:
    sim.set_consent(app.client_id, consented=False)
    with pytest.raises(AuthError, match=r"admin consent for Calendars\.ReadWrite"):
        await connector.check_access(ALICE_CAL)


async def test_check_access_of_an_unknown_mailbox(connector: MicrosoftCalendarConnector) -> None:
    with pytest.raises(NotFoundError, match="no user or room mailbox"):
        await connector.check_access(record("ghost@contoso.example"))


async def test_check_access_of_a_user_without_mailbox(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector
) -> None:
    sim.add_user("nobox@contoso.example", mailbox=False)
    with pytest.raises(NotFoundError, match="no Exchange Online mailbox"):
        await connector.check_access(record("nobox@contoso.example"))


async def test_check_access_outside_the_access_policy(
    sim: GraphSimulator, app: GraphApp, connector: MicrosoftCalendarConnector
) -> None:
    sim.restrict_app(app.client_id, [BOB])
    with pytest.raises(AuthError, match="application access policy does not include"):
        await connector.check_access(ALICE_CAL)
    assert (await connector.check_access(record(BOB))).display_name == "Bob"


# -- list_changes -----------------------------------------------------------------------------


async def test_delta_pages_cursor_changes_and_removals(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector
) -> None:
    created = [
        sim.person_create(ALICE, meeting(f"m{i}", at=TOMORROW + timedelta(hours=i)))
        for i in range(5)
    ]
    first = await connector.list_changes(ALICE_CAL)
    assert first.full
    assert {e.summary for e in first.events} == {f"m{i}" for i in range(5)}
    assert first.cursor.startswith(CURSOR_PREFIX)
    pages = graph_calls(sim, "calendarView.delta")
    assert len(pages) == 3  # 5 events, 2 per page
    assert all("odata.maxpagesize=2" in p.prefer for p in pages)
    assert all(r.status == 200 for r in sim.request_log)
    # organiser copies are read once more, for the marker delta cannot expand
    assert first.api_calls == 3 + 5

    quiet = await connector.list_changes(replace(ALICE_CAL, cursor=first.cursor))
    assert not quiet.full
    assert quiet.events == []
    assert quiet.api_calls == 1

    sim.person_update(ALICE, created[1]["id"], {"subject": "renamed"})
    sim.person_delete(ALICE, created[2]["id"])
    moved_later = TOMORROW + timedelta(days=90)
    sim.person_update(
        ALICE,
        created[3]["id"],
        {
            "start": {"dateTime": local(moved_later), "timeZone": "UTC"},
            "end": {"dateTime": local(moved_later + timedelta(hours=1)), "timeZone": "UTC"},
        },
    )
    changed = await connector.list_changes(replace(ALICE_CAL, cursor=quiet.cursor))
    by_id = {e.event_id: e for e in changed.events}
    assert by_id[created[1]["id"]].summary == "renamed"
    assert by_id[created[2]["id"]].is_cancelled
    # moved out of the window: reported by delta as removed; it exists (one read tells), but
    # it is not ours (no marker), so for the window it is gone: its rows go, nothing is planned
    assert by_id[created[3]["id"]].is_cancelled
    assert changed.api_calls == 2 + 3  # two pages; the renamed one, the two removed ones

    # one created months ahead, never in the window: Graph reports it as removed as well
    far = sim.person_create(ALICE, meeting("far", at=moved_later + timedelta(days=1)))
    later = await connector.list_changes(replace(ALICE_CAL, cursor=changed.cursor))
    [gone] = later.events
    assert (gone.event_id, gone.is_cancelled) == (far["id"], True)


async def test_expired_delta_state_and_a_slid_window_need_a_fresh_round(
    sim: GraphSimulator, credential: EntraCredential, calls: Calls
) -> None:
    sim.person_create(ALICE, meeting())
    clock = [NOW]
    conn = build(sim, credential, calls, now=lambda: clock[0])
    try:
        first = await conn.list_changes(ALICE_CAL)
        sim.expire_delta_tokens(ALICE)
        with pytest.raises(CursorExpiredError):
            await conn.list_changes(replace(ALICE_CAL, cursor=first.cursor))
        again = await conn.list_changes(ALICE_CAL)
        assert again.full
        assert len(again.events) == 1
        clock[0] = NOW + timedelta(days=1)  # the window slides with the day
        before = len(graph_calls(sim, "calendarView.delta"))
        with pytest.raises(CursorExpiredError, match="window"):
            await conn.list_changes(replace(ALICE_CAL, cursor=again.cursor))
        assert len(graph_calls(sim, "calendarView.delta")) == before  # no call wasted
        with pytest.raises(CursorExpiredError):
            await conn.list_changes(replace(ALICE_CAL, cursor="garbage"))
    finally:
        await conn.close()


def test_window_is_aligned_to_days(
    sim: GraphSimulator, credential: EntraCredential, calls: Calls
) -> None:
    at = datetime(2030, 3, 4, 15, 30, tzinfo=UTC)
    conn = build(sim, credential, calls, now=lambda: at)
    assert conn.window() == Window(
        datetime(2030, 2, 25, tzinfo=UTC), datetime(2030, 4, 5, tzinfo=UTC)
    )


def weekly(subject: str, count: int = 3, **extra: Any) -> dict[str, Any]:
    weekday = TOMORROW.strftime("%A").lower()
    recurrence = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [weekday]},
        "range": {
            "type": "numbered",
            "startDate": TOMORROW.date().isoformat(),
            "numberOfOccurrences": count,
        },
    }
    return meeting(subject, recurrence=recurrence, **extra)


async def test_organiser_series_comes_as_its_master_read_once(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector
) -> None:
    series = sim.person_create(ALICE, weekly("weekly"))
    master_id = series["id"]
    batch = await connector.list_changes(ALICE_CAL)
    # the organiser's plain occurrences are replaced by their master, as Google lists series
    assert [e.event_id for e in batch.events] == [master_id]
    master = batch.events[0]
    day = TOMORROW.strftime("%a")[:2].upper()
    assert master.recurrence == (f"RRULE:FREQ=WEEKLY;BYDAY={day};COUNT=3",)
    master_reads = [r for r in graph_calls(sim, "event.get") if master_id in r.path]
    assert len(master_reads) == 1
    assert batch.api_calls == 2 + 1  # two delta pages (3 occurrences, 2 a page), one master

    window = Window(NOW - timedelta(days=1), NOW + timedelta(days=30))
    instances = await connector.list_instances(ALICE_CAL, master_id, window)
    assert len(instances) == 3
    assert all(i.recurring_event_id == master_id for i in instances)
    assert all("odata.maxpagesize=2" in r.prefer for r in graph_calls(sim, "event.instances"))

    # one occurrence moved (an exception), another cancelled
    moved_at = TOMORROW + timedelta(days=7, hours=2)
    sim.person_update(
        ALICE,
        instances[1].event_id,
        {
            "start": {"dateTime": local(moved_at), "timeZone": "UTC"},
            "end": {"dateTime": local(moved_at + timedelta(hours=1)), "timeZone": "UTC"},
        },
    )
    sim.person_cancel_occurrence(ALICE, instances[2].event_id)
    later = await connector.list_changes(replace(ALICE_CAL, cursor=batch.cursor))
    by_id = {e.event_id: e for e in later.events}
    assert master_id in by_id
    exception = by_id[instances[1].event_id]
    assert exception.recurring_event_id == master_id
    assert exception.start == moved_at
    assert exception.original_start == instances[1].original_start
    cancelled = by_id[instances[2].event_id]
    assert cancelled.is_cancelled
    # Graph's removal names no series: the connector remembered it
    assert cancelled.recurring_event_id == master_id
    assert cancelled.original_start == instances[2].original_start
    assert later.events[0].event_id == master_id  # masters first


async def test_attendee_copy_keeps_its_occurrences(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector
) -> None:
    attendees = [{"type": "required", "emailAddress": {"address": BOB, "name": "Bob"}}]
    series = sim.person_create(ALICE, weekly("weekly", attendees=attendees))
    await sim.drain()
    batch = await connector.list_changes(record(BOB))
    assert len(batch.events) == 3
    assert {e.recurring_event_id for e in batch.events} == {series["id"]} or all(
        e.recurring_event_id for e in batch.events
    )
    assert not any(e.is_organizer_copy for e in batch.events)
    assert batch.api_calls == 2  # two delta pages, nothing read again


async def test_attendee_and_room_copies_cost_no_extra_reads(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector
) -> None:
    attendees = [
        {"type": "required", "emailAddress": {"address": BOB, "name": "Bob"}},
        {"type": "resource", "emailAddress": {"address": ROOM, "name": "Room 1"}},
    ]
    sim.person_create(ALICE, meeting(attendees=attendees))
    await sim.drain()
    batch = await connector.list_changes(ROOM_CAL)
    assert len(batch.events) == 1
    event = batch.events[0]
    assert not event.is_organizer_copy
    assert event.organizer == ALICE
    assert any(a.resource and a.email == ROOM for a in event.attendees)
    assert batch.api_calls == 1


# -- writing ----------------------------------------------------------------------------------


INFO = JoinInfo("zoom", "9396880476", "https://zoom.us/j/9396880476?pwd=abc", passcode="123456")


async def test_patch_with_if_match_then_conflict(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector
) -> None:
    created = sim.person_create(ALICE, meeting())
    event = await connector.get_event(ALICE_CAL, created["id"])
    assert event is not None
    assert event.marker is None
    block = render_join_block(INFO, "en")
    marker = Marker("zoom", "req-1", INFO.meeting_id, block.digest)
    patched = await connector.patch_event(
        ALICE_CAL,
        event,
        EventPatch(description=replace_block(event.description, block), marker=marker),
    )
    assert graph_calls(sim, "event.update")[-1].if_match == event.etag
    assert patched.marker == marker
    assert patched.etag != event.etag
    assert block_digest_of(patched.description) == block.digest
    again = await connector.get_event(ALICE_CAL, created["id"])
    assert again is not None
    assert again.marker == marker  # read back through $expand
    assert "<p>Agenda</p>" in again.description

    with pytest.raises(ConflictError):  # the etag we read is stale now
        await connector.patch_event(ALICE_CAL, event, EventPatch(clear_marker=True))

    cleared = await connector.patch_event(ALICE_CAL, again, EventPatch(clear_marker=True))
    assert cleared.marker is None
    stored = sim.get_event(ALICE, created["id"])
    assert stored is not None
    fresh = await connector.get_event(ALICE_CAL, created["id"])
    assert fresh is not None
    assert fresh.marker is None
    raw = graph_calls(sim, "event.update")[-1].body
    assert raw["singleValueExtendedProperties"] == [
        {"id": MARKER_PROPERTY_ID, "value": MARKER_TOMBSTONE}
    ]


async def test_a_409_irresolvable_conflict_is_a_conflict_like_412(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector
) -> None:
    created = sim.person_create(ALICE, meeting())
    event = await connector.get_event(ALICE_CAL, created["id"])
    assert event is not None
    sim.conflicts.arm(ALICE, created["id"])
    with pytest.raises(ConflictError, match="409 ErrorIrresolvableConflict"):
        await connector.patch_event(ALICE_CAL, event, EventPatch(clear_marker=True))
    assert len(graph_calls(sim, "event.update")) == 1  # not retried blindly: re-read, re-plan
    fresh = await connector.get_event(ALICE_CAL, created["id"])
    assert fresh is not None
    assert fresh.etag != event.etag
    patched = await connector.patch_event(ALICE_CAL, fresh, EventPatch(clear_marker=True))
    assert patched.etag != fresh.etag


async def test_patch_of_a_deleted_event(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector
) -> None:
    created = sim.person_create(ALICE, meeting())
    event = await connector.get_event(ALICE_CAL, created["id"])
    assert event is not None
    sim.person_delete(ALICE, created["id"])
    with pytest.raises(NotFoundError):
        await connector.patch_event(ALICE_CAL, event, EventPatch(clear_marker=True))
    assert await connector.get_event(ALICE_CAL, created["id"]) is None


async def test_teams_meeting_is_created_and_its_block_survives_ours(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector
) -> None:
    created = sim.person_create(ALICE, meeting(location={"displayName": "@teams"}))
    event = await connector.get_event(ALICE_CAL, created["id"])
    assert event is not None
    marker = Marker("teams", "req-t")
    teams = await connector.patch_event(
        ALICE_CAL, event, EventPatch(marker=marker, conference_request_id="req-t")
    )
    assert sim.teams_meetings_created == 1
    assert teams.conference is not None
    assert teams.conference.system == "teams"
    join = teams.conference.join_url
    assert join is not None
    assert join in teams.description  # Outlook's block
    assert teams.conference.conference_id is not None
    assert "@thread" in teams.conference.conference_id
    assert teams.marker == marker

    # a note of ours next to it: Outlook's block stays, the meeting stays on
    block = render_join_block(INFO, "en")
    noted = await connector.patch_event(
        ALICE_CAL, teams, EventPatch(description=replace_block(teams.description, block))
    )
    assert noted.conference is not None
    assert noted.conference.join_url == join
    assert noted.description.index("hybridcal:end") < noted.description.index(join)
    removed = await connector.patch_event(
        ALICE_CAL, noted, EventPatch(description=replace_block(noted.description, None))
    )
    assert removed.conference is not None
    assert removed.conference.join_url == join

    off = await connector.patch_event(
        ALICE_CAL, removed, EventPatch(clear_marker=True, clear_conference=True)
    )
    assert off.conference is None
    assert join not in off.description


# -- subscriptions ----------------------------------------------------------------------------


class ChannelStore:
    def __init__(self) -> None:
        self.channels: dict[str, Channel] = {}

    async def get_channel(self, channel_id: str) -> Channel | None:
        return self.channels.get(channel_id)


class Outcomes:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def webhook(self, provider: str, outcome: str, count: int = 1) -> None:
        self.seen.extend([outcome] * count)


async def test_subscription_through_a_real_webhook(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector
) -> None:
    store = ChannelStore()
    enqueued: list[str] = []
    renewed: list[str] = []

    async def renew(subscription_id: str) -> None:
        channel = store.channels[subscription_id]
        later = datetime.now(UTC) + timedelta(minutes=5)
        fresh = await connector.renew_channel(ALICE_CAL, channel, now=later)
        store.channels[subscription_id] = fresh
        renewed.append(subscription_id)

    async def nothing(_key: str) -> None:
        return None

    hook = GraphWebhook(
        store=cast("Store", store),
        enqueue=enqueued.append,
        metrics=Outcomes(),
        max_body=64 * 1024,
        renew=renew,
        recreate=nothing,
        resync=nothing,
    )
    web_app = web.Application()
    web_app.router.add_post("/webhooks/microsoft", hook.handle)
    web_app.router.add_post("/webhooks/microsoft/lifecycle", hook.handle_lifecycle)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        now = datetime.now(UTC)
        channel = await connector.watch(
            ALICE_CAL,
            address=f"http://127.0.0.1:{port}/webhooks/microsoft",
            channel_id="ignored",
            secret="s" * 43,
            now=now,
        )
        store.channels[channel.channel_id] = channel
        assert channel.resource_id == f"users/{ALICE}/events"
        assert channel.expires_at > now + timedelta(days=6)
        described = sim.subscriptions()
        assert len(described) == 1
        assert described[0]["lifecycleNotificationUrl"].endswith("/webhooks/microsoft/lifecycle")

        sim.person_create(ALICE, meeting())
        await sim.drain()
        assert enqueued == [ALICE_CAL.key]

        sim.send_lifecycle(channel.channel_id, "reauthorizationRequired")
        await sim.drain()
        for _ in range(50):
            if renewed:
                break
            await asyncio.sleep(0.02)
        assert renewed == [channel.channel_id]
        assert store.channels[channel.channel_id].expires_at > channel.expires_at

        await connector.stop_channel(ALICE_CAL, channel)
        assert sim.subscriptions() == []
        await connector.stop_channel(ALICE_CAL, channel)  # already gone: fine
    finally:
        await hook.stop()
        await runner.cleanup()


async def test_client_state_is_limited(connector: MicrosoftCalendarConnector) -> None:
    with pytest.raises(ValueError, match="clientState"):
        await connector.watch(
            ALICE_CAL, address="http://127.0.0.1:9/x", channel_id="x", secret="s" * 129, now=NOW
        )


# -- presence ---------------------------------------------------------------------------------


async def test_presence_from_automatic_replies(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    assert not (await connector.get_presence(ALICE_CAL, now)).out_of_office
    sim.set_automatic_replies(ALICE, status="alwaysEnabled", message="<p>On leave</p>")
    always = await connector.get_presence(ALICE_CAL, now)
    assert always.out_of_office
    assert always.message == "On leave"
    start, end = now - timedelta(days=1), now + timedelta(days=2)
    sim.set_automatic_replies(ALICE, status="scheduled", start=start, end=end, message="Away")
    scheduled = await connector.get_presence(ALICE_CAL, now)
    assert scheduled.out_of_office
    assert (scheduled.starts_at, scheduled.ends_at) == (start, end)
    assert not (await connector.get_presence(ALICE_CAL, now + timedelta(days=3))).out_of_office
    assert not (await connector.get_presence(ROOM_CAL, now)).out_of_office


# -- throttling and concurrency ---------------------------------------------------------------


async def test_throttling_is_honoured(
    sim: GraphSimulator, credential: EntraCredential, calls: Calls
) -> None:
    created = sim.person_create(ALICE, meeting())
    conn = build(sim, credential, calls, max_retries=1)
    try:
        sim.faults.throttle_rate = 1.0
        with pytest.raises(ThrottledError) as caught:
            await conn.get_event(ALICE_CAL, created["id"])
        assert caught.value.retry_after == 1.0
    finally:
        sim.faults.throttle_rate = 0.0
        await conn.close()
    retrying = build(sim, credential, calls, max_retries=3)
    try:
        sim.faults.reseed(3)
        sim.faults.throttle_rate = 0.5
        started = time.perf_counter()
        for _ in range(3):
            assert await retrying.get_event(ALICE_CAL, created["id"]) is not None
        throttled = [r for r in graph_calls(sim, "event.get") if r.status == 429]
        assert throttled  # the seed throttles some of them
        assert time.perf_counter() - started >= 1.0  # Retry-After: 1 was waited for
    finally:
        sim.faults.throttle_rate = 0.0
        await retrying.close()


async def test_at_most_four_requests_in_flight_per_mailbox(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector
) -> None:
    created = sim.person_create(ALICE, meeting())
    sim.faults.latency_s = 0.1
    try:
        started = time.perf_counter()
        got = await asyncio.gather(
            *(connector.get_event(ALICE_CAL, created["id"]) for _ in range(8))
        )
        elapsed = time.perf_counter() - started
    finally:
        sim.faults.latency_s = 0.0
    assert all(e is not None for e in got)
    assert elapsed >= 0.19  # two waves of four
    assert all(r.status == 200 for r in graph_calls(sim, "event.get"))  # no ApplicationThrottled


async def test_calls_are_counted(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector, calls: Calls
) -> None:
    await connector.check_access(ALICE_CAL)
    assert calls.names == Counter({"users.get": 1, "events.probe": 1, "mailbox.get": 1})


async def test_cancelled_copy_in_attendee_calendar(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector
) -> None:
    attendees = [{"type": "required", "emailAddress": {"address": BOB, "name": "Bob"}}]
    created = sim.person_create(ALICE, meeting(attendees=attendees))
    await sim.drain()
    first = await connector.list_changes(record(BOB))
    assert len(first.events) == 1
    sim.person_delete(ALICE, created["id"])
    await sim.drain()
    later = await connector.list_changes(replace(record(BOB), cursor=first.cursor))
    assert [e.status for e in later.events] == [EventStatus.CANCELLED]


# -- with the planner -------------------------------------------------------------------------

POLICY = Policy(
    keywords={"@teams": "teams", "@zoom": "zoom"},
    native_systems=frozenset({"teams"}),
    external_systems=frozenset({"zoom"}),
    locale="en",
)


async def settle_plan(
    connector: MicrosoftCalendarConnector, event: Event, binding: Binding | None
) -> tuple[Event, Binding | None, int]:
    """A small executor: runs the planner's steps until nothing is left; counts patches."""
    patches = 0
    for _ in range(10):
        actions = plan(event, binding, POLICY, now=datetime.now(UTC))
        if not actions:
            return event, binding, patches
        for action in actions:
            if isinstance(action, SaveBinding):
                binding = action.binding
            elif isinstance(action, CreateMeeting):
                binding = created(action.binding, INFO)
            elif isinstance(action, PatchEvent):
                event = await connector.patch_event(ALICE_CAL, event, action.patch)
                binding = action.then
                patches += 1
            else:
                pytest.fail(f"unexpected {action}")
    raise AssertionError("the plan did not settle")


@pytest.mark.parametrize("keyword", ["@teams", "@zoom"])
async def test_our_patch_comes_back_as_an_echo_that_needs_no_write(
    sim: GraphSimulator, connector: MicrosoftCalendarConnector, keyword: str
) -> None:
    sim.person_create(ALICE, meeting(location={"displayName": f"Room 1; {keyword}"}))
    first = await connector.list_changes(ALICE_CAL)
    (event,) = first.events
    _, binding, patches = await settle_plan(connector, event, None)
    assert patches == 1
    assert binding is not None
    echo = await connector.list_changes(replace(ALICE_CAL, cursor=first.cursor))
    (again,) = echo.events
    assert again.marker is not None  # read back through $expand
    assert plan(again, binding, POLICY, now=datetime.now(UTC)) == []


class FakeAzure:
    """Stands in for an azure-identity aio credential, for failures a token endpoint cannot
    easily be made to produce (a network error)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls = 0
        self.closed = False

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        await asyncio.sleep(0.01)
        if self.error is not None:
            raise self.error
        return AccessToken(f"tok-{self.calls}", int(time.time()) + 3600)

    async def close(self) -> None:
        self.closed = True


async def test_azure_credentials_are_cached_and_explained() -> None:
    inner = FakeAzure()
    cred = EntraCredential(inner, tenant_id="t", client_id="c")
    tokens = await asyncio.gather(*(cred.get_token("s/.default") for _ in range(5)))
    assert {t.token for t in tokens} == {"tok-1"}
    assert inner.calls == 1
    await cred.close()
    assert inner.closed

    refused = ClientAuthenticationError(
        message="ClientSecretCredential authentication failed: AADSTS7000215: Invalid client "
        "secret provided."
    )
    failing = EntraCredential(FakeAzure(refused), tenant_id="t", client_id="c")
    with pytest.raises(AuthError, match="client secret"):
        await failing.get_token("s/.default")
    offline = EntraCredential(
        FakeAzure(ServiceRequestError("no route")), tenant_id="t", client_id="c"
    )
    with pytest.raises(TransientError):
        await offline.get_token("s/.default")
