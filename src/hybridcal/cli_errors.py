"""What the admin command line says when a command fails: one line, what and what to do.

`explain` maps the project's known errors (config, keyring, store, connectors, secret files,
the network, the operating system) to a message; anything else gets a last-resort line that
names the error's type and says how to see the traceback. That line goes through the log
redaction, so a secret inside an unexpected error's text is not printed either.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from typing import Final

from hybridcal.config.loader import ConfigError
from hybridcal.connectors.errors import ConnectorError
from hybridcal.crypto.errors import KeyringError, WrongKeyringError
from hybridcal.crypto.secret_files import SecretFileError
from hybridcal.logs import redact_text
from hybridcal.store.base import StoreError

Describe = Callable[[BaseException], str]
DEBUG_HINT: Final = "rerun with --debug (or HYBRIDCAL_DEBUG=1) for the traceback"
_MAX_DETAIL: Final = 300


def explain(exc: BaseException) -> str:
    """The message for ``exc``; the project's own errors are already written for an admin."""
    message = _network(exc)
    if message is not None:
        return message
    for types, describe in _MESSAGES:
        if isinstance(exc, types):
            return describe(exc)
    # the project's errors are written without secrets; anything else may carry one
    detail = _one_line(exc, redact=True)
    return f"unexpected error {type(exc).__name__}: {detail}; {DEBUG_HINT}"


def _network(exc: BaseException) -> str | None:
    # aiohttp is looked up, not imported: its errors exist only once a command imported it,
    # and `hybridcal --help` stays fast.
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None or not isinstance(exc, aiohttp.ClientError):
        return None
    if isinstance(exc, aiohttp.ClientConnectorError):
        return (
            f"cannot reach {exc.host}:{exc.port} ({_one_line(exc.os_error)});"
            " check the URL in the config and that the service is up"
        )
    return f"a request failed ({type(exc).__name__}: {_one_line(exc)}); retry later"


def _sqlite(exc: BaseException) -> str:
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return (
            "the database is locked by another process; retry in a moment"
            " (or stop the process holding it)"
        )
    return f"the store cannot be used: {_one_line(exc)} (is store.path a hybridcal database?)"


def _os_error(exc: BaseException) -> str:
    assert isinstance(exc, OSError)
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or _one_line(exc)}{where}"


def _one_line(exc: BaseException, *, redact: bool = False) -> str:
    text = (redact_text(str(exc)) if redact else str(exc)).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first if len(first) <= _MAX_DETAIL else first[: _MAX_DETAIL - 1] + "…"


# First match wins, so subclasses come before their bases.
_MESSAGES: Final[
    tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], Describe], ...]
] = (
    (ConfigError, lambda e: f"{e}\n(fix it, then check with `hybridcal config check`)"),
    (WrongKeyringError, lambda e: f"wrong keyring: {_one_line(e)}"),
    ((KeyringError, SecretFileError, ConnectorError, StoreError), _one_line),
    (sqlite3.Error, _sqlite),
    (TimeoutError, lambda _e: "timed out; check the network and the service, then retry"),
    (OSError, _os_error),
)
