"""Join links in files an admin hands to ``hybridcal links`` ("why is there no Join button?").

Recognises a raw e-mail (RFC 822, all MIME parts), an iCalendar file, a Google Calendar API
event, a Microsoft Graph event, or plain text. Pure: bytes in, report out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from typing import TYPE_CHECKING, Any

from hybridcal.core.links import (
    dedupe_links,
    detect_links,
    find_links_in_text,
    links_from_conference,
)
from hybridcal.core.model import Conference, EntryPoint, Event, EventStatus, JoinLink

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

_FOLD = re.compile(rb"\r?\n[ \t]")
_TEXT_ESCAPE = re.compile(r"\\([nN,;:\\])")
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_MAIL_HEADERS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "received", "mime-version", "content-type",
        "message-id", "return-path", "delivered-to", "reply-to", "sender",
    }
)  # fmt: skip
_TEXT_PROPERTIES = frozenset({"LOCATION", "DESCRIPTION", "X-ALT-DESC", "SUMMARY", "URL"})


@dataclass(frozen=True, slots=True)
class SourceReport:
    kind: str  # email / ics / google-event / graph-event / text
    cancelled: bool
    links: list[JoinLink]


def links_from_bytes(data: bytes, *, name: str = "-") -> list[JoinLink]:
    """The join links in ``data``, best first; none for a cancelled meeting."""
    return analyse_bytes(data, name).links


def analyse_bytes(data: bytes, name: str = "-") -> SourceReport:
    body = data.removeprefix(b"\xef\xbb\xbf")
    head = body.lstrip()[:4096]
    if head[:1] in (b"{", b"["):
        try:
            parsed = json.loads(body)
        except ValueError:
            pass
        else:
            report = _json_report(parsed, name)
            if report is not None:
                return report
    if head.upper().startswith((b"BEGIN:VCALENDAR", b"BEGIN:VEVENT")):
        calendar = _Calendar.parse(body)
        return _report("ics", cancelled=calendar.cancelled, links=calendar.links())
    if _looks_like_mail(body):
        return _mail_report(body)
    text = _decode(body, None)
    return _report("text", cancelled=False, links=find_links_in_text(text))


def _report(kind: str, *, cancelled: bool, links: Iterable[JoinLink]) -> SourceReport:
    return SourceReport(kind, cancelled, [] if cancelled else list(dedupe_links(links)))


# -- e-mail ------------------------------------------------------------------------------------


def _looks_like_mail(data: bytes) -> bool:
    header, _, _ = data.lstrip().partition(b"\n\n")
    header = header.replace(b"\r", b"")
    lines = [ln for ln in header.split(b"\n") if not ln.startswith(b"From ")]
    if not lines or not _HEADER_LINE.match(lines[0]):
        return False
    names = {ln.split(b":", 1)[0].decode("ascii", "replace").lower() for ln in lines}
    return bool(names & _MAIL_HEADERS)


def _mail_report(data: bytes) -> SourceReport:
    data = data.lstrip()
    if data.startswith(b"From "):  # mbox separator line
        data = data.partition(b"\n")[2]
    message = message_from_bytes(data, policy=policy.default)
    calendars: list[_Calendar] = []
    plain: list[str] = []
    html: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        filename = (part.get_filename() or "").lower()
        if ctype in {"text/calendar", "application/ics"} or filename.endswith(".ics"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                calendars.append(_Calendar.parse(payload, part.get_content_charset()))
        elif ctype == "text/plain":
            plain.append(_part_text(part))
        elif ctype == "text/html":
            html.append(_part_text(part))
    cancelled = any(c.cancelled for c in calendars)
    links = [link for c in calendars for link in c.links()]
    for text in (*plain, *html):
        links.extend(find_links_in_text(text))
    return _report("email", cancelled=cancelled, links=links)


def _part_text(part: Message) -> str:
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
        except (LookupError, UnicodeError):
            content = None
        if isinstance(content, str):
            return content
    payload = part.get_payload(decode=True)
    return _decode(payload, part.get_content_charset()) if isinstance(payload, bytes) else ""


def _decode(data: bytes, charset: str | None) -> str:
    for encoding in (charset, "utf-8"):
        if encoding:
            try:
                return data.decode(encoding)
            except (LookupError, UnicodeError):
                continue
    return data.decode("cp1252", "replace")


# -- iCalendar ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Property:
    name: str
    params: Mapping[str, str]
    value: str


@dataclass(frozen=True, slots=True)
class _Calendar:
    method: str
    events: list[list[_Property]]  # properties of each VEVENT (not of its alarms)

    @classmethod
    def parse(cls, data: bytes, charset: str | None = None) -> _Calendar:
        # unfold before decoding: folding may split a multi-byte character
        text = _decode(_FOLD.sub(b"", data), charset)
        method = ""
        events: list[list[_Property]] = []
        stack: list[str] = []
        for line in text.splitlines():
            prop = _parse_line(line)
            if prop is None:
                continue
            if prop.name == "BEGIN":
                stack.append(prop.value.upper())
                if stack[-1] == "VEVENT" and len(stack) <= 2:
                    events.append([])
            elif prop.name == "END":
                if stack:
                    stack.pop()
            elif prop.name == "METHOD" and stack == ["VCALENDAR"]:
                method = prop.value.strip().upper()
            elif stack and stack[-1] == "VEVENT" and events:
                events[-1].append(prop)
        return cls(method, events)

    @property
    def cancelled(self) -> bool:
        if self.method == "CANCEL":
            return True
        statuses = [_first(e, "STATUS").upper() for e in self.events]
        return bool(statuses) and all(s == "CANCELLED" for s in statuses)

    def links(self) -> list[JoinLink]:
        links: list[JoinLink] = []
        for props in self.events:
            links.extend(_structured(props))
            for name in ("LOCATION", "URL", "DESCRIPTION", "X-ALT-DESC"):
                for prop in props:
                    if prop.name == name:
                        links.extend(find_links_in_text(prop.value))
        return links


def _structured(props: list[_Property]) -> list[JoinLink]:
    """Conference properties: Teams and Google extensions, RFC 7986 CONFERENCE."""
    conferences: list[Conference] = []
    for prop in props:
        uri = prop.value.strip()
        if not uri:
            continue
        if prop.name == "X-MICROSOFT-SKYPETEAMSMEETINGURL":
            conferences.append(Conference("teams", entry_points=(EntryPoint("video", uri),)))
        elif prop.name == "X-GOOGLE-CONFERENCE":
            conferences.append(Conference("meet", entry_points=(EntryPoint("video", uri),)))
        elif prop.name == "CONFERENCE":
            features = prop.params.get("FEATURE", "VIDEO").upper()
            kind = "sip" if uri.lower().startswith(("sip:", "sips:")) else "video"
            if "VIDEO" in features or kind == "sip":
                label = prop.params.get("LABEL")
                conferences.append(Conference("ics", entry_points=(EntryPoint(kind, uri, label),)))
    return [link for c in conferences for link in links_from_conference(c)]


def _parse_line(line: str) -> _Property | None:
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            head, value = line[:index], line[index + 1 :]
            break
    else:
        return None
    name, *raw_params = head.split(";")
    params = {}
    for raw in raw_params:
        key, _, val = raw.partition("=")
        params[key.upper()] = val.strip('"')
    name = name.strip().upper()
    if name in _TEXT_PROPERTIES:
        value = _TEXT_ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)
    return _Property(name, params, value)


def _first(props: list[_Property], name: str) -> str:
    return next((p.value for p in props if p.name == name), "")


# -- provider event JSON -----------------------------------------------------------------------


def _json_report(parsed: Any, name: str) -> SourceReport | None:
    if isinstance(parsed, list):
        items = parsed
    elif isinstance(parsed, dict) and isinstance(parsed.get("items"), list):
        items = parsed["items"]
    elif isinstance(parsed, dict) and isinstance(parsed.get("value"), list):
        items = parsed["value"]
    else:
        items = [parsed]
    events: list[tuple[str, Event]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if _is_graph(item):
            events.append(("graph-event", _graph_event(item, name)))
        elif _is_google(item):
            events.append(("google-event", _google_event(item, name)))
    if not events:
        return None
    kind = events[0][0]
    cancelled = all(event.is_cancelled for _, event in events)
    links = [link for _, event in events if not event.is_cancelled for link in detect_links(event)]
    return _report(kind, cancelled=cancelled, links=links)


def _is_graph(item: dict[str, Any]) -> bool:
    keys = ("@odata.etag", "@odata.type", "onlineMeeting", "isCancelled", "bodyPreview")
    return any(k in item for k in keys) or isinstance(item.get("body"), dict)


def _is_google(item: dict[str, Any]) -> bool:
    keys = ("hangoutLink", "conferenceData", "htmlLink", "iCalUID", "summary", "description")
    return item.get("kind") == "calendar#event" or any(k in item for k in keys)


def _bare_event(name: str, item: dict[str, Any], cancelled: bool) -> dict[str, Any]:
    return {
        "calendar_key": f"file:{name}",
        "event_id": str(item.get("id") or name),
        "etag": None,
        "status": EventStatus.CANCELLED if cancelled else EventStatus.CONFIRMED,
        "start": None,
        "end": None,
    }


def _google_event(item: dict[str, Any], name: str) -> Event:
    conference: Conference | None = None
    data = item.get("conferenceData")
    if isinstance(data, dict):
        solution = data.get("conferenceSolution") or {}
        key = (solution.get("key") or {}).get("type") or "meet"
        entry_points = tuple(
            EntryPoint(
                kind=str(ep.get("entryPointType", "")),
                uri=str(ep.get("uri", "")),
                label=ep.get("label"),
                pin=ep.get("pin") or ep.get("accessCode"),
                passcode=ep.get("passcode") or ep.get("password"),
            )
            for ep in data.get("entryPoints") or []
            if isinstance(ep, dict)
        )
        conference = Conference(str(key), data.get("conferenceId"), entry_points=entry_points)
    elif isinstance(item.get("hangoutLink"), str):
        conference = Conference("meet", entry_points=(EntryPoint("video", item["hangoutLink"]),))
    return Event(
        **_bare_event(name, item, item.get("status") == "cancelled"),
        location=str(item.get("location") or ""),
        description=str(item.get("description") or ""),
        conference=conference,
    )


def _graph_event(item: dict[str, Any], name: str) -> Event:
    places = [item.get("location") or {}, *(item.get("locations") or [])]
    location = "\n".join(
        dict.fromkeys(
            str(p.get("displayName"))
            for p in places
            if isinstance(p, dict) and p.get("displayName")
        )
    )
    body = item.get("body") or {}
    meeting = item.get("onlineMeeting") or {}
    join_url = meeting.get("joinUrl") or item.get("onlineMeetingUrl")
    conference = None
    if isinstance(join_url, str) and join_url:
        provider = item.get("onlineMeetingProvider") or "teamsForBusiness"
        conference = Conference(str(provider), entry_points=(EntryPoint("video", join_url),))
    return Event(
        **_bare_event(name, item, bool(item.get("isCancelled"))),
        location=location,
        description=str(body.get("content") or "") if isinstance(body, dict) else "",
        conference=conference,
    )
