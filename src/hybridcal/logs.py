"""Structured logging: one pipeline for structlog and the standard library, secrets removed.

JSON lines when stderr is not a terminal (journald, containers), a readable console layout on a
terminal. Libraries that log through `logging` (aiohttp, apscheduler, googleapiclient, httpx under
msgraph-sdk, azure-identity, urllib3) go through the same processors, so `redact_secrets` sees
every record; their records are also redacted when they are created, so a handler that is not
ours (a library's own, a test's) never sees a token either. Exceptions are turned into text
*before* redaction, so a token inside an exception message or traceback is removed too.

Provider cursors are secrets as well: a Graph ``$deltatoken``/``$skiptoken`` or a Google
``syncToken``/``pageToken`` replays a mailbox's changes to whoever holds it with a valid app
token, so they are removed from URLs, ``key=value`` text and JSON like any token.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Final, TextIO

import structlog

if TYPE_CHECKING:
    from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED: Final = "[redacted]"
_MAX_DEPTH: Final = 12

# Key names whose values are secrets, compared after lower-casing and dropping "_" and "-".
_SECRET_KEYS: Final = frozenset(
    {
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "channeltoken",
        "xgoogchanneltoken",
        "devicetoken",
        "secret",
        "clientsecret",
        "password",
        "passcode",
        "pwd",
        "privatekey",
        "authorization",
        "proxyauthorization",
        "assertion",
        "key",
        "apikey",
        "clientstate",
        "cookie",
        "setcookie",
        "tk",  # Zoom join-link tokens
        "zak",
    }
)
# Any key ending like this is a secret too (``webhook_secret``, ``zoom_access_token``,
# ``sync_token``, ``deltatoken``).
_SECRET_SUFFIXES: Final = ("token", "secret", "password", "passcode", "privatekey", "apikey")

# Names that introduce a secret inside free text: query strings, form bodies, JSON, headers.
_SECRET_WORDS: Final = (
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "channel_token",
    "x-goog-channel-token",
    "clientState",
    "private_key",
    "api_key",
    "apikey",
    "password",
    "passcode",
    "pwd",
    "assertion",
    "secret",
    "token",
    "key",
    "authorization",
    # provider cursors (Graph's with a "$" in URLs: $deltatoken, $skiptoken)
    "deltatoken",
    "skiptoken",
    "nextSyncToken",
    "nextPageToken",
    "syncToken",
    "pageToken",
    # Zoom join-link and host tokens
    "tk",
    "zak",
)
_QUOTED: Final = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
_SCHEME: Final = r"(?:(?:Bearer|Basic|Digest|Negotiate)\s+)?"
_SECRET_NAMES: Final = "|".join(_SECRET_WORDS)
# A value outside quotes runs to the next separator of a query string, header list or JSON.
_BARE_VALUE: Final = r"[^\s\"',;&}}#]+"
_NAMED_SECRET: Final = re.compile(
    # name=value / name: value / "name": "value" / %24name%3Dvalue (URL-encoded), with word
    # boundaries so that ``calendar_key=...`` or ``KeyError`` are left alone.
    rf"(?<![\w-])([\"']?)((?:\$|%24)?(?:{_SECRET_NAMES}))\1(\s*[:=]\s*|%3D)"
    rf"({_QUOTED}|{_SCHEME}{_BARE_VALUE})",
    re.IGNORECASE,
)
# An OAuth authorization ``code`` only as a query or form parameter, and not a number: "code"
# elsewhere is an error or status code, which an admin needs to see.
_CODE_PARAMETER: Final = re.compile(
    rf"(?<![\w$%-])(code)(=|%3D)(?!\d+(?![^\s\"',;&}}#]))({_BARE_VALUE})", re.IGNORECASE
)
_STRING_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # PEM private keys, also when cut short (no END line).
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.*?-----END [A-Z ]*PRIVATE KEY-----|.*)",
            re.DOTALL,
        ),
        "[redacted private key]",
    ),
    (re.compile(r"\b(Bearer)\s+[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE), rf"\1 {REDACTED}"),
    # JSON Web Tokens: the header is base64url JSON, so it starts with "eyJ".
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    # Google OAuth access tokens.
    (re.compile(r"\bya29\.[A-Za-z0-9_-]+"), REDACTED),
)


def _replace_named(match: re.Match[str]) -> str:
    quote, name, separator, value = match.groups()
    # Keep the value's quotes so that JSON stays JSON.
    shown = f"{value[0]}{REDACTED}{value[0]}" if value[:1] in {'"', "'"} else REDACTED
    return f"{quote}{name}{quote}{separator}{shown}"


def redact_text(text: str) -> str:
    """``text`` with every secret-looking part replaced."""
    for pattern, replacement in _STRING_PATTERNS:
        text = pattern.sub(replacement, text)
    text = _CODE_PARAMETER.sub(rf"\1\2{REDACTED}", text)
    return _NAMED_SECRET.sub(_replace_named, text)


def is_secret_key(name: str) -> bool:
    folded = name.lower().replace("_", "").replace("-", "").lstrip("$")
    return folded in _SECRET_KEYS or folded.endswith(_SECRET_SUFFIXES)


def redact_value(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` with secrets removed; never raises, never mutates ``value``."""
    try:
        return _redact(value, depth)
    except Exception:
        return "[unrepresentable]"


