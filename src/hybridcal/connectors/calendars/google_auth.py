"""Access tokens for a service account with domain-wide delegation, one per impersonated user.

The JWT-bearer grant (RFC 7523, Google's "OAuth 2.0 for server to server applications") is
built and signed here with google-auth's signer and sent with aiohttp on the event loop. A
large organisation needs one grant per user per hour: google-auth's own refresh runs its
synchronous transport (requests, urllib3) in a worker thread, and at 10,000 users that thread
hop, a Credentials copy per user and the transport cost more CPU and memory than the RSA
signature itself. Concurrent callers for one subject share one grant; tokens are reused until
shortly before expiry and kept as two small values per user.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import aiohttp
from google.auth import jwt
from google.oauth2 import service_account

from hybridcal.connectors.errors import AuthError, TransientError

_EARLY_REFRESH = timedelta(minutes=5)
_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_ASSERTION_LIFETIME_S = 3600
_TIMEOUT = aiohttp.ClientTimeout(total=30)


class _Token(NamedTuple):
    value: str
    expires_at: datetime


class DelegatedTokens:
    def __init__(
        self,
        info: Mapping[str, Any],
        scopes: Sequence[str],
        *,
        token_uri: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        data = dict(info)
        if token_uri:
            data["token_uri"] = token_uri
        try:
            # google-auth is partly untyped; it parses and checks the key file for us
            base = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                data, scopes=list(scopes)
            )
        except (ValueError, KeyError) as exc:
            raise AuthError(f"service-account key is not usable: {exc}") from exc
        self._signer = base.signer
        self._email = str(base.service_account_email)
        self._token_uri = str(data["token_uri"])
        self._scopes = tuple(scopes)
        self._client_id = str(data.get("client_id") or "of the service account")
        self._now = now
        self._tokens: dict[str, _Token] = {}
        self._grants: dict[str, asyncio.Future[_Token]] = {}  # subject -> its grant in flight
        self._session: aiohttp.ClientSession | None = None
        self.refreshes = 0

    @property
    def service_account_email(self) -> str:
        return self._email

    def use_session(self, session: aiohttp.ClientSession) -> None:
        """Send grants on the caller's session (it keeps connections open); without one, each
        grant opens a session of its own."""
        self._session = session

    async def token(self, subject: str) -> str:
        cached = self._tokens.get(subject)
        if cached is not None and cached.expires_at - _EARLY_REFRESH > self._now():
            return cached.value
        pending = self._grants.get(subject)
        if pending is None:
            pending = asyncio.ensure_future(self._grant(subject))
            self._grants[subject] = pending
            pending.add_done_callback(lambda _f: self._grants.pop(subject, None))
        # shielded: one caller giving up must not cancel the grant the others wait for
        return (await asyncio.shield(pending)).value

    def forget(self, subject: str) -> None:
        """Drop a cached token (after a 401 from the API)."""
        self._tokens.pop(subject, None)

    async def _grant(self, subject: str) -> _Token:
        issued = int(time.time())
        payload = {
            "iss": self._email,
            "sub": subject,
            "scope": " ".join(self._scopes),
            "aud": self._token_uri,
            "iat": issued,
            "exp": issued + _ASSERTION_LIFETIME_S,
        }
        assertion = jwt.encode(self._signer, payload)  # type: ignore[no-untyped-call]
        form = {"grant_type": _GRANT_TYPE, "assertion": assertion.decode("ascii")}
        status, text = await self._post(form)
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if status >= 500:
            raise TransientError(f"token endpoint answered {status}")
        if status != 200 or not data.get("access_token"):
            raise AuthError(self._explain(data, subject))
        lifetime = int(data.get("expires_in") or _ASSERTION_LIFETIME_S)
        token = _Token(str(data["access_token"]), self._now() + timedelta(seconds=lifetime))
        self._tokens[subject] = token
        self.refreshes += 1
        return token

    async def _post(self, form: Mapping[str, str]) -> tuple[int, str]:
        try:
            if self._session is not None and not self._session.closed:
                return await _post_on(self._session, self._token_uri, form)
            async with aiohttp.ClientSession() as session:
                return await _post_on(session, self._token_uri, form)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"token endpoint unreachable: {type(exc).__name__}") from None

    def _explain(self, data: Mapping[str, Any], subject: str) -> str:
        error = str(data.get("error", ""))
        if error == "unauthorized_client":
            return (
                f"domain-wide delegation not granted for client ID {self._client_id} "
                f"and scope(s) {' '.join(self._scopes)}: add them in the Google Admin console "
                "(Security > API controls > Domain-wide delegation)"
            )
        if error == "invalid_grant":
            return self._explain_invalid_grant(str(data.get("error_description", "")), subject)
        return f"token request refused: {error or 'unknown error'}"

    def _explain_invalid_grant(self, description: str, subject: str) -> str:
        """Google answers invalid_grant for several unrelated causes; its description tells."""
        text = description.lower()
        if "invalid email or user id" in text or not text:
            return (
                f"no such user {subject!r} in the Google Workspace domain (or the user is "
                "suspended); rooms are reached through google.room_access_user"
            )
        if "signature" in text or "account not found" in text:
            return (
                "the service-account key was refused (deleted or replaced key, or unknown "
                "service account): create a new JSON key and update google.service_account_file"
            )
        if "short-lived" in text or "expired" in text or "clock" in text:
            return "the token request was refused as expired: check this host's clock (NTP)"
        return f"token request refused: invalid_grant ({description})"


async def _post_on(
    session: aiohttp.ClientSession, url: str, form: Mapping[str, str]
) -> tuple[int, str]:
    async with session.post(url, data=dict(form), timeout=_TIMEOUT) as resp:
        return resp.status, await resp.text()
