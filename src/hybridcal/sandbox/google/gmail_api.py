"""Gmail v1 ``users.settings.getVacation`` (the vacation responder = out of office).

``userId`` is ``me`` or the token subject's own address; another user's mailbox answers 403
("Delegation denied"), as Gmail does. Times are epoch milliseconds as strings.
"""

from __future__ import annotations

from typing import Any

from hybridcal.sandbox.google.directory import Directory
from hybridcal.sandbox.google.errors import ApiError
from hybridcal.sandbox.google.http import Call, Handler, Reply
from hybridcal.sandbox.google.times import ms_epoch


class GmailApi:
    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    def handlers(self) -> dict[str, Handler]:
        return {"gmail.users.settings.getVacation": self.get_vacation}

    async def get_vacation(self, call: Call) -> Reply:
        user = call.path["userId"].lower()
        if user not in {"me", call.token.subject}:
            raise ApiError(403, "forbidden", f"Delegation denied for {call.token.subject}")
        vacation = self._directory.vacation(call.token.subject)
        body: dict[str, Any] = {
            "enableAutoReply": vacation.enabled,
            "responseSubject": vacation.subject,
            "responseBodyPlainText": vacation.body,
            "restrictToContacts": False,
            "restrictToDomain": False,
        }
        if vacation.start is not None:
            body["startTime"] = ms_epoch(vacation.start)
        if vacation.end is not None:
            body["endTime"] = ms_epoch(vacation.end)
        return Reply(body=body)
