"""Webex's error answers.

Every API error is ``{"message": ..., "errors": [{"description": ...}], "trackingId": ...}``
(webex.md §4, developer.webex.com/docs/basics "API Errors"); the same tracking id goes in the
``trackingid`` header. The ``message`` of 400/401/403/404 is the generic text Webex sends for
that status; the ``errors`` descriptions say what exactly was wrong. Descriptions are the
simulator's own wording unless noted: a client must key on the status, never on the text.

The token endpoint answers with the same envelope plus the OAuth 2.0 fields ``error`` /
``error_description`` (RFC 6749 §5.2): Webex's exact body for a refused refresh is not
documented (webex.md §1 "body unverified"), so a client must go by the status alone — 400 for a
refresh token that is unknown, expired or revoked, 401 for wrong client credentials.
"""

from __future__ import annotations

from typing import Any

BAD_REQUEST = "The input parameters contain invalid items."
UNAUTHORIZED = "The request requires a valid access token set in the Authorization request header."
FORBIDDEN = (
    "The server understood the request, but refused to fulfill it because the access token is "
    "missing required scopes or the user is missing required roles or licenses."
)
NOT_FOUND = "The requested resource could not be found."
NOT_ALLOWED = "The request used an HTTP method that the resource does not support."
CONFLICT = "The request could not be processed because it conflicts with some established rule."
TOO_MANY = "Too many requests have been sent in a given amount of time."


class WebexError(Exception):
    """Raised anywhere inside the simulator; the HTTP layer renders the envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        descriptions: list[str] | None = None,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {message} {descriptions or ''}")
        self.status = status
        self.message = message
        self.descriptions = descriptions or [message]
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self, tracking_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message": self.message,
            "errors": [{"description": d} for d in self.descriptions],
            "trackingId": tracking_id,
        }
        out.update(self.extra)
        return out


class Problems:
    """Collects every problem of one request body, so one 400 names all of them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, description: str) -> None:
        self.items.append(description)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise bad_request(*self.items)


def bad_request(*descriptions: str) -> WebexError:
    return WebexError(400, BAD_REQUEST, list(descriptions) or None)


def unauthorized(description: str = UNAUTHORIZED) -> WebexError:
    return WebexError(401, UNAUTHORIZED, [description])


def forbidden(description: str = FORBIDDEN) -> WebexError:
    return WebexError(403, FORBIDDEN, [description])


def not_found(description: str = NOT_FOUND) -> WebexError:
    return WebexError(404, NOT_FOUND, [description])


def method_not_allowed() -> WebexError:
    return WebexError(405, NOT_ALLOWED)


def conflict(description: str) -> WebexError:
    return WebexError(409, CONFLICT, [description])


def too_many(retry_after_s: float, description: str = TOO_MANY) -> WebexError:
    seconds = max(1, round(retry_after_s))
    return WebexError(429, TOO_MANY, [description], headers={"Retry-After": str(seconds)})


def server_error(status: int) -> WebexError:
    return WebexError(status, "Service temporarily unavailable.")


def invalid_grant(description: str) -> WebexError:
    return WebexError(
        400,
        BAD_REQUEST,
        [description],
        extra={"error": "invalid_grant", "error_description": description},
    )


def invalid_client() -> WebexError:
    description = "The client_id or client_secret is invalid."
    return WebexError(
        401,
        UNAUTHORIZED,
        [description],
        extra={"error": "invalid_client", "error_description": description},
    )


def invalid_token_request(description: str, error: str = "invalid_request") -> WebexError:
    return WebexError(
        400, BAD_REQUEST, [description], extra={"error": error, "error_description": description}
    )
