"""The wall clock every part of hybridcal reads, unless a test or the demo hands in its own."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
