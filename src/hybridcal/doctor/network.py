"""The network around the daemon: the public webhook URL (scheme, certificate, path shape and,
on request, reachability), this host's clock against the providers' token endpoints, and which
proxy each provider's traffic takes."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

from hybridcal.config.settings import Settings
from hybridcal.doctor.checks import Check, Context, Result, Skip, fail, ok, warning
from hybridcal.doctor.grants import TIMEOUT, post_form
from hybridcal.doctor.microsoft import tls_context, token_url

CERT_MIN_DAYS: Final = 14
MAX_SKEW_S: Final = 60.0
CONNECT_TIMEOUT_S: Final = 10.0
GOOGLE_PATH: Final = "/webhooks/google"
MICROSOFT_PATHS: Final = ("/webhooks/microsoft", "/webhooks/microsoft/lifecycle")
_PUBLIC_FIX: Final = (
    "set daemon.public_url to the HTTPS address of the reverse proxy in front of the daemon "
    "(Google and Graph deliver notifications to https only)"
)
_NTP_FIX: Final = (
    "turn on time synchronisation (`timedatectl set-ntp true`, or chrony/ntpd) and check the "
    "host's time zone setting; token grants are refused when the clock is off"
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- the public URL ----------------------------------------------------------------------------


def public_url_result(url: str) -> Result:
    """https is required; plain http only on loopback, for the sandbox and the demo."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return ok("public_url.scheme", f"{url} uses https")
    if parts.scheme == "http" and is_loopback(host):
        return warning(
            "public_url.scheme",
            f"{url} is plain http on loopback: fine for the sandbox and the demo, but no "
            "provider can deliver notifications to it",
            _PUBLIC_FIX,
        )
    return fail("public_url.scheme", f"{url} is not an https URL", _PUBLIC_FIX)


async def check_public_url(ctx: Context) -> list[Result]:
    return [public_url_result(ctx.require_settings().daemon.public_url)]


def certificate_result(host: str, not_after: datetime, now: datetime) -> Result:
    left = not_after - now
    if left < timedelta(days=CERT_MIN_DAYS):
        return fail(
            "public_url.certificate",
            f"the certificate for {host} expires on {not_after:%Y-%m-%d %H:%M} UTC, in "
            f"{max(left.days, 0)} day(s)",
            "renew the certificate on the reverse proxy (ACME/certbot renewals run by "
            f"themselves when set up) before it expires; keep at least {CERT_MIN_DAYS} days",
        )
    return ok(
        "public_url.certificate",
        f"valid for {host} until {not_after:%Y-%m-%d} ({left.days} days left)",
    )


async def check_certificate(ctx: Context) -> list[Result]:
    parts = urlsplit(ctx.require_settings().daemon.public_url)
    if parts.scheme != "https":
        raise Skip("the public URL is not https")
    host, port = parts.hostname or "", parts.port or 443
    context = ctx.public_tls or ssl.create_default_context()
    try:
        not_after = await asyncio.to_thread(peer_not_after, host, port, context)
    except ssl.SSLCertVerificationError as exc:
        return [
            fail(
                "public_url.certificate",
                f"{host}:{port} has a certificate providers will refuse: {exc.verify_message}",
                f"install a certificate for {host} from a public CA on the reverse proxy, "
                "with its intermediate certificates (the full chain)",
            )
        ]
    except (OSError, ssl.SSLError) as exc:
        return [
            fail(
                "public_url.certificate",
                f"no TLS connection to {host}:{port}: {exc}",
                "check that the reverse proxy listens on the public URL's host and port "
                "(DNS, firewall), and daemon.public_url",
            )
        ]
    return [certificate_result(host, not_after, ctx.now())]


def peer_not_after(host: str, port: int, context: ssl.SSLContext) -> datetime:
    """When the verified certificate ``host:port`` presents expires."""
    with (
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S) as sock,
        context.wrap_socket(sock, server_hostname=host) as tls,
    ):
        cert = tls.getpeercert()
    expiry = str((cert or {}).get("notAfter") or "")
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(expiry), UTC)


