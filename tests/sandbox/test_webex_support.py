"""Helpers shared by the Webex simulator tests (named ``test_webex_*`` to sit with them; it
holds no tests): a started simulator with a few users and a small client that refreshes a
Service App token and calls ``/v1``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from tests.sandbox.zoom_support import Clock

from hybridcal.sandbox.webex import WebexSimulator

ALICE = "alice@example.com"
BOB = "bob@example.com"
NOLICENCE = "nolicence@example.com"
NOROOM = "noroom@example.com"
STRANGER = "stranger@example.com"


@asynccontextmanager
async def started(**options: Any) -> AsyncIterator[WebexSimulator]:
    sim = WebexSimulator(**options)
    await sim.start()
    sim.add_user(ALICE, display_name="Alice Liddell")
    sim.add_user(BOB, timezone="America/New_York")
    sim.add_user(NOLICENCE, licensed=False)
    sim.add_user(NOROOM, personal_room=False)
    try:
        yield sim
    finally:
        await sim.close()


@dataclass
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str]
    text: str

    def descriptions(self) -> list[str]:
        return [e["description"] for e in self.body.get("errors", [])]


async def _answer(response: aiohttp.ClientResponse) -> Answer:
    text = await response.text()
    body: Any = None
    if response.content_type == "application/json" and text:
        body = await response.json()
    return Answer(response.status, body, response.headers, text)


class WebexClient:
    def __init__(self, sim: WebexSimulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.client_id, self.client_secret, self.access_token, self.refresh_token = (
            sim.issue_service_app_tokens()
        )

    async def refresh(self, **form: str) -> Answer:
        data = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            **form,
        }
        async with self.session.post(self.sim.token_url, data=data) as response:
            return await _answer(response)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        data: str | None = None,
    ) -> Answer:
        chosen = self.access_token if token is None else token
        sent = {"Authorization": f"Bearer {chosen}"} if chosen else {}
        sent.update(headers or {})
        url = path if path.startswith("http") else f"{self.sim.api_root}{path}"
        async with self.session.request(
            method, url, json=json, params=params, headers=sent, data=data
        ) as response:
            return await _answer(response)

    async def create(self, host: str = ALICE, **body: Any) -> Answer:
        body.setdefault("title", "Weekly sync")
        body.setdefault("start", "2030-03-05T09:00:00Z")
        body.setdefault("end", "2030-03-05T09:30:00Z")
        if host:
            body.setdefault("hostEmail", host)
        return await self.call("POST", "/meetings", json=body)


@pytest.fixture
async def webex(clock: Clock) -> AsyncIterator[WebexSimulator]:
    async with started(now=clock) as sim:
        yield sim


@pytest.fixture
async def wclient(webex: WebexSimulator) -> AsyncIterator[WebexClient]:
    async with aiohttp.ClientSession() as session:
        yield WebexClient(webex, session)
