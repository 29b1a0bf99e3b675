"""Access tokens for a service account with domain-wide delegation, one per impersonated user.

google-auth signs the JWT-bearer grant and talks to ``token_uri`` (from the key file or the
config). Its transport is synchronous, so refreshes run in a worker thread; a lock per subject
makes concurrent callers share one refresh. Tokens are reused until shortly before expiry.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import requests
from google.oauth2 import service_account

from hybridcal.connectors.errors import AuthError, TransientError

_EARLY_REFRESH = timedelta(minutes=5)


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
            # google-auth is partly untyped
            self._base = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                data, scopes=list(scopes)
            )
        except (ValueError, KeyError) as exc:
            raise AuthError(f"service-account key is not usable: {exc}") from exc
        self._scopes = tuple(scopes)
        self._client_id = str(data.get("client_id") or "of the service account")
        self._now = now
        self._creds: dict[str, service_account.Credentials] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._local = threading.local()
        self.refreshes = 0

    @property
    def service_account_email(self) -> str:
        return str(self._base.service_account_email)

    async def token(self, subject: str) -> str:
        creds = self._creds.get(subject)
        if creds is not None and self._fresh(creds):
            return str(creds.token)
        lock = self._locks.setdefault(subject, asyncio.Lock())
        async with lock:
            creds = self._creds.get(subject)
            if creds is None or not self._fresh(creds):
                creds = self._base.with_subject(subject)
                await asyncio.to_thread(self._refresh, creds, subject)
                self._creds[subject] = creds
            return str(creds.token)

    def forget(self, subject: str) -> None:
        """Drop a cached token (after a 401 from the API)."""
        self._creds.pop(subject, None)

    def _fresh(self, creds: service_account.Credentials) -> bool:
        expiry = creds.expiry  # naive UTC in google-auth
        if creds.token is None or expiry is None:
            return False
        return bool(expiry.replace(tzinfo=UTC) - _EARLY_REFRESH > self._now())

    def _refresh(self, creds: service_account.Credentials, subject: str) -> None:
        try:
            creds.refresh(self._transport())  # type: ignore[no-untyped-call]
            self.refreshes += 1
        except google.auth.exceptions.RefreshError as exc:
            raise AuthError(self._explain(exc, subject)) from None
        except google.auth.exceptions.TransportError as exc:
            raise TransientError(f"token endpoint unreachable: {type(exc).__name__}") from None

    def _transport(self) -> google.auth.transport.requests.Request:
        """One HTTP session per worker thread: a new session per refresh costs a connection
        and a TLS handshake each time (requests' sessions are not meant to be shared)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return google.auth.transport.requests.Request(session=session)

    def _explain(self, exc: google.auth.exceptions.RefreshError, subject: str) -> str:
        data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
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
