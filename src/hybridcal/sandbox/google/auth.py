"""Google's OAuth 2.0 token endpoint for the JWT-bearer grant, and bearer-token checks.

The service account signs ``{iss, sub, scope, aud, iat, exp}`` with RS256; the header's ``kid``
names the key. The simulator verifies the signature with the registered public key, the issuer,
a sane lifetime (at most one hour, not expired, not issued in the future), the subject (a real
user, never a room) and that the domain delegated every requested scope to the client ID.
``aud`` is always Google's own token URL, even when ``token_uri`` points here, so it is required
but not compared with this server's URL.

The JWT's ``iat``/``exp`` are checked against the real wall clock (the signer uses it); the
lifetime of issued access tokens follows the simulator's clock so tests can age them. Tokens
already issued stay valid after a delegation is revoked, as with Google, until they expire.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from hybridcal.sandbox.google.directory import Directory
from hybridcal.sandbox.google.errors import ApiError

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = timedelta(hours=1)
_CLOCK_SKEW_S = 300
_UNAUTHORIZED = (
    "Client is unauthorized to retrieve access tokens using this method, or client not "
    "authorized for any of the scopes requested."
)
_BAD_TIMES = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
    "timeframe. Check your iat and exp values in the JWT claim."
)


class TokenError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.body = {"error": error, "error_description": description}


@dataclass(frozen=True)
class AccessToken:
    value: str
    subject: str
    scopes: frozenset[str]
    client_id: str
    expires_at: datetime


def _b64decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise TokenError(400, "invalid_grant", "Invalid JWT Signature.") from None


class TokenService:
    def __init__(
        self,
        directory: Directory,
        now: Callable[[], datetime],
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._directory = directory
        self._now = now
        self._wall = wall_clock
        self._tokens: dict[str, AccessToken] = {}
        self.grants = 0

    def grant(self, form: Mapping[str, str]) -> dict[str, Any]:
        if form.get("grant_type") != JWT_BEARER:
            raise TokenError(
                400, "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}"
            )
        assertion = form.get("assertion")
        if not assertion:
            raise TokenError(400, "invalid_request", "Missing required parameter: assertion")
        claims, client_id = self._verify(assertion)
        subject = str(claims.get("sub") or "").lower()
        if not subject or subject not in self._directory.users:
            raise TokenError(400, "invalid_grant", "Invalid email or User ID")
        scopes = frozenset(str(claims.get("scope") or "").split())
        if not scopes:
            raise TokenError(400, "invalid_scope", "Empty or missing scope not allowed.")
        if not scopes <= self._directory.delegations.get(client_id, frozenset()):
            raise TokenError(401, "unauthorized_client", _UNAUTHORIZED)
        value = "ya29.sandbox-" + secrets.token_urlsafe(32)
        self._tokens[value] = AccessToken(
            value, subject, scopes, client_id, self._now() + TOKEN_LIFETIME
        )
        self.grants += 1
        return {
            "access_token": value,
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
            "token_type": "Bearer",
        }

    def _verify(self, assertion: str) -> tuple[dict[str, Any], str]:
        parts = assertion.split(".")
        if len(parts) != 3:
            raise TokenError(400, "invalid_grant", "Invalid JWT Signature.")
        try:
            header = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
        except ValueError:
            raise TokenError(400, "invalid_grant", "Invalid JWT Signature.") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise TokenError(400, "invalid_grant", "Invalid JWT Signature.")
        if header.get("alg") != "RS256":
            raise TokenError(400, "invalid_grant", "Invalid JWT Signature.")
        account = self._directory.accounts.get(str(claims.get("iss", "")))
        if account is None:
            raise TokenError(400, "invalid_grant", "Invalid grant: account not found")
        key = account.keys.get(str(header.get("kid", "")))
        if key is None:
            raise TokenError(400, "invalid_grant", "Invalid JWT Signature.")
        signed = f"{parts[0]}.{parts[1]}".encode("ascii")
        try:
            key.verify(_b64decode(parts[2]), signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise TokenError(400, "invalid_grant", "Invalid JWT Signature.") from None
        if not claims.get("aud"):
            raise TokenError(400, "invalid_grant", "Invalid JWT: No audience.")
        self._check_times(claims)
        return claims, account.client_id

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            raise TokenError(400, "invalid_grant", _BAD_TIMES)
        now = self._wall()
        lifetime_ok = 0 < exp - iat <= TOKEN_LIFETIME.total_seconds()
        if not lifetime_ok or exp < now - _CLOCK_SKEW_S or iat > now + _CLOCK_SKEW_S:
            raise TokenError(400, "invalid_grant", _BAD_TIMES)

    # -- API side ------------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> AccessToken:
        if not authorization:
            raise ApiError(
                401,
                "required",
                "Login Required.",
                location="Authorization",
                location_type="header",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        scheme, _, value = authorization.partition(" ")
        token = self._tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None or token.expires_at <= self._now():
            raise ApiError(
                401,
                "authError",
                "Invalid Credentials",
                location="Authorization",
                location_type="header",
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                    'error="invalid_token"'
                },
            )
        return token

    def invalidate(self, subject: str | None = None) -> None:
        """Forget issued tokens (all, or one user's): the next API call gets 401."""
        for value, token in list(self._tokens.items()):
            if subject is None or token.subject == subject.lower():
                del self._tokens[value]
