"""The admin API: ``GET /admin/v1/status`` behind a bearer token.

The token lives in a private file (``daemon.admin_token_file``); only its SHA-256 is kept in
memory and compared in constant time with the hash of what a request presents, so neither the
comparison's time nor a memory dump gives the token away, and it is never logged. Without a
configured token the routes are not mounted at all: the paths answer 404 like any unknown one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from hybridcal.crypto.secret_files import read_private

if TYPE_CHECKING:
    from pathlib import Path

PREFIX: Final = "/admin/v1"
MIN_TOKEN_CHARS: Final = 32  # e.g. `secrets.token_urlsafe(32)` gives 43
_CHALLENGE: Final = 'Bearer realm="hybridcal-admin"'


class AdminTokenError(ValueError):
    """The admin token file holds no usable token."""


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def load_token_hash(path: Path | None) -> bytes | None:
    """The hash of the token in ``path`` (None when no file is configured). The file must be
    private to its owner (``crypto.secret_files``) and hold one token of at least
    ``MIN_TOKEN_CHARS`` characters. Raises OSError, SecretFileError or AdminTokenError."""
    if path is None:
        return None
    try:
        token = read_private(path).decode("ascii").strip()
    except UnicodeDecodeError:
        raise AdminTokenError(f"{path}: the admin token must be ASCII") from None
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise AdminTokenError(
            f"{path}: the admin token must be one word of at least {MIN_TOKEN_CHARS} characters"
        )
    return token_hash(token)


def add_admin_routes(
    app: web.Application,
    *,
    status: Callable[[], Awaitable[dict[str, Any]]],
    token_hash: bytes | None,
) -> None:
    """Mount ``GET /admin/v1/status`` (the status document from ``status()``) when a token
    hash is given; without one nothing is mounted."""
    if token_hash is None:
        return
    expected = token_hash

    async def get_status(request: web.Request) -> web.Response:
        refusal = _refusal(request, expected)
        if refusal is not None:
            return refusal
        return web.json_response(await status(), headers={"Cache-Control": "no-store"})

    app.router.add_get(f"{PREFIX}/status", get_status)


def _refusal(request: web.Request, expected: bytes) -> web.Response | None:
    """None when the request carries the token; otherwise the 401 to answer with."""
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return _unauthorized(None)
    # Hash first: compare_digest then compares two values of equal length, whatever was sent.
    digest = hashlib.sha256(presented.strip().encode("utf-8", "surrogateescape")).digest()
    if hmac.compare_digest(digest, expected):
        return None
    return _unauthorized("invalid_token")


def _unauthorized(error: str | None) -> web.Response:
    challenge = _CHALLENGE if error is None else f'{_CHALLENGE}, error="{error}"'
    return web.json_response(
        {"error": "unauthorized", "detail": "send Authorization: Bearer <admin token>"},
        status=401,
        headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"},
    )
