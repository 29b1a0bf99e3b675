"""Which calendar connectors the daemon and the admin commands build: one entry per provider,
so that another provider is one module and one line here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp

from hybridcal.config.secrets import Overrides, load_microsoft_secret, load_service_account
from hybridcal.config.settings import Settings
from hybridcal.connectors.build import BuildContext, uncounted
from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.core.model import Provider


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    enabled: Callable[[Settings], bool]
    build: Callable[[Settings, aiohttp.ClientSession, BuildContext], CalendarConnector]


def _google(
    settings: Settings, http: aiohttp.ClientSession, ctx: BuildContext
) -> CalendarConnector:
    from hybridcal.connectors.calendars.google import (  # noqa: PLC0415 - load only what is used
        SCOPES,
        GoogleCalendarConnector,
    )
    from hybridcal.connectors.calendars.google_auth import DelegatedTokens  # noqa: PLC0415

    g = settings.google
    info = ctx.overrides.service_account_info or load_service_account(settings, ctx.environ)
    return GoogleCalendarConnector(
        tokens=DelegatedTokens(info, SCOPES, token_uri=g.token_uri, now=ctx.now),
        session=http,
        calendar_root=g.calendar_api_root,
        gmail_root=g.gmail_api_root,
        send_updates=g.send_updates,
        room_access_user=g.room_access_user,
        channel_ttl=timedelta(seconds=g.channel_ttl_seconds),
        max_retries=g.max_retries,
        timeout=g.http_timeout_seconds,
        concurrency=g.request_concurrency,
        on_call=ctx.counter("google"),
        now=ctx.now,
    )


def _microsoft(
    settings: Settings,
    _http: aiohttp.ClientSession,  # Graph goes through msgraph-sdk's own transport
    ctx: BuildContext,
) -> CalendarConnector:
    """msgraph-sdk (0.2 s and 32 MB to import) is loaded only when Microsoft is configured."""
    from hybridcal.connectors.calendars.microsoft import (  # noqa: PLC0415
        MicrosoftCalendarConnector,
    )
    from hybridcal.connectors.calendars.microsoft_auth import make_credential  # noqa: PLC0415
    from hybridcal.connectors.calendars.microsoft_state import client_state_key  # noqa: PLC0415

    m = settings.microsoft
    assert m.tenant_id is not None  # settings validation requires both when enabled
    assert m.client_id is not None
    secret = ctx.overrides.microsoft_client_secret or load_microsoft_secret(settings, ctx.environ)
    certificate = None if secret else str(m.certificate_file)
    ca_bundle = None if m.ca_bundle is None else str(m.ca_bundle)
    credential = make_credential(
        tenant_id=m.tenant_id,
        client_id=m.client_id,
        client_secret=secret,
        certificate_path=certificate,
        authority=m.authority,
        ca_bundle=ca_bundle,
        timeout=m.http_timeout_seconds,
    )
    w = settings.window
    return MicrosoftCalendarConnector(
        credential=credential,
        graph_root=m.graph_root,
        window_past=timedelta(days=w.past_days),
        window_future=timedelta(days=w.future_days),
        page_size=m.page_size,
        mailbox_concurrency=m.mailbox_concurrency,
        timeout=m.http_timeout_seconds,
        max_retries=m.max_retries,
        subscription_ttl=timedelta(minutes=m.subscription_minutes),
        on_call=ctx.counter("microsoft"),
        now=ctx.now,
        owns_credential=True,
        client_state_key=client_state_key(
            client_secret=secret, certificate_path=None if secret else m.certificate_file
        ),
        ca_bundle=ca_bundle,
    )


CALENDARS: dict[Provider, CalendarEntry] = {
    Provider.GOOGLE: CalendarEntry(lambda s: s.google.enabled, _google),
    Provider.MICROSOFT: CalendarEntry(lambda s: s.microsoft.enabled, _microsoft),
}


def build_connectors(
    settings: Settings,
    http: aiohttp.ClientSession,
    *,
    overrides: Overrides,
    environ: Mapping[str, str],
    now: Callable[[], datetime],
    on_call: Callable[[str, str], None] | None = None,
) -> dict[Provider, CalendarConnector]:
    """The calendar connectors the settings enable (the daemon and the admin CLI)."""
    ctx = BuildContext(overrides, environ, now, on_call or uncounted)
    return {
        provider: entry.build(settings, http, ctx)
        for provider, entry in CALENDARS.items()
        if entry.enabled(settings)
    }
