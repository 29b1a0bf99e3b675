"""Zoom JSON at the edge, without I/O: join info, topics, agendas, error answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from hybridcal.connectors.errors import (
    AuthError,
    ConnectorError,
    NotFoundError,
    ThrottledError,
    TransientError,
)
from hybridcal.connectors.meetings import zoom_wire as wire
from hybridcal.connectors.meetings.base import MeetingRefusedError, MeetingRequest
from hybridcal.core.model import JoinInfo, PhoneNumber, ProblemKind

NOW = datetime(2030, 3, 4, 15, 30, 12, tzinfo=UTC)
KEY = "0123456789abcdef0123456789abcdef"
START_URL = "https://example.zoom.us/s/85746065432?zak=eyJzM2NyM3QtaG9zdC10b2tlbg"


def meeting(**changes: Any) -> dict[str, Any]:
    """A create answer shaped like Zoom's, with the fields that matter here."""
    body: dict[str, Any] = {
        "uuid": "aDYlohsHRtCd4ii1uC2+hA==",
        "id": 85746065432,
        "host_id": "KDcuGIm1QgePTO8WbOqwIQ",
        "host_email": "alice@example.com",
        "topic": "Weekly sync",
        "type": 2,
        "status": "waiting",
        "start_time": "2030-03-05T09:00:00Z",
        "duration": 30,
        "timezone": "Europe/Zurich",
        "agenda": f"notes\n\nhybridcal-ref: {KEY}",
        "created_at": "2030-03-04T08:00:00Z",
        "start_url": START_URL,
        "join_url": "https://example.zoom.us/j/85746065432?pwd=Qm9vZ1l2ZUpXb3FnR3pLcFZ3dz09",
        "password": "Xk3-b9QzR5",
        "h323_password": "482913657",
        "pstn_password": "482913657",
        "encrypted_password": "Qm9vZ1l2ZUpXb3FnR3pLcFZ3dz09",
        "settings": {
            "join_before_host": False,
            "global_dial_in_countries": ["CH", "US"],
            "global_dial_in_numbers": [
                {
                    "country": "CH",
                    "country_name": "Switzerland",
                    "city": "Zurich",
                    "number": "+41 43 210 71 08",
                    "type": "toll",
                },
                {"country": "US", "number": "+1 646 558 8656", "type": "toll"},
                {"country": "DE", "country_name": "Germany", "type": "toll"},  # no number
                "not an object",
            ],
        },
        "pre_schedule": False,
    }
    body.update(changes)
    return body


def request(**changes: Any) -> MeetingRequest:
    values: dict[str, Any] = {
        "idempotency_key": KEY,
        "topic": "Weekly sync",
        "start": NOW,
        "end": NOW + timedelta(minutes=30),
        "timezone": "Europe/Zurich",
        "organizer": "alice@example.com",
        "organizer_name": "Alice Liddell",
    }
    values.update(changes)
    return MeetingRequest(**values)


def answer(status: int, code: int | None, message: str, retry_after: str | None = None) -> Any:
    body: dict[str, Any] = {"message": message}
    if code is not None:
        body["code"] = code
    return wire.ZoomAnswer(status, body, retry_after)


# -- join_info -------------------------------------------------------------------------------------


def test_join_info_of_a_full_meeting() -> None:
    join = wire.join_info(meeting())
    assert join == JoinInfo(
        system="zoom",
        meeting_id="85746065432",
        join_url="https://example.zoom.us/j/85746065432?pwd=Qm9vZ1l2ZUpXb3FnR3pLcFZ3dz09",
        passcode="Xk3-b9QzR5",
        phones=(
            PhoneNumber("+41 43 210 71 08", country="Switzerland", label="Zurich"),
            PhoneNumber("+1 646 558 8656", country="US", label=None),
        ),
        phone_passcode="482913657",
        sip="85746065432.482913657@zoomcrc.com",
    )


def test_join_info_never_carries_the_start_url() -> None:
    join = wire.join_info(meeting())
    shown = repr(join)
    assert START_URL not in shown
    assert "zak" not in shown
    assert "/s/" not in shown


def test_join_info_without_optional_fields() -> None:
    bare = {"id": 85746065432, "join_url": "https://example.zoom.us/j/85746065432"}
    join = wire.join_info(bare)
    assert join.passcode is None
    assert join.phone_passcode is None
    assert join.phones == ()
    assert join.sip == "85746065432@zoomcrc.com"
    assert join.extra == ()


