"""An event's time and recurrence as a Zoom schedule: exact type-8 series or the type-3 fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hybridcal.connectors.meetings.zoom_schedule import (
    MAX_OCCURRENCES,
    ZoomSchedule,
    occurrence_id,
    zoom_schedule,
)

ZURICH = ZoneInfo("Europe/Zurich")
NEW_YORK = ZoneInfo("America/New_York")
# Monday 2026-10-12 10:00 in Zurich (summer time); Europe leaves DST on 2026-10-25.
MONDAY = datetime(2026, 10, 12, 10, 0, tzinfo=ZURICH)


def schedule(
    *lines: str,
    start: datetime = MONDAY,
    minutes: float = 60,
    timezone: str | None = "Europe/Zurich",
    all_day: bool = False,
) -> ZoomSchedule:
    start_utc = start.astimezone(UTC)  # the model hands over UTC instants
    end_utc = start_utc + timedelta(minutes=minutes)
    return zoom_schedule(start_utc, end_utc, timezone=timezone, all_day=all_day, recurrence=lines)


def fixed(result: ZoomSchedule) -> dict[str, object]:
    """The recurrence object of a schedule that must be a fixed-time series."""
    assert result.type == 8, result.fallback_reason
    assert result.recurrence is not None
    return result.recurrence


def fallback(result: ZoomSchedule) -> str:
    """The reason of a schedule that must be the no-fixed-time fallback."""
    assert result.type == 3, result
    assert result.fallback_reason
    return result.fallback_reason


# --- single meetings ------------------------------------------------------------------------------


def test_a_single_event_is_a_scheduled_meeting_in_utc() -> None:
    result = schedule(minutes=90)
    assert result == ZoomSchedule(
        type=2,
        start_time="2026-10-12T08:00:00Z",
        timezone="Europe/Zurich",
        duration=90,
        recurrence=None,
    )
    assert result.body() == {
        "type": 2,
        "start_time": "2026-10-12T08:00:00Z",
        "duration": 90,
        "timezone": "Europe/Zurich",
    }


@pytest.mark.parametrize(("minutes", "duration"), [(0, 1), (0.25, 1), (30.5, 31), (45, 45)])
def test_duration_is_rounded_up_to_at_least_one_minute(minutes: float, duration: int) -> None:
    assert schedule(minutes=minutes).duration == duration


@pytest.mark.parametrize("timezone", [None, "Mars/Olympus_Mons", ""])
def test_a_missing_or_unknown_zone_means_utc(timezone: str | None) -> None:
    result = schedule(timezone=timezone)
    assert result.timezone == "UTC"
    assert result.start_time == "2026-10-12T08:00:00Z"


def test_an_all_day_event_is_one_day_from_local_midnight() -> None:
    midnight = datetime(2026, 10, 12, tzinfo=ZURICH)
    for days in (1, 3):
        result = schedule(start=midnight, minutes=days * 1440, all_day=True)
        assert result.type == 2
        assert result.start_time == "2026-10-11T22:00:00Z"
        assert result.duration == 1440


def test_exdates_without_a_rule_leave_a_single_meeting() -> None:
    assert schedule("EXDATE:20261019T080000Z").type == 2


def test_naive_or_reversed_times_are_rejected() -> None:
    naive = datetime(2026, 10, 12, 10, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        zoom_schedule(naive, naive, timezone=None)
    with pytest.raises(ValueError, match="before it starts"):
        zoom_schedule(MONDAY, MONDAY - timedelta(minutes=1), timezone=None)


# --- fixed-time series ----------------------------------------------------------------------------


def test_a_weekly_series_is_a_fixed_time_series_in_local_time() -> None:
    result = schedule("RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", minutes=45)
    assert result.body() == {
        "type": 8,
        "start_time": "2026-10-12T10:00:00",
        "duration": 45,
        "timezone": "Europe/Zurich",
        "recurrence": {"type": 2, "repeat_interval": 1, "weekly_days": "2,4", "end_times": 10},
    }
    assert result.excluded == ()
    assert result.fallback_reason is None


@pytest.mark.parametrize(
    ("rule", "recurrence"),
    [
        ("FREQ=DAILY;COUNT=5", {"type": 1, "repeat_interval": 1, "end_times": 5}),
        ("FREQ=DAILY;INTERVAL=90;COUNT=2", {"type": 1, "repeat_interval": 90, "end_times": 2}),
        (
            "FREQ=WEEKLY;COUNT=3",
            {"type": 2, "repeat_interval": 1, "weekly_days": "2", "end_times": 3},
        ),
        (
            "FREQ=WEEKLY;INTERVAL=12;BYDAY=SA,MO,SU;COUNT=3",
            {"type": 2, "repeat_interval": 12, "weekly_days": "1,2,7", "end_times": 3},
        ),
        (
            "FREQ=WEEKLY;WKST=SU;BYDAY=MO;COUNT=3",
            {"type": 2, "repeat_interval": 1, "weekly_days": "2", "end_times": 3},
        ),
        (
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=10",
            {"type": 2, "repeat_interval": 1, "weekly_days": "2,3,4,5,6", "end_times": 10},
        ),
        (
            "FREQ=MONTHLY;COUNT=4",
            {"type": 3, "repeat_interval": 1, "monthly_day": 12, "end_times": 4},
        ),
        (
            "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=12;COUNT=4",
            {"type": 3, "repeat_interval": 3, "monthly_day": 12, "end_times": 4},
        ),
        (
            "FREQ=MONTHLY;BYDAY=2MO;COUNT=4",
            {
                "type": 3,
                "repeat_interval": 1,
                "monthly_week": 2,
                "monthly_week_day": 2,
                "end_times": 4,
            },
        ),
        (
            "FREQ=MONTHLY;BYDAY=+2MO;COUNT=4",
            {
                "type": 3,
                "repeat_interval": 1,
                "monthly_week": 2,
                "monthly_week_day": 2,
                "end_times": 4,
            },
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=2;COUNT=4",
            {
                "type": 3,
                "repeat_interval": 1,
                "monthly_week": 2,
                "monthly_week_day": 2,
                "end_times": 4,
            },
        ),
    ],
)
def test_regular_rules_map_to_zoom_recurrence(rule: str, recurrence: dict[str, object]) -> None:
    assert fixed(schedule(f"RRULE:{rule}")) == recurrence


def test_last_weekday_of_the_month() -> None:
    last_friday = datetime(2026, 10, 30, 10, 0, tzinfo=ZURICH)
    expected = {"monthly_week": -1, "monthly_week_day": 6}
    for rule in ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1;COUNT=3"):
        assert fixed(schedule(f"RRULE:{rule}", start=last_friday)).items() >= expected.items()


def test_day_31_is_kept_while_no_month_lacks_it() -> None:
    new_years_eve = datetime(2026, 12, 31, 18, 0, tzinfo=ZURICH)
    recurrence = fixed(schedule("RRULE:FREQ=MONTHLY;BYMONTHDAY=31;COUNT=2", start=new_years_eve))
    assert recurrence["monthly_day"] == 31


def test_sixty_occurrences_fit() -> None:
    assert fixed(schedule("RRULE:FREQ=DAILY;COUNT=60"))["end_times"] == MAX_OCCURRENCES == 60


@pytest.mark.parametrize(
    "until",
    [
        "20261102T090000Z",  # UTC, exactly the last start (10:00 CET)
        "20261102T225959Z",  # UTC, as Google writes it for timed events
        "20261102",  # a date: the series ends after that local day
        "20261102T100000",  # floating: local time in the event's zone
        "20261102T235959",
    ],
)
def test_until_in_googles_forms_ends_at_the_last_occurrence(until: str) -> None:
    recurrence = fixed(schedule(f"RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL={until}"))
    assert recurrence == {
        "type": 2,
        "repeat_interval": 1,
        "weekly_days": "2",
        "end_date_time": "2026-11-02T09:00:00Z",
    }


def test_a_floating_until_before_the_local_start_drops_that_day() -> None:
    recurrence = fixed(schedule("RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20261102T095959"))
    assert recurrence["end_date_time"] == "2026-10-26T09:00:00Z"


def test_until_is_counted_against_zooms_limit() -> None:
    assert fixed(schedule("RRULE:FREQ=DAILY;UNTIL=20261210T090000Z"))["end_date_time"] == (
        "2026-12-10T09:00:00Z"
    )  # the 60th day
    reason = fallback(schedule("RRULE:FREQ=DAILY;UNTIL=20261211T090000Z"))
    assert "more than 60 occurrences" in reason


def test_a_weekly_series_across_the_dst_change_keeps_its_local_time() -> None:
    result = schedule(
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4", "EXDATE;TZID=Europe/Zurich:20261026T100000"
    )
    assert result.start_time == "2026-10-12T10:00:00"  # local: Zoom applies the zone's DST
    assert result.timezone == "Europe/Zurich"
    # the excluded Monday is after the change: 10:00 CET is 09:00 UTC, not 08:00
    assert result.excluded == (datetime(2026, 10, 26, 9, 0, tzinfo=UTC),)


def test_a_new_york_series_keeps_its_local_time_too() -> None:
    start = datetime(2026, 10, 26, 9, 30, tzinfo=NEW_YORK)  # US leaves DST on 2026-11-01
    result = schedule(
        "RRULE:FREQ=WEEKLY;UNTIL=20261110T045959Z", start=start, timezone="America/New_York"
    )
    assert result.start_time == "2026-10-26T09:30:00"
    assert result.recurrence is not None
    assert result.recurrence["end_date_time"] == "2026-11-09T14:30:00Z"


# --- EXDATE ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exdate",
    [
        "EXDATE;TZID=Europe/Zurich:20261019T100000",
        "EXDATE:20261019T080000Z",
        "EXDATE;VALUE=DATE:20261019",
        "EXDATE:20261019T100000",  # floating: the event's zone
        "EXDATE;TZID=America/New_York:20261019T040000",
        "exdate;tzid=Europe/Zurich:20261019T100000",
        'EXDATE;TZID="Europe/Zurich":20261019T100000',
    ],
)
def test_exdates_in_every_form_name_the_excluded_occurrence(exdate: str) -> None:
    result = schedule("RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", exdate)
    assert result.type == 8
    assert result.excluded == (datetime(2026, 10, 19, 8, 0, tzinfo=UTC),)


def test_several_exdates_are_sorted_and_deduplicated() -> None:
    result = schedule(
        "EXDATE;TZID=Europe/Zurich:20261021T100000,20261014T100000",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10",
        "EXDATE:20261014T080000Z",
    )
    assert result.excluded == (
        datetime(2026, 10, 14, 8, 0, tzinfo=UTC),
        datetime(2026, 10, 21, 8, 0, tzinfo=UTC),
    )


def test_exdates_that_match_no_occurrence_have_no_effect() -> None:
    result = schedule(
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3",
        "EXDATE:20261019T090000Z",  # an hour off
        "EXDATE;VALUE=DATE:20261020",  # a Tuesday
        "EXDATE;VALUE=DATE:20261207",  # after the series
    )
    assert result.type == 8
    assert result.excluded == ()


def test_an_exdate_on_every_occurrence_falls_back() -> None:
    reason = fallback(schedule("RRULE:FREQ=DAILY;COUNT=2", "EXDATE;VALUE=DATE:20261012,20261013"))
    assert "removes every occurrence" in reason


@pytest.mark.parametrize(
    ("exdate", "reason"),
    [
        ("EXDATE;TZID=Nowhere/Atlantis:20261019T100000", "unknown EXDATE time zone"),
        ("EXDATE:2026-10-19", "unreadable date"),
        ("EXDATE:20261319T100000", "unreadable date"),
    ],
)
def test_unreadable_exdates_fall_back(exdate: str, reason: str) -> None:
    assert reason in fallback(schedule("RRULE:FREQ=DAILY;COUNT=5", exdate))


def test_exdates_do_not_matter_on_a_fallback() -> None:
    result = schedule("RRULE:FREQ=YEARLY;COUNT=3", "EXDATE:20271012T080000Z")
    assert result.type == 3
    assert result.excluded == ()


# --- fallbacks ------------------------------------------------------------------------------------


def test_the_fallback_is_a_meeting_without_fixed_time() -> None:
    result = schedule("RRULE:FREQ=WEEKLY;BYDAY=MO")
    assert result.type == 3
    assert (result.start_time, result.duration, result.recurrence) == (None, None, None)
    assert result.body() == {"type": 3, "timezone": "Europe/Zurich"}
    assert result.fallback_reason == "the series never ends; a fixed-time Zoom series must end"


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (["RRULE:FREQ=DAILY"], "never ends"),
        (["RRULE:FREQ=DAILY;COUNT=61"], "61 occurrences; Zoom allows at most 60"),
        (["RRULE:FREQ=DAILY;COUNT=0"], "unreadable RRULE COUNT 0"),
        (["RRULE:FREQ=DAILY;COUNT=3;UNTIL=20261231T000000Z"], "both COUNT and UNTIL"),
        (["RRULE:FREQ=YEARLY;COUNT=3"], "yearly"),
        (["RRULE:FREQ=HOURLY;COUNT=3"], "hourly"),
        (["RRULE:FREQ=MINUTELY;COUNT=3"], "minutely"),
        (["RRULE:FREQ=SECONDLY;COUNT=3"], "secondly"),
        (["RRULE:FREQ=FORTNIGHTLY;COUNT=3"], "unreadable RRULE frequency"),
        (["RRULE:COUNT=3"], "unreadable RRULE frequency"),
        (["RRULE:FREQ=DAILY;COUNT=3", "RRULE:FREQ=WEEKLY;COUNT=3"], "several RRULEs"),
        (["RRULE:FREQ=DAILY;COUNT=3", "EXRULE:FREQ=WEEKLY;COUNT=1"], "EXRULE"),
        (["RRULE:FREQ=DAILY;COUNT=3", "RDATE:20261020T080000Z"], "RDATE"),
        (["RDATE:20261020T080000Z"], "RDATE"),
        (["RRULE:FREQ=DAILY;COUNT=3", "X-SOMETHING:1"], "unsupported recurrence line X-SOMETHING"),
        (["RRULE:FREQ=MONTHLY;BYMONTH=10,11;COUNT=3"], "BYMONTH"),
        (["RRULE:FREQ=DAILY;BYYEARDAY=285;COUNT=3"], "BYYEARDAY"),
        (["RRULE:FREQ=WEEKLY;BYWEEKNO=42;COUNT=3"], "BYWEEKNO"),
        (["RRULE:FREQ=DAILY;BYHOUR=10,14;COUNT=3"], "BYHOUR"),
        (["RRULE:FREQ=DAILY;BYMINUTE=0,30;COUNT=3"], "BYMINUTE"),
        (["RRULE:FREQ=DAILY;X-NAME=1;COUNT=3"], "unsupported RRULE part X-NAME"),
        (["RRULE:FREQ=DAILY;COUNT=3;COUNT=4"], "unreadable RRULE part"),
        (["RRULE:FREQ=DAILY;INTERVAL=two;COUNT=3"], "unreadable RRULE INTERVAL"),
        (["RRULE:FREQ=DAILY;INTERVAL=91;COUNT=3"], "interval 91 is out of Zoom's range"),
        (["RRULE:FREQ=WEEKLY;INTERVAL=13;COUNT=3"], "interval 13 is out of Zoom's range"),
        (["RRULE:FREQ=MONTHLY;INTERVAL=4;COUNT=3"], "interval 4 is out of Zoom's range"),
        (["RRULE:FREQ=DAILY;INTERVAL=0;COUNT=3"], "interval 0 is out of Zoom's range"),
        (["RRULE:FREQ=MONTHLY;BYMONTHDAY=12,26;COUNT=3"], "several days of the month"),
        (["RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3"], "from the end of the month"),
        (["RRULE:FREQ=MONTHLY;BYMONTHDAY=32;COUNT=3"], "unreadable BYMONTHDAY"),
        (["RRULE:FREQ=MONTHLY;BYMONTHDAY=12;BYDAY=MO;COUNT=3"], "combined with BYDAY"),
        (["RRULE:FREQ=MONTHLY;BYSETPOS=1;COUNT=3"], "BYSETPOS"),
        (["RRULE:FREQ=MONTHLY;BYDAY=MO;COUNT=3"], "every such weekday"),
        (["RRULE:FREQ=MONTHLY;BYDAY=2MO,4MO;COUNT=3"], "several weekdays"),
        (["RRULE:FREQ=MONTHLY;BYDAY=5MO;COUNT=3"], "weekday number 5"),
        (["RRULE:FREQ=MONTHLY;BYDAY=-2MO;COUNT=3"], "weekday number -2"),
        (["RRULE:FREQ=MONTHLY;BYDAY=MO;BYSETPOS=2,4;COUNT=3"], "BYSETPOS combination"),
        (["RRULE:FREQ=MONTHLY;BYDAY=2MO;BYSETPOS=1;COUNT=3"], "BYSETPOS combination"),
        (["RRULE:FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1;COUNT=3"], "several weekdays"),
        (["RRULE:FREQ=MONTHLY;BYDAY=XX;COUNT=3"], "unreadable BYDAY"),
        (["RRULE:FREQ=WEEKLY;BYDAY=2MO;COUNT=3"], "numbered weekdays"),
        (["RRULE:FREQ=WEEKLY;BYMONTHDAY=12;COUNT=3"], "days of the month in a weekly rule"),
        (["RRULE:FREQ=DAILY;BYMONTHDAY=12;COUNT=3"], "days of the month in a daily rule"),
        (["RRULE:FREQ=DAILY;INTERVAL=2;BYDAY=MO,WE;COUNT=3"], "weekdays and an interval"),
        (["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=3"], "start is not an occurrence"),
        (["RRULE:FREQ=MONTHLY;BYMONTHDAY=13;COUNT=3"], "start is not an occurrence"),
        (["RRULE:FREQ=DAILY;UNTIL=20261001T000000Z"], "start is not an occurrence"),
        (["RRULE:FREQ=DAILY;UNTIL=2026-12-01"], "unreadable date"),
    ],
)
def test_rules_zoom_cannot_express_fall_back_with_a_reason(lines: list[str], reason: str) -> None:
    assert reason in fallback(schedule(*lines))


def test_a_series_through_months_without_its_day_falls_back() -> None:
    march_31 = datetime(2026, 3, 31, 10, 0, tzinfo=ZURICH)
    reason = fallback(schedule("RRULE:FREQ=MONTHLY;COUNT=3", start=march_31))
    assert "skips months without day 31" in reason


def test_an_all_day_series_falls_back() -> None:
    midnight = datetime(2026, 10, 12, tzinfo=ZURICH)
    reason = fallback(
        schedule("RRULE:FREQ=DAILY;COUNT=3", start=midnight, minutes=1440, all_day=True)
    )
    assert reason.startswith("all-day recurring event")


# --- occurrence ids -------------------------------------------------------------------------------


def test_occurrence_id_is_the_start_in_epoch_milliseconds() -> None:
    assert occurrence_id(datetime(2026, 12, 9, 9, 0, tzinfo=UTC)) == "1796806800000"
    assert occurrence_id(datetime(2026, 12, 9, 10, 0, tzinfo=ZURICH)) == "1796806800000"
    assert occurrence_id(datetime(1970, 1, 1, 0, 0, 0, 1500, tzinfo=UTC)) == "1"


def test_excluded_occurrences_give_zoom_occurrence_ids() -> None:
    result = schedule("RRULE:FREQ=DAILY;COUNT=3", "EXDATE:20261013T080000Z")
    assert [occurrence_id(start) for start in result.excluded] == ["1791878400000"]


def test_occurrence_id_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        occurrence_id(datetime(2026, 12, 9, 9, 0))
