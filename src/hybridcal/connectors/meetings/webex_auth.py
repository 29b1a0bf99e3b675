"""Access tokens of a Webex Service App, kept in the encrypted store and refreshed there.

A full admin authorises the Service App in Control Hub; the admin hands hybridcal the refresh
token Webex then issues (``hybridcal webex authorize``). From then on the daemon refreshes at
``POST {token_url}`` (``grant_type=refresh_token``) shortly before the access token expires,
trusting Webex's ``expires_in`` rather than constants, and keeps what Webex returns.

Replicas share one record (``TokenVault``, the store's ``app_tokens`` row). A refresh is written
with a compare-and-swap on the record's version, never under a lock held across the HTTP call:

- the replica whose swap succeeds has stored the (possibly rotated) refresh token;
- a replica whose swap fails discards its own answer and uses the stored record, which another
  replica has just refreshed;
- a refresh that Webex refuses (the refresh token was rotated away by another replica a moment
  earlier) is first checked against the store: a newer record there is used; only a refusal of
  the newest stored token means the authorisation is gone, which an admin must repair.

Tokens are never logged; ``repr`` shows expiry times only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import aiohttp
import structlog

from hybridcal.connectors.errors import AuthError, ThrottledError, TransientError

log = structlog.get_logger(__name__)

VAULT_NAME = "webex"
EARLY_REFRESH = timedelta(minutes=10)
# a refresh token in use is extended on every refresh: refresh well before it would lapse
REFRESH_TOKEN_MARGIN = timedelta(days=30)
REAUTHORIZE = (
    "re-authorise the Service App in Control Hub (Apps → Service Apps → the app → Authorize), "
    "then give hybridcal its new refresh token with `hybridcal webex authorize "
    "--refresh-token-file FILE`"
)


class VaultRecord(Protocol):
    @property
    def version(self) -> int: ...

    @property
    def data(self) -> Mapping[str, str]: ...


class TokenVault(Protocol):
    """Where the tokens live (the store's ``app_tokens``); see ``store.base.Store``."""

    async def get_app_token(self, name: str) -> VaultRecord | None: ...

    async def replace_app_token(
        self, name: str, data: Mapping[str, str], expected_version: int
    ) -> VaultRecord | None: ...

    async def put_app_token(self, name: str, data: Mapping[str, str]) -> VaultRecord: ...


@dataclass(frozen=True, slots=True)
class WebexToken:
    value: str
    expires_at: datetime
    version: int  # of the vault record it came from
    refresh_expires_at: datetime | None = None
    scopes: frozenset[str] = frozenset()

    def __repr__(self) -> str:  # never show the token itself
        return f"WebexToken(expires_at={self.expires_at.isoformat()}, version={self.version})"


class NotAuthorizedError(AuthError):
    """The Service App has no usable authorisation: an admin must authorise it again."""


class WebexTokens:
    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        vault: TokenVault,
        token_url: str,
        client_id: str,
        client_secret: str,
        timeout: float = 30,
        proxy: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        name: str = VAULT_NAME,
    ) -> None:
        self._session = session
        self._vault = vault
        self._url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._proxy = proxy
        self._now = now
        self._name = name
        self._token: WebexToken | None = None
        self._lock = asyncio.Lock()
        self.refreshes = 0  # refresh requests sent, for tests and the benchmark

    async def token(self) -> WebexToken:
        current = self._token
        if current is not None and self._fresh(current):
            return current
        async with self._lock:  # one refresh however many callers wait
            current = self._token
            if current is None or not self._fresh(current):
                current = self._token = await self._load_or_refresh()
            return current

    def forget(self, token: WebexToken) -> None:
        """Webex refused this access token before its time: read the store, refresh if needed."""
        if self._token is token:
            self._token = None

    async def authorize(self, refresh_token: str) -> WebexToken:
        """Check an admin-given refresh token with one refresh and store what Webex returns,
        replacing any earlier authorisation (``hybridcal webex authorize``)."""
        answer = await self._refresh(refresh_token)
        record = await self._vault.put_app_token(self._name, self._record(answer, refresh_token))
        self._token = _token_of(record)
        return self._token

    # -- internals ----------------------------------------------------------------------------

    def _fresh(self, token: WebexToken) -> bool:
        now = self._now()
        if now >= token.expires_at - EARLY_REFRESH:
            return False
        refresh_by = token.refresh_expires_at
        return refresh_by is None or now < refresh_by - REFRESH_TOKEN_MARGIN

    async def _load_or_refresh(self) -> WebexToken:
        record = await self._vault.get_app_token(self._name)
        for _attempt in range(3):
            if record is None or not record.data.get("refresh_token"):
                raise NotAuthorizedError(f"the Webex Service App is not authorised: {REAUTHORIZE}")
            if record.data.get("client_id", self._client_id) != self._client_id:
                raise NotAuthorizedError(
                    "the stored Webex authorisation belongs to another client id than "
                    f"webex.client_id: {REAUTHORIZE}"
                )
            stored = _token_of(record)
            if stored.value and self._fresh(stored):
                return stored  # another replica refreshed it already
            refresh_token = record.data["refresh_token"]
            try:
                answer = await self._refresh(refresh_token)
            except NotAuthorizedError:
                newer = await self._vault.get_app_token(self._name)
                if newer is not None and newer.version != record.version:
                    record = newer  # rotated by another replica meanwhile: use theirs
                    continue
                raise
            data = self._record(answer, refresh_token)
            written = await self._vault.replace_app_token(self._name, data, record.version)
            if written is not None:
                if data["refresh_token"] != refresh_token:
                    log.info("webex.refresh_token_rotated", version=written.version)
                return _token_of(written)
            # another replica wrote first: its record is the one every replica must use
            record = await self._vault.get_app_token(self._name)
        raise TransientError("webex token: the stored tokens kept changing; try again")

    def _record(self, answer: Mapping[str, object], refresh_token: str) -> dict[str, str]:
        now = self._now()
        access = str(answer.get("access_token") or "")
        rotated = str(answer.get("refresh_token") or "") or refresh_token
        record = {
            "client_id": self._client_id,
            "access_token": access,
            "expires_at": (now + timedelta(seconds=_seconds(answer.get("expires_in"), 3600)))
            .astimezone(UTC)
            .isoformat(),
            "refresh_token": rotated,
            "scope": str(answer.get("scope") or ""),
        }
        if "refresh_token_expires_in" in answer:
            lifetime = timedelta(seconds=_seconds(answer.get("refresh_token_expires_in"), 0))
            record["refresh_expires_at"] = (now + lifetime).astimezone(UTC).isoformat()
        return record

    async def _refresh(self, refresh_token: str) -> dict[str, object]:
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "refresh_token": refresh_token,
        }
        try:
            async with self._session.post(
                self._url,
                data=form,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
                proxy=self._proxy,
            ) as resp:
                status, text = resp.status, await resp.text()
                retry_after = resp.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"webex token: {type(exc).__name__}") from None
        self.refreshes += 1
        body = _json_object(text)
        if status == 429:
            raise ThrottledError("webex token: HTTP 429", _retry_after(retry_after))
        if status >= 500:
            raise TransientError(f"webex token: HTTP {status}")
        if status != 200 or not body.get("access_token"):
            raise NotAuthorizedError(explain_token_error(status, body))
        return body


def explain_token_error(status: int, body: Mapping[str, object]) -> str:
    """Webex's refusal of a refresh, in words that say what to fix. Webex does not document the
    body (webex.md §1), so the status decides: 401 is the client id or secret, anything else
    means the refresh token is no longer valid."""
    reason = str(body.get("error_description") or body.get("message") or "").strip()[:200]
    said = f" (Webex says: {reason})" if reason else ""
    if status == 401 or body.get("error") == "invalid_client":
        return (
            f"Webex refused the Service App's client id or secret{said}: copy both again from the "
            "app's page on developer.webex.com (My Webex Apps) into webex.client_id and the "
            "client secret file"
        )
    return f"Webex refused the Service App's refresh token (HTTP {status}){said}: {REAUTHORIZE}"


def _token_of(record: VaultRecord) -> WebexToken:
    data = record.data
    return WebexToken(
        value=data.get("access_token", ""),
        expires_at=_instant(data.get("expires_at")) or datetime.min.replace(tzinfo=UTC),
        version=record.version,
        refresh_expires_at=_instant(data.get("refresh_expires_at")),
        scopes=frozenset(data.get("scope", "").split()),
    )


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _seconds(value: object, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return default
    return default


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _json_object(text: str) -> dict[str, object]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
