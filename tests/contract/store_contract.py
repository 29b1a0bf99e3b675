"""The contract every Store implementation must meet, as a mix-in test class.

A backend's test module subclasses :class:`StoreContract` and provides a ``store`` fixture that
yields a fresh, empty store (see ``test_sqlite_store.py``); every test here then runs against it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from hybridcal.core.model import (
    SYNC_FAULT,
    Binding,
    BindingState,
    CalendarKind,
    CalendarRecord,
    CalendarState,
    Channel,
    Device,
    Fault,
    JoinInfo,
    JoinLink,
    MeetingEntry,
    MeetingProblem,
    PhoneNumber,
    Presence,
    ProblemKind,
    Provider,
    calendar_key,
)
from hybridcal.store.base import AlreadyExistsError, NotFoundError, Store, SyncResult

if TYPE_CHECKING:
    from collections.abc import Sequence

T0 = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
ROOM = calendar_key(Provider.GOOGLE, "room-1@example.com")
ALICE = calendar_key(Provider.MICROSOFT, "alice@example.com")
PARIS = timezone(timedelta(hours=2))


def calendar(key: str = ROOM, **changes: object) -> CalendarRecord:
    provider, address = key.split(":", 1)
    record = CalendarRecord(
        key=key,
        provider=Provider(provider),
        address=address,
        kind=CalendarKind.ROOM if address.startswith("room") else CalendarKind.USER,
    )
    return replace(record, **changes)  # type: ignore[arg-type]


def entry(
    event_key: str,
    start_hour: float,
    hours: float = 1.0,
    *,
    key: str = ROOM,
    source: str | None = None,
    **changes: object,
) -> MeetingEntry:
    start = T0 + timedelta(hours=start_hour)
    row = MeetingEntry(
        calendar_key=key,
        event_key=event_key,
        source_id=source or event_key,
        start=start,
        end=start + timedelta(hours=hours),
        title=f"Title of {event_key}",
    )
    return replace(row, **changes)  # type: ignore[arg-type]


def sync(
    rows: Sequence[MeetingEntry] = (),
    *,
    key: str = ROOM,
    remove: Sequence[str] = (),
    cursor: str | None = "cursor-1",
    full: bool = False,
    extra_sources: Sequence[str] = (),
) -> SyncResult:
    """A sync result replacing the sources of ``rows`` (and ``extra_sources`` with nothing)."""
    replace_map: dict[str, list[MeetingEntry]] = {source: [] for source in extra_sources}
    for row in rows:
        replace_map.setdefault(row.source_id, []).append(row)
    return SyncResult(
        calendar_key=key,
        replace=dict(replace_map),
        remove=list(remove),
        cursor=cursor,
        full=full,
        synced_at=T0,
    )


def full_join() -> JoinInfo:
    return JoinInfo(
        system="zoom",
        meeting_id="851 2345 6789",
        join_url="https://example.zoom.us/j/85123456789?pwd=s3cr3t",
        passcode="482913",
        phones=(PhoneNumber("+1 669 900 6833", "US", "San Jose"), PhoneNumber("+44 20 3481 5237")),
        phone_passcode="99887766",
        sip="85123456789@zoomcrc.com",
        extra=(("H.323", "162.255.37.11"), ("tollfree", "+1 888 475 4499")),
    )


def window(start_hour: float, end_hour: float) -> tuple[datetime, datetime]:
    return T0 + timedelta(hours=start_hour), T0 + timedelta(hours=end_hour)


class StoreContract:
    """Subclass and provide an async ``store`` fixture yielding a fresh, empty store."""

    # -- calendars -------------------------------------------------------------------------------

    async def test_calendar_round_trip_with_every_field(self, store: Store) -> None:
        record = calendar(
            state=CalendarState.ERROR,
            reason="user not found: room-1@example.com",
            cursor="https://graph.example/delta?$deltatoken=abc",
            locale="fr-FR",
            timezone="Europe/Paris",
            obtp_lead_minutes=7,
            display_name="Salle Réunion 1",
            synced_at=datetime(2024, 6, 3, 11, 30, 15, 123456, tzinfo=PARIS),
        )
        await store.add_calendar(record)
        got = await store.get_calendar(ROOM)
        assert got == record
        assert got is not None
        assert got.synced_at is not None
        assert got.synced_at.utcoffset() == timedelta(0)

    async def test_unknown_calendar_is_none(self, store: Store) -> None:
        assert await store.get_calendar("google:nobody@example.com") is None

    async def test_adding_a_calendar_twice_fails(self, store: Store) -> None:
        await store.add_calendar(calendar())
        with pytest.raises(AlreadyExistsError):
            await store.add_calendar(calendar(display_name="other"))
        assert (await store.get_calendar(ROOM)) == calendar()

    async def test_list_calendars_filters_and_orders(self, store: Store) -> None:
        bob = calendar_key(Provider.GOOGLE, "bob@example.com")
        await store.add_calendar(calendar(ROOM, state=CalendarState.ACTIVE))
        await store.add_calendar(calendar(ALICE))
        await store.add_calendar(calendar(bob, state=CalendarState.ACTIVE))
        assert [c.key for c in await store.list_calendars()] == sorted([ROOM, ALICE, bob])
        google = await store.list_calendars(provider=Provider.GOOGLE)
        assert [c.key for c in google] == sorted([ROOM, bob])
        rooms = await store.list_calendars(kind=CalendarKind.ROOM)
        assert [c.key for c in rooms] == [ROOM]
        active_users = await store.list_calendars(
            kind=CalendarKind.USER, state=CalendarState.ACTIVE
        )
        assert [c.key for c in active_users] == [bob]

    async def test_calendars_remember_the_order_they_were_enabled_in(self, store: Store) -> None:
        """The start-up sweep takes people in the order they were enabled: one at a time or in
        bulk, and an update does not move a calendar."""
        await store.add_calendar(calendar("google:zed@example.com"))
        await store.add_calendars(
            [calendar("google:bob@example.com"), calendar("google:amy@example.com")]
        )
        await store.add_calendar(calendar("google:cy@example.com"))
        zed = await store.get_calendar("google:zed@example.com")
        assert zed is not None
        await store.update_calendar(replace(zed, state=CalendarState.ACTIVE))
        listed = await store.list_calendars()
        assert all(c.enabled_seq is not None for c in listed)
        by_order = sorted(listed, key=lambda c: c.enabled_seq or 0)
        assert by_order[0].address == "zed@example.com"
        assert by_order[-1].address == "cy@example.com"

    async def test_update_calendar_replaces_fields(self, store: Store) -> None:
        await store.add_calendar(calendar(display_name="Old", cursor="c1"))
        updated = calendar(display_name=None, locale="de-DE", obtp_lead_minutes=3, cursor=None)
        await store.update_calendar(updated)
        assert await store.get_calendar(ROOM) == updated
        with pytest.raises(NotFoundError):
            await store.update_calendar(calendar(ALICE))

    async def test_set_calendar_state(self, store: Store) -> None:
        await store.add_calendar(calendar(display_name="Room"))
        await store.set_calendar_state(ROOM, CalendarState.ERROR, "delegation not granted")
        got = await store.get_calendar(ROOM)
        assert got is not None
        assert (got.state, got.reason, got.display_name) == (
            CalendarState.ERROR,
            "delegation not granted",
            "Room",
        )
        await store.set_calendar_state(ROOM, CalendarState.ACTIVE)
        got = await store.get_calendar(ROOM)
        assert got is not None
        assert (got.state, got.reason) == (CalendarState.ACTIVE, None)
        with pytest.raises(NotFoundError):
            await store.set_calendar_state(ALICE, CalendarState.ACTIVE)

    async def test_removing_an_unknown_calendar_fails(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            await store.remove_calendar(ROOM)

    # -- channels --------------------------------------------------------------------------------

    async def test_channels(self, store: Store) -> None:
        await store.add_calendar(calendar())
        await store.add_calendar(calendar(ALICE))
        one = Channel("ch-1", ROOM, "token-1", "res-1", T0 + timedelta(days=7), T0)
        two = Channel("ch-2", ALICE, "client-state-2", None, T0 + timedelta(days=3), T0)
        await store.put_channel(one)
        await store.put_channel(two)
        assert await store.get_channel("ch-1") == one
        assert await store.get_channel("ch-404") is None
        assert await store.list_channels() == [one, two]
        assert await store.list_channels(ALICE) == [two]
        renewed = replace(one, expires_at=T0 + timedelta(days=14), secret="token-1b")
        await store.put_channel(renewed)
        assert await store.get_channel("ch-1") == renewed
        await store.delete_channel("ch-1")
        await store.delete_channel("ch-1")  # idempotent
        assert await store.list_channels() == [two]

    async def test_channel_for_unknown_calendar_fails(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            await store.put_channel(Channel("ch", ROOM, "s", None, T0, T0))

    # -- bindings --------------------------------------------------------------------------------

    async def test_binding_round_trip_with_join_info(self, store: Store) -> None:
        await store.add_calendar(calendar(ALICE))
        intent = Binding(ALICE, "evt-1", "zoom", "req-1", "@zoom", BindingState.INTENT)
        await store.put_binding(intent)
        assert await store.get_binding(ALICE, "evt-1") == intent
        patched = replace(
            intent,
            state=BindingState.PATCHED,
            meeting_id="85123456789",
            block_hash="sha256:abc",
            join=full_join(),
            fingerprint="fp-1",
            updated_at=datetime(2024, 6, 3, 10, 0, tzinfo=PARIS),
        )
        await store.put_binding(patched)
        assert await store.get_binding(ALICE, "evt-1") == patched
        deferred = replace(
            intent,
            event_id="evt-2",
            problem=MeetingProblem(ProblemKind.DAILY_LIMIT, "100 a day for alice@example.com"),
            retry_at=datetime(2024, 6, 4, 0, 0, tzinfo=UTC),
        )
        await store.put_binding(deferred)
        assert await store.get_binding(ALICE, "evt-2") == deferred
        occurrence = replace(patched, event_id="evt-1_20240603", series_id="evt-1")
        await store.put_binding(occurrence)
        assert await store.get_binding(ALICE, "evt-1_20240603") == occurrence
        await store.delete_binding(ALICE, "evt-2")
        await store.delete_binding(ALICE, "evt-1_20240603")
        other = Binding(ALICE, "evt-0", "teams", "req-0", "@teams", BindingState.CREATED)
        await store.put_binding(other)
        assert await store.list_bindings(ALICE) == [other, patched]
        assert await store.list_bindings(ROOM) == []
        await store.delete_binding(ALICE, "evt-1")
        await store.delete_binding(ALICE, "evt-1")
        assert await store.get_binding(ALICE, "evt-1") is None
        assert await store.list_bindings(ALICE) == [other]

    async def test_binding_for_unknown_calendar_fails(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            await store.put_binding(Binding(ALICE, "e", "zoom", "r", "@zoom", BindingState.INTENT))

    # -- the meeting cache -----------------------------------------------------------------------

    async def test_entry_round_trip_with_every_field(self, store: Store) -> None:
        await store.add_calendar(calendar())
        row = entry(
            "evt-1",
            1,
            all_day=True,
            title="Quarterly review — ünïcode",
            organizer="carol@example.com",
            organizer_name="Carol",
            attendees=("carol@example.com", "room-1@example.com"),
            location="Room 1; @zoom",
            private=True,
            tentative=True,
            links=(
                JoinLink(
                    "zoom", "https://example.zoom.us/j/1?pwd=x", "1", "482913", "1@zoomcrc.com"
                ),
                JoinLink("teams", "https://teams.microsoft.com/l/meetup-join/abc"),
            ),
        )
        await store.apply_sync(sync([row]))
        assert await store.count_entries() == 1
        assert await store.list_entries(ROOM, *window(0, 24)) == [row]

    async def test_entry_round_trip_with_endpoint_fields(self, store: Store) -> None:
        """Attendee names, their count and the numeric passcode are sealed with the row."""
        await store.add_calendar(calendar())
        full = entry(
            "evt-2",
            2,
            attendee_count=3,
            attendee_names=("Carol Ünïcode", "dave@example.com", "Eve"),
            numeric_passcode="903215",
            links=(JoinLink("zoom", "https://example.zoom.us/j/84512345678", "84512345678"),),
        )
        unknown = entry("evt-3", 3)  # as a row sealed before these fields existed reads back
        assert (unknown.attendee_count, unknown.attendee_names, unknown.numeric_passcode) == (
            None,
            (),
            None,
        )
        await store.apply_sync(sync([full, unknown]))
        assert await store.list_entries(ROOM, *window(0, 24)) == [full, unknown]

    async def test_apply_sync_inserts_and_lists_in_start_order(self, store: Store) -> None:
        await store.add_calendar(calendar())
        rows = [entry("c", 3), entry("a", 1), entry("b", 1, 2)]
        await store.apply_sync(sync(rows))
        listed = await store.list_entries(ROOM, *window(0, 24))
        assert [r.event_key for r in listed] == ["a", "b", "c"]

    async def test_replace_swaps_a_sources_whole_row_set(self, store: Store) -> None:
        await store.add_calendar(calendar())
        series = [entry(f"s_{i}", 24 * i, source="s") for i in range(3)]
        await store.apply_sync(sync([*series, entry("single", 5)]))
        moved = [entry("s_1", 26, source="s", title="moved"), entry("s_3", 72, source="s")]
        await store.apply_sync(sync(moved))
        listed = await store.list_entries(ROOM, *window(-1, 100))
        assert [(r.event_key, r.title) for r in listed] == [
            ("single", "Title of single"),
            ("s_1", "moved"),
            ("s_3", "Title of s_3"),
        ]

    async def test_replace_with_no_rows_empties_the_source(self, store: Store) -> None:
        await store.add_calendar(calendar())
        await store.apply_sync(sync([entry("a", 1), entry("b", 2)]))
        await store.apply_sync(sync(extra_sources=["a"]))
        assert [r.event_key for r in await store.list_entries(ROOM, *window(0, 24))] == ["b"]

    async def test_remove_deletes_a_sources_rows(self, store: Store) -> None:
        await store.add_calendar(calendar())
        await store.apply_sync(sync([entry("a", 1), entry("b_1", 2, source="b")]))
        await store.apply_sync(sync(remove=["b", "never-seen"]))
        assert [r.event_key for r in await store.list_entries(ROOM, *window(0, 24))] == ["a"]

    async def test_full_sync_drops_unmentioned_sources(self, store: Store) -> None:
        await store.add_calendar(calendar())
        await store.add_calendar(calendar(ALICE))
        await store.apply_sync(sync([entry("a", 1), entry("b", 2), entry("c", 3)]))
        await store.apply_sync(sync([entry("x", 1, key=ALICE)], key=ALICE))
        await store.apply_sync(sync([entry("b", 2)], full=True))
        assert [r.event_key for r in await store.list_entries(ROOM, *window(0, 24))] == ["b"]
        assert [r.event_key for r in await store.list_entries(ALICE, *window(0, 24))] == ["x"]

    async def test_cursor_and_sync_time_are_saved_with_the_rows(self, store: Store) -> None:
        await store.add_calendar(calendar(cursor="old"))
        await store.apply_sync(sync([entry("a", 1)], cursor="new-token"))
        got = await store.get_calendar(ROOM)
        assert got is not None
        assert (got.cursor, got.synced_at) == ("new-token", T0)
        await store.apply_sync(sync(cursor=None))
        got = await store.get_calendar(ROOM)
        assert got is not None
        assert got.cursor is None

    async def test_apply_sync_for_unknown_calendar_fails(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            await store.apply_sync(sync([entry("a", 1)]))

    async def test_apply_sync_refuses_rows_filed_under_another_calendar(self, store: Store) -> None:
        await store.add_calendar(calendar(cursor="kept"))
        await store.apply_sync(sync([entry("a", 1)], cursor="kept"))
        bad = SyncResult(
            calendar_key=ROOM,
            replace={"a": [], "b": [entry("b", 1, key=ALICE)]},
            remove=[],
            cursor="lost",
        )
        with pytest.raises(ValueError, match="b"):
            await store.apply_sync(bad)
        got = await store.get_calendar(ROOM)
        assert got is not None
        assert got.cursor == "kept"
        assert [r.event_key for r in await store.list_entries(ROOM, *window(0, 24))] == ["a"]

    async def test_cache_version_changes_only_on_real_change(self, store: Store) -> None:
        await store.add_calendar(calendar())
        await store.add_calendar(calendar(ALICE))
        await store.apply_sync(sync([entry("x", 1, key=ALICE)], key=ALICE))
        alice_version = await store.cache_version(ALICE)

        async def changes(result: SyncResult) -> bool:
            before = await store.cache_version(ROOM)
            await store.apply_sync(result)
            return await store.cache_version(ROOM) != before

        rows = [entry("a", 1), entry("b_1", 2, source="b"), entry("b_2", 26, source="b")]
        renamed = entry("a", 1, title="renamed")
        assert await changes(sync(rows))
        # Our own patch echoing back: the same rows again, only the cursor moved.
        assert not await changes(sync(list(rows), cursor="cursor-2"))
        # The same instants given in another zone are the same content.
        assert not await changes(sync([replace(r, start=r.start.astimezone(PARIS)) for r in rows]))
        assert not await changes(sync(remove=["unknown"]))
        assert not await changes(sync(rows, full=True))
        assert await changes(sync([renamed]))
        assert await changes(sync(remove=["b"]))
        assert not await changes(sync([renamed], full=True))
        assert await changes(sync(full=True))
        assert await store.cache_version(ALICE) == alice_version

    async def test_cache_versions_are_not_reused_by_a_readded_calendar(self, store: Store) -> None:
        await store.add_calendar(calendar())
        await store.apply_sync(sync([entry("a", 1)]))
        old = await store.cache_version(ROOM)
        await store.remove_calendar(ROOM)
        await store.add_calendar(calendar())
        await store.apply_sync(sync([entry("b", 1)]))
        assert await store.cache_version(ROOM) != old

    async def test_window_uses_half_open_overlap(self, store: Store) -> None:
        await store.add_calendar(calendar())
        rows = [
            entry("ends-at-start", 8, 2),  # 08-10
            entry("overlaps-start", 9, 2),  # 09-11
            entry("inside", 11, 1),  # 11-12
            entry("spans", 6, 12),  # 06-18
            entry("overlaps-end", 13, 2),  # 13-15
            entry("starts-at-end", 14, 1),  # 14-15
            entry("after", 20, 1),
        ]
        await store.apply_sync(sync(rows))
        start, end = window(10, 14)
        listed = await store.list_entries(ROOM, start.astimezone(PARIS), end.astimezone(PARIS))
        assert [r.event_key for r in listed] == [
            "spans",
            "overlaps-start",
            "inside",
            "overlaps-end",
        ]
        assert await store.list_entries(ALICE, start, end) == []

    async def test_prune_drops_rows_outside_the_window(self, store: Store) -> None:
        await store.add_calendar(calendar())
        await store.add_calendar(calendar(ALICE))
        await store.apply_sync(
            sync([entry("old", -48), entry("edge", -2, 2), entry("now", 1), entry("far", 800)])
        )
        await store.apply_sync(sync([entry("kept", 1, key=ALICE)], key=ALICE))
        room_version = await store.cache_version(ROOM)
        alice_version = await store.cache_version(ALICE)
        assert await store.prune_entries(T0, T0 + timedelta(days=31)) == 2
        listed = await store.list_entries(ROOM, *window(-1000, 1000))
        assert [r.event_key for r in listed] == ["edge", "now"]
        assert await store.cache_version(ROOM) != room_version
        assert await store.cache_version(ALICE) == alice_version
        assert await store.prune_entries(T0, T0 + timedelta(days=31)) == 0

    # -- devices ---------------------------------------------------------------------------------

    async def test_devices(self, store: Store) -> None:
        await store.add_calendar(calendar())
        await store.add_calendar(calendar(ALICE))
        lobby = Device("dev-1", "Lobby panel", ROOM, "a" * 64, T0)
        desk = Device("dev-2", "Alice's desk", ALICE, "b" * 64, T0 + timedelta(minutes=1))
        await store.add_device(lobby)
        await store.add_device(desk)
        assert await store.get_device_by_token_hash("a" * 64) == lobby
        assert await store.get_device_by_token_hash("c" * 64) is None
        assert await store.list_devices() == [lobby, desk]
        assert await store.list_devices(ALICE) == [desk]
        await store.revoke_device("dev-1")
        assert await store.get_device_by_token_hash("a" * 64) == replace(lobby, revoked=True)
        with pytest.raises(NotFoundError):
            await store.revoke_device("dev-404")

    async def test_device_view_reads_what_a_poll_needs_in_one_call(self, store: Store) -> None:
        room = calendar()
        await store.add_calendar(room)
        lobby = Device("dev-1", "Lobby panel", ROOM, "a" * 64, T0)
        await store.add_device(lobby)
        view = await store.device_view("a" * 64)
        assert view is not None
        assert (view.device, view.calendar, view.presence) == (lobby, room, None)
        assert view.cache_version == await store.cache_version(ROOM)
        await store.apply_sync(sync([entry("m1", 1)]))
        await store.put_presence(Presence(ROOM, out_of_office=True))
        later = await store.device_view("a" * 64)
        assert later is not None
        assert later.cache_version == await store.cache_version(ROOM) != view.cache_version
        assert later.presence == Presence(ROOM, out_of_office=True)
        assert await store.device_view("b" * 64) is None
        await store.revoke_device("dev-1")
        revoked = await store.device_view("a" * 64)
        assert revoked is not None
        assert revoked.device.revoked  # returned: refusing it is the caller's decision

    async def test_device_identity_and_token_are_unique(self, store: Store) -> None:
        await store.add_calendar(calendar())
        await store.add_device(Device("dev-1", "One", ROOM, "a" * 64, T0))
        with pytest.raises(AlreadyExistsError):
            await store.add_device(Device("dev-1", "Two", ROOM, "b" * 64, T0))
        with pytest.raises(AlreadyExistsError):
            await store.add_device(Device("dev-2", "Two", ROOM, "a" * 64, T0))
        with pytest.raises(NotFoundError):
            await store.add_device(Device("dev-3", "Three", ALICE, "c" * 64, T0))

    # -- presence --------------------------------------------------------------------------------

    async def test_presence(self, store: Store) -> None:
        await store.add_calendar(calendar(ALICE))
        assert await store.get_presence(ALICE) is None
        away = Presence(
            ALICE,
            out_of_office=True,
            starts_at=T0,
            ends_at=T0 + timedelta(days=5),
            message="On leave until Monday",
        )
        await store.put_presence(away)
        assert await store.get_presence(ALICE) == away
        back = Presence(ALICE, out_of_office=False)
        await store.put_presence(back)
        assert await store.get_presence(ALICE) == back
        with pytest.raises(NotFoundError):
            await store.put_presence(Presence(ROOM, out_of_office=True))

    # -- removal ---------------------------------------------------------------------------------

    async def test_remove_calendar_cascades(self, store: Store) -> None:
        for key in (ROOM, ALICE):
            await store.add_calendar(calendar(key))
            await store.put_channel(Channel(f"ch-{key}", key, "s", None, T0, T0))
            await store.put_binding(Binding(key, "e", "zoom", "r", "@zoom", BindingState.INTENT))
            await store.apply_sync(sync([entry("a", 1, key=key)], key=key))
            await store.add_device(Device(f"dev-{key}", "d", key, f"hash-{key}", T0))
            await store.put_presence(Presence(key, out_of_office=True))
        await store.remove_calendar(ROOM)
        assert await store.get_calendar(ROOM) is None
        assert [c.calendar_key for c in await store.list_channels()] == [ALICE]
        assert await store.get_binding(ROOM, "e") is None
        assert await store.list_entries(ROOM, *window(0, 24)) == []
        assert [d.calendar_key for d in await store.list_devices()] == [ALICE]
        assert await store.get_device_by_token_hash(f"hash-{ROOM}") is None
        assert await store.get_presence(ROOM) is None
        # The other calendar is untouched.
        assert await store.get_binding(ALICE, "e") is not None
        assert len(await store.list_entries(ALICE, *window(0, 24))) == 1
        assert await store.get_presence(ALICE) is not None

    # -- faults ----------------------------------------------------------------------------------

    async def test_faults_are_kept_per_event_and_cleared(self, store: Store) -> None:
        await store.add_calendar(calendar())
        await store.add_calendar(calendar(ALICE))
        first = Fault(ROOM, "e1", "ValueError", "bad link", T0, T0, 1, T0 + timedelta(minutes=5))
        await store.put_fault(first)
        await store.put_fault(Fault(ROOM, SYNC_FAULT, "TransientError", "503", T0, T0))
        await store.put_fault(Fault(ALICE, "e9", "KeyError", "x", T0 + timedelta(hours=1), T0))
        again = replace(first, attempts=2, last_seen=T0 + timedelta(minutes=5))
        await store.put_fault(again)  # replaces, never duplicates
        room = await store.list_faults(ROOM)
        assert sorted(f.event_id for f in room) == [SYNC_FAULT, "e1"]
        assert next(f for f in room if f.event_id == "e1") == again
        assert [f.calendar_key for f in await store.list_faults()] == [ROOM, ROOM, ALICE]
        await store.clear_faults(ROOM, ["e1", "never-failed"])
        assert [f.event_id for f in await store.list_faults(ROOM)] == [SYNC_FAULT]
        await store.remove_calendar(ROOM)
        assert [f.calendar_key for f in await store.list_faults()] == [ALICE]

    async def test_a_fault_needs_its_calendar(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            await store.put_fault(Fault(ROOM, "e1", "ValueError", "m", T0, T0))

    async def test_quarantine_of_a_healthy_calendar_moves_nothing(self, store: Store) -> None:
        await store.add_calendar(calendar())
        await store.apply_sync(sync([entry("a", 1)]))
        await store.put_binding(Binding(ROOM, "a", "zoom", "r", "@zoom", BindingState.PATCHED))
        version = await store.cache_version(ROOM)
        assert await store.quarantine_unreadable(ROOM) == 0
        assert await store.count_quarantined() == 0
        assert await store.cache_version(ROOM) == version
        assert await store.get_binding(ROOM, "a") is not None

    # -- concurrency -----------------------------------------------------------------------------

    async def test_many_concurrent_calls(self, store: Store) -> None:
        await store.add_calendar(calendar())
        await store.add_calendar(calendar(ALICE))

        async def work(i: int) -> None:
            key = ROOM if i % 2 else ALICE
            await store.put_binding(
                Binding(key, f"e{i}", "zoom", f"r{i}", "@zoom", BindingState.INTENT)
            )
            await store.apply_sync(sync([entry(f"e{i}", i % 24, key=key)], key=key))
            assert await store.get_binding(key, f"e{i}") is not None
            await store.list_entries(key, *window(0, 24))

        await asyncio.gather(*(work(i) for i in range(60)))
        assert len(await store.list_bindings(ROOM)) == 30
        assert len(await store.list_entries(ROOM, *window(0, 24))) == 30
        assert len(await store.list_entries(ALICE, *window(0, 24))) == 30
        assert await store.integrity_errors() == 0

    # -- credentials of the daemon's own apps ----------------------------------------------------

    async def test_app_tokens_are_written_and_read(self, store: Store) -> None:
        assert await store.get_app_token("webex") is None
        first = await store.put_app_token("webex", {"refresh_token": "r1"})
        assert (first.version, dict(first.data)) == (1, {"refresh_token": "r1"})
        again = await store.put_app_token("webex", {"refresh_token": "r2"})
        assert again.version == 2
        stored = await store.get_app_token("webex")
        assert stored is not None
        assert (stored.version, dict(stored.data)) == (2, {"refresh_token": "r2"})
        assert "r2" not in repr(stored)  # tokens never show in a repr or a log line
        await store.delete_app_token("webex")
        assert await store.get_app_token("webex") is None

    async def test_app_token_replace_is_a_compare_and_swap(self, store: Store) -> None:
        """Two replicas that refreshed at once: exactly one rotated token is kept, and the
        other replica finds it when its own swap fails."""
        base = await store.put_app_token("webex", {"refresh_token": "r1"})
        won = await store.replace_app_token("webex", {"refresh_token": "a"}, base.version)
        lost = await store.replace_app_token("webex", {"refresh_token": "b"}, base.version)
        assert won is not None
        assert won.version == base.version + 1
        assert lost is None
        stored = await store.get_app_token("webex")
        assert stored is not None
        assert dict(stored.data) == {"refresh_token": "a"}
        assert await store.replace_app_token("absent", {"x": "y"}, 1) is None

    async def test_concurrent_app_token_swaps_keep_one_winner(self, store: Store) -> None:
        base = await store.put_app_token("webex", {"refresh_token": "r0"})
        results = await asyncio.gather(
            *(
                store.replace_app_token("webex", {"refresh_token": f"r{i}"}, base.version)
                for i in range(1, 9)
            )
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        stored = await store.get_app_token("webex")
        assert stored is not None
        assert dict(stored.data) == dict(winners[0].data)
