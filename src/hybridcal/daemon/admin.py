"""What the admin CLI does against the store and the providers, without running the daemon."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiohttp

from hybridcal.config.settings import Settings
from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.connectors.errors import ConnectorError
from hybridcal.core.model import (
    CalendarKind,
    CalendarRecord,
    Device,
    Provider,
    calendar_key,
)
from hybridcal.crypto import RecordCipher, open_keyring
from hybridcal.daemon.activation import activate
from hybridcal.daemon.devices import hash_token, new_device_token
from hybridcal.daemon.service import Overrides, build_connectors, utcnow
from hybridcal.store.base import AlreadyExistsError, NotFoundError
from hybridcal.store.sqlite import SQLiteStore


@dataclass
class Admin:
    store: SQLiteStore
    connectors: Mapping[Provider, CalendarConnector]
    now: Callable[[], datetime]

    async def enable(
        self,
        provider: Provider,
        address: str,
        kind: CalendarKind,
        *,
        name: str | None = None,
        lead_minutes: int | None = None,
    ) -> CalendarRecord:
        """Store the calendar and check access right away, so the admin sees the outcome."""
        record = CalendarRecord(
            key=calendar_key(provider, address),
            provider=provider,
            address=address.strip().lower(),
            kind=kind,
            display_name=name,
            obtp_lead_minutes=lead_minutes,
        )
        existing = await self.store.get_calendar(record.key)
        if existing is not None:
            raise AlreadyExistsError(f"{record.address} is already enabled ({existing.state})")
        await self.store.add_calendar(record)
        connector = self.connectors.get(provider)
        if connector is None:
            return record  # provider not configured yet: stays pending
        return await activate(record, connector, self.store)

    async def disable(self, provider: Provider, address: str) -> None:
        key = calendar_key(provider, address)
        record = await self.store.get_calendar(key)
        if record is None:
            raise NotFoundError(f"{address} is not enabled")
        connector = self.connectors.get(provider)
        for channel in await self.store.list_channels(key):
            if connector is not None:
                # an orphaned channel is stopped when it next notifies us
                with contextlib.suppress(ConnectorError):
                    await connector.stop_channel(record, channel)
        await self.store.remove_calendar(key)

    async def add_device(self, provider: Provider, address: str, name: str) -> tuple[Device, str]:
        key = calendar_key(provider, address)
        if await self.store.get_calendar(key) is None:
            raise NotFoundError(f"{address} is not enabled: enable the user or room first")
        token = new_device_token()
        device = Device(
            device_id=secrets.token_hex(6),
            name=name,
            calendar_key=key,
            token_hash=hash_token(token),
            created_at=self.now(),
        )
        await self.store.add_device(device)
        return device, token


@asynccontextmanager
async def admin_session(
    settings: Settings,
    environ: Mapping[str, str],
    *,
    overrides: Overrides | None = None,
    connect: bool = True,
) -> AsyncIterator[Admin]:
    keyring = (overrides.keyring if overrides else None) or open_keyring(
        path=Path(settings.crypto.keyring), credential=settings.crypto.credential, environ=environ
    )
    Path(settings.store.path).parent.mkdir(parents=True, exist_ok=True)
    store = await SQLiteStore.open(Path(settings.store.path), RecordCipher(keyring), now=utcnow)
    async with aiohttp.ClientSession() as http:
        try:
            connectors = (
                build_connectors(
                    settings, http, overrides=overrides or Overrides(), environ=environ, now=utcnow
                )
                if connect
                else {}
            )
            yield Admin(store, connectors, utcnow)
        finally:
            await store.close()
