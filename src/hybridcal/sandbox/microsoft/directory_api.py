"""Handlers for ``/users/{id}`` (Entra ID) and ``/users/{id}/mailboxSettings`` (Exchange).

Users show Graph's default user properties. Rooms are user objects too (``/places`` is not
simulated). Mailbox settings carry the time zone (a Windows name by default, as Exchange
stores it), the language, working hours and ``automaticRepliesSetting`` (out of office) with
scheduled times in UTC.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from hybridcal.sandbox.microsoft.directory import LANGUAGE_NAMES, Directory, Mailbox
from hybridcal.sandbox.microsoft.errors import GraphError
from hybridcal.sandbox.microsoft.http import Call, Handler, Reply
from hybridcal.sandbox.microsoft.times import format_local

NOT_SET = "0001-01-01T00:00:00.0000000"
USER_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
SETTINGS_PROPERTIES = (
    "archiveFolder",
    "timeZone",
    "automaticRepliesSetting",
    "language",
    "workingHours",
    "dateFormat",
    "timeFormat",
    "delegateMeetingMessageDeliveryOptions",
    "userPurpose",
)


def _select(call: Call, known: tuple[str, ...], type_name: str) -> set[str] | None:
    raw = call.query.get("$select")
    if raw is None:
        return None
    names = {n.strip() for n in raw.split(",") if n.strip()}
    for name in names:
        if name not in known:
            raise GraphError(
                400,
                "Request_BadRequest" if type_name == "user" else "RequestBroker--ParseUri",
                f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.",
            )
    return names


def user_json(mailbox: Mailbox) -> dict[str, Any]:
    given, _, surname = mailbox.name.partition(" ")
    return {
        "businessPhones": [],
        "displayName": mailbox.name,
        "givenName": None if mailbox.is_room else given,
        "jobTitle": None,
        "mail": mailbox.email if mailbox.has_mailbox else None,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": mailbox.language,
        "surname": None if mailbox.is_room else (surname or None),
        "userPrincipalName": mailbox.email,
        "id": mailbox.id,
    }


def settings_json(mailbox: Mailbox) -> dict[str, Any]:
    replies = mailbox.replies
    start, end = replies.start, replies.end
    return {
        "archiveFolder": None,
        "timeZone": mailbox.timezone,
        "automaticRepliesSetting": {
            "status": replies.status,
            "externalAudience": "all",
            "internalReplyMessage": replies.message,
            "externalReplyMessage": replies.message,
            "scheduledStartDateTime": {
                "dateTime": format_local(start.astimezone(UTC)) if start else NOT_SET,
                "timeZone": "UTC",
            },
            "scheduledEndDateTime": {
                "dateTime": format_local(end.astimezone(UTC)) if end else NOT_SET,
                "timeZone": "UTC",
            },
        },
        "dateFormat": "dd.MM.yyyy" if mailbox.language.startswith("de") else "M/d/yyyy",
        "timeFormat": "HH:mm" if mailbox.language.startswith("de") else "h:mm tt",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "userPurpose": "room" if mailbox.is_room else "user",
        "language": {
            "locale": mailbox.language,
            "displayName": LANGUAGE_NAMES.get(mailbox.language, mailbox.language),
        },
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": mailbox.timezone},
        },
    }


class DirectoryApi:
    def __init__(self, directory: Directory, root: str) -> None:
        self._directory = directory
        self._root = root

    def handlers(self) -> dict[str, Handler]:
        return {"users.get": self.get_user, "mailboxSettings.get": self.mailbox_settings}

    async def get_user(self, call: Call) -> Reply:
        names = _select(call, USER_PROPERTIES, "user")
        body = user_json(call.user())
        if names is not None:
            body = {k: v for k, v in body.items() if k in names or k == "id"}
        return Reply(200, {"@odata.context": f"{self._root}/$metadata#users/$entity", **body})

    async def mailbox_settings(self, call: Call) -> Reply:
        names = _select(call, SETTINGS_PROPERTIES, "mailboxSettings")
        body = settings_json(call.user())
        if names is not None:
            body = {k: v for k, v in body.items() if k in names}
        context = f"{self._root}/$metadata#users('{call.user().id}')/mailboxSettings"
        return Reply(200, {"@odata.context": context, **body})
