"""Teams meetings the way Outlook attaches them to an event.

Turning on ``isOnlineMeeting`` with ``onlineMeetingProvider: teamsForBusiness`` creates a meeting
(``onlineMeeting.joinUrl`` like ``https://teams.microsoft.com/l/meetup-join/19%3ameeting_...
%40thread.v2/0?context=...``) and inserts Outlook's own Teams block at the end of the body: a
separator, a "Microsoft Teams" heading, a "Join the meeting now" link, the meeting ID and
passcode. The block is the sandbox's own markup (not a copy of Outlook's), recognisable by the
join link. The rules the daemon must respect:

- a later body that no longer contains the join URL means the block was removed, which disables
  the online meeting (``isOnlineMeeting`` false, ``onlineMeeting`` null), as the reference says;
- turning ``isOnlineMeeting`` off removes the block.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hybridcal.sandbox.microsoft import bodies

_START = "<!-- sandbox-teams-block -->"
_END = "<!-- /sandbox-teams-block -->"
_TEXT_RULE = "_" * 80
_ESCAPE = re.compile(r"%[0-9A-F]{2}")
_BLOCK = re.compile(re.escape(_START) + ".*?" + re.escape(_END), re.DOTALL)


@dataclass(frozen=True)
class TeamsMeeting:
    join_url: str
    meeting_id: str
    passcode: str


def create(rng: random.Random, host: str, tenant_id: str, organizer_oid: str) -> TeamsMeeting:
    alphabet = string.ascii_letters + string.digits
    thread = "".join(rng.choice(alphabet) for _ in range(48))
    context = _ESCAPE.sub(
        lambda m: m.group(0).lower(),
        quote(f'{{"Tid":"{tenant_id}","Oid":"{organizer_oid}"}}', safe=""),
    )
    url = f"https://{host}/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0?context={context}"
    meeting_id = " ".join(f"{rng.randrange(1000):03d}" for _ in range(4))
    passcode = "".join(rng.choice(alphabet) for _ in range(6))
    return TeamsMeeting(url, meeting_id, passcode)


def html_block(meeting: TeamsMeeting) -> str:
    return (
        f'{_START}<div style="width:100%;height:20px;"><span style="white-space:nowrap;'
        f'color:#5F5F5F;opacity:.36;">{_TEXT_RULE}</span></div>'
        '<div class="me-teams-block" style="margin-bottom:24px;">'
        '<div style="font-size:24px;font-weight:700;margin-bottom:12px;">Microsoft Teams</div>'
        f'<div style="margin-bottom:6px;"><a href="{meeting.join_url}" target="_blank" '
        'rel="noreferrer noopener" style="font-size:20px;font-weight:700;">'
        "Join the meeting now</a></div>"
        f"<div>Meeting ID: <span>{meeting.meeting_id}</span></div>"
        f"<div>Passcode: <span>{meeting.passcode}</span></div>"
        '<div style="margin-top:12px;font-size:12px;">For organizers: Meeting options</div>'
        f"</div><div>{_TEXT_RULE}</div>{_END}"
    )


def text_block(meeting: TeamsMeeting) -> str:
    return (
        f"\r\n{_TEXT_RULE}\r\nMicrosoft Teams\r\nJoin the meeting now <{meeting.join_url}>\r\n"
        f"Meeting ID: {meeting.meeting_id}\r\nPasscode: {meeting.passcode}\r\n{_TEXT_RULE}\r\n"
    )


def insert(content: str, content_type: str, meeting: TeamsMeeting) -> str:
    if content_type == "text":
        return content.rstrip() + "\r\n" + text_block(meeting)
    block = html_block(meeting)
    lower = content.lower()
    at = lower.rfind("</body>")
    if at < 0:
        return content + block
    return content[:at] + block + "\r\n" + content[at:]


def remove(content: str, content_type: str, meeting: TeamsMeeting) -> str:
    if content_type == "text":
        return content.replace(text_block(meeting), "")
    return _BLOCK.sub("", content)


def present(content: str, meeting: TeamsMeeting) -> bool:
    """Whether the body still carries the meeting's join link (HTML may escape ``&``)."""
    return meeting.join_url in content or meeting.join_url.replace("&", "&amp;") in content


def apply(eff: dict[str, Any], sent: Mapping[str, Any], make: Callable[[], TeamsMeeting]) -> bool:
    """Apply the online-meeting rules to an event's new shared fields ``eff`` (in place).

    ``sent`` is what the write sent; returns True when a meeting was created. A provider other
    than Teams is accepted and ignored, as for a tenant that only allows Teams."""
    meeting: TeamsMeeting | None = eff.get("onlineMeeting")
    body = dict(eff["body"])
    wants = sent.get("isOnlineMeeting")
    provider = sent.get("onlineMeetingProvider", eff.get("onlineMeetingProvider"))
    created = False
    if wants is True and provider in {"unknown", "teamsForBusiness"}:
        if meeting is None:
            meeting, created = make(), True
        if not present(body["content"], meeting):
            if body["contentType"] == "html" and not body["content"]:
                body["content"] = bodies.store_html("<div></div>")
            body["content"] = insert(body["content"], body["contentType"], meeting)
        eff.update(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
    elif wants is True:
        eff["isOnlineMeeting"] = False
    elif meeting is not None and (wants is False or not present(body["content"], meeting)):
        body["content"] = remove(body["content"], body["contentType"], meeting)
        meeting = None
        eff.update(isOnlineMeeting=False, onlineMeetingProvider="unknown")
    eff["onlineMeeting"], eff["body"] = meeting, body
    return created
