"""The sweep's order: what endpoints show comes first, and late calendars join in place."""

from __future__ import annotations

from dataclasses import replace

from hybridcal.core.model import CalendarKind, CalendarRecord, Provider
from hybridcal.daemon.sweep import SweepRun


def _calendar(address: str, kind: CalendarKind = CalendarKind.USER) -> CalendarRecord:
    return CalendarRecord(f"google:{address}", Provider.GOOGLE, address, kind)


def _drain(run: SweepRun) -> list[tuple[str, bool]]:
    order = []
    while (item := run.pop()) is not None:
        order.append((item[0].address, item[1]))
    return order


def test_calendars_with_devices_come_first_then_rooms_then_people() -> None:
    run = SweepRun()
    people = [_calendar("ann@x.org"), _calendar("zed@x.org")]
    rooms = [
        _calendar("board@x.org", CalendarKind.ROOM),
        _calendar("atrium@x.org", CalendarKind.ROOM),
    ]
    with_devices = {"google:board@x.org"}
    run.add([*people, *rooms], with_devices, catch_up=False)
    assert [address for address, _ in _drain(run)] == [
        "board@x.org",  # a codec polls it
        "atrium@x.org",
        "ann@x.org",
        "zed@x.org",
    ]


def test_a_calendar_added_while_a_sweep_runs_joins_it_in_its_place() -> None:
    run = SweepRun()
    run.add([_calendar("ann@x.org"), _calendar("bob@x.org")], set(), catch_up=False)
    assert run.pop() is not None  # ann is being swept
    run.add(
        [_calendar("lobby@x.org", CalendarKind.ROOM), _calendar("bob@x.org")], set(), catch_up=False
    )
    assert _drain(run) == [("lobby@x.org", False), ("bob@x.org", False)]  # bob not twice
    assert run.total == 3


def test_a_catch_up_wins_over_a_plain_sweep_of_the_same_calendar() -> None:
    """A calendar taken over while queued by a plain sweep is synced from its cursor."""
    run = SweepRun()
    run.add([_calendar("ann@x.org")], set(), catch_up=False)
    run.add([_calendar("ann@x.org")], set(), catch_up=True)
    assert _drain(run) == [("ann@x.org", True)]
    run.add([_calendar("ann@x.org")], set(), catch_up=True)  # already swept in this run
    assert _drain(run) == []


def test_people_come_in_the_order_they_were_enabled() -> None:
    run = SweepRun()
    first = replace(_calendar("zed@x.org"), enabled_seq=1)
    second = replace(_calendar("amy@x.org"), enabled_seq=2)
    room = replace(_calendar("lobby@x.org", CalendarKind.ROOM), enabled_seq=3)
    run.add([second, room, first], set(), catch_up=False)
    assert [address for address, _ in _drain(run)] == ["lobby@x.org", "zed@x.org", "amy@x.org"]
