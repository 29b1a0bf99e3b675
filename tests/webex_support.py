"""Shared by the Webex tests: an in-memory token vault with the store's compare-and-swap, and a
started Webex simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from hybridcal.sandbox.webex import WebexSimulator

ALICE = "alice@example.com"
BOB = "bob@example.com"
UNLICENSED = "unlicensed@example.com"


@dataclass(frozen=True, slots=True)
class Record:
    name: str
    version: int
    data: Mapping[str, str] = field(repr=False)


class MemoryVault:
    """``store.base.Store``'s app-token methods, in memory (the store's contract tests the
    real ones)."""

    def __init__(self) -> None:
        self.rows: dict[str, Record] = {}
        self.writes = 0

    async def get_app_token(self, name: str) -> Record | None:
        return self.rows.get(name)

    async def replace_app_token(
        self, name: str, data: Mapping[str, str], expected_version: int
    ) -> Record | None:
        row = self.rows.get(name)
        if row is None or row.version != expected_version:
            return None
        self.writes += 1
        self.rows[name] = Record(name, expected_version + 1, dict(data))
        return self.rows[name]

    async def put_app_token(self, name: str, data: Mapping[str, str]) -> Record:
        row = self.rows.get(name)
        self.writes += 1
        self.rows[name] = Record(name, 1 if row is None else row.version + 1, dict(data))
        return self.rows[name]


@asynccontextmanager
async def started(**kwargs: Any) -> AsyncIterator[WebexSimulator]:
    sim = WebexSimulator(**kwargs)
    await sim.start()
    try:
        sim.add_user(ALICE)
        sim.add_user(BOB)
        sim.add_user(UNLICENSED, licensed=False)
        yield sim
    finally:
        await sim.close()


def seed_vault(vault: MemoryVault, sim: WebexSimulator) -> str:
    """What ``hybridcal webex authorize`` leaves behind: the admin's refresh token (no access
    token yet, so the first call refreshes). Returns the client secret."""
    client_id, secret, _access, refresh = sim.issue_service_app_tokens()
    vault.rows["webex"] = Record("webex", 1, {"client_id": client_id, "refresh_token": refresh})
    return secret