def test_join_info_uses_the_passcode_for_sip_without_an_h323_passcode() -> None:
    join = wire.join_info(meeting(h323_password="", pstn_password=123456, settings=None))
    assert join.sip == "85746065432.Xk3-b9QzR5@zoomcrc.com"
    assert join.phone_passcode == "123456"  # numbers in JSON are read as text
    assert join.phones == ()


def test_join_info_without_a_passcode_keeps_the_room_code_in_the_sip_string() -> None:
    join = wire.join_info(meeting(password=""))
    assert join.passcode is None
    assert join.sip == "85746065432.482913657@zoomcrc.com"


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"id": 85746065432},
        {"join_url": "https://example.zoom.us/j/1"},
        {"id": "85746065432", "join_url": "https://example.zoom.us/j/85746065432"},
        {"id": 85746065432, "join_url": ""},
        {"id": 85746065432, "join_url": None},
        {"id": None, "join_url": "https://example.zoom.us/j/1"},
    ],
)
def test_a_malformed_meeting_is_a_connector_error(broken: dict[str, Any]) -> None:
    with pytest.raises(ConnectorError, match="no id or join_url"):
        wire.join_info(broken)


def test_parse_body() -> None:
    assert wire.parse_body("") == {}
    assert wire.parse_body("  \n") == {}
    assert wire.parse_body('{"code": 3001, "message": "gone"}') == {"code": 3001, "message": "gone"}
    assert wire.parse_body("[1, 2]") == {}
    assert wire.parse_body("<html>Bad gateway</html>") == {"message": "<html>Bad gateway</html>"}
    assert len(wire.parse_body("x" * 1000)["message"]) == 300


def test_zoom_answer_code_and_message() -> None:
    assert wire.ZoomAnswer(400, {"code": 300, "message": "bad"}).code == 300
    assert wire.ZoomAnswer(400, {"code": "300"}).code is None
    assert wire.ZoomAnswer(400, {}).message == ""
    assert len(wire.ZoomAnswer(400, {"message": "m" * 400}).message) == 300


# -- topic -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{title}", "Weekly sync"),
        ("{organizer}: {title}", "alice@example.com: Weekly sync"),
        ("{organizer_name} - {title}", "Alice Liddell - Weekly sync"),
        ("[hybrid]   {title}  ", "[hybrid] Weekly sync"),
        ("{{title}}", "{title}"),
    ],
)
def test_topic_placeholders(template: str, expected: str) -> None:
    assert wire.topic(template, request()) == expected


def test_topic_falls_back_when_names_are_missing() -> None:
    assert wire.topic("{organizer_name}", request(organizer_name=None)) == "alice@example.com"
    assert wire.topic("{organizer_name}", request(organizer=None, organizer_name=None)) == (
        "Weekly sync"
    )
    assert wire.topic("{title}", request(topic="   ")) == "Meeting"
    assert wire.topic("{title}", request(topic="a\n\tb")) == "a b"


def test_topic_is_cut_at_200_characters() -> None:
    long = "x" * 250
    assert wire.topic("{title}", request(topic=long)) == "x" * 200
    assert len(wire.topic("{organizer_name}: {title}", request(topic=long))) == 200
    assert wire.topic("{title}", request(topic="y" * 200)) == "y" * 200


# -- agenda ----------------------------------------------------------------------------------------


def test_agenda_round_trip() -> None:
    text = wire.agenda(request(agenda="  Bring the numbers.  "))
    assert text == f"hybridcal-ref: {KEY}\n\nBring the numbers."
    assert wire.key_in_agenda(text) == KEY


def test_agenda_without_description_is_the_key_line() -> None:
    text = wire.agenda(request(agenda=""))
    assert text == f"hybridcal-ref: {KEY}"
    assert wire.key_in_agenda(text) == KEY


def test_a_long_description_is_shortened_and_keeps_the_key() -> None:
    text = wire.agenda(request(agenda="word " * 1000))
    assert len(text) <= wire.MAX_AGENDA == 2000
    assert len(text) >= 1990
    assert text.startswith(f"hybridcal-ref: {KEY}\n\nword ")
    assert text.endswith("…")
    assert wire.key_in_agenda(text) == KEY


def test_our_key_comes_first_whatever_the_description_quotes() -> None:
    copied = f"copied from another invitation: hybridcal-ref: {'f' * 32}"
    text = wire.agenda(request(agenda=copied))
    assert wire.key_in_agenda(text) == KEY


@pytest.mark.parametrize(
    "agenda",
    [None, 42, "", "no key here", "hybridcal-ref: 1234", f"hybridcal-ref: {KEY.upper()}"],
)
def test_no_key_in_agenda(agenda: object) -> None:
    assert wire.key_in_agenda(agenda) is None


