"""Access tokens of a Zoom Server-to-Server OAuth app (the ``account_credentials`` grant).

There is no refresh token: a new token is requested shortly before the current one expires.
Concurrent callers share one request (a lock), and the token is never logged or stored. Zoom
answers a bad client ID/secret or account ID with a 400 whose ``reason`` we turn into words an
admin can act on.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp

from hybridcal.connectors.errors import AuthError, TransientError

EARLY_REFRESH = timedelta(minutes=5)
_APP_PAGE = "the app's App Credentials page in the Zoom App Marketplace (Manage → your app)"


@dataclass(frozen=True, slots=True)
class ZoomToken:
    value: str
    expires_at: datetime
    scopes: frozenset[str]

    def __repr__(self) -> str:  # never show the token itself
        return f"ZoomToken(expires_at={self.expires_at.isoformat()}, scopes={sorted(self.scopes)})"


class ZoomTokens:
    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        oauth_root: str,
        account_id: str,
        client_id: str,
        client_secret: str,
        timeout: float = 30,
        proxy: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._session = session
        self._url = oauth_root.rstrip("/") + "/oauth/token"
        self._account_id = account_id
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        self._authorization = f"Basic {basic}"
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._proxy = proxy
        self._now = now
        self._token: ZoomToken | None = None
        self._lock = asyncio.Lock()
        self.grants = 0  # tokens requested, for tests and the benchmark

    async def token(self) -> ZoomToken:
        current = self._token
        if current is not None and self._fresh(current):
            return current
        async with self._lock:  # one grant however many callers wait
            current = self._token
            if current is None or not self._fresh(current):
                current = self._token = await self._grant()
            return current

    def forget(self, token: ZoomToken) -> None:
        """Zoom refused this token before its time (app deactivated, scopes changed)."""
        if self._token is token:
            self._token = None

    def _fresh(self, token: ZoomToken) -> bool:
        return self._now() < token.expires_at - EARLY_REFRESH

    async def _grant(self) -> ZoomToken:
        params = {"grant_type": "account_credentials", "account_id": self._account_id}
        headers = {"Authorization": self._authorization, "Accept": "application/json"}
        try:
            async with self._session.post(
                self._url, params=params, headers=headers, timeout=self._timeout, proxy=self._proxy
            ) as resp:
                status, text = resp.status, await resp.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"zoom token: {type(exc).__name__}") from None
        self.grants += 1
        if status >= 500 or status == 429:
            raise TransientError(f"zoom token: HTTP {status}")
        try:
            body = json.loads(text)
        except ValueError:
            body = {}
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise AuthError(_explain(status, body if isinstance(body, dict) else {}))
        lifetime = body.get("expires_in", 3600)
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 3600.0
        scopes = frozenset(str(body.get("scope") or "").split())
        return ZoomToken(
            str(body["access_token"]), self._now() + timedelta(seconds=seconds), scopes
        )


def _explain(status: int, body: dict[str, object]) -> str:
    """Zoom's token errors, in words that say what to fix."""
    reason = str(body.get("reason") or body.get("error_description") or "").strip()
    error = str(body.get("error") or "").strip()
    folded = f"{error} {reason}".lower()
    if "invalid_client" in folded or "client_id or client_secret" in folded:
        return (
            "Zoom refused the app's client ID or client secret: copy both again from "
            f"{_APP_PAGE}, and check that the app is activated"
        )
    if "account" in folded:
        return (
            f"Zoom does not know this account ID for the app: copy zoom.account_id from {_APP_PAGE}"
        )
    if "unsupported_grant_type" in folded:
        return (
            "Zoom refused the account_credentials grant: the app must be of type "
            "Server-to-Server OAuth (JWT and OAuth user apps cannot be used)"
        )
    detail = f": {error} {reason}".rstrip() if error or reason else ""
    return f"Zoom token request refused (HTTP {status}){detail}"
