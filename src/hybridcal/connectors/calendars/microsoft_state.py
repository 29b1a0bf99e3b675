"""Subscription ``clientState`` values that prove themselves ours.

Every subscription gets a random secret as its clientState, checked against the stored channel on
each notification. A subscription whose channel we no longer hold (a store restored from a
backup, a stop that failed while the record was dropped, a crash between Graph's 201 and the
store write) still sends notifications, and Graph retries every one that is not acknowledged for
up to four hours. To tell our orphans from strangers without the channel, the clientState
carries a MAC of the random part under a key derived from the app's credential:
``<secret>.<tag>``. A notification for an unknown subscription whose tag verifies came from a
subscription this app made, so deleting it is safe; any other unknown one is merely dropped.

The key changes with the credential (a rotated client secret or certificate): orphans made
before a rotation are then only acknowledged and dropped, and expire within seven days.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

_LABEL = b"hybridcal graph clientState v1"
_TAG_BYTES = 16


def client_state_key(
    *, client_secret: str | None = None, certificate_path: str | Path | None = None
) -> bytes:
    """The MAC key, derived from the credential the daemon already holds (never stored)."""
    if client_secret:
        material = client_secret.encode()
    elif certificate_path is not None:
        material = Path(certificate_path).read_bytes()
    else:
        raise ValueError("a client secret or a certificate is needed")
    return hmac.new(material, _LABEL, hashlib.sha256).digest()


def _tag(key: bytes, secret: str) -> str:
    mac = hmac.new(key, secret.encode(), hashlib.sha256).digest()[:_TAG_BYTES]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def sign_state(key: bytes, secret: str) -> str:
    """``secret`` (random, without a dot) with its tag: the clientState sent to Graph."""
    if not secret or "." in secret:
        raise ValueError("the random part of a clientState must be non-empty, without '.'")
    return f"{secret}.{_tag(key, secret)}"


def is_signed_state(key: bytes, state: str) -> bool:
    secret, dot, tag = state.rpartition(".")
    if not dot or not secret or not tag or len(state) > 128:
        return False
    return hmac.compare_digest(tag.encode(), _tag(key, secret).encode())
