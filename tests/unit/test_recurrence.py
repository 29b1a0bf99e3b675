"""may_occur_in: a cheap "certainly not" for series far outside the window, never a false no."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcal.core.model import Event, EventStatus, Window
from hybridcal.core.recurrence import may_occur_in

ZURICH = "Europe/Zurich"
NOW = datetime(2030, 6, 10, 12, 0, tzinfo=UTC)
WINDOW = Window(NOW - timedelta(days=7), NOW + timedelta(days=31))


def master(start: datetime, *rules: str, hours: float = 1, timezone: str | None = ZURICH) -> Event:
    return Event(
        calendar_key="google:alice@example.com",
        event_id="series",
        etag='"1"',
        status=EventStatus.CONFIRMED,
        start=start,
        end=start + timedelta(hours=hours),
        timezone=timezone,
        recurrence=rules,
    )


def test_event_without_times_never_occurs() -> None:
    assert not may_occur_in(replace(master(NOW), start=None), WINDOW)
    assert not may_occur_in(replace(master(NOW), end=None), WINDOW)


@pytest.mark.parametrize(
    ("offset", "inside"),
    [(timedelta(0), True), (timedelta(days=-8), False), (timedelta(days=32), False)],
)
def test_single_event_is_checked_against_the_window(offset: timedelta, inside: bool) -> None:
    assert may_occur_in(master(NOW + offset), WINDOW) is inside


def test_series_starting_after_the_window_does_not_occur() -> None:
    assert not may_occur_in(master(WINDOW.end, "RRULE:FREQ=DAILY"), WINDOW)


def test_endless_series_from_years_ago_occurs() -> None:
    assert may_occur_in(master(NOW - timedelta(days=3650), "RRULE:FREQ=WEEKLY;BYDAY=MO"), WINDOW)


@pytest.mark.parametrize(
    "rule",
    ["RRULE:FREQ=WEEKLY;COUNT=10", "RRULE:FREQ=DAILY;UNTIL=20290101T000000Z"],
)
def test_series_that_ended_before_the_window_does_not_occur(rule: str) -> None:
    assert not may_occur_in(master(datetime(2028, 1, 3, 8, tzinfo=UTC), rule), WINDOW)


def test_series_whose_last_occurrence_straddles_the_window_start_occurs() -> None:
    # yearly, last one starts two hours before the window and lasts three
    start = WINDOW.start - timedelta(days=365, hours=2)
    series = master(start, "RRULE:FREQ=YEARLY;COUNT=2", hours=3, timezone="UTC")
    assert may_occur_in(series, WINDOW)
    assert not may_occur_in(replace(series, end=start + timedelta(hours=1)), WINDOW)


def test_rdate_alone_can_bring_an_occurrence_into_the_window() -> None:
    old = datetime(2020, 1, 6, 9, tzinfo=UTC)
    only_old = master(old, "RRULE:FREQ=DAILY;COUNT=1", timezone="UTC")
    assert not may_occur_in(only_old, WINDOW)
    extra = replace(only_old, recurrence=(*only_old.recurrence, "RDATE:20300612T090000Z"))
    assert may_occur_in(extra, WINDOW)


def test_exdate_lines_are_ignored_which_only_errs_towards_yes() -> None:
    start = datetime(2030, 6, 12, 9, tzinfo=UTC)
    series = master(start, "RRULE:FREQ=DAILY;COUNT=1", "EXDATE:20300612T090000Z", timezone="UTC")
    assert may_occur_in(series, WINDOW)


def test_unreadable_rules_leave_the_decision_to_the_provider() -> None:
    rules = ("RRULE:FREQ=SOMETIMES",)
    assert may_occur_in(master(datetime(2028, 1, 3, 8, tzinfo=UTC), *rules), WINDOW)


@pytest.mark.parametrize(
    "until",
    ["20290101T000000", "20290101"],  # floating, and Google's all-day style, beside a zoned start
    ids=["floating", "all-day"],
)
def test_floating_until_is_read_as_the_end_of_that_day(until: str) -> None:
    start = datetime(2028, 1, 3, 8, tzinfo=UTC)
    ended = master(start, f"RRULE:FREQ=WEEKLY;UNTIL={until}")
    assert not may_occur_in(ended, WINDOW)  # it ended long before the window
    later = f"{NOW.year + 1}0101" + until[8:]
    running = master(start, f"RRULE:FREQ=WEEKLY;UNTIL={later}")
    assert may_occur_in(running, WINDOW)


def test_unknown_time_zone_falls_back_to_utc() -> None:
    series = master(NOW - timedelta(days=400), "RRULE:FREQ=DAILY", timezone="Mars/Olympus")
    assert may_occur_in(series, WINDOW)


def test_local_time_rules_follow_daylight_saving() -> None:
    # 09:00 in Zurich every Monday since winter (08:00 UTC): 07:00 UTC in June
    start = datetime(2030, 1, 7, 8, tzinfo=UTC)
    series = master(start, "RRULE:FREQ=WEEKLY;BYDAY=MO")
    monday = datetime(2030, 6, 10, 7, tzinfo=UTC)
    assert may_occur_in(
        series, Window(monday + timedelta(minutes=30), monday + timedelta(minutes=45))
    )
    assert not may_occur_in(
        series, Window(monday + timedelta(minutes=75), monday + timedelta(minutes=105))
    )


@settings(max_examples=100, deadline=None)
@given(
    days_before=st.integers(min_value=0, max_value=2000),
    count=st.integers(min_value=1, max_value=60),
    interval=st.integers(min_value=1, max_value=10),
    freq=st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]),
    window_days=st.integers(min_value=1, max_value=40),
)
def test_never_says_no_when_an_occurrence_overlaps(
    days_before: int, count: int, interval: int, freq: str, window_days: int
) -> None:
    # occurrences never end exactly at the window's start, where the check errs towards yes
    start = NOW - timedelta(days=days_before, hours=3)
    rule = f"RRULE:FREQ={freq};INTERVAL={interval};COUNT={count}"
    window = Window(NOW, NOW + timedelta(days=window_days))
    duration = timedelta(hours=4)
    truth = any(
        window.contains(occ.astimezone(UTC), occ.astimezone(UTC) + duration)
        for occ in rrulestr(rule, dtstart=start)
    )
    assert may_occur_in(master(start, rule, hours=4, timezone="UTC"), window) is truth