async def check_paths(ctx: Context) -> list[Result]:
    settings = ctx.require_settings()
    url = settings.daemon.public_url.rstrip("/")
    parts = urlsplit(url)
    if parts.query or parts.fragment or parts.username or parts.password:
        return [
            fail(
                "public_url.paths",
                f"{url} carries a query, fragment or user name: the providers' URLs would not "
                "reach the webhook paths",
                "daemon.public_url: scheme, host, port and an optional path prefix only",
            )
        ]
    called = [f"Google calls {url}{GOOGLE_PATH}"] if settings.google.enabled else []
    if settings.microsoft.enabled:
        called.append("Graph calls " + " and ".join(f"{url}{p}" for p in MICROSOFT_PATHS))
    if not called:
        raise Skip("no calendar provider is enabled")
    return [
        ok(
            "public_url.paths",
            "; ".join(called) + " (publish these paths on the reverse proxy, POST only)",
        )
    ]


async def check_reach(ctx: Context) -> list[Result]:
    settings = ctx.require_settings()
    url = settings.daemon.public_url.rstrip("/")
    if not ctx.options.reach:
        raise Skip(f"run with --reach to call {url}/healthz through the public address")
    tls: Any = ctx.public_tls if ctx.public_tls is not None else True
    results = [await _healthz(ctx, f"{url}/healthz", tls)]
    if settings.microsoft.enabled:
        results.append(await _graph_handshake(ctx, f"{url}{MICROSOFT_PATHS[0]}", tls))
    return results


async def _healthz(ctx: Context, url: str, tls: Any) -> Result:
    fix = (
        "check that the daemon runs and that the reverse proxy forwards the public URL to "
        "daemon.listen_host:listen_port (and lets /healthz through for this check)"
    )
    try:
        async with ctx.http.get(url, ssl=tls, timeout=TIMEOUT) as resp:
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return fail("public_url.reach", f"GET {url} failed: {type(exc).__name__}: {exc}", fix)
    if status != 200:
        return fail("public_url.reach", f"GET {url} answered {status}, not 200", fix)
    return ok("public_url.reach", f"GET {url} answered 200 through the public address")


async def _graph_handshake(ctx: Context, url: str, tls: Any) -> Result:
    """What Graph does before it makes a subscription: the token must come back as text."""
    token = f"hybridcal-doctor-{secrets.token_hex(8)}"
    fix = (
        "publish /webhooks/microsoft and /webhooks/microsoft/lifecycle on the reverse proxy "
        "(POST, query string kept) to the daemon"
    )
    try:
        async with ctx.http.post(
            url, params={"validationToken": token}, ssl=tls, timeout=TIMEOUT
        ) as resp:
            status, text = resp.status, await resp.text()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return fail("public_url.graph_validation", f"POST {url} failed: {exc}", fix)
    if status != 200 or text != token:
        return fail(
            "public_url.graph_validation",
            f"POST {url}?validationToken=… answered {status} without the token: Graph would "
            "refuse to make subscriptions",
            fix,
        )
    return ok("public_url.graph_validation", f"{url} answers Graph's validation handshake")


# -- the clock -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    provider: str
    url: str
    tls: Any = None  # an SSLContext, or None for the system's CAs
    proxy: str | None = None


def token_endpoints(settings: Settings) -> list[Endpoint]:
    found = []
    if settings.google.enabled:
        found.append(Endpoint("google", settings.google.token_uri))
    m = settings.microsoft
    if m.enabled:
        found.append(Endpoint("microsoft", token_url(m), tls_context(m)))
    z = settings.zoom
    if z.enabled:
        found.append(Endpoint("zoom", f"{z.oauth_root.rstrip('/')}/oauth/token", proxy=z.proxy))
    webex = getattr(settings, "webex", None)
    if webex is not None and webex.enabled:
        found.append(Endpoint("webex", str(webex.token_url), proxy=webex.proxy))
    return found


def skew_result(provider: str, local: datetime, server: datetime) -> Result:
    """``local`` is this host's time when the answer dated ``server`` arrived."""
    skew = (local - server).total_seconds()
    check_id = f"clock.{provider}"
    if abs(skew) > MAX_SKEW_S:
        side = "ahead of" if skew > 0 else "behind"
        return fail(
            check_id,
            f"this host's clock is {abs(skew):.0f} s {side} {provider}'s token endpoint "
            f"(more than {MAX_SKEW_S:.0f} s)",
            _NTP_FIX,
        )
    return ok(check_id, f"within {abs(skew):.0f} s of {provider}'s token endpoint")


