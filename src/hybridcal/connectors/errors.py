"""Errors every connector raises, translated from provider answers at the boundary.

The daemon decides from the class alone whether to retry, back off, resync or mark a calendar
as failed; connectors never leak ``HttpError`` or aiohttp exceptions upwards.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError


class ConnectorError(Exception):
    """Base class. ``str(err)`` is written for an admin and never contains secrets."""


class TransientError(ConnectorError):
    """A network fault or 5xx: retry with backoff."""


class ThrottledError(TransientError):
    """Rate limited (429 / 403 rateLimitExceeded). Retry no sooner than ``retry_after``."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(ConnectorError):
    """Credentials refused (bad key, delegation not granted, unknown user)."""


class ForbiddenError(ConnectorError):
    """The call was understood and refused (e.g. forbiddenForNonOrganizer)."""


class NotFoundError(ConnectorError):
    pass


class ConflictError(ConnectorError):
    """If-Match failed (412): the event changed since we read it. Re-read and re-plan."""


class CursorExpiredError(ConnectorError):
    """The sync token / delta link is no longer valid (410): resync the whole window."""


class MalformedEventError(ConnectorError):
    """A provider event that cannot be understood; logged and skipped, never fatal."""


def short_reason(exc: Exception) -> str:
    """One line for a log or an admin: a wire model's first validation error, or the text."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        return f"{loc}: {first['msg']}"
    return str(exc)


class ConferenceRefusedError(ConnectorError):
    """The calendar refused to create its own conference (Meet turned off for the organiser's
    organisational unit, no licence: 400 "Invalid conference type value.", or the calendar
    does not list the solution as allowed). Editing the event cannot fix it; an admin can."""


class WritesPausedError(ConnectorError):
    """The user's writes are paused until ``until`` (Google's 403 ``quotaExceeded``, "Calendar
    usage limits exceeded", lasts hours). Reads still work; retrying sooner only prolongs it."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until
