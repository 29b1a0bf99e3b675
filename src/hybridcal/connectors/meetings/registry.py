"""Which external meeting systems the daemon builds: one entry per system, keyed by the name
keywords map to (``@zoom`` -> "zoom"), so that another system is one module and one line here.
Systems a calendar makes itself (Meet, Teams) are not here: they come with the event's patch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import aiohttp

from hybridcal.config.secrets import Overrides, load_webex_secret, load_zoom_secret
from hybridcal.config.settings import Settings
from hybridcal.connectors.build import BuildContext, uncounted
from hybridcal.connectors.meetings.base import MeetingSystem
from hybridcal.connectors.meetings.webex_auth import TokenVault


@dataclass(frozen=True, slots=True)
class MeetingEntry:
    enabled: Callable[[Settings], bool]
    build: Callable[[Settings, aiohttp.ClientSession, BuildContext], MeetingSystem]
    # the longest one call can take (all attempts): bounds a create another replica had in flight
    call_seconds: Callable[[Settings], float]
    # keeps its tokens in the store (BuildContext.vault); left out where there is no store
    needs_vault: bool = False


def _zoom(settings: Settings, http: aiohttp.ClientSession, ctx: BuildContext) -> MeetingSystem:
    from hybridcal.connectors.meetings.zoom import ZoomMeetings, ZoomOptions  # noqa: PLC0415
    from hybridcal.connectors.meetings.zoom_auth import ZoomTokens  # noqa: PLC0415

    z = settings.zoom
    assert z.account_id is not None  # settings validation requires both when enabled
    assert z.client_id is not None
    tokens = ZoomTokens(
        session=http,
        oauth_root=z.oauth_root,
        account_id=z.account_id,
        client_id=z.client_id,
        client_secret=ctx.overrides.zoom_client_secret or load_zoom_secret(settings, ctx.environ),
        timeout=z.http_timeout_seconds,
        proxy=z.proxy,
        now=ctx.now,
    )
    return ZoomMeetings(
        tokens=tokens,
        session=http,
        api_root=z.api_root,
        options=ZoomOptions(
            topic_template=z.topic_template,
            fallback_host=z.fallback_host,
            alternative_hosts=z.alternative_hosts,
            scheduler=z.scheduler,
            join_before_host=z.join_before_host,
            waiting_room=z.waiting_room,
        ),
        timeout=z.http_timeout_seconds,
        max_retries=z.max_retries,
        concurrency=z.request_concurrency,
        requests_per_second=z.requests_per_second,
        proxy=z.proxy,
        now=ctx.now,
        on_call=ctx.counter("zoom"),
    )


def _webex(settings: Settings, http: aiohttp.ClientSession, ctx: BuildContext) -> MeetingSystem:
    from hybridcal.connectors.meetings.webex import WebexMeetings, WebexOptions  # noqa: PLC0415
    from hybridcal.connectors.meetings.webex_auth import WebexTokens  # noqa: PLC0415

    w = settings.webex
    assert w.client_id is not None  # settings validation requires it when enabled
    assert ctx.vault is not None  # build_meeting_systems leaves webex out without a store
    tokens = WebexTokens(
        session=http,
        vault=ctx.vault,
        token_url=w.token_url,
        client_id=w.client_id,
        client_secret=ctx.overrides.webex_client_secret or load_webex_secret(settings, ctx.environ),
        timeout=w.http_timeout_seconds,
        proxy=w.proxy,
        now=ctx.now,
    )
    return WebexMeetings(
        tokens=tokens,
        session=http,
        api_root=w.api_root,
        options=WebexOptions(site_url=w.site_url),
        timeout=w.http_timeout_seconds,
        max_retries=w.max_retries,
        concurrency=w.request_concurrency,
        proxy=w.proxy,
        now=ctx.now,
        on_call=ctx.counter("webex"),
    )


MEETING_SYSTEMS: dict[str, MeetingEntry] = {
    "zoom": MeetingEntry(
        enabled=lambda s: s.zoom.enabled,
        build=_zoom,
        # a create is sent once (only an explicit "slow down" is retried, after its wait)
        call_seconds=lambda s: s.zoom.http_timeout_seconds,
    ),
    "webex": MeetingEntry(
        enabled=lambda s: s.webex.enabled,
        build=_webex,
        # a create is sent once, like Zoom's; a token refresh may come first
        call_seconds=lambda s: 2 * s.webex.http_timeout_seconds,
        needs_vault=True,
    ),
}


def build_meeting_systems(
    settings: Settings,
    http: aiohttp.ClientSession,
    *,
    overrides: Overrides,
    environ: Mapping[str, str],
    now: Callable[[], datetime],
    on_call: Callable[[str, str], None] | None = None,
    vault: TokenVault | None = None,
) -> dict[str, MeetingSystem]:
    """The external meeting systems the settings enable (daemon, admin CLI, demo). Systems
    that keep their tokens in the store are built only when given it (``vault``)."""
    ctx = BuildContext(overrides, environ, now, on_call or uncounted, vault)
    return {
        name: entry.build(settings, http, ctx)
        for name, entry in MEETING_SYSTEMS.items()
        if entry.enabled(settings) and (vault is not None or not entry.needs_vault)
    }


def longest_call_seconds(settings: Settings) -> float:
    """The longest call any enabled meeting system can have in flight."""
    return max(
        (e.call_seconds(settings) for e in MEETING_SYSTEMS.values() if e.enabled(settings)),
        default=0.0,
    )
