"""Gmail vacation responder through the real Gmail v1 client."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from googleapiclient.errors import HttpError
from tests.sandbox.google_support import ALICE, BOB, run, service

from hybridcal.sandbox.google import GMAIL_SETTINGS_SCOPE, GoogleSimulator

SCOPES = [GMAIL_SETTINGS_SCOPE]


async def test_vacation_settings_with_google_field_names(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    start = datetime(2030, 7, 1, tzinfo=UTC)
    end = datetime(2030, 7, 15, tzinfo=UTC)
    sim.set_vacation(ALICE, enabled=True, start=start, end=end, subject="Away", body="Back soon")
    gmail = service(sim, sa_info, ALICE, api="gmail", scopes=SCOPES)
    data = await run(gmail.users().settings().getVacation(userId=ALICE))
    assert data["enableAutoReply"] is True
    assert data["responseSubject"] == "Away"
    assert data["responseBodyPlainText"] == "Back soon"
    assert data["startTime"] == str(int(start.timestamp() * 1000))
    assert data["endTime"] == str(int(end.timestamp() * 1000))
    me = await run(gmail.users().settings().getVacation(userId="me"))
    assert me == data


async def test_vacation_defaults_off_and_other_mailboxes_are_denied(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    gmail = service(sim, sa_info, BOB, api="gmail", scopes=SCOPES)
    data = await run(gmail.users().settings().getVacation(userId="me"))
    assert data["enableAutoReply"] is False
    assert "startTime" not in data
    with pytest.raises(HttpError) as info:
        await run(gmail.users().settings().getVacation(userId=ALICE))
    assert info.value.status_code == 403


async def test_vacation_needs_a_gmail_scope(sim: GoogleSimulator, sa_info: dict[str, str]) -> None:
    gmail = service(sim, sa_info, ALICE, api="gmail")  # calendar scope only
    with pytest.raises(HttpError) as info:
        await run(gmail.users().settings().getVacation(userId="me"))
    assert info.value.status_code == 403
    path = [r for r in sim.request_log if r.method_id == "gmail.users.settings.getVacation"]
    assert path[0].path == "/gmail/v1/users/me/settings/vacation"
