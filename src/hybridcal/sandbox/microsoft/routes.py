"""Which Graph v1.0 operation a method and path name, and the roles it needs.

Path segment names are case-insensitive (Graph's are); ids are percent-decoded (the SDK sends
``@`` as ``%40``). ``calendarView/delta`` is accepted with and without ``()`` (the SDK sends
``delta()``). ``/me`` is refused: app-only tokens have no signed-in user.
"""

from __future__ import annotations

from hybridcal.sandbox.microsoft.errors import GraphError, not_implemented
from hybridcal.sandbox.microsoft.http import Route

READ_CALENDAR = frozenset({"Calendars.Read", "Calendars.ReadWrite"})
WRITE_CALENDAR = frozenset({"Calendars.ReadWrite"})
READ_SCHEDULE = READ_CALENDAR | {"Calendars.ReadBasic"}
READ_SETTINGS = frozenset({"MailboxSettings.Read", "MailboxSettings.ReadWrite"})
READ_USERS = frozenset({"User.Read.All", "User.ReadBasic.All", "Directory.Read.All"})
EVENT_ACTIONS = ("cancel", "accept", "decline", "tentativelyaccept")
_ACTION_NAMES = {"tentativelyaccept": "tentativelyAccept"}


def segment_error(segment: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def method_error(method: str) -> GraphError:
    return GraphError(
        405, "BadRequest", f"The HTTP method '{method}' is not allowed for this resource."
    )


def _pick(method: str, choices: dict[str, Route]) -> Route:
    found = choices.get(method)
    if found is None:
        raise method_error(method)
    return found


def route(method: str, segments: list[str]) -> Route:
    if not segments:
        raise segment_error("")
    head = segments[0].lower()
    if head == "me":
        raise GraphError(
            400, "BadRequest", "/me request is only valid with delegated authentication flow."
        )
    if head == "subscriptions":
        return _subscriptions(method, segments)
    if head == "users":
        if len(segments) == 1:
            raise not_implemented("Listing users")
        return _users(method, segments[1], segments[2:])
    if head == "$batch":
        raise not_implemented("JSON batching ($batch)")
    raise segment_error(segments[0])


def _subscriptions(method: str, segments: list[str]) -> Route:
    if len(segments) == 1:
        return _pick(
            method,
            {"GET": Route("subscriptions.list", {}), "POST": Route("subscriptions.create", {})},
        )
    if len(segments) == 2:
        params = {"id": segments[1]}
        return _pick(
            method,
            {
                "GET": Route("subscriptions.get", params),
                "PATCH": Route("subscriptions.update", params),
                "DELETE": Route("subscriptions.delete", params),
            },
        )
    raise segment_error(segments[2])


def _users(method: str, user: str, rest: list[str]) -> Route:
    if not rest:
        return _pick(
            method,
            {
                "GET": Route(
                    "users.get",
                    {},
                    READ_USERS,
                    roles_error="directory",
                    user=user,
                    mailbox_scoped=False,
                )
            },
        )
    names = [s.lower() for s in rest]
    if names == ["mailboxsettings"]:
        return _pick(method, {"GET": Route("mailboxSettings.get", {}, READ_SETTINGS, user=user)})
    if names == ["calendar", "getschedule"]:
        route = Route("calendar.getSchedule", {}, READ_SCHEDULE, user=user)
        return _pick(method, {"POST": route})
    if names[0] == "calendar" and len(names) > 1:
        rest, names = rest[1:], names[1:]
    if names[0] == "events":
        return _events(method, user, rest)
    if names[0] == "calendarview":
        if len(names) == 1:
            return _pick(method, {"GET": Route("calendarView.list", {}, READ_CALENDAR, user=user)})
        if len(names) == 2 and names[1] in {"delta", "delta()"}:
            return _pick(method, {"GET": Route("calendarView.delta", {}, READ_CALENDAR, user=user)})
        raise segment_error(rest[1])
    if names[0] in {"calendar", "calendars", "messages", "mailfolders", "contacts"}:
        raise not_implemented(f"/users/{{id}}/{rest[0]}")
    raise segment_error(rest[0])


def _events(method: str, user: str, rest: list[str]) -> Route:
    if len(rest) == 1:
        return _pick(
            method,
            {
                "GET": Route("events.list", {}, READ_CALENDAR, user=user),
                "POST": Route("events.create", {}, WRITE_CALENDAR, user=user),
            },
        )
    params = {"id": rest[1]}
    if len(rest) == 2:
        return _pick(
            method,
            {
                "GET": Route("event.get", params, READ_CALENDAR, user=user),
                "PATCH": Route("event.update", params, WRITE_CALENDAR, user=user),
                "DELETE": Route("event.delete", params, WRITE_CALENDAR, user=user),
            },
        )
    tail = rest[2].lower()
    if len(rest) == 3 and tail == "instances":
        return _pick(method, {"GET": Route("event.instances", params, READ_CALENDAR, user=user)})
    if len(rest) == 3 and tail in EVENT_ACTIONS:
        action = _ACTION_NAMES.get(tail, tail)
        return _pick(
            method,
            {
                "POST": Route(
                    "event.action", {**params, "action": action}, WRITE_CALENDAR, user=user
                )
            },
        )
    if len(rest) == 3 and tail in {"attachments", "extensions", "forward", "snoozereminder"}:
        raise not_implemented(f"/events/{{id}}/{rest[2]}")
    raise segment_error(rest[2] if len(rest) > 2 else rest[-1])
