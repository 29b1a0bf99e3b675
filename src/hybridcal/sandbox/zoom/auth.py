"""Server-to-Server OAuth: the token endpoint and bearer/scope checks of the API.

``POST /oauth/token?grant_type=account_credentials&account_id=ID`` with
``Authorization: Basic base64(client_id:client_secret)``; ``grant_type`` and ``account_id``
may also come as a form body. Checks in this order: grant type (``unsupported_grant_type``),
client credentials (``invalid_client``, also for a revoked app), account (``invalid_request``).
The answer carries an opaque random token valid for one hour by the simulator's clock, no
refresh token; several tokens of one app are valid at once.

API calls need ``Authorization: Bearer <token>``: missing or unknown → 401 code 124
``Invalid access token.``; expired → 401 code 124 ``Access token is expired.`` (Zoom's wording
for that case); a revoked app's tokens stop working at once. Each endpoint accepts its classic
admin scope or its granular equivalent; without either → 400 code 4711 naming both.

Simplified: no user-managed apps, no ``me`` context, no token introspection or revocation
endpoint, one account per simulator.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import random
import secrets
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hybridcal.sandbox.zoom.errors import OAuthError, invalid_token, missing_scopes

CLASSIC_ADMIN_SCOPES = ("meeting:read:admin", "meeting:write:admin", "user:read:admin")
TOKEN_LIFETIME = timedelta(hours=1)
GRANT_TYPE = "account_credentials"
_ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class ZoomApp:
    """A Server-to-Server OAuth app as the Zoom Marketplace shows it to the admin."""

    account_id: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class AccessToken:
    value: str
    client_id: str
    account_id: str
    scopes: frozenset[str]
    expires_at: datetime


class TokenService:
    def __init__(self, account_id: str, now: Callable[[], datetime], rng: random.Random) -> None:
        self.account_id = account_id
        self._now = now
        self._rng = rng
        self.apps: dict[str, ZoomApp] = {}
        self._revoked: set[str] = set()
        self._tokens: dict[str, AccessToken] = {}
        self.issued = 0
        self.api_url = ""

    # -- apps ----------------------------------------------------------------------------------

    def create_app(self, scopes: Iterable[str] | None = None) -> ZoomApp:
        chosen = tuple(CLASSIC_ADMIN_SCOPES if scopes is None else scopes)
        for scope in chosen:
            if not isinstance(scope, str) or not scope or " " in scope:
                raise ValueError(f"not a scope: {scope!r}")
        client_id = "".join(self._rng.choice(_ALNUM) for _ in range(22))
        secret = "".join(secrets.choice(_ALNUM) for _ in range(32))
        app = ZoomApp(self.account_id, client_id, secret, tuple(dict.fromkeys(chosen)))
        self.apps[client_id] = app
        return app

    def revoke(self, client_id: str) -> None:
        if client_id not in self.apps:
            raise KeyError(f"no such app: {client_id}")
        self._revoked.add(client_id)

    # -- token endpoint ------------------------------------------------------------------------

    def grant(
        self, authorization: str | None, params: Mapping[str, str]
    ) -> tuple[dict[str, Any], ZoomApp]:
        grant_type = params.get("grant_type", "")
        if grant_type != GRANT_TYPE:
            raise OAuthError("unsupported_grant_type", "Unsupported grant type")
        app = self._client(authorization)
        if params.get("account_id", "") != app.account_id:
            raise OAuthError("invalid_request", "Invalid account_id")
        value = secrets.token_urlsafe(48)
        self._tokens[value] = AccessToken(
            value,
            app.client_id,
            app.account_id,
            frozenset(app.scopes),
            self._now() + TOKEN_LIFETIME,
        )
        self.issued += 1
        body = {
            "access_token": value,
            "token_type": "bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
            "scope": " ".join(app.scopes),
            "api_url": self.api_url,
        }
        return body, app

    def _client(self, authorization: str | None) -> ZoomApp:
        bad = OAuthError("invalid_client", "Invalid client_id or client_secret")
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            raise bad
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise bad from None
        client_id, colon, secret = decoded.partition(":")
        app = self.apps.get(client_id)
        if not colon or app is None or client_id in self._revoked:
            raise bad
        if not hmac.compare_digest(secret.encode(), app.client_secret.encode()):
            raise bad
        return app

    # -- API side ------------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> AccessToken:
        scheme, _, value = (authorization or "").partition(" ")
        token = self._tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None or token.client_id in self._revoked:
            raise invalid_token()
        if token.expires_at <= self._now():
            raise invalid_token("Access token is expired.")
        return token

    @staticmethod
    def require(token: AccessToken, accepted: tuple[str, ...]) -> None:
        """``accepted`` lists the classic scope first, then its granular equivalents."""
        if accepted and not token.scopes.intersection(accepted):
            raise missing_scopes(accepted)
