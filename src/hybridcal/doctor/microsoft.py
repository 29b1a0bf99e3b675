"""Microsoft 365: the app's token (client credentials), each application permission the
product needs (read from the token's ``roles`` claim), and the Exchange application access
policy for a named mailbox (a read of its calendar and mailbox settings)."""

from __future__ import annotations

import base64
import binascii
import json
import ssl
from typing import Any, Final
from urllib.parse import quote, urlsplit

from hybridcal.config.secrets import load_microsoft_secret
from hybridcal.config.settings import MicrosoftSettings
from hybridcal.connectors.errors import ConnectorError
from hybridcal.crypto.secret_files import SecretFileError
from hybridcal.doctor.checks import Check, Context, Result, Skip, fail, ok, warning
from hybridcal.doctor.grants import TIMEOUT

GLOBAL_GRAPH_SCOPE: Final = "https://graph.microsoft.com/.default"
ENTRA: Final = "Microsoft Entra admin center"
# what the product needs (README, "Admin quick start (Microsoft 365)"), and what also grants it
PERMISSIONS: Final = (
    ("Calendars.ReadWrite", ("Calendars.ReadWrite",), "events, subscriptions and patches"),
    (
        "MailboxSettings.Read",
        ("MailboxSettings.Read", "MailboxSettings.ReadWrite"),
        "time zone, language and automatic replies",
    ),
    (
        "User.Read.All",
        ("User.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"),
        "users and room mailboxes",
    ),
)
_POLICY_WORDS: Final = ("accesspolicy", "access policy", "[raop]")
_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})
_NOTE_TOKEN: Final = "microsoft.token"  # noqa: S105 - a key of Context.notes


def _microsoft(ctx: Context) -> MicrosoftSettings:
    m = ctx.require_settings().microsoft
    if not m.enabled:
        raise Skip("microsoft.enabled is false")
    return m


def graph_scope(graph_root: str) -> str:
    """``https://<graph host>/.default``; a loopback simulator stands in for the global cloud."""
    parts = urlsplit(graph_root)
    if parts.scheme != "https" or (parts.hostname or "") in _LOOPBACK:
        return GLOBAL_GRAPH_SCOPE
    return f"https://{parts.netloc}/.default"


def tls_context(m: MicrosoftSettings) -> ssl.SSLContext:
    """The CAs the daemon trusts for Entra ID and Graph: ``microsoft.ca_bundle``, or the
    system's."""
    return ssl.create_default_context(cafile=str(m.ca_bundle) if m.ca_bundle else None)


def token_url(m: MicrosoftSettings) -> str:
    return f"{m.authority.rstrip('/')}/{m.tenant_id}/oauth2/v2.0/token"


def _app_page(m: MicrosoftSettings) -> str:
    return f"{ENTRA} → App registrations → the app (client ID {m.client_id})"


async def check_token(ctx: Context) -> list[Result]:
    from hybridcal.connectors.calendars.microsoft_auth import make_credential  # noqa: PLC0415

    m = _microsoft(ctx)
    settings = ctx.require_settings()
    try:
        secret = load_microsoft_secret(settings, ctx.environ)
    except (OSError, SecretFileError, ValueError) as exc:
        return [fail("microsoft.token", f"the app's secret cannot be read: {exc}", _secret_fix(m))]
    assert m.tenant_id is not None  # settings validation requires both when enabled
    assert m.client_id is not None
    try:
        credential = make_credential(
            tenant_id=m.tenant_id,
            client_id=m.client_id,
            client_secret=secret,
            certificate_path=None if secret else str(m.certificate_file),
            authority=m.authority,
            ca_bundle=str(m.ca_bundle) if m.ca_bundle else None,
            timeout=m.http_timeout_seconds,
        )
        try:
            token = (await credential.get_token(graph_scope(m.graph_root))).token
        finally:
            await credential.close()
    except ConnectorError as exc:
        return [fail("microsoft.token", f"no token for the app: {exc}", _secret_fix(m))]
    ctx.notes[_NOTE_TOKEN] = token
    return [ok("microsoft.token", f"app-only token for client ID {m.client_id} in {m.tenant_id}")]


def _secret_fix(m: MicrosoftSettings) -> str:
    return (
        f"{_app_page(m)} → Certificates & secrets: a valid client secret (its Value) in "
        "microsoft.client_secret_file, or the certificate in microsoft.certificate_file; "
        "microsoft.tenant_id is the Directory (tenant) ID"
    )