async def check_clock(ctx: Context) -> list[Result]:
    endpoints = token_endpoints(ctx.require_settings())
    if not endpoints:
        raise Skip("no provider is enabled")
    results = []
    for endpoint in endpoints:
        # an empty grant: refused, but dated like any answer
        try:
            answer = await post_form(
                ctx.http, endpoint.url, {}, ssl=endpoint.tls, now=ctx.now, proxy=endpoint.proxy
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            results.append(
                warning(
                    f"clock.{endpoint.provider}",
                    f"cannot reach {endpoint.url} to compare clocks ({type(exc).__name__})",
                    f"see the {endpoint.provider} and proxy checks",
                )
            )
            continue
        if answer.date is None:
            results.append(
                warning(
                    f"clock.{endpoint.provider}",
                    f"{endpoint.url} sent no Date header",
                    "compare the host's clock with an NTP server (`timedatectl`)",
                )
            )
            continue
        results.append(skew_result(endpoint.provider, answer.received, answer.date))
    return results


# -- proxies ---------------------------------------------------------------------------------


def _env_proxy(environ: Mapping[str, str]) -> str | None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        if environ.get(name):
            return name
    return None


def proxy_label(url: str) -> str:
    """A proxy URL without credentials."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


async def check_proxy(ctx: Context) -> list[Result]:
    settings = ctx.require_settings()
    variable = _env_proxy(ctx.environ)
    results = []
    if settings.google.enabled:
        results.append(_direct("google", "Google", variable))
    if settings.microsoft.enabled:
        results.append(_microsoft_proxy(variable))
    results += [
        await _configured_proxy(ctx, endpoint)
        for endpoint in token_endpoints(settings)
        if endpoint.provider in {"zoom", "webex"}
    ]
    if not results:
        raise Skip("no provider is enabled")
    return results


def _direct(provider: str, name: str, variable: str | None) -> Result:
    finding = f"{name}'s traffic goes direct: hybridcal has no proxy setting for it"
    if variable is None:
        return ok(f"proxy.{provider}", finding)
    return warning(
        f"proxy.{provider}",
        f"{finding}, and {variable} in the environment is not used for it",
        f"allow direct outbound HTTPS from this host to {name}'s API hosts",
    )


def _microsoft_proxy(variable: str | None) -> Result:
    if variable is None:
        return ok("proxy.microsoft", "Entra ID and Graph traffic goes direct (no proxy set)")
    return warning(
        "proxy.microsoft",
        f"{variable} is set: the HTTP clients that read the environment (azure-identity's for "
        "Entra ID tokens, msgraph's httpx) use it, while hybridcal's own Graph requests "
        "(aiohttp) go direct; there is no microsoft.proxy setting",
        "allow direct outbound HTTPS from this host to the authority and the Graph root "
        "(microsoft.authority, microsoft.graph_root), or proxy both transparently",
    )


async def _configured_proxy(ctx: Context, endpoint: Endpoint) -> Result:
    name = endpoint.provider
    check_id = f"proxy.{name}"
    if endpoint.proxy is None:
        return ok(check_id, f"{name}'s traffic goes direct ({name}.proxy is not set)")
    label = proxy_label(endpoint.proxy)
    try:
        async with ctx.http.head(endpoint.url, proxy=endpoint.proxy, timeout=TIMEOUT) as resp:
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return fail(
            check_id,
            f"{endpoint.provider}'s traffic uses the proxy {label}, which did not pass a "
            f"request to {endpoint.url} ({type(exc).__name__})",
            f"check {endpoint.provider}.proxy (scheme, host, port, credentials) and that the "
            "proxy allows CONNECT to the provider",
        )
    return ok(
        check_id, f"{endpoint.provider}'s traffic uses the proxy {label}, which answers ({status})"
    )


CHECKS: Final = (
    Check("public_url.scheme", check_public_url),
    Check("public_url.certificate", check_certificate),
    Check("public_url.paths", check_paths),
    Check("public_url.reach", check_reach),
    Check("clock", check_clock),
    Check("proxy", check_proxy),
)
