"""The simulated endpoints of Zoom API v2 (users, settings, meetings) and their scopes.

Each endpoint accepts its classic admin scope or a granular equivalent (listed classic first):
users ``user:read:admin``/``user:read:user:admin``, user settings
``user:read:admin``/``user:read:settings:admin``, account settings
``account:read:admin``/``account:read:settings:admin``, create ``meeting:write:admin``/
``meeting:write:meeting:admin``, get ``meeting:read:admin``/``meeting:read:meeting:admin``,
list ``meeting:read:admin``/``meeting:read:list_meetings:admin``, update
``meeting:write:admin``/``meeting:update:meeting:admin``, delete
``meeting:write:admin``/``meeting:delete:meeting:admin``.

``GET /users/{userId}`` shows the user's Personal Meeting ID (``pmi``,
``personal_meeting_url``); the user's settings without ``option`` show its passcode and whether
it is on (``schedule_meeting``: ``personal_meeting``, ``pmi_password``,
``require_password_for_pmi_meetings`` "all" or "none" from ``meeting_security.pmi_password``).

``/accounts/{accountId}/settings`` answers for ``me`` or the account's own id; any other id
→ 404 code 2001 (approximation). Settings ``option`` values other than ``meeting_security``
→ 300. Boolean query parameters must be ``true`` or ``false``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hybridcal.sandbox.zoom.errors import ZoomError, validation
from hybridcal.sandbox.zoom.http import Call, Reply, Route, route
from hybridcal.sandbox.zoom.listing import Pager
from hybridcal.sandbox.zoom.meetings import MeetingBook
from hybridcal.sandbox.zoom.security import SecurityPolicy
from hybridcal.sandbox.zoom.users import Directory, User


def _flag(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name)
    if value is None:
        return False
    if value not in {"true", "false"}:
        raise validation(name, "Must be true or false.")
    return value == "true"


class ZoomApi:
    def __init__(
        self, directory: Directory, security: SecurityPolicy, book: MeetingBook, pager: Pager
    ) -> None:
        self._directory = directory
        self._security = security
        self._book = book
        self._pager = pager

    def routes(self) -> list[Route]:
        return [
            route(
                "GET",
                "/v2/users/{userId}",
                self.get_user,
                "user:read:admin",
                "user:read:user:admin",
            ),
            route(
                "GET",
                "/v2/users/{userId}/settings",
                self.user_settings,
                "user:read:admin",
                "user:read:settings:admin",
            ),
            route(
                "GET",
                "/v2/accounts/{accountId}/settings",
                self.account_settings,
                "account:read:admin",
                "account:read:settings:admin",
            ),
            route(
                "POST",
                "/v2/users/{userId}/meetings",
                self.create_meeting,
                "meeting:write:admin",
                "meeting:write:meeting:admin",
            ),
            route(
                "GET",
                "/v2/users/{userId}/meetings",
                self.list_meetings,
                "meeting:read:admin",
                "meeting:read:list_meetings:admin",
            ),
            route(
                "GET",
                "/v2/meetings/{meetingId}",
                self.get_meeting,
                "meeting:read:admin",
                "meeting:read:meeting:admin",
            ),
            route(
                "PATCH",
                "/v2/meetings/{meetingId}",
                self.update_meeting,
                "meeting:write:admin",
                "meeting:update:meeting:admin",
            ),
            route(
                "DELETE",
                "/v2/meetings/{meetingId}",
                self.delete_meeting,
                "meeting:write:admin",
                "meeting:delete:meeting:admin",
            ),
        ]

    # -- users and settings --------------------------------------------------------------------

    def _user(self, call: Call) -> User:
        user = self._directory.get(call.params["userId"])
        call.user = user.email
        return user

    async def get_user(self, call: Call) -> Reply:
        return Reply(200, self._directory.render(self._user(call)))

    async def user_settings(self, call: Call) -> Reply:
        user = self._user(call)
        settings = self._settings(user.id, call.query)
        if "schedule_meeting" in settings:
            required = self._security.flags_for(user.id).pmi_password
            settings["schedule_meeting"] |= {
                "personal_meeting": user.personal_meeting,
                "pmi_password": user.pmi_password,
                "require_password_for_pmi_meetings": "all" if required else "none",
                "use_pmi_for_instant_meetings": False,
            }
        return Reply(200, settings)

    async def account_settings(self, call: Call) -> Reply:
        account = call.params["accountId"]
        if account not in {"me", self._directory.account_id}:
            raise ZoomError(404, 2001, f"Account does not exist: {account}.")
        return Reply(200, self._settings(None, call.query))

    def _settings(self, user_id: str | None, query: Mapping[str, str]) -> dict[str, Any]:
        option = query.get("option")
        security = self._security.render(user_id)
        if option == "meeting_security":
            return {"meeting_security": security}
        if option is not None:
            raise validation("option", f"Option not supported by the simulator: {option}.")
        flags = self._security.flags_for(user_id)
        return {
            "schedule_meeting": {
                "host_video": False,
                "participants_video": False,
                "audio_type": "both",
                "join_before_host": False,
                "require_password_for_scheduled_meetings": (
                    flags.require_password_for_scheduled_meeting
                ),
                "embed_password_in_join_link": flags.embed_password_in_join_link,
                "use_pmi_for_scheduled_meetings": False,
            },
            "meeting_security": security,
        }

    # -- meetings ------------------------------------------------------------------------------

    async def create_meeting(self, call: Call) -> Reply:
        path_user = call.params["userId"]
        found = self._directory.find(path_user)
        call.user = found.email if found else None
        meeting = self._book.create(path_user, call.body)
        call.user = self._book.host_of(meeting).email
        return Reply(201, self._book.view.render(meeting))

    async def list_meetings(self, call: Call) -> Reply:
        return Reply(200, self._pager.answer(self._user(call), call.query))

    async def get_meeting(self, call: Call) -> Reply:
        meeting = self._book.lookup(call.params["meetingId"])
        call.user = self._book.host_of(meeting).email
        show_previous = _flag(call.query, "show_previous_occurrences")
        occurrence_id = call.query.get("occurrence_id") or None
        body = self._book.view.render(
            meeting, occurrence_id=occurrence_id, show_previous=show_previous
        )
        return Reply(200, body)

    async def update_meeting(self, call: Call) -> Reply:
        meeting = self._book.lookup(call.params["meetingId"])
        call.user = self._book.host_of(meeting).email
        self._book.update(meeting, call.body, call.query.get("occurrence_id") or None)
        return Reply(204)

    async def delete_meeting(self, call: Call) -> Reply:
        meeting = self._book.lookup(call.params["meetingId"])
        call.user = self._book.host_of(meeting).email
        _flag(call.query, "schedule_for_reminder")
        _flag(call.query, "cancel_meeting_reminder")
        self._book.delete(meeting, call.query.get("occurrence_id") or None)
        return Reply(204)
