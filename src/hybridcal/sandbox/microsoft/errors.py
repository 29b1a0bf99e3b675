"""Microsoft Graph's JSON error envelope and the errors the simulator raises.

Graph answers ``{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}``; the HTTP layer adds ``innerError`` (it knows the request ids). Codes
and messages follow what Graph returns for the same mistake; where Graph's exact wording is not
public the message is an approximation with the same code.
"""

from __future__ import annotations

from typing import Any

ACCESS_DENIED = "Access is denied. Check credentials and try again."
POLICY_DENIED = (
    "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy "
    "settings."
)
IRRESOLVABLE_CONFLICT = (
    "The send or update operation could not be performed because the change key passed in the "
    "request does not match the current change key for the item."
)
NEEDS_WINDOW = (
    "This request requires a time window specified by the query string parameters "
    "StartDateTime and EndDateTime."
)


class GraphError(Exception):
    """Raised anywhere inside the simulator; the HTTP layer turns it into Graph's body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self, inner: dict[str, str] | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if inner is not None:
            error["innerError"] = inner
        return {"error": error}


def bad_request(message: str, code: str = "ErrorInvalidRequest") -> GraphError:
    return GraphError(400, code, message)


def access_denied() -> GraphError:
    return GraphError(403, "ErrorAccessDenied", ACCESS_DENIED)


def policy_denied() -> GraphError:
    return GraphError(403, "ErrorAccessDenied", POLICY_DENIED)


def item_not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def malformed_id() -> GraphError:
    return GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")


def conflict() -> GraphError:
    return GraphError(412, "ErrorIrresolvableConflict", IRRESOLVABLE_CONFLICT)


def unknown_property(name: str, type_name: str = "microsoft.graph.event") -> GraphError:
    return GraphError(
        400,
        "RequestBodyRead",
        f"The property '{name}' does not exist on type '{type_name}'. Make sure to only use "
        "property names that are defined by the type or mark the type as open type.",
    )


def read_only(name: str) -> GraphError:
    return GraphError(
        400,
        "ErrorInvalidPropertyUpdateSentToServer",
        f"The property '{name}' is read-only and cannot be set.",
    )


def bad_value(name: str, value: Any) -> GraphError:
    return GraphError(
        400, "RequestBodyRead", f"Cannot convert the literal '{value}' for property '{name}'."
    )


def organizer_only(name: str) -> GraphError:
    return GraphError(
        403,
        "ErrorAccessDenied",
        f"Only the organizer's copy of a meeting can change '{name}'; this is an attendee's copy.",
    )


def not_implemented(what: str) -> GraphError:
    return GraphError(501, "NotImplemented", f"{what} is not simulated by the sandbox.")
