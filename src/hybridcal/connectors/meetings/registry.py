"""Which external meeting systems the daemon builds: one entry per system, keyed by the name
keywords map to (``@zoom`` -> "zoom"), so that another system is one module and one line here.
Systems a calendar makes itself (Meet, Teams) are not here: they come with the event's patch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import aiohttp

from hybridcal.config.secrets import Overrides, load_zoom_secret
from hybridcal.config.settings import Settings
from hybridcal.connectors.build import BuildContext, uncounted
from hybridcal.connectors.meetings.base import MeetingSystem


@dataclass(frozen=True, slots=True)
class MeetingEntry:
    enabled: Callable[[Settings], bool]
    build: Callable[[Settings, aiohttp.ClientSession, BuildContext], MeetingSystem]
    # the longest one call can take (all attempts): bounds a create another replica had in flight
    call_seconds: Callable[[Settings], float]


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


MEETING_SYSTEMS: dict[str, MeetingEntry] = {
    "zoom": MeetingEntry(
        enabled=lambda s: s.zoom.enabled,
        build=_zoom,
        # a create is sent once (only an explicit "slow down" is retried, after its wait)
        call_seconds=lambda s: s.zoom.http_timeout_seconds,
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
) -> dict[str, MeetingSystem]:
    """The external meeting systems the settings enable (daemon, admin CLI, demo)."""
    ctx = BuildContext(overrides, environ, now, on_call or uncounted)
    return {
        name: entry.build(settings, http, ctx)
        for name, entry in MEETING_SYSTEMS.items()
        if entry.enabled(settings)
    }


def longest_call_seconds(settings: Settings) -> float:
    """The longest call any enabled meeting system can have in flight."""
    return max(
        (e.call_seconds(settings) for e in MEETING_SYSTEMS.values() if e.enabled(settings)),
        default=0.0,
    )
