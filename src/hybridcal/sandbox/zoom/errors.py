"""Zoom's error bodies.

API errors are ``{"code": N, "message": "..."}``; validation errors add
``"errors": [{"field", "message"}]``. The OAuth endpoint answers ``{"reason", "error"}`` instead.
Codes and messages follow Zoom's public error definitions where they are documented; the ones
marked *approximation* are plausible stand-ins (Zoom does not document them precisely), so a
client should key on the HTTP status and the code, not on the wording.
"""

from __future__ import annotations

from typing import Any


class ZoomError(Exception):
    """Raised anywhere inside the simulator; the HTTP layer turns it into Zoom's body."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            out["errors"] = list(self.errors)
        return out


class OAuthError(Exception):
    """An answer of the token endpoint: always HTTP 400 with ``{"reason", "error"}``."""

    def __init__(self, error: str, reason: str, status: int = 400) -> None:
        super().__init__(f"{error}: {reason}")
        self.status = status
        self.body = {"reason": reason, "error": error}


class Problems:
    """Collects every field problem of one body, so one answer names all of them."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append({"field": field, "message": message})

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, message: str = "Validation Failed.") -> None:
        if self.items:
            raise ZoomError(400, 300, message, errors=list(self.items))


VALIDATION_CODE = 300


def validation(field: str, message: str) -> ZoomError:
    return ZoomError(
        400, VALIDATION_CODE, "Validation Failed.", errors=[{"field": field, "message": message}]
    )


def invalid_body() -> ZoomError:
    return ZoomError(400, VALIDATION_CODE, "Request Body should be a valid JSON object.")


def invalid_token(message: str = "Invalid access token.") -> ZoomError:
    return ZoomError(401, 124, message)


def missing_scopes(scopes: tuple[str, ...]) -> ZoomError:
    listed = ", ".join(scopes)
    return ZoomError(400, 4711, f"Invalid access token, does not contain scopes:[{listed}].")


def user_not_found(user_id: str) -> ZoomError:
    return ZoomError(404, 1001, f"User does not exist: {user_id}.")


def user_not_active(user_id: str) -> ZoomError:
    # approximation: Zoom's wording for hosts that cannot schedule varies
    return ZoomError(400, 1120, f"User not exist or not activated: {user_id}.")


def user_not_licensed(user_id: str) -> ZoomError:
    # approximation: the simulator only lets licensed users host meetings
    return ZoomError(400, 1122, f"User is not a licensed user and cannot host meetings: {user_id}.")


def no_scheduling_privilege(requester: str, host: str) -> ZoomError:
    # approximation: the code is a stand-in, the situation ("no designated scheduler") is real
    return ZoomError(
        400,
        1133,
        f"No scheduling privilege. {requester} cannot schedule meetings for {host}.",
    )


def invalid_alternative_host(value: str) -> ZoomError:
    # approximation
    return ZoomError(400, 1114, f"Invalid alternative host: {value}")


def meeting_not_found(meeting_id: object) -> ZoomError:
    return ZoomError(404, 3001, f"Meeting does not exist: {meeting_id}.")


def invalid_occurrence(occurrence_id: str) -> ZoomError:
    # approximation: Zoom answers an unknown occurrence with a 3000-range code
    return ZoomError(400, 3000, f"Invalid occurrence_id: {occurrence_id}.")


def invalid_password(errors: list[dict[str, str]]) -> ZoomError:
    return ZoomError(400, VALIDATION_CODE, "Invalid parameter: password.", errors=errors)


def route_not_found(path: str) -> ZoomError:
    # approximation: Zoom's gateway answers unknown routes with a JSON 404 like this
    return ZoomError(404, 404, f"Resource not found: {path}.")


def method_not_allowed(method: str) -> ZoomError:
    # approximation
    return ZoomError(405, 405, f"Method not allowed: {method}.")


PER_SECOND_MESSAGE = (
    "You have reached the maximum per-second rate limit for this API. Try again later."
)


def per_second_limit(retry_after_s: float | None = 1) -> ZoomError:
    headers = {} if retry_after_s is None else {"Retry-After": str(max(1, round(retry_after_s)))}
    return ZoomError(429, 429, PER_SECOND_MESSAGE, headers=headers)


def daily_limit(limit: int) -> ZoomError:
    return ZoomError(
        429,
        429,
        f"You have exceeded the daily rate limit ({limit}) of Meeting Create/Update API requests "
        "permitted for this particular user. You may resume these requests at GMT 00:00:00.",
    )
