"""Service App tokens: the Control Hub authorisation, the refresh grant and bearer checks.

A Service App (webex.md §1 [SA]) is registered once per simulator with its scopes
(default :data:`ADMIN_SCOPES`). ``issue()`` stands for a full admin authorising it in Control
Hub and the developer copying the token pair from the portal: it answers a fresh refresh token
and access token. ``revoke()`` stands for the admin deleting the authorisation [AUZ]: every
refresh and access token of the app stops working at once (Webex's caches may honour a revoked
token briefly; the simulator is stricter and does not).

``POST /v1/access_token`` (form body ``grant_type=refresh_token&client_id&client_secret&
refresh_token``; the client credentials may instead come as HTTP Basic [LWW][SSA]) answers
``{access_token, expires_in, refresh_token, refresh_token_expires_in, token_type: "Bearer"}``.
The refresh token stays the same and its lifetime restarts on every use (webex.md §1: "refresh
expiry reset on use" [W1], "extended indefinitely" [AUZ]); older access tokens stay valid
until they expire. Checks, in order: a form body (else 400 ``invalid_request``), ``grant_type``
(400 ``unsupported_grant_type``), client credentials (401 ``invalid_client``), the refresh
token — unknown, another app's, expired or revoked (400 ``invalid_grant``).

API calls need ``Authorization: Bearer <token>``; missing, unknown, expired or revoked → 401.
Each route needs one admin scope (webex.md §1 table [OVW]); without it → 403.

Simplified: one Service App per simulator; no ``POST /v1/applications/{id}/token``, no
authorization-code flow, no 750-token cap, no "same token again within 24 h" [integration-refresh].
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

from hybridcal.sandbox.webex.errors import (
    WebexError,
    forbidden,
    invalid_client,
    invalid_grant,
    invalid_token_request,
    unauthorized,
)

SCHEDULE_WRITE = "meeting:admin_schedule_write"
SCHEDULE_READ = "meeting:admin_schedule_read"
PREFERENCES_READ = "meeting:admin_preferences_read"
ADMIN_SCOPES = (SCHEDULE_WRITE, SCHEDULE_READ, PREFERENCES_READ, "spark:kms")
ACCESS_LIFETIME = timedelta(days=14)  # webex.md §1: service apps 14 d [W1]
REFRESH_LIFETIME = timedelta(days=90)  # webex.md §1: 90 d [W1][LWW]
_ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class ServiceApp:
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    org_id: str


@dataclass
class RefreshToken:
    value: str
    expires_at: datetime
    revoked: bool = False


@dataclass(frozen=True)
class AccessToken:
    value: str
    client_id: str
    scopes: frozenset[str]
    expires_at: datetime
    refresh: str  # the refresh token it came from (revoking that one revokes this)


class TokenService:
    def __init__(
        self,
        org_id: str,
        now: Callable[[], datetime],
        rng: random.Random,
        scopes: Iterable[str] = ADMIN_SCOPES,
    ) -> None:
        self._now = now
        chosen = tuple(dict.fromkeys(scopes))
        for scope in chosen:
            if not scope or " " in scope:
                raise ValueError(f"not a scope: {scope!r}")
        client_id = "C" + "".join(rng.choice("0123456789abcdef") for _ in range(64))
        secret = "".join(secrets.choice("0123456789abcdef") for _ in range(64))
        self.app = ServiceApp(client_id, secret, chosen, org_id)
        self.access_lifetime = ACCESS_LIFETIME
        self.refresh_lifetime = REFRESH_LIFETIME
        self._refresh: dict[str, RefreshToken] = {}
        self._access: dict[str, AccessToken] = {}
        self.issued = 0  # access tokens minted (Control Hub pairs and refreshes)

    # -- the admin's side ----------------------------------------------------------------------

    def issue(self) -> tuple[str, str]:
        """A new authorisation: (access token, refresh token)."""
        refresh = RefreshToken(_token(), self._now() + self.refresh_lifetime)
        self._refresh[refresh.value] = refresh
        return self._mint(refresh).value, refresh.value

    def revoke(self) -> None:
        for refresh in self._refresh.values():
            refresh.revoked = True

    def expire_access_tokens(self) -> None:
        """Every access token issued so far expires now (a test shortcut)."""
        now = self._now()
        for value, token in list(self._access.items()):
            self._access[value] = AccessToken(
                token.value, token.client_id, token.scopes, now, token.refresh
            )

    # -- the token endpoint --------------------------------------------------------------------

    def grant(self, authorization: str | None, form: Mapping[str, str] | None) -> dict[str, Any]:
        if form is None:
            raise invalid_token_request(
                "The body must be application/x-www-form-urlencoded parameters."
            )
        if form.get("grant_type") != "refresh_token":
            raise invalid_token_request(
                "grant_type must be refresh_token.", error="unsupported_grant_type"
            )
        self._client(authorization, form)
        refresh = self._refresh.get(form.get("refresh_token", ""))
        if refresh is None:
            raise invalid_grant("The refresh token is invalid.")
        if refresh.revoked:
            raise invalid_grant("The refresh token has been revoked.")
        if refresh.expires_at <= self._now():
            raise invalid_grant("The refresh token has expired.")
        refresh.expires_at = self._now() + self.refresh_lifetime
        access = self._mint(refresh)
        return {
            "access_token": access.value,
            "expires_in": int(self.access_lifetime.total_seconds()),
            "refresh_token": refresh.value,
            "refresh_token_expires_in": int(self.refresh_lifetime.total_seconds()),
            "token_type": "Bearer",
        }

    def _client(self, authorization: str | None, form: Mapping[str, str]) -> None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() == "basic" and encoded.strip():
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise invalid_client() from None
            client_id, _, secret = decoded.partition(":")
        if client_id != self.app.client_id or secret is None:
            raise invalid_client()
        if not hmac.compare_digest(secret.encode(), self.app.client_secret.encode()):
            raise invalid_client()

    def _mint(self, refresh: RefreshToken) -> AccessToken:
        token = AccessToken(
            _token(),
            self.app.client_id,
            frozenset(self.app.scopes),
            self._now() + self.access_lifetime,
            refresh.value,
        )
        self._access[token.value] = token
        self.issued += 1
        return token

    # -- the API side --------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> AccessToken:
        scheme, _, value = (authorization or "").partition(" ")
        token = self._access.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            raise unauthorized()
        if self._refresh[token.refresh].revoked:
            raise unauthorized("The access token has been revoked.")
        if token.expires_at <= self._now():
            raise unauthorized("The access token has expired.")
        return token

    @staticmethod
    def require(token: AccessToken, scope: str | None, refusal: str | None = None) -> None:
        if scope is not None and scope not in token.scopes:
            if refusal is not None:
                raise WebexError(403, refusal, [refusal])
            raise forbidden(f"The access token lacks the scope {scope}.")


def _token() -> str:
    """Webex tokens are long opaque strings; shape not modelled beyond that."""
    return "".join(secrets.choice(_ALNUM) for _ in range(64)) + "_SANDBOX"


__all__ = ["ADMIN_SCOPES", "AccessToken", "ServiceApp", "TokenService", "WebexError"]
