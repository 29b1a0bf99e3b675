"""App-only access tokens for Microsoft Graph (client-credentials grant against Entra ID).

azure-identity's asynchronous ``ClientSecretCredential`` or ``CertificateCredential`` with a
configurable authority (national clouds: ``https://login.microsoftonline.us``,
``https://login.chinacloudapi.cn``). The authority must be https, everywhere: the sandbox, the
tests and the benchmarks serve their token endpoint over TLS with a CA made for the run, and
``ca_bundle`` (``microsoft.ca_bundle``) makes azure-identity trust a CA that is not in the
system's store (a TLS-inspecting proxy's, or the sandbox's) through its documented
``connection_verify`` setting. The same code path runs in production and under test.

:class:`EntraCredential` wraps the credential: a token is reused until five minutes before it
expires, concurrent callers share one refresh (an asyncio.Lock), Entra's error codes become an
:class:`AuthError` that tells the admin what to fix, and no token or secret is ever logged or
put in a message.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken

from hybridcal.connectors.errors import AuthError, TransientError

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EARLY_REFRESH_SECONDS = 300.0


class GraphCredential(Protocol):
    """What kiota's AzureIdentityAuthenticationProvider calls, plus ``close``."""

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken: ...

    async def close(self) -> None: ...


class _AsyncTokenSource(Protocol):
    """An azure-identity aio credential, as far as we use it."""

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken: ...

    async def close(self) -> None: ...


class _TokenCache:
    """One token per scope set, refreshed early, one refresh at a time."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._tokens: dict[tuple[str, ...], AccessToken] = {}
        self._lock = asyncio.Lock()
        self.refreshes = 0

    def fresh(self, key: tuple[str, ...]) -> AccessToken | None:
        token = self._tokens.get(key)
        if token is not None and token.expires_on - EARLY_REFRESH_SECONDS > self._now():
            return token
        return None

    async def get(
        self,
        scopes: tuple[str, ...],
        claims: str | None,
        fetch: Callable[[], Awaitable[AccessToken]],
    ) -> AccessToken:
        key = tuple(sorted(scopes))
        if claims is None and (token := self.fresh(key)) is not None:
            return token
        async with self._lock:
            # a claims challenge (continuous access evaluation) always asks for a new token
            if claims is None and (token := self.fresh(key)) is not None:
                return token
            token = await fetch()
            self._tokens[key] = token
            self.refreshes += 1
            return token

    def forget(self) -> None:
        self._tokens.clear()


class EntraCredential:
    """An azure-identity aio credential with our caching, locking and error messages."""

    def __init__(
        self,
        inner: _AsyncTokenSource,
        *,
        tenant_id: str,
        client_id: str,
        now: Callable[[], float] = time.time,
        rebuild: Callable[[], _AsyncTokenSource] | None = None,
    ) -> None:
        """``rebuild`` makes a new azure-identity credential: ``forget`` uses it, because
        azure-identity keeps its own cache and would hand a refused token back."""
        self._inner = inner
        self._rebuild = rebuild
        self._retired: list[_AsyncTokenSource] = []
        self._tenant = tenant_id
        self._client_id = client_id
        self._cache = _TokenCache(now)

    def __repr__(self) -> str:
        return f"EntraCredential(tenant={self._tenant!r}, client_id={self._client_id!r})"

    @property
    def refreshes(self) -> int:
        return self._cache.refreshes

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,  # noqa: ARG002 - one tenant per credential
        enable_cae: bool = False,
        **kwargs: Any,  # noqa: ARG002 - kiota may pass more options
    ) -> AccessToken:
        async def fetch() -> AccessToken:
            return await self._fetch(scopes, claims, enable_cae=enable_cae)

        return await self._cache.get(scopes, claims, fetch)

    def forget(self) -> None:
        """Graph refused our token (revoked, or expired early): the next call gets a new one,
        from a new azure-identity credential (closed, with the old one, on ``close``)."""
        self._cache.forget()
        if self._rebuild is not None:
            self._retired.append(self._inner)
            self._inner = self._rebuild()

    async def close(self) -> None:
        for inner in [*self._retired, self._inner]:
            await inner.close()
        self._retired.clear()

    async def _fetch(
        self, scopes: tuple[str, ...], claims: str | None, *, enable_cae: bool
    ) -> AccessToken:
        from azure.core.exceptions import (  # noqa: PLC0415 - azure-core comes with msgraph
            ClientAuthenticationError,
            ServiceRequestError,
            ServiceResponseError,
        )

        while self._retired:  # fetches run one at a time (the cache's lock): none is in use
            await self._retired.pop().close()
        try:
            token = await self._inner.get_token(*scopes, claims=claims, enable_cae=enable_cae)
        except ClientAuthenticationError as exc:
            message = str(exc.message or exc)
            status = getattr(exc, "status_code", None)
            if status is not None and (status >= 500 or status == 429):
                raise TransientError(f"Entra ID token endpoint answered {status}") from None
            raise AuthError(
                explain_entra_error(
                    message, tenant_id=self._tenant, client_id=self._client_id, scopes=scopes
                )
            ) from None
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise TransientError(
                f"Entra ID token endpoint unreachable: {type(exc).__name__}"
            ) from None
        return AccessToken(token.token, int(token.expires_on))


def make_credential(
    *,
    tenant_id: str,
    client_id: str,
    client_secret: str | None = None,
    certificate_path: str | None = None,
    certificate_password: str | None = None,
    authority: str = DEFAULT_AUTHORITY,
    ca_bundle: str | None = None,
    timeout: float = 30.0,
    now: Callable[[], float] = time.time,
) -> EntraCredential:
    """azure-identity's credential for ``authority`` (https only), wrapped in our cache.

    ``ca_bundle``: a PEM file of CA certificates to trust instead of the system's (the
    sandbox's test CA, or a proxy's)."""
    if bool(client_secret) == bool(certificate_path):
        raise AuthError("microsoft: give exactly one of client_secret and certificate_path")
    parts = urlsplit(authority if "://" in authority else f"https://{authority}")
    if parts.scheme != "https" or not parts.netloc:
        raise AuthError(
            f"microsoft.authority {authority!r} must be an https URL (Entra ID and "
            "azure-identity accept nothing else; for a local token endpoint, serve it over TLS "
            "and name its CA in microsoft.ca_bundle)"
        )
    if ca_bundle is not None and not Path(ca_bundle).is_file():
        raise AuthError(f"microsoft.ca_bundle {ca_bundle!r} is not a readable file")

    def build() -> _AsyncTokenSource:
        return _azure_credential(
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=client_secret,
            certificate_path=certificate_path,
            certificate_password=certificate_password,
            authority=f"https://{parts.netloc}",
            transport=_transport_options(ca_bundle, timeout),
        )

    return EntraCredential(
        build(), tenant_id=tenant_id, client_id=client_id, now=now, rebuild=build
    )


def _transport_options(ca_bundle: str | None, timeout: float) -> dict[str, Any]:
    """azure-core's connection settings, given to the credential's own transport."""
    options: dict[str, Any] = {
        "connection_timeout": min(timeout, 10.0),
        "read_timeout": timeout,
    }
    if ca_bundle is not None:
        options["connection_verify"] = ca_bundle
    return options


def _azure_credential(
    *,
    tenant_id: str,
    client_id: str,
    client_secret: str | None,
    certificate_path: str | None,
    certificate_password: str | None,
    authority: str,
    transport: dict[str, Any],
) -> _AsyncTokenSource:
    # imported here: azure-identity is only needed when Microsoft 365 is configured
    from azure.identity.aio import (  # noqa: PLC0415
        CertificateCredential,
        ClientSecretCredential,
    )

    try:
        if client_secret:
            return ClientSecretCredential(
                tenant_id, client_id, client_secret, authority=authority, **transport
            )
        password = certificate_password.encode() if certificate_password else None
        return CertificateCredential(
            tenant_id,
            client_id,
            certificate_path,
            password=password,
            authority=authority,
            **transport,
        )
    except (ValueError, OSError, TypeError) as exc:
        what = "certificate" if certificate_path else "credential settings"
        # the message of a wrong password or a broken file names no secret
        raise AuthError(f"microsoft: the {what} cannot be used: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


_CODE = re.compile(r"AADSTS(\d+)")
_RENEW_HINT = (
    "create a new client secret under App registrations > Certificates & secrets and update "
    "microsoft.client_secret"
)


@dataclass(frozen=True, slots=True)
class _Rule:
    """AADSTS codes, or lower-case phrases of Entra's answer -> what the admin should do."""

    codes: frozenset[str]
    phrases: tuple[str, ...]
    advice: str


