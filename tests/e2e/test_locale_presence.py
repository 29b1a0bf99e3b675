"""Per-person behaviour: notes in the organiser's language, out-of-office as presence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from tests.e2e.harness import ALICE, DOMAIN, ZONE, Harness, marker_of, tomorrow_at, when

from hybridcal.core.model import Provider
from hybridcal.core.render import START_MARK
from hybridcal.daemon.admin import admin_session

DORA = f"dora@{DOMAIN}"


async def test_note_speaks_the_organisers_language(h: Harness) -> None:
    h.sim.add_user(DORA, locale="de", timezone=ZONE)
    record = await h.enable(DORA)
    assert record.locale == "de"
    await h.daemon.sweep()  # what the periodic sweep does: a channel and a first sync
    await h.settle()
    event_id = h.sim.person_insert(
        DORA,
        {"summary": "Kundentermin", "location": "@webex", **when(tomorrow_at(10))},
    )["id"]
    await h.settle()
    event = h.event(DORA, event_id)
    assert marker_of(event)["hybridcal.system"] == "note"
    note = event["description"][event["description"].index(START_MARK) :]
    assert "nicht verfügbar" in note  # German, from Dora's calendar locale
    assert "not available" not in note


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr", "n'est pas disponible pour ce calendrier"),
        ("pt_BR", "não está disponível para este calendário"),
        ("zh_TW", "此行事曆無法使用"),
        ("tr", "is not available for this calendar"),  # no Turkish table: the default, English
    ],
)
async def test_note_in_each_organisers_language(h: Harness, locale: str, expected: str) -> None:
    """Google's own locale codes (``pt_BR``, ``zh_TW``) pick the table (``@teams`` cannot be
    used on Google: a note)."""
    address = f"org-{locale.lower().replace('_', '-')}@{DOMAIN}"
    h.sim.add_user(address, locale=locale, timezone=ZONE)
    record = await h.enable(address)
    assert record.locale == locale
    await h.daemon.sweep()
    await h.settle()
    event_id = h.sim.person_insert(
        address, {"summary": "Réunion", "location": "@teams", **when(tomorrow_at(11))}
    )["id"]
    await h.settle()
    event = h.event(address, event_id)
    assert marker_of(event)["hybridcal.system"] == "note"
    note = event["description"][event["description"].index(START_MARK) :]
    assert expected in note


async def test_vacation_responder_becomes_presence(h: Harness) -> None:
    now = datetime.now(UTC)
    h.sim.set_vacation(
        ALICE,
        enabled=True,
        start=now - timedelta(hours=1),
        end=now + timedelta(days=2),
        subject="Out until Thursday",
        body="Private note for mail senders",
    )
    async with admin_session(h.settings, {}) as admin:
        _device, token = await admin.add_device(Provider.GOOGLE, ALICE, "Alice's desk")
    assert h.daemon.jobs is not None
    await h.daemon.jobs.presence()

    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{h.daemon.base_url}/api/v1/meetings", headers={"Authorization": f"Bearer {token}"}
        ) as resp,
    ):
        assert resp.status == 200
        body = await resp.json()
    presence = body["presence"]
    assert presence["out_of_office"] is True
    assert "Private note" not in str(body)  # the responder's text is not for room displays

    h.sim.set_vacation(ALICE, enabled=False)
    await h.daemon.jobs.presence()
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{h.daemon.base_url}/api/v1/meetings", headers={"Authorization": f"Bearer {token}"}
        ) as resp,
    ):
        assert (await resp.json())["presence"]["out_of_office"] is False
