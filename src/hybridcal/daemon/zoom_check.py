"""``hybridcal zoom check``: tests the Zoom app the way the daemon will use it, and says in an
admin's words what to fix. Read-only: it creates no meeting."""

from __future__ import annotations

from dataclasses import dataclass

from hybridcal.config.settings import Settings
from hybridcal.connectors.errors import ConnectorError
from hybridcal.connectors.meetings.base import MeetingRefusedError
from hybridcal.connectors.meetings.zoom import ZoomMeetings

# each need is met by the classic admin scope or by one of its granular successors
SCOPE_NEEDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("create meetings", ("meeting:write:admin", "meeting:write:meeting:admin")),
    ("update meetings", ("meeting:write:admin", "meeting:update:meeting:admin")),
    ("delete meetings", ("meeting:write:admin", "meeting:delete:meeting:admin")),
    ("read meetings", ("meeting:read:admin", "meeting:read:meeting:admin")),
    ("list a host's meetings", ("meeting:read:admin", "meeting:read:list_meetings:admin")),
    ("look up users", ("user:read:admin", "user:read:user:admin")),
)
OPTIONAL_NEEDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("read the account's passcode rules", ("account:read:admin", "account:read:settings:admin")),
)
LICENSED = 2


@dataclass(frozen=True, slots=True)
class Finding:
    ok: bool
    what: str
    detail: str
    warning: bool = False  # not ok, but hybridcal works without it

    def line(self) -> str:
        mark = "ok  " if self.ok else ("warn" if self.warning else "FAIL")
        return f"[{mark}] {self.what}: {self.detail}"


async def check_zoom(
    zoom: ZoomMeetings, settings: Settings, users: tuple[str, ...] = ()
) -> list[Finding]:
    findings: list[Finding] = []
    try:
        scopes = await zoom.granted_scopes()
    except ConnectorError as exc:
        return [Finding(ok=False, what="access token", detail=str(exc))]
    findings.append(Finding(ok=True, what="access token", detail="granted"))
    findings += _scope_findings(scopes)
    z = settings.zoom
    hosts = [(u, "host for their own meetings") for u in users]
    if z.fallback_host:
        hosts.append((z.fallback_host, "zoom.fallback_host"))
    if z.scheduler:
        hosts.append((z.scheduler, "zoom.scheduler"))
    hosts += [(h, "zoom.alternative_hosts") for h in z.alternative_hosts]
    for email, role in hosts:
        findings.append(await _host_finding(zoom, email, role, has_fallback=bool(z.fallback_host)))
    try:
        policy = await zoom.passcode_policy()
    except ConnectorError as exc:
        findings.append(Finding(ok=False, what="passcode rules", detail=str(exc)))
    else:
        findings.append(
            Finding(
                ok=True,
                what="passcode rules",
                detail=(
                    f"at least {policy.length} characters"
                    + (", digits only" if policy.only_allow_numeric else "")
                    + (", letters and digits" if policy.have_letter and policy.have_number else "")
                    + (", upper and lower case" if policy.have_upper_and_lower_characters else "")
                    + (", a special character" if policy.have_special_character else "")
                ),
            )
        )
    return findings


def _scope_findings(scopes: frozenset[str]) -> list[Finding]:
    findings = []
    for need, options in SCOPE_NEEDS + OPTIONAL_NEEDS:
        optional = (need, options) in OPTIONAL_NEEDS
        if scopes & set(options):
            findings.append(Finding(ok=True, what=f"scope to {need}", detail=" or ".join(options)))
            continue
        fix = (
            f"add {options[0]} (or {' / '.join(options[1:])}) on the app's Scopes page in the "
            "Zoom App Marketplace, then activate the app again"
        )
        if optional:
            fix += "; until then the rules are read from a user, or hybridcal's defaults apply"
        findings.append(Finding(ok=False, what=f"scope to {need}", detail=fix, warning=optional))
    return findings


async def _host_finding(
    zoom: ZoomMeetings, email: str, role: str, *, has_fallback: bool
) -> Finding:
    what = f"{email} ({role})"
    try:
        user = await zoom.user(email)
    except MeetingRefusedError:
        if has_fallback and role.startswith("host"):
            return Finding(
                ok=False,
                what=what,
                detail="no such Zoom user; their meetings go to zoom.fallback_host",
                warning=True,
            )
        hint = "add this user to the Zoom account (a licensed user) or change the setting"
        return Finding(ok=False, what=what, detail=f"no such Zoom user; {hint}")
    except ConnectorError as exc:
        return Finding(ok=False, what=what, detail=str(exc))
    status = str(user.get("status") or "active")
    if status != "active":
        return Finding(
            ok=False,
            what=what,
            detail=f"the Zoom user is {status}; activate it in the Zoom admin portal",
        )
    if user.get("type") != LICENSED:
        return Finding(
            ok=False,
            what=what,
            detail="a basic (unlicensed) Zoom user: meetings are limited to 40 minutes with 3 or "
            "more participants, and the user cannot be an alternative host",
            warning=True,
        )
    return Finding(ok=True, what=what, detail="a licensed, active Zoom user")