_RULES = (
    _Rule(frozenset({"7000222"}), (), "the client secret of the {app} expired: " + _RENEW_HINT),
    _Rule(
        frozenset({"7000215"}),
        ("invalid client secret",),
        advice="Entra ID refused the client secret of the {app} (wrong value, or the secret's ID "
        "was given instead of its value): " + _RENEW_HINT,
    ),
    _Rule(
        frozenset({"700016"}),
        (),
        advice="Entra ID knows no {app} in tenant {tenant!r}: check microsoft.client_id (the "
        "Application (client) ID of the app registration) and that the app is registered in, "
        "or consented to by, this tenant",
    ),
    _Rule(
        frozenset({"90002", "900023"}),
        (),
        advice="Entra ID has no tenant {tenant!r}: check microsoft.tenant_id (the Directory "
        "(tenant) ID or a verified domain) and, for national clouds, microsoft.authority",
    ),
    _Rule(
        frozenset({"700027", "700024", "7000274"}),
        ("client_assertion",),
        advice="Entra ID refused the certificate of the {app}: upload the certificate's public "
        "key under App registrations > Certificates & secrets, and check this host's clock",
    ),
    _Rule(
        frozenset({"70011", "1002012"}),
        ("invalid_scope",),
        advice="Entra ID refused the scope {scope!r}: app-only access needs the '/.default' "
        "scope of the Graph root in use; check that microsoft.graph_root and "
        "microsoft.authority belong to the same cloud",
    ),
    _Rule(
        frozenset({"7000229", "65001"}),
        (),
        advice="the {app} has no service principal or consent in tenant {tenant!r}: an admin "
        "must grant admin consent for Calendars.ReadWrite, MailboxSettings.Read and "
        "User.Read.All in Entra ID (App registrations > API permissions)",
    ),
    _Rule(
        frozenset({"700222"}),
        ("unauthorized_client",),
        advice="Entra ID refused the {app}: it is disabled or not allowed to use app-only access",
    ),
)


def explain_entra_error(
    detail: str, *, tenant_id: str, client_id: str, scopes: tuple[str, ...] = ()
) -> str:
    """An admin-readable reason (what to fix) for a refused token request."""
    codes = set(_CODE.findall(detail))
    lowered = detail.lower()
    values = {
        "app": f"app (client ID {client_id})",
        "tenant": tenant_id,
        "scope": " ".join(scopes) or GRAPH_SCOPE,
    }
    for rule in _RULES:
        if codes & rule.codes or any(phrase in lowered for phrase in rule.phrases):
            return rule.advice.format(**values)
    reason = _CODE.search(detail)
    code = f"AADSTS{reason.group(1)}" if reason else (detail.split(" ", 1)[0] or "unknown")
    return f"Entra ID refused the token request for the {values['app']}: {code}"
