"""Token requests made for diagnosis: their raw answers (status, error code, ``Date``).

The connectors turn a refused grant into one admin message; the doctor needs the error code
itself (which scope, which cause) and the token endpoint's clock, so it asks on its own here,
with the same key and the same claims as ``connectors/calendars/google_auth.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final

import aiohttp
from google.auth import jwt
from google.oauth2 import service_account

JWT_BEARER: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TIMEOUT: Final = aiohttp.ClientTimeout(total=20)


@dataclass(frozen=True, slots=True)
class Answer:
    """A token endpoint's answer, as far as the doctor reads it."""

    status: int
    body: Mapping[str, Any]
    date: datetime | None  # the server's Date header
    received: datetime  # this host's clock when the answer arrived

    @property
    def error(self) -> str:
        return str(self.body.get("error") or "")

    @property
    def description(self) -> str:
        return str(self.body.get("error_description") or "")

    @property
    def access_token(self) -> str | None:
        value = self.body.get("access_token")
        return str(value) if self.status == 200 and value else None


def signed_assertion(info: Mapping[str, Any], scope: str, subject: str, audience: str) -> str:
    """The JWT-bearer assertion of a service account with domain-wide delegation."""
    creds = service_account.Credentials.from_service_account_info(dict(info))  # type: ignore[no-untyped-call]
    issued = int(time.time())
    claims = {
        "iss": creds.service_account_email,
        "sub": subject,
        "scope": scope,
        "aud": audience,
        "iat": issued,
        "exp": issued + 3600,
    }
    token: bytes = jwt.encode(creds.signer, claims)  # type: ignore[no-untyped-call]
    return token.decode("ascii")


async def post_form(
    http: aiohttp.ClientSession,
    url: str,
    form: Mapping[str, str],
    *,
    ssl: Any = None,
    proxy: str | None = None,
    now: Callable[[], datetime],
) -> Answer:
    """POST ``form``; the answer whatever its status. aiohttp's errors pass through."""
    kwargs: dict[str, Any] = {"data": dict(form), "timeout": TIMEOUT}
    if ssl is not None:
        kwargs["ssl"] = ssl
    if proxy is not None:
        kwargs["proxy"] = proxy
    async with http.post(url, **kwargs) as resp:
        text = await resp.text()
        received = now()
        date = http_date(resp.headers.get("Date"))
        status = resp.status
    try:
        body = json.loads(text) if text.strip() else {}
    except ValueError:
        body = {}
    return Answer(status, body if isinstance(body, dict) else {}, date, received)


def http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
