"""Join links in files an admin hands to ``hybridcal links`` ("why is there no Join button?").

Recognises a raw e-mail (RFC 822, all MIME parts), an iCalendar file, a Google Calendar API
event, a Microsoft Graph event, or plain text. Pure: bytes in, report out, and it never raises,
whatever the bytes (the files come from outside: forwarded invitations, saved mails, API dumps).

Its work is bounded by caps far above any real invitation; when one of them cuts the reading
short the report says so (``SourceReport.truncated``):

- ``MAX_INPUT_BYTES`` (8 MiB) of the input are read, the rest is not;
- JSON larger than ``MAX_JSON_BYTES`` (2 MiB), or nested deeper than the JSON parser's recursion
  limit, is read as plain text; a JSON field of the wrong type counts as absent;
- an e-mail that declares more than ``MAX_MIME_CONTAINERS`` (32) multipart or message parts, or
  has a Content-Type or Content-Disposition field longer than ``MAX_MIME_HEADER_BYTES`` (4 KiB),
  is read as plain text; otherwise at most ``MAX_MIME_PARTS`` (64) leaf parts are read, nested at
  most ``MAX_MIME_DEPTH`` (16) levels deep; an unknown or malformed charset falls back to UTF-8,
  then Windows-1252;
- at most ``MAX_EVENTS`` (200) events (VEVENTs, JSON items) are read;
- an iCalendar file (or e-mail part) with several events is answered per event too
  (``SourceReport.events``: UID, summary, start, cancelled, links): a cancelled event does not
  cancel the others, and its links are not among the file's;
- each text field is scanned up to ``links.MAX_SCAN_CHARS`` characters, all fields together up
  to ``MAX_SCAN_TOTAL`` (2 Mi characters), and at most ``links.MAX_LINKS`` links are reported.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import TYPE_CHECKING, Any

from hybridcal.core.links import (
    MAX_LINKS,
    MAX_SCAN_CHARS,
    Limits,
    LinkSet,
    links_from_conference,
    scan_text,
)
from hybridcal.core.model import Conference, EntryPoint, Event, EventStatus, JoinLink

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

MAX_INPUT_BYTES = 8 * 1024 * 1024
MAX_JSON_BYTES = 2 * 1024 * 1024
MAX_MIME_CONTAINERS = 32
MAX_MIME_HEADER_BYTES = 4096
MAX_MIME_PARTS = 64
MAX_MIME_DEPTH = 16
MAX_EVENTS = 200
MAX_SCAN_TOTAL = 2 * 1024 * 1024

_FOLD = re.compile(rb"\r?\n[ \t]")
_TEXT_ESCAPE = re.compile(r"\\([nN,;:\\])")
_HEADER_LINE = re.compile(rb"^[!-9;-~]++:")
# a Content-Type or Content-Disposition header field with its continuation lines
_MIME_HEADER = re.compile(
    rb"^content-(?:type|disposition):[^\n]*+(?:\n[ \t][^\n]*+)*+", re.IGNORECASE | re.MULTILINE
)
_CONTAINER = re.compile(rb"content-type:\s*+(?:multipart|message)/", re.IGNORECASE)
# name and parameters of a content line, up to the first colon outside double quotes
_CONTENT_LINE = re.compile(r'((?:[^":]++|"[^"]*+")*+):')
_MAIL_HEADERS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "received", "mime-version", "content-type",
        "message-id", "return-path", "delivered-to", "reply-to", "sender",
    }
)  # fmt: skip
_TEXT_PROPERTIES = frozenset({"LOCATION", "DESCRIPTION", "X-ALT-DESC", "SUMMARY", "URL"})


@dataclass(frozen=True, slots=True)
class EventReport:
    """One VEVENT of an iCalendar file: what identifies it and its own join links."""

    uid: str
    summary: str
    start: str  # DTSTART as written (``20260105T090000Z``, ``20260105``), "" when absent
    cancelled: bool  # STATUS:CANCELLED, or the file's METHOD:CANCEL
    links: list[JoinLink]
    recurrence_id: str = ""  # RECURRENCE-ID of an overridden occurrence
    tzid: str = ""  # DTSTART's TZID parameter

    def to_json(self) -> dict[str, str]:
        found = {"uid": self.uid, "summary": self.summary, "start": self.start}
        if self.tzid:
            found["tzid"] = self.tzid
        if self.recurrence_id:
            found["recurrence_id"] = self.recurrence_id
        return found


@dataclass(frozen=True, slots=True)
class SourceReport:
    kind: str  # email / ics / google-event / graph-event / text
    cancelled: bool  # every event is cancelled (or the mail's calendar cancels its meeting)
    links: list[JoinLink]  # the links of the events that are not cancelled, best first
    truncated: bool = False  # a cap cut the reading short: links further in were not looked for
    events: list[EventReport] = field(default_factory=list)  # per VEVENT, in file order


def links_from_bytes(data: bytes, *, name: str = "-") -> list[JoinLink]:
    """The join links in ``data``, best first; none for a cancelled meeting."""
    return analyse_bytes(data, name).links


def analyse_bytes(data: bytes, name: str = "-") -> SourceReport:
    """What ``data`` is, whether it cancels a meeting, and its join links, best first."""
    reader = _Reader(truncated=len(data) > MAX_INPUT_BYTES)
    body = data[:MAX_INPUT_BYTES].removeprefix(b"\xef\xbb\xbf")
    head = body.lstrip()[:4096]
    if head[:1] in (b"{", b"["):
        report = _json_report(body, name, reader)
        if report is not None:
            return report
    if head.upper().startswith((b"BEGIN:VCALENDAR", b"BEGIN:VEVENT")):
        calendar = _Calendar.parse(body, reader)
        calendar.read_links(reader)
        return reader.report("ics", cancelled=calendar.cancelled)
    if _looks_like_mail(body):
        return _mail_report(body, reader)
    reader.scan(_decode(body, None))
    return reader.report("text", cancelled=False)


class _Reader:
    """The links found so far and what is left of the scanning budget."""

    def __init__(self, *, truncated: bool) -> None:
        self.links = LinkSet()
        self.events: list[EventReport] = []
        self.truncated = truncated
        self._left = MAX_SCAN_TOTAL

    def scan(self, text: str, into: LinkSet | None = None) -> None:
        """Scan ``text`` within the budget; its links go to ``into`` (an event's) or the file's."""
        target = self.links if into is None else into
        if len(target) >= MAX_LINKS or self._left <= 0:
            self.truncated = self.truncated or bool(text.strip())
            return
        limits = Limits(scan_chars=min(MAX_SCAN_CHARS, self._left))
        found = scan_text(text, limits=limits)
        self._left -= min(len(text), limits.scan_chars)
        self.truncated = self.truncated or found.truncated
        target.update(found.links)

    def add(self, links: list[JoinLink] | tuple[JoinLink, ...]) -> None:
        self.links.update(links)
        if len(self.links) > MAX_LINKS:
            self.truncated = True

    def report(self, kind: str, *, cancelled: bool) -> SourceReport:
        links = [] if cancelled else list(self.links.links[:MAX_LINKS])
        return SourceReport(kind, cancelled, links, self.truncated, self.events)


def _decode(data: bytes, charset: str | None) -> str:
    """``data`` as text: in its declared charset if Python knows it and it fits, else UTF-8,
    else Windows-1252 (which maps every byte)."""
    for encoding in (_codec(charset), "utf-8"):
        if encoding:
            try:
                return data.decode(encoding)
            except (UnicodeError, LookupError):  # LookupError: not a text encoding (rot13)
                continue
    return data.decode("cp1252", "replace")


def _codec(charset: str | None) -> str | None:
    """The codec a charset label names, or None (unknown, or not a name at all: a NUL byte)."""
    if not charset or not isinstance(charset, str):
        return None
    try:
        return codecs.lookup(charset.strip()).name
    except (LookupError, ValueError):
        return None


# -- e-mail ------------------------------------------------------------------------------------


def _looks_like_mail(data: bytes) -> bool:
    header, _, _ = data.lstrip()[:65536].partition(b"\n\n")
    header = header.replace(b"\r", b"")
    lines = [ln for ln in header.split(b"\n") if not ln.startswith(b"From ")]
    if not lines or not _HEADER_LINE.match(lines[0]):
        return False
    names = {ln.split(b":", 1)[0].decode("ascii", "replace").lower() for ln in lines}
    return bool(names & _MAIL_HEADERS)


def _mail_report(data: bytes, reader: _Reader) -> SourceReport:
    data = data.lstrip()
    if data.startswith(b"From "):  # mbox separator line
        data = data.partition(b"\n")[2]
    message = _parse_mail(data)
    if message is None:
        # too deep or too large for the standard library's parser: read it as text
        reader.truncated = True
        reader.scan(_decode(data, None))
        return reader.report("email", cancelled=False)
    calendars: list[_Calendar] = []
    plain: list[str] = []
    html: list[str] = []
    for part in _leaf_parts(message, reader):
        ctype = part.get_content_type()
        filename = (_param(part, "filename", "content-disposition") or _param(part, "name")).lower()
        charset = _param(part, "charset") or None
        if ctype in {"text/calendar", "application/ics"} or filename.endswith(".ics"):
            calendars.append(_Calendar.parse(_payload(part), reader, charset))
        elif ctype == "text/plain":
            plain.append(_decode(_payload(part), charset))
        elif ctype == "text/html":
            html.append(_decode(_payload(part), charset))
    for calendar in calendars:
        calendar.read_links(reader)
    for text in (*plain, *html):
        reader.scan(text)
    return reader.report("email", cancelled=any(c.cancelled for c in calendars))


def _parse_mail(data: bytes) -> Message | None:
    """The message, or None when its structure is beyond what the standard library's parser
    takes in bounded time and stack. One linear pass over the Content-Type and
    Content-Disposition fields checks what it is sensitive to:

    - their number of multipart or message containers: each nested multipart is parsed by a
      generator inside the enclosing one's, so depth costs stack;
    - their length: their parameters are parsed in quadratic time (``_parseparam``) and each
      boundary becomes a regular expression, compiled in time growing with its length (RFC 2046
      limits a boundary to 70 characters)."""
    containers = 0
    for found in _MIME_HEADER.finditer(data):
        field = found.group(0)
        if len(field) > MAX_MIME_HEADER_BYTES:
            return None
        if _CONTAINER.match(field) is not None:
            containers += 1
            if containers > MAX_MIME_CONTAINERS:
                return None
    try:
        return message_from_bytes(data)  # compat32: lenient, keeps header values as text
    except RecursionError:  # a nesting the count above did not see (defensive)
        return None


def _leaf_parts(message: Message, reader: _Reader) -> Iterator[Message]:
    """The non-multipart parts in document order, walked without recursion, bounded."""
    stack: list[tuple[Message, int]] = [(message, 0)]
    leaves = 0
    while stack:
        part, depth = stack.pop()
        if part.is_multipart():
            # only now: get_payload() of a leaf decodes it in the charset it names (may raise)
            children = part.get_payload()
            if depth >= MAX_MIME_DEPTH or not isinstance(children, list):
                reader.truncated = True
                continue
            stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Message))
            continue
        leaves += 1
        if leaves > MAX_MIME_PARTS:
            reader.truncated = True
            return
        yield part


def _param(part: Message, name: str, header: str = "content-type") -> str:
    """A header parameter as text; RFC 2231 values (charset'lang'value) give their value
    without decoding it in a charset the sender named (that name may be anything)."""
    value = part.get_param(name, header=header)
    if isinstance(value, tuple):
        value = value[2]
    return value if isinstance(value, str) else ""


def _payload(part: Message) -> bytes:
    """The part's body with its transfer encoding (base64, quoted-printable) undone."""
    if "uu" in str(part.get("content-transfer-encoding", "")).lower():
        return b""  # uuencoded bodies: never an invitation, and uu decoding can raise
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


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
    def parse(cls, data: bytes, reader: _Reader, charset: str | None = None) -> _Calendar:
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
                    if len(events) >= MAX_EVENTS:
                        reader.truncated = True
                        break
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
        """METHOD:CANCEL, or every event cancelled: one cancelled occurrence or meeting among
        others cancels only itself."""
        return bool(self.events) and all(self.event_cancelled(e) for e in self.events)

    def event_cancelled(self, props: list[_Property]) -> bool:
        return self.method == "CANCEL" or _first(props, "STATUS").strip().upper() == "CANCELLED"

    def read_links(self, reader: _Reader) -> None:
        """Each event's links, as its own answer and (unless it is cancelled) the file's."""
        for props in self.events:
            found = LinkSet()
            found.update(_structured(props))
            for name in ("LOCATION", "URL", "DESCRIPTION", "X-ALT-DESC"):
                for prop in props:
                    if prop.name == name:
                        reader.scan(prop.value, into=found)
            cancelled = self.event_cancelled(props)
            if not cancelled:
                reader.add(found.links)
            start = next((p for p in props if p.name == "DTSTART"), None)
            reader.events.append(
                EventReport(
                    uid=_first(props, "UID").strip(),
                    summary=_first(props, "SUMMARY").strip(),
                    start=start.value.strip() if start else "",
                    cancelled=cancelled,
                    links=[] if cancelled else list(found.links[:MAX_LINKS]),
                    recurrence_id=_first(props, "RECURRENCE-ID").strip(),
                    tzid=start.params.get("TZID", "") if start else "",
                )
            )


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
        if len(conferences) >= MAX_LINKS:
            break
    return [link for c in conferences for link in links_from_conference(c)]


def _parse_line(line: str) -> _Property | None:
    found = _CONTENT_LINE.match(line)
    if found is None:
        return None
    head, value = found.group(1), line[found.end() :]
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


def _json_report(body: bytes, name: str, reader: _Reader) -> SourceReport | None:
    if len(body) > MAX_JSON_BYTES:
        reader.truncated = True
        return None  # read as text
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested beyond the parser's limit
        return None
    events = _json_events(parsed, name, reader)
    if not events:
        return None
    for _, event in events:
        if not event.is_cancelled:  # as detect_links, within the reader's budget
            reader.add(links_from_conference(event.conference))
            reader.scan(event.location)
            reader.scan(event.description)
    cancelled = all(event.is_cancelled for _, event in events)
    return reader.report(events[0][0], cancelled=cancelled)


def _json_events(parsed: Any, name: str, reader: _Reader) -> list[tuple[str, Event]]:
    """The Graph and Google events in a parsed JSON document (one event, a list, or an API
    page with ``items`` / ``value``), each with its kind."""
    items: list[Any] = [parsed]
    if isinstance(parsed, list):
        items = parsed
    elif isinstance(parsed, dict):
        for key in ("items", "value"):
            if isinstance(parsed.get(key), list):
                items = parsed[key]
                break
    events: list[tuple[str, Event]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if len(events) >= MAX_EVENTS:
            reader.truncated = True
            break
        if _is_graph(item):
            events.append(("graph-event", _graph_event(item, name)))
        elif _is_google(item):
            events.append(("google-event", _google_event(item, name)))
    return events


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_graph(item: dict[str, Any]) -> bool:
    keys = ("@odata.etag", "@odata.type", "onlineMeeting", "isCancelled", "bodyPreview")
    return any(k in item for k in keys) or isinstance(item.get("body"), dict)


def _is_google(item: dict[str, Any]) -> bool:
    keys = ("hangoutLink", "conferenceData", "htmlLink", "iCalUID", "summary", "description")
    return item.get("kind") == "calendar#event" or any(k in item for k in keys)


def _bare_event(name: str, item: dict[str, Any], cancelled: bool) -> dict[str, Any]:
    return {
        "calendar_key": f"file:{name}",
        "event_id": _str(item.get("id")) or name,
        "etag": None,
        "status": EventStatus.CANCELLED if cancelled else EventStatus.CONFIRMED,
        "start": None,
        "end": None,
    }


def _google_event(item: dict[str, Any], name: str) -> Event:
    conference: Conference | None = None
    data = item.get("conferenceData")
    if isinstance(data, dict):
        solution = _dict(data.get("conferenceSolution"))
        key = _str(_dict(solution.get("key")).get("type")) or "meet"
        entry_points = tuple(
            EntryPoint(
                kind=_str(ep.get("entryPointType")),
                uri=_str(ep.get("uri")),
                label=_opt_str(ep.get("label")),
                pin=_opt_str(ep.get("pin")) or _opt_str(ep.get("accessCode")),
                passcode=_opt_str(ep.get("passcode")) or _opt_str(ep.get("password")),
            )
            for ep in _list(data.get("entryPoints"))[:MAX_LINKS]
            if isinstance(ep, dict)
        )
        conference = Conference(key, _opt_str(data.get("conferenceId")), entry_points=entry_points)
    elif hangout := _str(item.get("hangoutLink")):
        conference = Conference("meet", entry_points=(EntryPoint("video", hangout),))
    return Event(
        **_bare_event(name, item, item.get("status") == "cancelled"),
        location=_str(item.get("location")),
        description=_str(item.get("description")),
        conference=conference,
    )


def _graph_event(item: dict[str, Any], name: str) -> Event:
    places = [item.get("location"), *_list(item.get("locations"))[:MAX_LINKS]]
    location = "\n".join(
        dict.fromkeys(p["displayName"] for p in places if _str(_dict(p).get("displayName")))
    )
    meeting = _dict(item.get("onlineMeeting"))
    join_url = _str(meeting.get("joinUrl")) or _str(item.get("onlineMeetingUrl"))
    conference = None
    if join_url:
        provider = _str(item.get("onlineMeetingProvider")) or "teamsForBusiness"
        conference = Conference(provider, entry_points=(EntryPoint("video", join_url),))
    return Event(
        **_bare_event(name, item, item.get("isCancelled") is True),
        location=location,
        description=_str(_dict(item.get("body")).get("content")),
        conference=conference,
    )
