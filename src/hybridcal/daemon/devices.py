"""Device tokens: how a room system or other endpoint proves which calendar it may read.

A token is shown once, when the admin registers the device; only its hash is stored. Tokens are
256 random bits, so a plain SHA-256 is enough to store them: a slow password KDF (scrypt, argon2)
protects low-entropy secrets against guessing, and nobody can enumerate 2**256 candidates. A fast
hash also keeps the per-request cost of authenticating a polling device negligible.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hybridcal.core.model import Device

if TYPE_CHECKING:
    from datetime import datetime

TOKEN_PREFIX = "hcd_"  # noqa: S105 - a public prefix, recognisable by secret scanners
_TOKEN_BYTES = 32
# token_urlsafe(32) yields 43 characters of the URL-safe base64 alphabet.
_TOKEN_BODY_LENGTH = 43
_URLSAFE_BODY = re.compile(r"[A-Za-z0-9_-]+")


def new_device_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The value stored for a token and looked up on every request (SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_well_formed(token: str) -> bool:
    """A cheap shape check before any store lookup; never a substitute for the lookup."""
    body = token.removeprefix(TOKEN_PREFIX)
    return (
        len(token) == len(TOKEN_PREFIX) + _TOKEN_BODY_LENGTH
        and token.startswith(TOKEN_PREFIX)
        and _URLSAFE_BODY.fullmatch(body) is not None
    )


def token_matches(token: str, token_hash: str) -> bool:
    """Constant-time check of a presented token against a stored hash."""
    return hmac.compare_digest(hash_token(token), token_hash)


@dataclass(frozen=True, slots=True)
class IssuedDevice:
    """A new device record and the one and only plaintext copy of its token."""

    device: Device
    token: str


def issue_device(calendar_key: str, name: str, *, now: datetime) -> IssuedDevice:
    """Create the record for a new device; the caller stores ``device`` and shows ``token``."""
    token = new_device_token()
    device = Device(
        device_id=f"dev_{uuid.uuid4().hex}",
        name=name,
        calendar_key=calendar_key,
        token_hash=hash_token(token),
        created_at=now,
    )
    return IssuedDevice(device=device, token=token)
