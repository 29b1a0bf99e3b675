"""Helpers shared by the Graph simulator tests: the real msgraph-sdk pointed at the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Self

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from azure.core.credentials import AccessToken
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory  # type: ignore[import-untyped]

from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.microsoft import GraphApp, GraphSimulator

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
CAROL = "carol@contoso.example"
ROOM = "room.matterhorn@contoso.example"
PROP_ID = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name hybridcal"
PROP_EXPAND = f"singleValueExtendedProperties($filter=id eq '{PROP_ID}')"


class SimCredential:
    """An async token credential for the SDK that asks the simulator's token endpoint.

    azure-identity refuses a non-https authority, so the tests give the adapter this object."""

    def __init__(self, token_url: str, app: GraphApp) -> None:
        self._url = token_url
        self._app = app
        self._cached: AccessToken | None = None
        self.calls = 0

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        del claims, tenant_id, enable_cae, kwargs
        self.calls += 1
        if self._cached is not None and self._cached.expires_on > time.time() + 60:
            return self._cached
        form = {
            "grant_type": "client_credentials",
            "client_id": self._app.client_id,
            "client_secret": self._app.client_secret,
            "scope": " ".join(scopes),
        }
        async with aiohttp.ClientSession() as session, session.post(self._url, data=form) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"token request failed: {body}")
        self._cached = AccessToken(body["access_token"], int(time.time()) + body["expires_in"])
        return self._cached

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


@dataclass
class Env:
    sim: GraphSimulator
    app: GraphApp
    client: GraphServiceClient
    session: aiohttp.ClientSession
    ids: dict[str, str]
    _token: str | None = None

    async def token(self, app: GraphApp | None = None) -> str:
        if app is None and self._token is not None:
            return self._token
        chosen = app or self.app
        async with self.session.post(
            self.sim.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": chosen.client_id,
                "client_secret": chosen.client_secret,
                "scope": GRAPH_SCOPE,
            },
        ) as resp:
            assert resp.status == 200, await resp.text()
            value = str((await resp.json())["access_token"])
        if app is None:
            self._token = value
        return value

    async def raw(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """A plain HTTP call to ``graph_root + path`` (or an absolute URL)."""
        url = path if path.startswith("http") else self.sim.graph_root + path
        sent = {"Authorization": f"Bearer {token or await self.token()}", **(headers or {})}
        async with self.session.request(method, url, json=json, headers=sent) as resp:
            text = await resp.text()
            body = await resp.json(content_type=None) if text else None
            return resp.status, body, dict(resp.headers)


def make_client(sim: GraphSimulator, app: GraphApp) -> tuple[GraphServiceClient, Any]:
    credential = SimCredential(sim.token_url, app)
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=[GRAPH_SCOPE], allowed_hosts=["127.0.0.1"]
    )
    http = GraphClientFactory.create_with_default_middleware()
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = sim.graph_root
    return GraphServiceClient(request_adapter=adapter), http


@contextlib.asynccontextmanager
async def graph_env(
    *,
    faults: Faults | None = None,
    permissions: Iterable[str] | None = None,
    consented: bool = True,
    **options: Any,
) -> AsyncIterator[Env]:
    sim = GraphSimulator(faults=faults, notify_backoff_s=0.01, **options)
    await sim.start()
    ids = {
        ALICE: sim.add_user(ALICE, name="Alice Liddell"),
        BOB: sim.add_user(BOB, name="Bob Builder", timezone="Europe/Berlin", language="de-DE"),
        CAROL: sim.add_user(CAROL, name="Carol Danvers"),
        ROOM: sim.add_room(ROOM, name="Room Matterhorn"),
    }
    if permissions is None:
        app = sim.register_app(consented=consented)
    else:
        app = sim.register_app(permissions=permissions, consented=consented)
    client, http = make_client(sim, app)
    session = aiohttp.ClientSession()
    try:
        yield Env(sim, app, client, session, ids)
    finally:
        await session.close()
        await http.aclose()
        await sim.close()


def timed(start: str, end: str, zone: str = "W. Europe Standard Time") -> dict[str, Any]:
    return {
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
    }


def future(days: float = 0, *, minutes: float = 0) -> str:
    moment = datetime.now(UTC) + timedelta(days=days, minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


@dataclass
class Receiver:
    """A webhook endpoint on loopback: answers validation, records notifications."""

    server: TestServer
    mode: str = "echo"  # echo | raw (does not decode the token) | fail | json
    fail_next: int = 0
    validations: list[str] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)
    lifecycle: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/hook") -> str:
        return str(self.server.make_url(path))

    @property
    def notifications(self) -> list[dict[str, Any]]:
        return [n for batch in self.batches for n in batch["value"]]

    async def wait_for(self, count: int, limit_s: float = 5.0, *, lifecycle: bool = False) -> None:
        async with asyncio.timeout(limit_s):
            while len(self.lifecycle if lifecycle else self.notifications) < count:
                self.arrived.clear()
                await self.arrived.wait()


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    app = web.Application()
    box: list[Receiver] = []

    async def handle(request: web.Request, lifecycle: bool) -> web.Response:
        rec = box[0]
        token = request.query.get("validationToken")
        if token is not None:
            rec.validations.append(token)
            if rec.mode == "fail":
                return web.Response(status=500)
            if rec.mode == "json":
                return web.json_response({"validationToken": token})
            if rec.mode == "raw":
                raw = request.raw_path.split("validationToken=", 1)[1]
                return web.Response(text=raw, content_type="text/plain")
            return web.Response(text=token, content_type="text/plain")
        if rec.fail_next > 0:
            rec.fail_next -= 1
            return web.Response(status=503)
        body = await request.json()
        (rec.lifecycle if lifecycle else rec.batches).append(
            body["value"][0] if lifecycle else body
        )
        rec.arrived.set()
        return web.Response(status=202)

    async def hook(request: web.Request) -> web.Response:
        return await handle(request, lifecycle=False)

    async def life(request: web.Request) -> web.Response:
        return await handle(request, lifecycle=True)

    app.router.add_post("/hook", hook)
    app.router.add_post("/lifecycle", life)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    box.append(Receiver(server))
    try:
        yield box[0]
    finally:
        await server.close()