def token_roles(token: str) -> frozenset[str] | None:
    """The ``roles`` claim of a JWT access token; None when the token is not a readable JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    roles = claims.get("roles", []) if isinstance(claims, dict) else None
    if not isinstance(roles, list):
        return None
    return frozenset(str(role) for role in roles)


async def check_permissions(ctx: Context) -> list[Result]:
    m = _microsoft(ctx)
    token = ctx.notes.get(_NOTE_TOKEN)
    if token is None:
        raise Skip("no token (see microsoft.token)")
    roles = token_roles(str(token))
    if roles is None:
        return [
            warning(
                "microsoft.permission",
                "the token is not a readable JWT, so its permissions cannot be listed",
                f"compare {_app_page(m)} → API permissions with the README's list",
            )
        ]
    results = []
    for name, grants, purpose in PERMISSIONS:
        check_id = f"microsoft.permission.{name}"
        held = [g for g in grants if g in roles]
        if held:
            results.append(ok(check_id, f"{held[0]} granted ({purpose})"))
            continue
        results.append(
            fail(
                check_id,
                f"the app's token lacks the application permission {name} ({purpose})",
                f"{_app_page(m)} → API permissions → Add a permission → Microsoft Graph → "
                f"Application permissions → {name}, then Grant admin consent",
            )
        )
    return results


async def check_mailbox(ctx: Context) -> list[Result]:
    m = _microsoft(ctx)
    token = ctx.notes.get(_NOTE_TOKEN)
    if token is None:
        raise Skip("no token (see microsoft.token)")
    user = ctx.options.microsoft_user
    if user is None and ctx.store is not None and ctx.store.microsoft_users:
        user = ctx.store.microsoft_users[0]
    if not user:
        raise Skip("no mailbox to test with: give --microsoft-user megan@your-domain")
    user = user.lower()
    base = f"{m.graph_root.rstrip('/')}/users/{quote(user, safe='')}"
    for what, url in (
        (f"reading {user}'s calendar", f"{base}/calendar/events?$top=1&$select=id"),
        (f"reading {user}'s mailbox settings", f"{base}/mailboxSettings"),
    ):
        status, code, message = await _graph_get(ctx, m, url, str(token))
        if status >= 300:
            return [_mailbox_failure(m, user, what, (status, code, message))]
    return [ok("microsoft.mailbox", f"the app reads {user}'s calendar and mailbox settings")]


_GraphAnswer = tuple[int, str, str]  # status, Graph's error code, its message


async def _graph_get(ctx: Context, m: MicrosoftSettings, url: str, token: str) -> _GraphAnswer:
    headers = {"Authorization": f"Bearer {token}"}
    async with ctx.http.get(url, headers=headers, timeout=TIMEOUT, ssl=tls_context(m)) as resp:
        status, text = resp.status, await resp.text()
    if status < 300:
        return status, "", ""
    try:
        error: Any = json.loads(text).get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    return status, str(error.get("code") or ""), str(error.get("message") or text[:200])


def _mailbox_failure(m: MicrosoftSettings, user: str, what: str, answer: _GraphAnswer) -> Result:
    status, code, message = answer
    said = f"{status} {code}: {message}".strip()
    if status == 403 and any(word in message.lower() for word in _POLICY_WORDS):
        return fail(
            "microsoft.mailbox",
            f"the Exchange application access policy does not include {user} ({what} was "
            f"refused: {said})",
            f"in Exchange Online PowerShell, `Test-ApplicationAccessPolicy -Identity {user} "
            f"-AppId {m.client_id}` shows the verdict; add the mailbox to the mail-enabled "
            f"security group the policy names (`Add-DistributionGroupMember -Identity <group> "
            f"-Member {user}`; `Get-ApplicationAccessPolicy` lists the policies)",
        )
    if status == 403:
        return fail(
            "microsoft.mailbox",
            f"{what} was refused: {said}",
            f"{_app_page(m)} → API permissions: Calendars.ReadWrite and MailboxSettings.Read "
            "as application permissions, then Grant admin consent",
        )
    if status == 404:
        return fail(
            "microsoft.mailbox",
            f"{what}: no such mailbox ({said})",
            "check the address: it must be an Exchange Online mailbox with a licence "
            "(Microsoft 365 admin center → Users → Active users)",
        )
    return fail("microsoft.mailbox", f"{what}: {said}", "check microsoft.graph_root")


CHECKS: Final = (
    Check("microsoft.token", check_token),
    Check("microsoft.permission", check_permissions),
    Check("microsoft.mailbox", check_mailbox),
)