# -- errors ----------------------------------------------------------------------------------------


DAILY = (
    "You have exceeded the daily rate limit (100) of Meeting Create/Update API requests "
    "permitted for this particular user. You may resume these requests at GMT 00:00:00."
)
PER_SECOND = "You have reached the maximum per-second rate limit for this API. Try again later."


def test_the_daily_limit_is_a_refusal_until_after_midnight_utc() -> None:
    err = wire.error("zoom meetings.create", answer(429, 429, DAILY), host="bob@x.org", now=NOW)
    assert isinstance(err, MeetingRefusedError)
    assert err.problem.kind is ProblemKind.DAILY_LIMIT
    assert err.retry_at == datetime(2030, 3, 5, 0, 1, tzinfo=UTC)
    assert "bob@x.org" in err.problem.detail


def test_the_daily_limit_ignores_retry_after() -> None:
    later = answer(429, 429, DAILY, retry_after="7")
    err = wire.error("zoom meetings.update", later, host=None, now=NOW)
    assert isinstance(err, MeetingRefusedError)
    assert err.retry_at == wire.next_utc_midnight(NOW)
    assert "the organiser" in err.problem.detail


@pytest.mark.parametrize(
    ("retry_after", "seconds"),
    [
        ("7", 7.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("2030-03-04T15:30:42Z", 30.0),
        ("2030-03-04T15:30:42", 30.0),  # no zone: UTC
        ("2030-03-04T16:30:42+01:00", 30.0),
        ("2030-03-04T00:00:00Z", 0.0),  # already past
        (None, None),
        ("", None),
        ("soon", None),
    ],
)
def test_a_per_second_429_is_throttled_with_retry_after(
    retry_after: str | None, seconds: float | None
) -> None:
    err = wire.error(
        "zoom meetings.get", answer(429, 429, PER_SECOND, retry_after), host=None, now=NOW
    )
    assert type(err) is ThrottledError
    assert err.retry_after == seconds
    assert "HTTP 429" in str(err)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(status: int) -> None:
    err = wire.error("zoom meetings.get", answer(status, None, "oops"), host=None, now=NOW)
    assert type(err) is TransientError
    assert f"HTTP {status}" in str(err)


def test_code_124_is_an_auth_error_about_the_token() -> None:
    err = wire.error(
        "zoom meetings.get", answer(401, 124, "Invalid access token."), host=None, now=NOW
    )
    assert type(err) is AuthError
    assert "access token" in str(err)
    assert "activated" in str(err)


def test_a_401_without_code_is_an_auth_error() -> None:
    err = wire.error("zoom meetings.get", answer(401, None, "Unauthorized"), host=None, now=NOW)
    assert type(err) is AuthError


def test_code_4711_names_the_missing_scopes_from_the_message() -> None:
    message = (
        "Invalid access token, does not contain scopes:"
        "[meeting:write:admin, meeting:write:meeting:admin]."
    )
    err = wire.error("zoom meetings.create", answer(400, 4711, message), host=None, now=NOW)
    assert type(err) is AuthError
    hint = str(err).split(message, 1)[1]
    assert "(meeting:write:admin, meeting:write:meeting:admin, or a granular equivalent)" in hint
    assert "Scopes page" in hint
    assert "user:read:admin" not in hint


def test_an_auth_error_reads_without_a_double_full_stop() -> None:
    message = "Invalid access token, does not contain scopes:[user:read:admin]."
    err = wire.error("zoom users.get", answer(400, 4711, message), host=None, now=NOW)
    assert ".." not in str(err)


def test_code_4711_without_named_scopes_lists_the_classic_ones() -> None:
    err = wire.error("zoom users.get", answer(400, 4711, "Missing scopes."), host=None, now=NOW)
    assert type(err) is AuthError
    for scope in ("meeting:read:admin", "meeting:write:admin", "user:read:admin"):
        assert scope in str(err)


def test_code_4700_is_an_auth_error() -> None:
    err = wire.error("zoom users.get", answer(400, 4700, "Invalid token."), host=None, now=NOW)
    assert type(err) is AuthError


@pytest.mark.parametrize(
    ("status", "code"),
    [(404, 1001), (400, 1001), (400, 1120), (400, 1122)],
)
def test_no_zoom_user_is_a_host_refusal(status: int, code: int | None) -> None:
    err = wire.error(
        "zoom meetings.create",
        answer(status, code, "User does not exist."),
        host="x@y.org",
        now=NOW,
    )
    assert isinstance(err, MeetingRefusedError)
    assert err.problem.kind is ProblemKind.HOST_NOT_FOUND
    assert err.retry_at == NOW + timedelta(hours=1)
    assert "x@y.org" in err.problem.detail
    assert "zoom.fallback_host" in err.problem.detail
    assert "User does not exist." in err.problem.detail


def test_code_1001_without_a_host_names_the_organiser() -> None:
    err = wire.error(
        "zoom users.get", answer(404, 1001, "User does not exist."), host=None, now=NOW
    )
    assert isinstance(err, MeetingRefusedError)
    assert "the organiser" in err.problem.detail


@pytest.mark.parametrize(
    ("code", "message"),
    [(1133, "No scheduling privilege."), (200, "No permission to schedule for this user.")],
)
def test_no_scheduling_privilege_is_a_refusal(code: int, message: str) -> None:
    err = wire.error(
        "zoom meetings.create", answer(400, code, message), host="alice@x.org", now=NOW
    )
    assert isinstance(err, MeetingRefusedError)
    assert err.problem.kind is ProblemKind.NO_PRIVILEGE
    assert err.retry_at == NOW + timedelta(hours=1)
    assert "alice@x.org" in err.problem.detail
    assert "Schedule privilege" in err.problem.detail


def test_code_200_without_permission_wording_is_not_a_privilege_refusal() -> None:
    err = wire.error(
        "zoom meetings.create", answer(400, 200, "Something else."), host=None, now=NOW
    )
    assert type(err) is ConnectorError


@pytest.mark.parametrize(("status", "host"), [(404, "alice@x.org"), (404, None), (400, None)])
def test_code_3001_is_not_found(status: int, host: str | None) -> None:
    err = wire.error(
        "zoom meetings.delete", answer(status, 3001, "Meeting does not exist."), host=host, now=NOW
    )
    assert type(err) is NotFoundError
    assert "3001" in str(err)


@pytest.mark.parametrize("host", [None, "alice@x.org"])
def test_a_404_without_a_zoom_code_points_at_the_api_root(host: str | None) -> None:
    # a wrong zoom.api_root answers 404 for everything: neither "no user" nor "gone"
    err = wire.error("zoom meetings.get", answer(404, None, "Not found"), host=host, now=NOW)
    assert type(err) is ConnectorError
    assert "zoom.api_root" in str(err)


def test_code_3000_on_an_occurrence_call_is_not_found() -> None:
    err = wire.error(
        "zoom meetings.delete_occurrence",
        answer(400, 3000, "Invalid occurrence_id."),
        host=None,
        now=NOW,
    )
    assert type(err) is NotFoundError


@pytest.mark.parametrize(("status", "code"), [(400, 300), (400, 3000), (409, None), (422, 1)])
def test_other_client_errors_are_plain_connector_errors(status: int, code: int | None) -> None:
    err = wire.error(
        "zoom meetings.update", answer(status, code, "Validation Failed."), host=None, now=NOW
    )
    assert type(err) is ConnectorError
    assert str(err) == f"zoom meetings.update: HTTP {status} (Zoom code {code}) Validation Failed"


def test_refused_wraps_any_other_refusal() -> None:
    err = wire.refused(ConnectorError("zoom meetings.create: HTTP 400 bad passcode"), NOW)
    assert err.problem.kind is ProblemKind.REFUSED
    assert err.retry_at == NOW + timedelta(hours=6)
    assert "bad passcode" in err.problem.detail
    assert str(err) == err.problem.detail


@pytest.mark.parametrize(
    ("now", "midnight"),
    [
        (NOW, datetime(2030, 3, 5, 0, 1, tzinfo=UTC)),
        (datetime(2030, 3, 4, 0, 0, tzinfo=UTC), datetime(2030, 3, 5, 0, 1, tzinfo=UTC)),
        (datetime(2030, 3, 4, 23, 59, 59, tzinfo=UTC), datetime(2030, 3, 5, 0, 1, tzinfo=UTC)),
        (datetime(2030, 12, 31, 12, 0, tzinfo=UTC), datetime(2031, 1, 1, 0, 1, tzinfo=UTC)),
        (datetime(2032, 2, 28, 12, 0, tzinfo=UTC), datetime(2032, 2, 29, 0, 1, tzinfo=UTC)),
        # 23:30 in New York is already the next day in UTC
        (
            datetime(2030, 3, 4, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2030, 3, 6, 0, 1, tzinfo=UTC),
        ),
    ],
)
def test_next_utc_midnight(now: datetime, midnight: datetime) -> None:
    got = wire.next_utc_midnight(now)
    assert got == midnight
    assert got.utcoffset() == timedelta(0)
