"""Google Workspace: the service account, domain-wide delegation scope by scope, calendar and
Gmail settings access for a named user, and the rooms through ``google.room_access_user``.

Each scope is requested in a token of its own: Google refuses a grant as a whole when one of
its scopes is missing (401 ``unauthorized_client``), so only one scope at a time tells which
one the Admin console lacks.
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from hybridcal.config.secrets import load_service_account
from hybridcal.config.settings import GOOGLE_SCOPES, GoogleSettings
from hybridcal.crypto.secret_files import SecretFileError
from hybridcal.doctor.checks import Check, Context, Result, Skip, fail, ok, warning
from hybridcal.doctor.grants import JWT_BEARER, TIMEOUT, Answer, post_form, signed_assertion

CALENDAR_SCOPE: Final = GOOGLE_SCOPES[0]
DWD_PAGE: Final = (
    "Google Admin console → Security → Access and data control → API controls → "
    "Manage domain-wide delegation"
)
USERS_PAGE: Final = "Google Admin console → Directory → Users"
_NOTE_KEY: Final = "google.key"
_NOTE_TOKENS: Final = "google.tokens"


def _google(ctx: Context) -> GoogleSettings:
    g = ctx.require_settings().google
    if not g.enabled:
        raise Skip("google.enabled is false")
    return g


def _user(ctx: Context, g: GoogleSettings) -> str:
    user = ctx.options.google_user or g.room_access_user
    if not user:
        raise Skip("no user to test with: give --google-user alice@your-domain")
    return user.lower()


def scope_name(scope: str) -> str:
    return scope.rsplit("/", 1)[-1]


async def check_key(ctx: Context) -> list[Result]:
    _google(ctx)
    settings = ctx.require_settings()
    try:
        info = load_service_account(settings, ctx.environ)
    except (OSError, SecretFileError, ValueError) as exc:
        return [
            fail(
                "google.key",
                f"the service-account key cannot be used: {exc}",
                "Google Cloud console → IAM & Admin → Service accounts → the account → Keys → "
                "Add key (JSON); store it as google.service_account_file (mode 0600)",
            )
        ]
    ctx.notes[_NOTE_KEY] = info
    return [
        ok(
            "google.key",
            f"service account {info.get('client_email')} (client ID {info.get('client_id')})",
        )
    ]


async def check_scopes(ctx: Context) -> list[Result]:
    g = _google(ctx)
    info = ctx.notes.get(_NOTE_KEY)
    if info is None:
        raise Skip("the service-account key did not load")
    user = _user(ctx, g)
    client_id = str(info.get("client_id") or "?")
    tokens: dict[str, str] = {}
    results: list[Result] = []
    for scope in GOOGLE_SCOPES:
        check_id = f"google.scope.{scope_name(scope)}"
        try:
            answer = await grant(ctx, info, g.token_uri, scope, user)
        except UnreachableError as exc:
            return [fail("google.token", str(exc), UNREACHABLE_FIX)]
        if answer.access_token:
            tokens[scope] = answer.access_token
            results.append(ok(check_id, f"token for {user} with {scope} through delegation"))
        elif answer.error == "unauthorized_client":
            results.append(
                fail(
                    check_id,
                    f"client ID {client_id} is not granted {scope} through domain-wide "
                    "delegation (Google refused the token: unauthorized_client)",
                    f"{DWD_PAGE}: edit client ID {client_id} (or Add new) and set its OAuth "
                    f"scopes to {','.join(GOOGLE_SCOPES)}",
                )
            )
        else:  # not about this scope: one finding for the grant as a whole
            return [_refused(answer, user, g)]
    ctx.notes[_NOTE_TOKENS] = (user, tokens)
    return results


async def grant(
    ctx: Context, info: dict[str, Any], token_uri: str, scope: str, user: str
) -> Answer:
    assertion = signed_assertion(info, scope, user, token_uri)
    form = {"grant_type": JWT_BEARER, "assertion": assertion}
    try:
        return await post_form(ctx.http, token_uri, form, now=ctx.now)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise UnreachableError(token_uri, exc) from None


UNREACHABLE_FIX: Final = (
    "check google.token_uri and that this host may open HTTPS connections to Google "
    "(hybridcal has no proxy setting for Google)"
)


class UnreachableError(Exception):
    def __init__(self, url: str, exc: BaseException) -> None:
        super().__init__(f"cannot reach {url} ({type(exc).__name__}: {exc})")


def _refused(answer: Answer, user: str, g: GoogleSettings) -> Result:
    text = answer.description.lower()
    if answer.error == "invalid_grant" and ("invalid email" in text or "user id" in text):
        return fail(
            "google.token",
            f"Google knows no active user {user} (invalid_grant: {answer.description})",
            f"give --google-user an active user of the domain ({USERS_PAGE}); "
            "google.room_access_user must be one too",
        )
    if answer.error == "invalid_grant" and ("signature" in text or "not found" in text):
        return fail(
            "google.token",
            f"Google refused the service-account key ({answer.description})",
            "the key was deleted or replaced: Google Cloud console → IAM & Admin → Service "
            "accounts → Keys → Add key (JSON), then update google.service_account_file",
        )
    if answer.error == "invalid_grant" and ("iat" in text or "timeframe" in text):
        return fail(
            "google.token",
            f"Google refused the token as badly timed ({answer.description})",
            "this host's clock is wrong: turn on NTP (`timedatectl set-ntp true`)",
        )
    what = answer.error or f"HTTP {answer.status}"
    return fail(
        "google.token",
        f"{g.token_uri} refused the token for {user}: {what} {answer.description}".strip(),
        "check google.token_uri and the service-account key (google.service_account_file)",
    )


def _token(ctx: Context, scope: str) -> tuple[str, str]:
    user, tokens = ctx.notes.get(_NOTE_TOKENS, ("", {}))
    token = tokens.get(scope)
    if token is None:
        raise Skip(f"no token with {scope_name(scope)} (see google.scope.*)")
    return user, token


async def api_get(ctx: Context, url: str, token: str) -> tuple[int, str, str]:
    """(status, Google's error reason, its message) of a GET; reason and message empty on 2xx."""
    headers = {"Authorization": f"Bearer {token}"}
    async with ctx.http.get(url, headers=headers, timeout=TIMEOUT) as resp:
        status, text = resp.status, await resp.text()
    if 200 <= status < 300:
        return status, "", ""
    try:
        error = json.loads(text).get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    details = error.get("errors") or [{}] if isinstance(error, dict) else [{}]
    reason = str(details[0].get("reason") or "") if isinstance(details[0], dict) else ""
    message = str(error.get("message") or "") if isinstance(error, dict) else ""
    return status, reason, message or text[:200]


def _api_fix(api: str, reason: str) -> str:
    if reason in {"accessNotConfigured", "SERVICE_DISABLED"}:
        return (
            f"Google Cloud console → APIs & Services → Library → {api} → Enable, in the "
            "service account's project"
        )
    service = "Calendar" if "Calendar" in api else "Gmail"
    return (
        f"Google Admin console → Apps → Google Workspace → {service}: turn it on for the "
        f"user's organisational unit; and Google Cloud console → APIs & Services → {api} "
        "must be enabled"
    )


async def check_calendar(ctx: Context) -> list[Result]:
    g = _google(ctx)
    user, token = _token(ctx, CALENDAR_SCOPE)
    root = g.calendar_api_root.rstrip("/")
    for what, url in (
        ("calendarList.get", f"{root}/users/me/calendarList/primary"),
        ("events.list", f"{root}/calendars/primary/events?maxResults=1"),
    ):
        status, reason, message = await api_get(ctx, url, token)
        if status >= 300:
            return [
                fail(
                    "google.calendar",
                    f"{what} of {user}'s primary calendar: {status} {reason} {message}".strip(),
                    _api_fix("Google Calendar API", reason),
                )
            ]
    return [ok("google.calendar", f"{user}'s calendar list and events can be read")]


async def check_gmail(ctx: Context) -> list[Result]:
    g = _google(ctx)
    user, token = _token(ctx, GOOGLE_SCOPES[1])
    url = f"{g.gmail_api_root.rstrip('/')}/gmail/v1/users/me/settings/vacation"
    status, reason, message = await api_get(ctx, url, token)
    if status >= 300:
        return [
            fail(
                "google.gmail",
                f"getVacation of {user}: {status} {reason} {message}".strip(),
                _api_fix("Gmail API", reason),
            )
        ]
    return [ok("google.gmail", f"{user}'s vacation responder (out of office) can be read")]


async def check_rooms(ctx: Context) -> list[Result]:
    g = _google(ctx)
    rooms = ctx.store.google_rooms if ctx.store is not None else ()
    if not g.room_access_user:
        if rooms:
            return [
                fail(
                    "google.rooms",
                    f"{len(rooms)}+ Google room(s) are enabled but google.room_access_user "
                    "is not set: resource calendars cannot be impersonated",
                    "set google.room_access_user to an admin user whose calendar access "
                    "covers the room resources",
                )
            ]
        return [
            warning(
                "google.rooms",
                "google.room_access_user is not set: rooms cannot be enabled",
                "set google.room_access_user to an admin user whose calendar access covers "
                "the room resources",
            )
        ]
    token = await _room_token(ctx, g, g.room_access_user)
    if isinstance(token, Result):
        return [token]
    if not rooms:
        return [
            ok(
                "google.rooms",
                f"{g.room_access_user} gets calendar tokens; no Google room is enabled yet",
            )
        ]
    root = g.calendar_api_root.rstrip("/")
    denied = []
    for room in rooms:
        url = f"{root}/calendars/{quote(room, safe='')}/events?maxResults=1"
        status, reason, _message = await api_get(ctx, url, token)
        if status >= 300:
            denied.append(f"{room} ({status} {reason})".replace(" )", ")"))
    if denied:
        return [
            fail(
                "google.rooms",
                f"{g.room_access_user} cannot read room calendar(s): {', '.join(denied)}",
                f"share each room's calendar with {g.room_access_user} with 'Make changes to "
                "events' (Google Calendar → the resource → Settings and sharing), or set "
                "google.room_access_user to an admin who can",
            )
        ]
    return [ok("google.rooms", f"{g.room_access_user} reads the room calendars ({len(rooms)})")]


async def _room_token(ctx: Context, g: GoogleSettings, room_user: str) -> str | Result:
    user, tokens = ctx.notes.get(_NOTE_TOKENS, ("", {}))
    if user == room_user.lower() and CALENDAR_SCOPE in tokens:
        return str(tokens[CALENDAR_SCOPE])
    info = ctx.notes.get(_NOTE_KEY)
    if info is None:
        raise Skip("the service-account key did not load")
    try:
        answer = await grant(ctx, info, g.token_uri, CALENDAR_SCOPE, room_user.lower())
    except UnreachableError as exc:
        return fail("google.rooms", str(exc), UNREACHABLE_FIX)
    if answer.access_token:
        return answer.access_token
    refused = _refused(answer, room_user, g)
    return fail("google.rooms", f"google.room_access_user: {refused.finding}", refused.fix)


CHECKS: Final = (
    Check("google.key", check_key),
    Check("google.scope", check_scopes),
    Check("google.calendar", check_calendar),
    Check("google.gmail", check_gmail),
    Check("google.rooms", check_rooms),
)
