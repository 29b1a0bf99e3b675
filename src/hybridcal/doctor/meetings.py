"""Zoom and Webex, as their own ``check`` commands test them: their findings become results.

Webex is checked only where this version has it: an entry in the meeting-system registry and
the ``hybridcal.daemon.webex_check`` module.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any, Final, cast

from hybridcal.config.secrets import Overrides
from hybridcal.connectors.errors import ConnectorError
from hybridcal.connectors.meetings.registry import MEETING_SYSTEMS, build_meeting_systems
from hybridcal.core.clock import utcnow
from hybridcal.crypto.secret_files import SecretFileError
from hybridcal.daemon.zoom_check import Finding, check_zoom
from hybridcal.doctor.checks import Check, Context, Result, Skip, Status, fail
from hybridcal.doctor.local import KEYRING_MATCHES

WEBEX_CHECK: Final = "hybridcal.daemon.webex_check"
_SECRET_ERRORS: Final = (OSError, SecretFileError, ValueError, ConnectorError)


def results_of(system: str, findings: Iterable[Finding]) -> list[Result]:
    """A ``check`` command's findings as results: the finding's subject names the result."""
    results = []
    seen: set[str] = set()
    for finding in findings:
        check_id = f"{system}.{_slug(finding.what)}"
        while check_id in seen:
            check_id += "_"
        seen.add(check_id)
        if finding.ok:
            results.append(Result(check_id, Status.OK, f"{finding.what}: {finding.detail}"))
            continue
        status = Status.WARNING if finding.warning else Status.FAIL
        results.append(Result(check_id, status, finding.what, finding.detail))
    return results


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9@.]+", "_", text.lower()).strip("_")


async def check_zoom_app(ctx: Context) -> list[Result]:
    from hybridcal.connectors.meetings.zoom import ZoomMeetings  # noqa: PLC0415

    settings = ctx.require_settings()
    if not settings.zoom.enabled:
        raise Skip("zoom.enabled is false")
    try:
        systems = build_meeting_systems(
            settings, ctx.http, overrides=Overrides(), environ=ctx.environ, now=utcnow
        )
    except _SECRET_ERRORS as exc:
        return [
            fail(
                "zoom.app",
                f"the Zoom app's settings cannot be used: {exc}",
                "zoom.client_secret_file must hold the Server-to-Server OAuth app's client "
                "secret (Zoom App Marketplace → Develop → the app → App Credentials)",
            )
        ]
    zoom = systems["zoom"]
    assert isinstance(zoom, ZoomMeetings)
    users = tuple(u.lower() for u in ctx.options.zoom_users)
    return results_of("zoom", await check_zoom(zoom, settings, users))


WebexCheck = Callable[..., Awaitable[list[Finding]]]


def webex_check() -> WebexCheck | None:
    """``run_webex_check`` where this version has Webex, else None."""
    if "webex" not in MEETING_SYSTEMS or importlib.util.find_spec(WEBEX_CHECK) is None:
        return None
    module: Any = importlib.import_module(WEBEX_CHECK)
    return cast("WebexCheck", module.run_webex_check)


async def check_webex_app(ctx: Context) -> list[Result]:
    settings = ctx.require_settings()
    run = webex_check()
    if run is None:
        raise Skip("this version of hybridcal has no Webex support")
    if not MEETING_SYSTEMS["webex"].enabled(settings):
        raise Skip("webex.enabled is false")
    if not _store_ready(ctx):
        raise Skip("the Webex tokens live in the store, which is not ready (see store.*)")
    try:
        users = tuple(u.lower() for u in ctx.options.webex_users)
        findings = await run(settings, ctx.environ, users)
    except _SECRET_ERRORS as exc:
        return [
            fail(
                "webex.app",
                f"the Webex Service App cannot be used: {exc}",
                "check webex.client_id and webex.client_secret_file (developer.webex.com → My "
                "Webex Apps → the Service App), then `hybridcal webex authorize`",
            )
        ]
    # `webex check --user` is `doctor --webex-user`
    return [
        replace(r, fix=r.fix.replace("with --user", "with --webex-user"))
        for r in results_of("webex", findings)
    ]


def _store_ready(ctx: Context) -> bool:
    """Webex's check opens the store the daemon's way (which creates and migrates it): only
    on a store this version can use as it is, with the keyring that opens it."""
    facts = ctx.store
    return facts is not None and facts.current_schema and ctx.notes.get(KEYRING_MATCHES) is True


CHECKS: Final = (
    Check("zoom.app", check_zoom_app),
    Check("webex.app", check_webex_app),
)
