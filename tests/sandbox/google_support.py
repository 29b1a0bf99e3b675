"""Helpers shared by the Google simulator tests: real client libraries pointed at the sim."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from google.oauth2 import service_account
from googleapiclient.discovery import build

from hybridcal.sandbox.google import CALENDAR_SCOPE, GoogleSimulator

CalendarFactory = Callable[..., Any]
"""``calendar(subject)`` -> a Calendar v3 Resource acting as that user."""

ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"
ADMIN = "admin@example.com"
ROOM = "c_1888abc@resource.calendar.google.com"


def credentials(
    sim: GoogleSimulator, info: dict[str, str], subject: str, scopes: list[str] | None = None
) -> service_account.Credentials:
    data = dict(info, token_uri=sim.token_uri)
    base = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        data, scopes=scopes or [CALENDAR_SCOPE]
    )
    creds: service_account.Credentials = base.with_subject(subject)
    return creds


def service(
    sim: GoogleSimulator,
    info: dict[str, str],
    subject: str,
    *,
    api: str = "calendar",
    scopes: list[str] | None = None,
) -> Any:
    creds = credentials(sim, info, subject, scopes)
    root = sim.calendar_root if api == "calendar" else sim.gmail_root
    return build(
        api,
        "v3" if api == "calendar" else "v1",
        credentials=creds,
        static_discovery=True,
        client_options={"api_endpoint": root},
        cache_discovery=False,
    )


async def run(req: Any) -> Any:
    """Execute a client-library request off the event loop the simulator serves on."""
    return await asyncio.to_thread(req.execute)


def timed(start: str, end: str, zone: str = "Europe/Zurich") -> dict[str, Any]:
    return {
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
    }
