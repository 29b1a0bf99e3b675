"""Google's JSON error envelope.

``{"error": {"errors": [{"domain", "reason", "message", "locationType"?, "location"?}],
"code", "message"}}`` — Gmail (a newer API) adds ``"status"`` with the canonical gRPC name.
"""

from __future__ import annotations

from typing import Any

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "NOT_FOUND",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
}


class ApiError(Exception):
    """Raised anywhere inside the simulator; the HTTP layer turns it into Google's body."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        domain: str = "global",
        location: str | None = None,
        location_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.domain = domain
        self.location = location
        self.location_type = location_type
        self.headers = headers or {}

    def body(self, *, with_status: bool = False) -> dict[str, Any]:
        item: dict[str, Any] = {"domain": self.domain, "reason": self.reason}
        item["message"] = self.message
        if self.location_type:
            item["locationType"] = self.location_type
        if self.location:
            item["location"] = self.location
        error: dict[str, Any] = {"errors": [item], "code": self.code, "message": self.message}
        if with_status:
            error["status"] = _STATUS_NAMES.get(self.code, "UNKNOWN")
        return {"error": error}


def bad_request(message: str, *, reason: str = "invalid", parameter: str | None = None) -> ApiError:
    return ApiError(
        400,
        reason,
        message,
        location=parameter,
        location_type="parameter" if parameter else None,
    )


def required(parameter: str) -> ApiError:
    return ApiError(400, "required", "Required", location=parameter, location_type="parameter")


def not_found() -> ApiError:
    return ApiError(404, "notFound", "Not Found")


def deleted() -> ApiError:
    return ApiError(410, "deleted", "Resource has been deleted")


def forbidden_for_non_organizer() -> ApiError:
    return ApiError(
        403,
        "forbiddenForNonOrganizer",
        "The operation can only be performed by the event organizer.",
        domain="calendar",
    )


def condition_not_met() -> ApiError:
    return ApiError(
        412,
        "conditionNotMet",
        "Precondition Failed",
        location="If-Match",
        location_type="header",
    )


def full_sync_required() -> ApiError:
    return ApiError(
        410,
        "fullSyncRequired",
        "Sync token is no longer valid, a full sync is required.",
    )
