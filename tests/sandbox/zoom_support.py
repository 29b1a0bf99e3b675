"""Helpers shared by the Zoom simulator tests: a settable clock, a started simulator with a
few users, and a small aiohttp client that speaks S2S OAuth and the v2 API."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from hybridcal.sandbox.zoom import ZoomApp, ZoomSimulator

ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"
BASIC = "basic@example.com"
GONE = "gone@example.com"
INVITED = "invited@example.com"
START = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)  # a Monday


class Clock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@asynccontextmanager
async def started(**options: Any) -> AsyncIterator[ZoomSimulator]:
    options.setdefault("qps_limit", 10_000)
    sim = ZoomSimulator(**options)
    await sim.start()
    sim.add_user(ALICE, first_name="Alice", last_name="Liddell")
    sim.add_user(BOB, first_name="Bob", timezone="America/New_York")
    sim.add_user(CAROL, first_name="Carol")
    sim.add_user(BASIC, type=1)
    sim.add_user(GONE, status="inactive")
    sim.add_user(INVITED, status="pending")
    try:
        yield sim
    finally:
        await sim.close()


@dataclass
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str]
    raw: bytes

    @property
    def code(self) -> Any:
        return self.body.get("code") if isinstance(self.body, dict) else None

    def fields(self) -> list[str]:
        return [e["field"] for e in self.body.get("errors", [])]


def basic(app: ZoomApp, secret: str | None = None) -> str:
    pair = f"{app.client_id}:{app.client_secret if secret is None else secret}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


async def _answer(response: aiohttp.ClientResponse) -> Answer:
    raw = await response.read()
    body = await response.json(content_type=None) if raw else None
    return Answer(response.status, body, response.headers, raw)


class ZoomClient:
    """One S2S app talking to the simulator; ``call`` fetches a token on first use."""

    def __init__(self, sim: ZoomSimulator, session: aiohttp.ClientSession, app: ZoomApp) -> None:
        self.sim = sim
        self.session = session
        self.app = app
        self.access_token: str | None = None

    async def grant(
        self,
        *,
        authorization: str | None = None,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Answer:
        query = (
            {"grant_type": "account_credentials", "account_id": self.app.account_id}
            if params is None
            else dict(params)
        )
        headers = {"Authorization": authorization or basic(self.app)}
        async with self.session.post(
            f"{self.sim.oauth_root}/oauth/token", params=query, data=form, headers=headers
        ) as response:
            return await _answer(response)

    async def token(self) -> str:
        answer = await self.grant()
        assert answer.status == 200, answer.body
        self.access_token = str(answer.body["access_token"])
        return self.access_token

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> Answer:
        if token is None:
            token = self.access_token or await self.token()
        sent = {"Authorization": f"Bearer {token}"} if token else {}
        sent.update(headers or {})
        async with self.session.request(
            method,
            f"{self.sim.api_root}{path}",
            json=json,
            params=params,
            headers=sent,
            data=data,
        ) as response:
            return await _answer(response)

    async def create(self, user: str = ALICE, **body: Any) -> Answer:
        body.setdefault("topic", "Weekly sync")
        body.setdefault("type", 2)
        body.setdefault("start_time", "2030-03-05T09:00:00Z")
        body.setdefault("duration", 30)
        return await self.call("POST", f"/users/{user}/meetings", json=body)


@asynccontextmanager
async def client_for(
    sim: ZoomSimulator, scopes: list[str] | None = None
) -> AsyncIterator[ZoomClient]:
    async with aiohttp.ClientSession() as session:
        yield ZoomClient(sim, session, sim.create_app(scopes))


def weekly(days: str, **extra: Any) -> dict[str, Any]:
    return {"type": 2, "repeat_interval": 1, "weekly_days": days, **extra}
