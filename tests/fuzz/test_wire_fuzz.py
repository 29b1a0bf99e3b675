"""The Google and Graph event parsers on hostile JSON: an Event or `MalformedEventError` (which
the connectors log and skip), never another exception, within a bounded time per input.

Inputs are dicts built from the real field names with random shapes and values: wrong types,
huge strings, nested lists, None, numbers, bad and out-of-range dates (year 1 and 9999 with
offsets), bad time-zone names (a tzdata directory such as "America", absolute or overlong paths).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz.fuzz_settings import fuzz

from hybridcal.connectors.calendars import google_wire, microsoft_wire
from hybridcal.connectors.errors import MalformedEventError
from hybridcal.core.model import Event

PER_INPUT_SECONDS = 1.0  # a hard bound per parse, generous for a shared 2-core machine
CALENDAR = "google:alice@example.com"

# -- leaves -------------------------------------------------------------------------------------

ZONES = st.one_of(
    st.sampled_from(
        ["UTC", "Europe/Paris", "Pacific/Kiritimati", "Etc/GMT+12", "Etc/GMT-14",
         "Pacific Standard Time", "W. Europe Standard Time", "tzone://Microsoft/Utc"]
    ),
    st.sampled_from(  # names that are no zone, some of which make ZoneInfo raise OSError
        ["America", "Etc", "Europe", "posixrules", "zone.tab", "tzdata.zi", "/etc/passwd",
         "../UTC", ".", "Europe/../UTC", "UTC\x00", "a" * 300, "tzone://Microsoft/Custom",
         "Customized Time Zone", ""]
    ),
    st.text(max_size=40),
)  # fmt: skip
OFFSETS = st.sampled_from(["", "Z", "+00:00", "+14:00", "-12:00", "+23:59", "-23:59", "+99:00"])


@st.composite
def date_strings(draw: st.DrawFn) -> str:
    # mostly valid dates, often at the edges of what datetime can hold
    if draw(st.booleans()):
        return draw(EDGE_DATES)
    year = draw(st.sampled_from([1, 2, 1970, 2024, 2038, 9998, 9999]) | st.integers(0, 10000))
    month = draw(st.sampled_from([1, 12]) | st.integers(0, 13))
    day = draw(st.sampled_from([1, 28, 31]) | st.integers(0, 32))
    return f"{year:04d}-{month:02d}-{day:02d}"


# the first and last instants datetime can hold, moved out of range by an offset or a zone
EDGE_DATES = st.sampled_from(["0001-01-01", "9999-12-31"])
EDGE_DATETIMES = st.sampled_from(
    ["0001-01-01T00:00:00", "0001-01-01T00:30:00+14:00", "9999-12-31T23:59:59",
     "9999-12-31T23:00:00-05:00", "9999-12-31T23:59:59.9999999-23:59", "0001-01-01T00:00:00Z"]
)  # fmt: skip


@st.composite
def datetime_strings(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(EDGE_DATETIMES)
    hour = draw(st.sampled_from([0, 23]) | st.integers(0, 25))
    minute = draw(st.sampled_from([0, 59]) | st.integers(0, 61))
    fraction = draw(st.sampled_from(["", ".0000000", ".5", ".1234567"]))
    return f"{draw(date_strings())}T{hour:02d}:{minute:02d}:00{fraction}{draw(OFFSETS)}"


HUGE = st.builds(
    lambda piece, times: piece * times,
    st.sampled_from(["x", "é", "\x00", "<p>", "@zoom ", "https://zoom.us/j/1?pwd=", "[{"]),
    st.sampled_from([1000, 100_000, 1_000_000]),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    HUGE,
    date_strings(),
    datetime_strings(),
    ZONES,
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


# -- shapes: the real field names, each with a plausible value, junk or absent --------------------

Shape = Any  # a strategy (leaf), a dict of field -> Shape (object), or a one-item list (array)


def build(shape: Shape, *, junk: bool = True) -> st.SearchStrategy[Any]:
    """A value for ``shape``: one of its shape, or with ``junk`` sometimes anything at all.

    Without junk every value has the right type, so the input gets past validation and reaches
    the dates, zones, markers and recurrences; with junk, validation itself is exercised."""
    if isinstance(shape, dict):
        fields = {name: build(sub, junk=junk) for name, sub in shape.items()}
        plausible: st.SearchStrategy[Any] = st.fixed_dictionaries({}, optional=fields)
    elif isinstance(shape, list):
        plausible = st.lists(build(shape[0], junk=junk), max_size=4)
    else:
        plausible = shape
    return st.one_of(plausible, plausible, plausible, JUNK) if junk else plausible


def event(shape: dict[str, Shape], *, required: dict[str, st.SearchStrategy[Any]]) -> Any:
    """An event object: its required fields present and the rest optional, well typed (twice
    as likely: those reach the parser's logic) or with junk anywhere; or nothing required."""
    typed = {name: build(sub, junk=False) for name, sub in shape.items() if name not in required}
    fields = {name: build(sub) for name, sub in shape.items() if name not in required}
    well_typed = st.fixed_dictionaries(required, optional=typed)
    return st.one_of(
        well_typed,
        well_typed,
        st.fixed_dictionaries(required, optional=fields),
        st.fixed_dictionaries({}, optional={**fields, **required}),
    )


TEXT = st.one_of(st.text(max_size=40), HUGE)
BOOL = st.booleans()
IDS = st.sampled_from(["evt1", "evt1_20300304T090000Z", "AAMkAGI2"]) | st.text(max_size=20)

G_TIME = {"date": date_strings(), "dateTime": datetime_strings(), "timeZone": ZONES}
G_PERSON = {"email": TEXT, "displayName": TEXT, "self": BOOL}
G_EVENT: dict[str, Shape] = {
    "etag": TEXT,
    "status": st.sampled_from(["confirmed", "tentative", "cancelled", "other"]),
    "summary": TEXT,
    "location": TEXT,
    "description": TEXT,
    "visibility": st.sampled_from(["default", "private", "confidential", "public"]),
    "iCalUID": TEXT,
    "start": G_TIME,
    "end": G_TIME,
    "originalStartTime": G_TIME,
    "organizer": G_PERSON,
    "attendees": [
        {**G_PERSON, "resource": BOOL, "organizer": BOOL, "optional": BOOL,
         "responseStatus": st.sampled_from(["accepted", "declined", "needsAction"])}
    ],
    "recurrence": [st.sampled_from(["RRULE:FREQ=WEEKLY;COUNT=3", "EXDATE:20300304", "RRULE:"])],
    "recurringEventId": IDS,
    "conferenceData": {
        "conferenceId": TEXT,
        "createRequest": {"requestId": TEXT, "status": {"statusCode": TEXT}},
        "conferenceSolution": {"key": {"type": st.sampled_from(["hangoutsMeet", "addOn"])}},
        "entryPoints": [
            {"entryPointType": st.sampled_from(["video", "phone", "more"]), "uri": TEXT,
             "label": TEXT, "pin": TEXT, "passcode": TEXT, "regionCode": TEXT}
        ],
    },
    "extendedProperties": {
        "private": st.dictionaries(
            st.sampled_from(["hybridcal.system", "hybridcal.request", "hybridcal.hash", "x"]),
            TEXT,
        ),
        "shared": st.dictionaries(st.text(max_size=8), TEXT),
    },
    "updated": datetime_strings(),
    "eventType": st.sampled_from(["default", "outOfOffice", "focusTime", "workingLocation"]),
}  # fmt: skip

M_TIME = {"dateTime": datetime_strings(), "timeZone": ZONES}
M_ADDRESS = {"emailAddress": {"name": TEXT, "address": TEXT}}
M_MARKER = st.one_of(
    st.sampled_from(
        [
            '{"hybridcal.system":"zoom","hybridcal.request":"r1"}',
            "[]",
            "{}",
            "-",
            "[" * 100_000 + "]" * 100_000,  # deep enough to exhaust json's recursion
            '{"a":' * 50_000 + "1" + "}" * 50_000,
        ]
    ),
    TEXT,
)
M_EVENT: dict[str, Shape] = {
    "@odata.etag": TEXT,
    "subject": TEXT,
    "body": {"contentType": st.sampled_from(["html", "text"]), "content": TEXT},
    "location": {"displayName": TEXT},
    "locations": [{"displayName": TEXT}],
    "start": M_TIME,
    "end": M_TIME,
    "originalStartTimeZone": ZONES,
    "originalEndTimeZone": ZONES,
    "isAllDay": BOOL,
    "isCancelled": BOOL,
    "isOrganizer": BOOL,
    "sensitivity": st.sampled_from(["normal", "private", "confidential", "personal"]),
    "organizer": M_ADDRESS,
    "attendees": [{**M_ADDRESS, "type": TEXT, "status": {"response": TEXT}}],
    "iCalUId": TEXT,
    "type": st.sampled_from(["singleInstance", "occurrence", "exception", "seriesMaster"]),
    "seriesMasterId": IDS,
    "originalStart": datetime_strings(),
    "recurrence": {
        "pattern": {
            "type": st.sampled_from(
                ["daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly",
                 "relativeYearly", "hourly"]
            ),
            "interval": st.integers(-1, 1000),
            "month": st.integers(-1, 13),
            "dayOfMonth": st.integers(-1, 32),
            "daysOfWeek": [st.sampled_from(["monday", "Sunday", "funday"])],
            "firstDayOfWeek": st.sampled_from(["sunday", "monday"]),
            "index": st.sampled_from(["first", "second", "last", "fifth"]),
        },
        "range": {
            "type": st.sampled_from(["noEnd", "endDate", "numbered", "forever"]),
            "startDate": date_strings(),
            "endDate": date_strings(),
            "recurrenceTimeZone": ZONES,
            "numberOfOccurrences": st.integers(-1, 10**9),
        },
    },
    "isOnlineMeeting": BOOL,
    "onlineMeetingProvider": st.sampled_from(["teamsForBusiness", "unknown"]),
    "onlineMeeting": {"joinUrl": TEXT, "conferenceId": TEXT},
    "onlineMeetingUrl": TEXT,
    "singleValueExtendedProperties": [
        {"id": st.sampled_from([microsoft_wire.MARKER_PROPERTY_ID, "String x"]), "value": M_MARKER}
    ],
    "lastModifiedDateTime": datetime_strings(),
}  # fmt: skip

# a time object as the providers write it (one of date / dateTime, maybe a zone), or any shape
G_TIMES = st.one_of(
    st.fixed_dictionaries({"dateTime": datetime_strings()}, optional={"timeZone": ZONES}),
    st.fixed_dictionaries({"date": date_strings()}, optional={"timeZone": ZONES}),
    build(G_TIME),
)
M_TIMES = st.one_of(
    st.fixed_dictionaries({"dateTime": datetime_strings(), "timeZone": ZONES}), build(M_TIME)
)
GOOGLE_EVENTS = st.one_of(
    event(G_EVENT, required={"id": IDS, "start": G_TIMES, "end": G_TIMES}),
    event(G_EVENT, required={"id": IDS}),
)
GRAPH_EVENTS = st.one_of(
    event(M_EVENT, required={"id": IDS, "start": M_TIMES, "end": M_TIMES}),
    event(M_EVENT, required={"id": IDS}),
    # a delta tombstone
    st.fixed_dictionaries({"id": IDS | JUNK, "@removed": st.just({"reason": "deleted"}) | JUNK}),
)
DEFAULT_TZ = st.none() | ZONES


Parser = Callable[..., Event]


def parse_within_bound(parse: Parser, data: Any, default_tz: str | None) -> None:
    started = time.perf_counter()
    try:
        result = parse(data, CALENDAR, default_tz=default_tz)
    except MalformedEventError:
        pass  # the one documented failure: the connector logs it and skips the event
    else:
        assert isinstance(result, Event)
        if (
            result.start is not None
            and result.end is not None
            and result.status.value != "cancelled"
        ):
            assert result.start <= result.end
    assert time.perf_counter() - started < PER_INPUT_SECONDS


@fuzz
@given(GOOGLE_EVENTS, DEFAULT_TZ)
def test_google_parser_returns_an_event_or_malformed(data: Any, default_tz: str | None) -> None:
    parse_within_bound(google_wire.parse_event, data, default_tz)


@fuzz
@given(GRAPH_EVENTS, DEFAULT_TZ)
def test_graph_parser_returns_an_event_or_malformed(data: Any, default_tz: str | None) -> None:
    parse_within_bound(microsoft_wire.parse_event, data, default_tz)


# -- the inputs the fuzzing found, kept as plain examples ----------------------------------------


def test_known_hostile_inputs() -> None:
    google = [
        {
            "id": "a",
            "start": {"dateTime": "9999-12-31T23:00:00-05:00"},
            "end": {"date": "2030-01-01"},
        },
        {"id": "b", "start": {"dateTime": "0001-01-01T00:30:00+14:00"}},
        {"id": "c", "start": {"date": "0001-01-01", "timeZone": "Pacific/Kiritimati"}},
        {"id": "d", "start": {"dateTime": "2030-03-04T09:00:00", "timeZone": "America"}},
        {"id": "e", "start": {"date": "2030-03-04", "timeZone": "a" * 300}},
        {"id": "f", "updated": "9999-12-31T23:59:59-23:59"},
    ]
    graph = [
        {"id": "a", "start": {"dateTime": "9999-12-31T23:00:00", "timeZone": "Pacific/Kiritimati"},
         "end": {"dateTime": "9999-12-31T23:00:00", "timeZone": "UTC"}},
        {"id": "b", "start": {"dateTime": "2030-03-04T09:00:00", "timeZone": "America"},
         "end": {"dateTime": "2030-03-04T10:00:00", "timeZone": "Etc"}},
        {"id": "c", "originalStartTimeZone": "a" * 300,
         "start": {"dateTime": "2030-03-04T09:00:00"}, "end": {"dateTime": "2030-03-04T10:00:00"}},
        {"id": "d", "start": {"dateTime": "2030-03-04T09:00:00"},
         "end": {"dateTime": "2030-03-04T10:00:00"},
         "singleValueExtendedProperties": [
             {"id": microsoft_wire.MARKER_PROPERTY_ID, "value": "[" * 100_000 + "]" * 100_000}
         ]},
    ]  # fmt: skip
    for data in google:
        parse_within_bound(google_wire.parse_event, data, None)
    for data in graph:
        parse_within_bound(microsoft_wire.parse_event, data, None)