def _redact(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return redact_text(value)
    if depth >= _MAX_DEPTH:
        return "[too deep]"
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED
            if is_secret_key(str(key)) and item is not None
            else redact_value(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item, depth + 1) for item in value]
    return redact_text(_as_text(value))


def _as_text(value: object) -> str:
    """Text for a value the renderer would otherwise repr() later, unredacted."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return repr(value)


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: secrets out of every value, key and message. Never raises: a
    logging call must not fail because of what it logs."""
    for key in list(event_dict):
        value = event_dict[key]
        if value is not None and is_secret_key(str(key)):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = redact_value(value, 1)
    return event_dict


_HEADLINE: Final = ("timestamp", "level", "logger", "event")


def _headline_first(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Put timestamp, level, logger and message first in each JSON line, for people reading
    the journal."""
    head = {key: event_dict.pop(key) for key in _HEADLINE if key in event_dict}
    return {**head, **event_dict}


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _renderer(fmt: str, stream: TextIO) -> Processor:
    is_tty = _isatty(stream)
    if fmt == "json" or (fmt == "auto" and not is_tty):
        return structlog.processors.JSONRenderer(sort_keys=False)
    if fmt in {"console", "auto"}:
        # Plain tracebacks: the pretty ones would format exc_info themselves, unredacted.
        return structlog.dev.ConsoleRenderer(
            colors=is_tty, exception_formatter=structlog.dev.plain_traceback
        )
    raise ValueError(f"unknown log format {fmt!r}; use auto, json or console")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _level_number(level: str) -> int:
    number = logging.getLevelNamesMapping().get(level.upper())
    if number is None:
        raise ValueError(f"unknown log level {level!r}")
    return number


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler we installed, so that reconfiguring replaces it."""


# Libraries that log every request (with its URL: cursors, codes) or every token step at INFO
# or DEBUG. They are held at WARNING unless the daemon itself logs at debug level; what they
# log is redacted either way.
CHATTY_LOGGERS: Final = (
    "apscheduler.executors",
    "apscheduler.scheduler",
    "googleapiclient",  # discovery logs "URL being requested" at INFO
    "googleapiclient.discovery_cache",
    "google",  # google-auth, google-api-core (see configure_logging about propagation)
    "google_auth_httplib2",
    "httpx",  # msgraph-sdk: "HTTP Request: GET …/delta?$deltatoken=…" at INFO
    "httpcore",
    "hpack",  # HTTP/2 header (de)coding, authorization headers included, at DEBUG
    "h2",
    "azure",  # azure-identity and azure-core's HTTP logging policy
    "msal",
    "urllib3",
    "requests",
    "kiota",
    "kiota_abstractions",
    "kiota_http",
    "kiota_authentication_azure",
    "msgraph_core",
)


class _RedactingRecordFactory:
    """Wraps the log-record factory so that every stdlib record is redacted as it is made,
    whichever handler ends up writing it. structlog's own records (a dict message) are left to
    the formatter chain, which redacts them after turning exceptions into text."""

    def __init__(self, base: Callable[..., logging.LogRecord]) -> None:
        self.base = base

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.base(*args, **kwargs)
        if not isinstance(record.msg, dict):
            _redact_record(record)
        return record


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: show its parts rather than fail the log call
        message = f"{record.msg!r} % {record.args!r}"
    record.msg, record.args = redact_text(message), ()
    if record.exc_info and record.exc_info[1] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = redact_text(text)  # what logging.Formatter prints as the traceback


def _install_record_redaction() -> None:
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingRecordFactory):
        logging.setLogRecordFactory(_RedactingRecordFactory(factory))


def configure_logging(level: str, fmt: str, *, stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging to ``stream`` (stderr by default) at ``level``.

    ``fmt`` is ``auto`` (JSON unless the stream is a terminal), ``json`` or ``console``.
    Calling it again replaces the previous configuration.
    """
    number = _level_number(level)
    output = stream if stream is not None else sys.stderr
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # text first, so that it gets redacted
            redact_secrets,
            _headline_first,
            _renderer(fmt, output),
        ],
    )
    handler = _Handler(output)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(number)
    # Per-request and per-job lines of libraries drown the daemon's own messages; they stay
    # visible (redacted) at debug level.
    quiet = max(number, logging.WARNING) if number > logging.DEBUG else number
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    # google-auth stops the "google" logger propagating unless the application configured it
    # (it may have done so already, before this call): its records must reach our handler.
    logging.getLogger("google").propagate = True
    _install_record_redaction()
    logging.captureWarnings(capture=True)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: tests and `structlog.testing.capture_logs` reconfigure at run time.
        cache_logger_on_first_use=False,
    )
