"""``hybridcal webex check``: tests the Webex Service App the way the daemon will use it, and says
in Control Hub's words what to fix.

Webex's refresh answer does not list the granted scopes, so each scope is tested by the call
that needs it: the token refresh, the user's sites (``meeting:admin_preferences_read``), the
user's meetings (``meeting:admin_schedule_read``), and, for each ``--user``, a meeting scheduled
for them and deleted at once (``meeting:admin_schedule_write``, and a host licence on the site).
That meeting is made with ``sendEmail`` false: nobody is notified.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import aiohttp

from hybridcal.config.secrets import Overrides, load_webex_secret
from hybridcal.config.settings import Settings
from hybridcal.connectors.errors import AuthError, ConnectorError
from hybridcal.connectors.meetings.base import MeetingRefusedError, MeetingRequest
from hybridcal.connectors.meetings.registry import build_meeting_systems
from hybridcal.connectors.meetings.webex import WebexMeetings
from hybridcal.connectors.meetings.webex_auth import WebexTokens
from hybridcal.core.clock import utcnow
from hybridcal.crypto.secret_files import SecretFileError, read_private
from hybridcal.daemon.admin import admin_session
from hybridcal.daemon.zoom_check import Finding

_SCOPE_FIX = (
    "add {scope} to the Service App on developer.webex.com (My Webex Apps → the app), then have "
    "a full admin authorise it again in Control Hub (Apps → Service Apps) and run `hybridcal "
    "webex authorize` with the new refresh token"
)
_LICENCE_FIX = (
    "in Control Hub, give the user a Webex Meetings licence on the site (Users → the user → "
    "Licenses → Meetings), or set webex.site_url to the user's site"
)


async def authorize_webex(
    settings: Settings,
    environ: Mapping[str, str],
    token_file: Path,
    *,
    overrides: Overrides | None = None,
) -> datetime:
    """``hybridcal webex authorize``: check the admin's refresh token with one refresh and keep
    what Webex answers in the store (replacing an earlier authorisation). Returns when the
    access token expires."""
    try:
        refresh_token = read_private(token_file).decode("utf-8").strip()
    except (OSError, SecretFileError, UnicodeDecodeError) as exc:
        raise ConnectorError(f"the refresh token file {token_file}: {exc}") from None
    if not refresh_token:
        raise ConnectorError(f"the refresh token file {token_file} is empty")
    w = settings.webex
    assert w.client_id is not None  # settings validation requires it when enabled
    secret = (overrides and overrides.webex_client_secret) or load_webex_secret(settings, environ)
    async with (
        admin_session(settings, environ, overrides=overrides, connect=False) as admin,
        aiohttp.ClientSession() as http,
    ):
        tokens = WebexTokens(
            session=http,
            vault=admin.store,
            token_url=w.token_url,
            client_id=w.client_id,
            client_secret=secret,
            timeout=w.http_timeout_seconds,
            proxy=w.proxy,
            now=utcnow,
        )
        token = await tokens.authorize(refresh_token)
    return token.expires_at


async def run_webex_check(
    settings: Settings,
    environ: Mapping[str, str],
    users: tuple[str, ...],
    *,
    overrides: Overrides | None = None,
) -> list[Finding]:
    """``hybridcal webex check``: the connector the daemon would build, on the same store."""
    chosen = overrides or Overrides()
    async with (
        admin_session(settings, environ, overrides=chosen, connect=False) as admin,
        aiohttp.ClientSession() as http,
    ):
        systems = build_meeting_systems(
            settings, http, overrides=chosen, environ=environ, now=utcnow, vault=admin.store
        )
        webex = systems["webex"]
        assert isinstance(webex, WebexMeetings)
        return await check_webex(webex, users)


async def check_webex(webex: WebexMeetings, users: tuple[str, ...] = ()) -> list[Finding]:
    try:
        token = await webex.token()
    except ConnectorError as exc:
        return [Finding(ok=False, what="access token", detail=str(exc))]
    findings = [
        Finding(
            ok=True,
            what="access token",
            detail=f"refreshed from the stored authorisation, valid until "
            f"{token.expires_at.strftime('%Y-%m-%d %H:%M UTC')}",
        )
    ]
    if not users:
        findings.append(
            Finding(
                ok=False,
                what="scopes",
                detail="name a user with --user to test the scopes and a meeting for them",
                warning=True,
            )
        )
    for email in users:
        findings += await _user_findings(webex, email)
    return findings


async def _user_findings(webex: WebexMeetings, email: str) -> list[Finding]:
    findings: list[Finding] = []
    sites = await _probe(
        f"{email}: the user's Webex sites",
        "meeting:admin_preferences_read",
        lambda: webex.sites(email),
    )
    findings.append(sites[0])
    listed = await _probe(
        f"{email}: reading their meetings",
        "meeting:admin_schedule_read",
        lambda: webex.list_for(email),
    )
    findings.append(listed[0])
    findings.append(await _schedule_finding(webex, email))
    return findings


async def _probe(what: str, scope: str, call: Callable[[], Awaitable[Any]]) -> tuple[Finding, Any]:
    try:
        answer = await call()
    except MeetingRefusedError as exc:
        return Finding(ok=False, what=what, detail=exc.problem.detail), None
    except AuthError as exc:
        return Finding(ok=False, what=what, detail=f"{exc}; {_SCOPE_FIX.format(scope=scope)}"), None
    except ConnectorError as exc:
        return Finding(ok=False, what=what, detail=str(exc)), None
    detail = f"allowed ({scope})"
    if isinstance(answer, dict) and isinstance(answer.get("sites"), list):
        names = [str(s.get("siteUrl")) for s in answer["sites"] if isinstance(s, dict)]
        detail = f"sites {', '.join(names) or 'none'} ({scope})"
    return Finding(ok=True, what=what, detail=detail), answer


async def _schedule_finding(webex: WebexMeetings, email: str) -> Finding:
    what = f"{email}: scheduling a meeting for them"
    start = (webex.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    request = MeetingRequest(
        idempotency_key=uuid4().hex,
        topic="hybridcal webex check (deleted at once)",
        start=start,
        end=start + timedelta(minutes=15),
        timezone="UTC",
        organizer=email,
    )
    try:
        join = await webex.create(request)
    except MeetingRefusedError as exc:
        detail = exc.problem.detail
        if "licence" not in detail and "Control Hub" not in detail:
            detail += f"; {_LICENCE_FIX}"
        return Finding(ok=False, what=what, detail=detail)
    except ConnectorError as exc:
        return Finding(ok=False, what=what, detail=str(exc))
    try:
        await webex.delete(join.meeting_id)
    except (ConnectorError, MeetingRefusedError) as exc:
        return Finding(
            ok=False,
            what=what,
            detail=f"made, but could not delete it ({exc}): delete it in Webex "
            "(meeting 'hybridcal webex check')",
        )
    return Finding(
        ok=True,
        what=what,
        detail="a licensed host: a meeting was made for them and deleted "
        "(meeting:admin_schedule_write)",
    )
