"""What the admin CLI does against the store and the providers, without running the daemon."""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from hybridcal.config.secrets import Overrides
from hybridcal.config.settings import Settings
from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.connectors.calendars.registry import build_connectors
from hybridcal.connectors.errors import ConnectorError
from hybridcal.core.clock import utcnow
from hybridcal.core.model import (
    CalendarKind,
    CalendarRecord,
    Device,
    Fault,
    Provider,
    calendar_key,
)
from hybridcal.core.planner import NOTE as NOTE_SYSTEM
from hybridcal.crypto import RecordCipher, open_keyring
from hybridcal.daemon.activation import activate
from hybridcal.daemon.devices import hash_token, new_device_token
from hybridcal.store.base import AlreadyExistsError, NotFoundError, Store
from hybridcal.store.registry import open_store


@dataclass
class Admin:
    store: Store
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

    async def enable_many(
        self,
        provider: Provider,
        addresses: Iterable[str],
        kind: CalendarKind,
        *,
        lead_minutes: int | None = None,
    ) -> BulkEnable:
        """Store the calendars as pending in one transaction, without asking the provider: the
        daemon's sweep checks and syncs them (``hybridcal status`` shows how far it got).
        Addresses must be valid already (``read_address_lines``)."""
        records = [
            CalendarRecord(
                key=calendar_key(provider, address),
                provider=provider,
                address=address.strip().lower(),
                kind=kind,
                obtp_lead_minutes=lead_minutes,
            )
            for address in addresses
        ]
        existing = await self.store.add_calendars(records)
        return BulkEnable(enabled=len({r.key for r in records}) - len(existing), existing=existing)

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

    async def report(self, provider: Provider, address: str) -> dict[str, Any]:
        """What ``users show`` / ``rooms show`` print: state, channels, meetings made, and
        everything the admin can act on (refusals, unavailable keywords, faults)."""
        key = calendar_key(provider, address)
        record = await self.store.get_calendar(key)
        if record is None:
            raise NotFoundError(f"{address} is not enabled")
        channels = await self.store.list_channels(key)
        bindings = await self.store.list_bindings(key)
        faults = await self.store.list_faults(key)
        sync_fault = next((f for f in faults if f.is_sync_fault), None)
        return {
            "address": record.address,
            "provider": record.provider.value,
            "kind": record.kind.value,
            "state": record.state.value,
            "reason": record.reason,
            "locale": record.locale,
            "timezone": record.timezone,
            "synced_at": _iso(record.synced_at),
            # a sync round that keeps failing: the meeting list is served as last synced
            "sync": {"status": "ok"}
            if sync_fault is None
            else {"status": "failing", **_fault_json(sync_fault)},
            "channels": [
                {"id": c.channel_id, "expires_at": c.expires_at.isoformat()} for c in channels
            ],
            "meetings_made": len(bindings),
            # meetings a meeting system refused for now: the admin can act on these
            "meeting_problems": [
                {
                    "event": b.event_id,
                    "system": b.system,
                    "problem": b.problem.kind.value,
                    "detail": b.problem.detail,
                    "retry_at": _iso(b.retry_at),
                }
                for b in bindings
                if b.problem is not None
            ],
            # keywords this calendar cannot use (e.g. @meet on Microsoft 365): the invitation
            # carries a short note instead of a meeting
            "unavailable_keywords": [
                {
                    "event": b.event_id,
                    "keyword": b.keyword,
                    "reason": f"{b.keyword} names a meeting system that is not configured or "
                    f"not available for {record.provider.value} calendars",
                }
                for b in bindings
                if b.system == NOTE_SYSTEM
            ],
            # events that could not be handled; the rest of the calendar syncs on
            "event_problems": [
                {"event": f.event_id, **_fault_json(f)} for f in faults if not f.is_sync_fault
            ],
        }

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


@dataclass(frozen=True, slots=True)
class BulkEnable:
    enabled: int
    existing: list[str]  # keys that were already enabled, left as they were


@dataclass(frozen=True, slots=True)
class AddressLines:
    """A list of addresses as an admin wrote it: one a line, ``#`` starts a comment."""

    addresses: list[str]  # valid, lower case, each once, in the order given
    bad: list[tuple[int, str]]  # (line number, why) of lines that are not addresses
    duplicates: int


MAX_ADDRESS = 254  # characters (RFC 5321 path limit)
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def address_problem(address: str) -> str | None:
    """Why ``address`` is not a mailbox address we can enable, or None. Checked locally: the
    provider is asked later, by the daemon."""
    if len(address) > MAX_ADDRESS:
        return f"longer than {MAX_ADDRESS} characters"
    if any(c.isspace() for c in address):
        return "contains a space: one address a line"
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "not an e-mail address (name@domain)"
    if not _LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        return "the part before @ has characters a mailbox address cannot have"
    return _domain_problem(domain)


def _domain_problem(domain: str) -> str | None:
    try:
        labels = domain.encode("idna").decode("ascii").lower().split(".")
    except UnicodeError:
        labels = []
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return f"{domain!r} is not a valid domain"
    return None


def read_address_lines(text: str) -> AddressLines:
    """Parse a bulk list; a comment is ``#`` at the start of a line or after a space."""
    addresses: list[str] = []
    seen: set[str] = set()
    bad: list[tuple[int, str]] = []
    duplicates = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#"):
            continue
        line = re.split(r"\s#", line, maxsplit=1)[0].strip()
        if not line:
            continue
        problem = address_problem(line)
        if problem is not None:
            bad.append((number, f"{line[:80]!r}: {problem}"))
            continue
        address = line.lower()
        if address in seen:
            duplicates += 1
            continue
        seen.add(address)
        addresses.append(address)
    return AddressLines(addresses, bad, duplicates)


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None


def _fault_json(fault: Fault) -> dict[str, Any]:
    return {
        "error": fault.error,
        "message": fault.message,
        "since": fault.first_seen.isoformat(),
        "last_seen": fault.last_seen.isoformat(),
        "attempts": fault.attempts,
        "next_retry": _iso(fault.retry_at),
    }


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
    store = await open_store(settings, RecordCipher(keyring), now=utcnow, environ=environ)
    async with aiohttp.ClientSession() as http:
        connectors: dict[Provider, CalendarConnector] = {}
        try:
            if connect:
                connectors = build_connectors(
                    settings, http, overrides=overrides or Overrides(), environ=environ, now=utcnow
                )
            yield Admin(store, connectors, utcnow)
        finally:
            for connector in connectors.values():  # their own HTTP clients and credentials
                await connector.close()
            await store.close()
