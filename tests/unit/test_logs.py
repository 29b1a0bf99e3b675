"""Logging pipeline and the secret redactor."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from hybridcal.logs import (
    CHATTY_LOGGERS,
    REDACTED,
    configure_logging,
    is_secret_key,
    redact_secrets,
    redact_text,
    redact_value,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9"
    ".eyJpc3MiOiJzYUBleGFtcGxlLmlhbS5nc2VydmljZWFjY291bnQuY29tIn0"
    ".c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
)
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n"
    "-----END PRIVATE KEY-----\n"
)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    factory = logging.getLogRecordFactory()
    levels = {name: logging.getLogger(name).level for name in CHATTY_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.setLogRecordFactory(factory)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)
    structlog.reset_defaults()


def run(event_dict: dict[str, Any]) -> dict[str, Any]:
    return dict(redact_secrets(None, "info", dict(event_dict)))


# -- keys -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "token",
        "access_token",
        "accessToken",
        "refresh_token",
        "secret",
        "client_secret",
        "CLIENT-SECRET",
        "password",
        "Passcode",
        "pwd",
        "private_key",
        "Authorization",
        "assertion",
        "key",
        "channel_token",
        "X-Goog-Channel-Token",
        "clientState",
        "device_token",
        "webhook_secret",
        # provider cursors replay a mailbox's changes: secrets too
        "sync_token",
        "nextPageToken",
        "$deltatoken",
        "skiptoken",
        "tk",
        "zak",
    ],
)
def test_secret_keys_are_redacted(key: str) -> None:
    assert is_secret_key(key)
    assert run({key: "s3cr3t-value", "event": "x"})[key] == REDACTED


@pytest.mark.parametrize(
    "key", ["calendar_key", "event_key", "code", "status_code", "event", "keyword", "cursor_age"]
)
def test_ordinary_keys_are_kept(key: str) -> None:
    assert not is_secret_key(key)
    assert run({key: "google:alice@example.com"})[key] == "google:alice@example.com"


def test_nested_containers_are_redacted_without_mutating_the_caller() -> None:
    headers = {"Authorization": "Bearer abc", "Content-Type": "application/json"}
    body: dict[str, Any] = {
        "items": [{"id": "1", "conferenceData": {"passcode": "123456"}}],
        "token": None,
    }
    pair = ("ok", {"clientState": "cs-1"})
    out = run({"event": "sent", "headers": headers, "body": body, "pair": pair})
    assert out["headers"] == {"Authorization": REDACTED, "Content-Type": "application/json"}
    assert out["body"]["items"][0]["conferenceData"]["passcode"] == REDACTED
    assert out["body"]["token"] is None  # absence is not a secret
    assert out["pair"] == ["ok", {"clientState": REDACTED}]
    assert headers["Authorization"] == "Bearer abc"  # the caller's objects are untouched
    assert body["items"][0]["conferenceData"]["passcode"] == "123456"


# -- strings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer ya29.a0AfH6SMB", "Authorization: [redacted]"),
        ("sent with bearer abc.DEF-ghi_123==", "sent with bearer [redacted]"),
        (
            "https://zoom.us/j/123456789?pwd=Zk9vQmFy&uname=x",
            "https://zoom.us/j/123456789?pwd=[redacted]&uname=x",
        ),
        ("GET /cb?access_token=abc123 HTTP/1.1", "GET /cb?access_token=[redacted] HTTP/1.1"),
        (
            "grant_type=urn%3Aietf%3Aparams&assertion=abc.def.ghi",
            "grant_type=urn%3Aietf%3Aparams&assertion=[redacted]",
        ),
        (
            '{"access_token": "ya29.x", "expires_in": 3599}',
            '{"access_token": "[redacted]", "expires_in": 3599}',
        ),
        ("{'client_secret': 'abc def'}", "{'client_secret': '[redacted]'}"),
        (
            "X-Goog-Channel-Token: c2VjcmV0\nX-Goog-Resource-State: exists",
            "X-Goog-Channel-Token: [redacted]\nX-Goog-Resource-State: exists",
        ),
        (f"token {JWT} end", f"token {REDACTED} end"),
        ("google said ya29.a0AfH6SMBx-yz", f"google said {REDACTED}"),
        (f"key material: {PEM}trailer", "key material: [redacted private key]\ntrailer"),
        ("truncated -----BEGIN RSA PRIVATE KEY-----\nMIIE", "truncated [redacted private key]"),
        ("passcode=987654;", "passcode=[redacted];"),
    ],
)
def test_secrets_inside_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "synced calendar_key=google:alice@example.com in 12 ms",
        "KeyError: 'hybridcal.system'",
        "token_type: Bearer",  # the word alone carries no secret
        "www.googleapis.com/calendar/v3/calendars/alice%40example.com/events",
        "keyword @zoom matched",
        "https://meet.google.com/abc-defg-hij",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


QUERY_SECRETS = (
    "$deltatoken",
    "$skiptoken",
    "deltatoken",
    "skiptoken",
    "syncToken",
    "pageToken",
    "nextSyncToken",
    "nextPageToken",
    "access_token",
    "refresh_token",
    "code",
    "client_secret",
    "assertion",
    "pwd",
    "tk",
    "zak",
)
CURSOR = "R0usmcCM996atia_s-0ZCd4I3VVl0ZYVHtfpYcEcNpoVv5nxpH8Tgp"


def spellings(name: str) -> list[str]:
    """The name as written, upper-cased, and URL-encoded (``$`` as ``%24``)."""
    return sorted({name, name.upper(), name.replace("$", "%24")})


@pytest.mark.parametrize("name", QUERY_SECRETS)
def test_query_parameter_secrets_in_urls_forms_and_json(name: str) -> None:
    for spelled in spellings(name):
        texts = [
            (
                "HTTP Request: GET https://graph.microsoft.com/v1.0/users/a/calendarView/delta"
                f'?{spelled}={CURSOR}&x=1 "HTTP/1.1 200 OK"'
            ),
            f"https://example.com/cb?a=1&{spelled}={CURSOR}",
            f"https://example.com/cb?{spelled}%3D{CURSOR}%26next",  # an encoded query
            f"{spelled}={CURSOR}&grant_type=client_credentials",  # a form body
        ]
        if name != "code":  # "code" as JSON or key: value is an error code, kept
            texts += [f'{{"{spelled}": "{CURSOR}", "n": 1}}', f"{spelled}: {CURSOR}"]
        for text in texts:
            redacted = redact_text(text)
            assert CURSOR not in redacted, (text, redacted)
            assert REDACTED in redacted


@pytest.mark.parametrize(
    "text",
    [
        '{"error": {"code": "InvalidAuthenticationToken", "message": "expired"}}',
        "status code=404 from graph",
        "HTTP Request: GET https://graph.microsoft.com/v1.0/users/a/events?$top=50",
    ],
)
def test_error_codes_and_plain_parameters_are_kept(text: str) -> None:
    assert redact_text(text) == text


def test_message_and_exception_objects_are_redacted() -> None:
    out = run({"event": "calling https://x/?pwd=abc", "error": ValueError("bad access_token=zz")})
    assert out["event"] == "calling https://x/?pwd=[redacted]"
    assert out["error"] == "ValueError: bad access_token=[redacted]"


def test_other_values_become_redacted_text() -> None:
    class Color(StrEnum):
        RED = "red"

    class Opaque:
        def __repr__(self) -> str:
            return f"Opaque(Bearer {JWT})"

    when = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    out = run(
        {
            "when": when,
            "path": Path("/var/lib/x"),
            "color": Color.RED,
            "raw": b"password=hunter2",
            "opaque": Opaque(),
            "tags": {"a"},
            "n": 3,
            "ok": True,
        }
    )
    assert out["when"] == "2024-05-01T09:30:00+00:00"
    assert out["path"] == "/var/lib/x"
    assert out["color"] == "red"
    assert out["raw"] == "b'password=[redacted]'"
    assert out["opaque"] == "Opaque(Bearer [redacted])"
    assert out["tags"] == ["a"]
    assert (out["n"], out["ok"]) == (3, True)


def test_redactor_never_raises_on_odd_values() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr for you")

    class HostileMapping(dict[str, str]):
        def items(self) -> Any:
            raise RuntimeError("no items")

    loop: list[Any] = []
    loop.append(loop)
    out = run({"a": Hostile(), "b": HostileMapping(x="y"), "c": loop, 5: "int key"})  # type: ignore[dict-item]
    assert out["a"] == "[unrepresentable]"
    assert out["b"] == "[unrepresentable]"
    assert "[too deep]" in json.dumps(out["c"])
    assert out[5] == "int key"  # type: ignore[index]


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=20,
    )
)
def test_redactor_is_total_and_json_ready(value: Any) -> None:
    json.dumps(redact_value(value))


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_redacting_text_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


# -- the pipeline ---------------------------------------------------------------------------------


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_off_a_terminal_with_utc_timestamps() -> None:
    out = io.StringIO()
    configure_logging("info", "auto", stream=out)
    structlog.get_logger("hybridcal.test").info("synced", calendar_key="google:a@b.c", token="t")
    structlog.get_logger("hybridcal.test").debug("hidden")
    [record] = lines(out)
    assert list(record)[:4] == ["timestamp", "level", "logger", "event"]
    assert record["event"] == "synced"
    assert record["level"] == "info"
    assert record["calendar_key"] == "google:a@b.c"
    assert record["token"] == REDACTED
    assert record["timestamp"].endswith("Z")
    parsed = datetime.fromisoformat(record["timestamp"])
    assert parsed.utcoffset() is not None
    assert parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.usefixtures("restore_logging")
def test_stdlib_loggers_share_the_pipeline_and_redaction() -> None:
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    logging.getLogger("aiohttp.access").info('"GET /hook?access_token=%s HTTP/1.1" 200', "abc")
    logging.getLogger("apscheduler.executors.default").info("Running job every minute")
    [record] = lines(out)
    assert record["logger"] == "aiohttp.access"
    assert record["event"] == '"GET /hook?access_token=[redacted] HTTP/1.1" 200'
    assert "timestamp" in record


@pytest.mark.usefixtures("restore_logging")
def test_exception_text_is_redacted_for_structlog_and_stdlib() -> None:
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    secret = "ya29.leaked-in-exception"

    def fail() -> None:
        raise RuntimeError(f"token endpoint said Authorization: Bearer {secret}")

    try:
        fail()
    except RuntimeError:
        structlog.get_logger("hybridcal.test").exception("sync.failed")
        logging.getLogger("googleapiclient.http").exception("request failed")
    records = lines(out)
    assert len(records) == 2
    for record in records:
        assert "RuntimeError" in record["exception"]
        assert "Traceback" in record["exception"]
    assert secret not in out.getvalue()


@pytest.mark.usefixtures("restore_logging")
def test_console_format_is_redacted_too() -> None:
    out = io.StringIO()
    configure_logging("debug", "console", stream=out)

    def fail() -> None:
        raise ValueError("pwd=topsecret")

    try:
        fail()
    except ValueError:
        structlog.get_logger("hybridcal.test").exception("boom", password="hunter2")
    text = out.getvalue()
    assert "boom" in text
    assert "ValueError: pwd=[redacted]" in text
    assert "hunter2" not in text
    assert "topsecret" not in text
    assert "\x1b[" not in text  # no colours off a terminal


@pytest.mark.usefixtures("restore_logging")
def test_reconfiguring_replaces_the_handler_and_level() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("info", "json", stream=first)
    configure_logging("warning", "json", stream=second)
    log = structlog.get_logger("hybridcal.test")
    log.info("quiet")
    log.warning("loud")
    assert first.getvalue() == ""
    assert [r["event"] for r in lines(second)] == ["loud"]


@pytest.mark.usefixtures("restore_logging")
def test_bad_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="level"):
        configure_logging("chatty", "json", stream=io.StringIO())
    with pytest.raises(ValueError, match="format"):
        configure_logging("info", "xml", stream=io.StringIO())


# -- third-party loggers, as the daemon configures logging ----------------------------------------

# What each library writes, in its own words (our own fixtures), with a token in it.
THIRD_PARTY = [
    (
        "httpx",
        logging.INFO,
        'HTTP Request: %s %s "%s %d %s"',
        (
            "GET",
            f"https://graph.microsoft.com/v1.0/users/a/calendarView/delta?$deltatoken={CURSOR}",
            "HTTP/1.1",
            200,
            "OK",
        ),
    ),
    (
        "httpcore.http11",
        logging.DEBUG,
        "send_request_headers.started request=%s",
        (f"<Request [b'GET'] b'/v1.0/me/events?%24skiptoken={CURSOR}'>",),
    ),
    ("hpack.hpack", logging.DEBUG, "Decoded %s", ((b"authorization", f"Bearer {CURSOR}"),)),
    (
        "googleapiclient.discovery",
        logging.INFO,
        "URL being requested: %s %s",
        ("GET", f"https://www.googleapis.com/calendar/v3/calendars/a/events?syncToken={CURSOR}"),
    ),
    (
        "urllib3.connectionpool",
        logging.DEBUG,
        '%s://%s:%s "%s %s %s" %s %s',
        (
            "https",
            "oauth2.googleapis.com",
            443,
            "POST",
            f"/token?pageToken={CURSOR}",
            "HTTP/1.1",
            200,
            512,
        ),
    ),
    (
        "azure.identity._internal.get_token_mixin",
        logging.DEBUG,
        "response: %s",
        (json.dumps({"access_token": CURSOR, "refresh_token": CURSOR}),),
    ),
    ("msal.token_cache", logging.DEBUG, "event=%s", ({"client_secret": CURSOR, "assertion": JWT},)),
    (
        "kiota_http.httpx_request_adapter",
        logging.DEBUG,
        "next link %s",
        (f"https://graph.microsoft.com/v1.0/users/a/events/delta?$skiptoken={CURSOR}",),
    ),
    (
        "google.auth.transport.requests",
        logging.DEBUG,
        "Making request: POST %s",
        (f"https://oauth2.googleapis.com/token?code={CURSOR}&assertion={CURSOR}",),
    ),
]


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("fmt", ["json", "console"])
def test_no_token_survives_from_any_library_at_debug(fmt: str) -> None:
    # what google-auth does on first use when the application has not configured "google"
    logging.getLogger("google").propagate = False
    out = io.StringIO()
    configure_logging("debug", fmt, stream=out)
    for name, level, message, args in THIRD_PARTY:
        logging.getLogger(name).log(level, message, *args)
    structlog.get_logger("hybridcal.sync").debug(
        "listed", next_sync_token=CURSOR, url=f"https://x/delta?$deltatoken={CURSOR}"
    )
    text = out.getvalue()
    assert len(text.splitlines()) == len(THIRD_PARTY) + 1  # everything shown at debug ...
    assert CURSOR not in text  # ... and not one token
    assert JWT not in text


@pytest.mark.usefixtures("restore_logging")
def test_chatty_libraries_are_quiet_by_default_and_redacted_when_turned_up() -> None:
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    for name, level, message, args in THIRD_PARTY:
        logging.getLogger(name).log(max(level, logging.INFO), message, *args)
    assert out.getvalue() == ""  # WARNING by default, so the INFO request lines are gone
    for name in ("httpx", "httpcore", "azure", "urllib3", "googleapiclient", "kiota", "google"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # an admin turns one up
    name, level, message, args = THIRD_PARTY[0]
    logging.getLogger(name).log(level, message, *args)
    [record] = lines(out)
    assert record["logger"] == "httpx"
    assert "delta?$deltatoken=[redacted] " in record["event"]


@pytest.mark.usefixtures("restore_logging")
def test_a_real_httpx_request_line_is_redacted() -> None:
    httpx = pytest.importorskip("httpx")
    out = io.StringIO()
    configure_logging("debug", "json", stream=out)

    def answer(request: Any) -> Any:
        return httpx.Response(200, json={"@odata.deltaLink": str(request.url)})

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        url = f"https://graph.microsoft.com/v1.0/users/a/calendarView/delta?$deltatoken={CURSOR}"
        assert client.get(url).status_code == 200
    text = out.getvalue()
    assert "HTTP Request: GET https://graph.microsoft.com" in text
    assert CURSOR not in text


@pytest.mark.usefixtures("restore_logging")
def test_a_handler_that_is_not_ours_sees_redacted_records_too() -> None:
    configure_logging("debug", "json", stream=io.StringIO())
    theirs = io.StringIO()
    handler = logging.StreamHandler(theirs)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logger = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
    logger.addHandler(handler)

    def fail() -> None:
        raise RuntimeError(f"token request failed: refresh_token={CURSOR}")

    try:
        try:
            fail()
        except RuntimeError:
            logger.exception("Request URL: %r", f"https://login.example/token?code={CURSOR}")
    finally:
        logger.removeHandler(handler)
    text = theirs.getvalue()
    assert "Request URL" in text
    assert "RuntimeError" in text  # the traceback is there, redacted
    assert CURSOR not in text
