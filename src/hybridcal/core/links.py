"""Join-link detection: what the Join button of a meeting opens.

Order of trust: the conference data the calendar system attached (Meet, Teams), then the
location, then the description. Within a text, links come in the order they appear; the meeting
ID and passcode are read from the lines around each link ("Meeting ID: 939 688 0476"), never
across another meeting's link. Links to the same meeting are merged, the first one kept.

Invitation text is written by anyone who can invite a person or a room, so detection never
raises and its work is linear in the input, with caps well above any real invitation:

- each text field (location, description) is read up to ``MAX_SCAN_CHARS`` characters, markup
  included, and its HTML is converted in one linear pass;
- at most ``MAX_LINKS`` different links are kept per field (and per event): scanning stops
  there; at most ``MAX_CANDIDATES`` URL-like strings and addresses are examined per field;
- label patterns (meeting ID, passcode, "SIP:" lines, video gateways) read the first
  ``MAX_LABEL_CHARS`` characters of a line; a URL longer than ``MAX_URL_CHARS`` is ignored;
- an optional ``deadline`` (a ``time.monotonic()`` value) stops the scan every few lines once
  it has passed, and what was found so far is returned.

Links to the same meeting are grouped through dicts keyed by the link keys (URL, meeting ID,
dial string), and the window of lines around a link looks only at the lines it can reach, so no
step compares every link with every other. The regular expressions take nothing back once taken
(possessive quantifiers, bounded runs, starts only where a word starts).
"""

from __future__ import annotations

import re
import string
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, unquote

from hybridcal.core.html_text import html_to_text, looks_like_html
from hybridcal.core.link_rules import DEFAULT_RULES, LinkRule
from hybridcal.core.model import Conference, Event, JoinLink
from hybridcal.core.urltext import (
    ascii_host,
    normalise_text,
    normalise_url,
    split_url,
    unglued,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from urllib.parse import SplitResult

MAX_SCAN_CHARS = 256 * 1024  # characters read per text field (real invitations: under 40 KB)
MAX_LINKS = 50  # different links kept per field and per event
MAX_CANDIDATES = 1000  # URL-like strings and addresses examined per field
MAX_LABEL_CHARS = 4096  # characters of a line the label patterns read
MAX_URL_CHARS = 8192  # longer "URLs" are ignored (join links are under 2 KB, wrapped)
DEADLINE_EVERY = 8  # lines between two looks at the clock


@dataclass(frozen=True, slots=True)
class Limits:
    """The caps of one scan; the defaults are the module constants."""

    scan_chars: int = MAX_SCAN_CHARS
    links: int = MAX_LINKS
    candidates: int = MAX_CANDIDATES
    label_chars: int = MAX_LABEL_CHARS


LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class TextScan:
    """The links of one text, and whether a cap or the deadline cut the scan short."""

    links: tuple[JoinLink, ...]
    truncated: bool = False


_URL_CHARS = r"[^\s<>\"'\[\]{}|\\^`]++"
_BARE_HOSTS = (
    r"zoom\.us|zoom\.com|zoomgov\.com|webex\.com|meet\.google\.com|teams\.microsoft\.com"
    r"|teams\.microsoft\.us|teams\.live\.com|teams\.cloud\.microsoft|teams\.microsoftonline\.cn"
)
# app deep links: Zoom's desktop (zoommtg://) and mobile (zoomus://) schemes, Teams' msteams:
_APP_SCHEMES = r"(?:zoommtg://|zoomus://|msteams:/)"
# the host labels before a bare provider host are taken one whole label at a time (lazily), so
# a long "a.b.c..." run costs one pass, and a bare host starts only where a word starts
_URL = re.compile(
    rf"(?:https?://|www\.|(?<![\w.+-]){_APP_SCHEMES}){_URL_CHARS}"
    rf"|(?<![\w/.@-])(?:[\w-]++\.)*?(?:{_BARE_HOSTS})/{_URL_CHARS}",
    re.IGNORECASE,
)
_ADDRESS = re.compile(
    r"(?<![\w.-])(?P<scheme>sips?|h323):(?://)?(?P<addr>[^\s<>\"',;()]++)", re.IGNORECASE
)
_VIDEO_LABEL = re.compile(
    r"(?:\bSIP(?:[ \t]++(?:address|URI))?|video[ \t]++(?:address|system(?:[ \t]++address)?)"
    r"|join[ \t]++by[ \t]++(?:SIP|H\.?323)|\bH\.?323|Videoadresse|ビデオ[ \t]*+アドレス)"
    r"[ \t]*+[:\uff1a]?[ \t]*+(?P<addr>[\w.+-]++@[\w-]++(?:\.[\w-]++)++)",
    re.IGNORECASE,
)
_HOST_LABELS = re.compile(r"[\w-]++(?:\.[\w-]++)*+", re.IGNORECASE)
_TLD = re.compile(r"[a-z]{2,}", re.IGNORECASE)
_QUOTE_PREFIX = re.compile(r"^[ \t]*+(?:>[ \t]?)++")
_DIGITS = re.compile(r"[\d \t\xa0-]++")
_NON_DIGITS = re.compile(r"\D++")
_PROOFPOINT_V3 = re.compile(r"^https?://urldefense\.com/v3/__(.+?)__;", re.IGNORECASE)
_ZOOM_APP_HOST = re.compile(r"(?:[\w-]++\.)*zoom(?:gov)?\.(?:us|com)", re.IGNORECASE)
_TEAMS_APP_HOST = re.compile(
    r"(?:[\w-]++\.)*teams\."
    r"(?:microsoft\.com|microsoft\.us|live\.com|cloud\.microsoft|microsoftonline\.cn)",
    re.IGNORECASE,
)
_MEETING_NUMBER = re.compile(r"\d{9,11}")
# hosts whose URLs are join links only where a rule says so (conference data included)
_PROVIDER_HOST = re.compile(rf"(?:[\w-]++\.)*(?:{_BARE_HOSTS}|g\.co|tel\.meet)", re.IGNORECASE)
_SYSTEMS = {"hangoutsMeet": "meet", "teamsForBusiness": "teams", "skypeForBusiness": "teams"}

BEFORE = 4  # lines before a link searched for its meeting ID / passcode
AFTER = 15  # lines after it


def detect_links(
    event: Event,
    rules: Sequence[LinkRule] = DEFAULT_RULES,
    *,
    deadline: float | None = None,
    limits: Limits = LIMITS,
) -> tuple[JoinLink, ...]:
    """Every join link of ``event``, best first; empty when there is none."""
    found = LinkSet()
    found.update(links_from_conference(event.conference, rules))
    for text in (event.location, event.description):
        if len(found) >= limits.links:
            break
        found.update(scan_text(text, rules, deadline=deadline, limits=limits).links)
    return found.links[: limits.links]


def links_from_conference(
    conference: Conference | None, rules: Sequence[LinkRule] = DEFAULT_RULES
) -> list[JoinLink]:
    """Links from the conference data a calendar system attached to the event."""
    if conference is None:
        return []
    entry_points = conference.entry_points[:MAX_CANDIDATES]
    system = _SYSTEMS.get(conference.system, conference.system)
    sip = next((ep.uri for ep in entry_points if ep.kind == "sip" and ep.uri), None)
    links: list[JoinLink] = []
    for ep in entry_points:
        if ep.kind != "video" or not ep.uri or len(links) >= MAX_LINKS:
            continue
        link = classify_url(ep.uri, rules)
        if link is None:
            if _provider_host(ep.uri):
                # a Meet (Zoom, Teams...) URL that is not of its documented join forms, e.g. a
                # Meet code that is not abc-defg-hij: no Join button rather than a broken one
                continue
            link = JoinLink(provider=system, url=ep.uri.strip())
        meeting_id = link.meeting_id
        if meeting_id is None and link.provider != "teams":
            meeting_id = conference.conference_id
        dial = link.dial or (_strip_scheme(sip) if sip else None)
        passcode = ep.passcode or ep.pin or link.passcode
        links.append(replace(link, meeting_id=meeting_id, passcode=passcode, dial=dial))
    if not links and sip:
        links.extend(find_links_in_text(sip, rules))
    return links


def find_links_in_text(
    text: str,
    rules: Sequence[LinkRule] = DEFAULT_RULES,
    *,
    deadline: float | None = None,
    limits: Limits = LIMITS,
) -> list[JoinLink]:
    """Join links in plain text or HTML (mail bodies, descriptions, locations), in order."""
    return list(scan_text(text, rules, deadline=deadline, limits=limits).links)


def scan_text(
    text: str,
    rules: Sequence[LinkRule] = DEFAULT_RULES,
    *,
    deadline: float | None = None,
    limits: Limits = LIMITS,
) -> TextScan:
    """:func:`find_links_in_text`, telling also whether a cap or the deadline cut it short."""
    if not text or text.isspace():
        return TextScan(())
    if _passed(deadline):
        return TextScan((), truncated=True)
    truncated = len(text) > limits.scan_chars
    doc = _Document.parse(text[: limits.scan_chars], limits)
    scanner = _Scanner(doc, rules, limits)
    complete = scanner.run(deadline)
    links = LinkSet()
    links.update(scanner.enrich(index) for index in range(len(scanner.groups)))
    truncated = truncated or doc.truncated or not complete
    return TextScan(links.links[: limits.links], truncated)


def classify_url(url: str, rules: Sequence[LinkRule] = DEFAULT_RULES) -> JoinLink | None:
    """The join link ``url`` stands for, or None (not a meeting, or a page we ignore)."""
    found = _classify_url(url, rules)
    return found.link if found else None


def unwrap_url(url: str) -> str:
    """The original URL behind mail-gateway rewriting (Safe Links, Google, Proofpoint v2 and
    v3, Barracuda Link Protection, Cisco Secure Email) and behind launcher pages that carry the
    meeting link in a query parameter (Teams' ``/dl/launcher/launcher.html?url=``).

    Mimecast's rewritten links (``url.*.mimecastprotect.com/s/<token>``, formerly
    ``protect-*.mimecast.com``) keep the original on Mimecast's servers: they cannot be
    unwrapped offline and are left as they are (no join link)."""
    for _ in range(5):  # gateways may wrap each other
        inner = _unwrap_once(url)
        if inner is None:
            break
        url = inner.strip()
    return url


def _unwrap_once(url: str) -> str | None:
    """The URL one wrapper carries, or None when ``url`` is no wrapper we can undo."""
    parts = split_url(url)
    if parts is None:
        return None
    host = (parts.hostname or "").lower()
    path = parts.path
    query = _query(parts)
    target: list[str] | None = None
    if host.endswith("safelinks.protection.outlook.com"):
        target = query.get("url")
    elif host == "linkprotect.cudasvc.com" and path == "/url":
        target = query.get("a")  # Barracuda Link Protection: /url?a=<original>&c=...
    elif host in {"www.google.com", "google.com"} and path == "/url":
        target = query.get("q") or query.get("url")
    elif host == "urldefense.proofpoint.com" and path.startswith("/v2/url") and "u" in query:
        return unquote(query["u"][0].replace("-", "%").replace("_", "/"), errors="replace")
    elif host == "secure-web.cisco.com":
        # Cisco Secure Email: /<token>/<the original, percent-encoded>
        inner = unquote(path.partition("/")[2].partition("/")[2], errors="replace")
        target = [inner] if inner.lower().startswith(("https://", "http://")) else None
    elif _TEAMS_APP_HOST.fullmatch(host) and path.lower() == "/dl/launcher/launcher.html":
        launched = _teams_launcher_target(host, query)
        target = [launched] if launched else None
    elif (v3 := _PROOFPOINT_V3.match(url)) is not None:
        return v3.group(1)
    return target[0] if target else None


def web_url(url: str) -> str:
    """The web join link an app deep link stands for, or ``url`` unchanged.

    ``zoommtg://<host>/join?action=join&confno=<id>&pwd=<token>`` and ``zoomus://...`` (the
    Zoom desktop and mobile apps' schemes) become ``https://<host>/j/<id>?pwd=<token>``: a room
    system opens a web link, not an app scheme; a start link (``/start``) keeps only the meeting
    number (its other parameters are the host's secrets). ``msteams:/l/meetup-join/...`` (the
    Teams app's protocol handler) becomes the same path on teams.microsoft.com."""
    scheme, sep, rest = url.partition(":")
    scheme = scheme.lower()
    if not sep or scheme not in {"zoommtg", "zoomus", "msteams"}:
        return url
    if scheme == "msteams":
        # msteams:/l/..., msteams://l/... or msteams://teams.microsoft.com/l/...
        path = "/" + rest.lstrip("/")
        host, slash, tail = path[1:].partition("/")
        if slash and _TEAMS_APP_HOST.fullmatch(host):
            path = f"/{tail}"
        else:
            host = "teams.microsoft.com"
        if not path.lower().startswith(("/l/meetup-join/", "/meet/")):
            return url
        return f"https://{host.lower()}{path}"
    parts = split_url(f"https:{rest}" if rest.startswith("//") else f"https://{rest}")
    if parts is None or not parts.hostname:
        return url
    host = parts.hostname.lower()
    action = parts.path.rstrip("/").lower()
    query = _query(parts)
    confno = _digits(query.get("confno", [""])[0])
    if (
        _ZOOM_APP_HOST.fullmatch(host) is None
        or action not in {"/join", "/start"}
        or _MEETING_NUMBER.fullmatch(confno) is None
    ):
        return url
    pwd = query.get("pwd", [""])[0] if action == "/join" else ""
    token = f"?pwd={quote(pwd, safe='')}" if pwd and "\ufffd" not in pwd else ""
    return f"https://{host}/j/{confno}{token}"


def dedupe_links(links: Iterable[JoinLink]) -> tuple[JoinLink, ...]:
    """Merge links to the same meeting (same URL, meeting or dial string); the first wins and
    gains what the later ones add (a passcode, a dial string)."""
    merged = LinkSet()
    merged.update(links)
    return merged.links


class LinkSet:
    """Links merged as they arrive, as :func:`dedupe_links` merges them; linear: each key
    (normalised URL, provider and meeting ID, dial string) names the first link that had it."""

    def __init__(self) -> None:
        self._merged: list[JoinLink] = []
        self._index: dict[tuple[str, ...], int] = {}

    def __len__(self) -> int:
        return len(self._merged)

    @property
    def links(self) -> tuple[JoinLink, ...]:
        return tuple(self._merged)

    def update(self, links: Iterable[JoinLink]) -> None:
        for link in links:
            self.add(link)

    def add(self, link: JoinLink) -> None:
        own = _keys(link)
        index = _first(self._index, own)
        if index is None:
            index = len(self._merged)
            self._merged.append(link)
        else:
            self._merged[index] = _merge(self._merged[index], link)
            own |= _keys(self._merged[index])
        _claim(self._index, own, index)


# -- internals --------------------------------------------------------------------------------


def _teams_launcher_target(host: str, query: dict[str, list[str]]) -> str | None:
    """The meeting link a Teams launcher page carries: its ``url`` parameter is the Teams web
    app's route (``/_#/l/meetup-join/...``), on the launcher's own host."""
    route = query.get("url", [""])[0]
    path = route.removeprefix("/_#").removeprefix("/_")
    if not path.lower().startswith(("/l/meetup-join/", "/meet/")):
        return None
    return f"https://{host}{path}"


def _provider_host(url: str) -> bool:
    """Whether ``url`` is on a host whose join links the rules know (Meet, Zoom, Teams...)."""
    parts = split_url(url.strip())
    host = ascii_host(parts.hostname) if parts is not None and parts.hostname else None
    return host is not None and _PROVIDER_HOST.fullmatch(host) is not None


def _passed(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _first(index: dict[tuple[str, ...], int], keys: set[tuple[str, ...]]) -> int | None:
    """The earliest group that has one of ``keys``."""
    return min((index[key] for key in keys if key in index), default=None)


def _claim(index: dict[tuple[str, ...], int], keys: set[tuple[str, ...]], group: int) -> None:
    for key in keys:
        if index.get(key, group) >= group:
            index[key] = group


def _merge(first: JoinLink, later: JoinLink) -> JoinLink:
    """``first`` completed by ``later``: a written passcode beats the token in a URL (Zoom's
    ``pwd=``), a dial string with a passcode beats one without."""
    passcode = first.passcode or later.passcode
    if _passcode_in_url(first) and later.passcode and not _passcode_in_url(later):
        passcode = later.passcode
    dial = first.dial or later.dial
    if first.dial and later.dial:
        user, _, host = first.dial.lower().rpartition("@")
        other_user, _, other_host = later.dial.lower().rpartition("@")
        if host == other_host and other_user.startswith(f"{user}."):
            dial = later.dial
    return replace(
        first, meeting_id=first.meeting_id or later.meeting_id, passcode=passcode, dial=dial
    )


def _passcode_in_url(link: JoinLink) -> bool:
    if not link.passcode:
        return False
    parts = split_url(link.url)
    return parts is not None and any(link.passcode in v for v in _query(parts).values())


def _query(parts: SplitResult) -> dict[str, list[str]]:
    """Query parameters, percent-decoded: a broken escape (``%zz``, a final ``%``) stays as
    written, invalid UTF-8 becomes U+FFFD; never an exception."""
    return parse_qs(parts.query, errors="replace")


@dataclass(frozen=True, slots=True)
class _Document:
    lines: list[str]  # non-empty normalised lines, quote prefixes ("> > ") removed
    hrefs: list[tuple[int, str]]  # (line index, href) of HTML anchors
    truncated: bool

    @classmethod
    def parse(cls, text: str, limits: Limits) -> _Document:
        anchors: tuple[tuple[int, str], ...] = ()
        if looks_like_html(text):
            html = html_to_text(text)
            text, anchors = html.text, html.hrefs
        lines: list[str] = []
        hrefs: list[tuple[int, str]] = []
        offset = total = next_anchor = 0
        truncated = False
        for raw in text.split("\n"):
            end = offset + len(raw) + 1
            line = normalise_text(raw, limits.scan_chars - total + 1).strip()
            if line[:1] == ">":
                line = _QUOTE_PREFIX.sub("", line).strip()
            if line:
                total += len(line)
                if total > limits.scan_chars:  # NFKC made the text longer than the cap
                    truncated = True
                    break
                lines.append(line)
            while next_anchor < len(anchors) and anchors[next_anchor][0] < end:
                hrefs.append((max(len(lines) - 1, 0), anchors[next_anchor][1]))
                next_anchor += 1
            offset = end
        if hrefs and not lines:
            lines.append("")  # anchors without visible text
        return cls(lines, hrefs, truncated)


@dataclass(frozen=True, slots=True)
class _Found:
    link: JoinLink
    rule: LinkRule | None
    fields: dict[str, str]  # template fields: host, user, ...


@dataclass(slots=True)
class _Group:
    found: _Found
    lines: list[int] = field(default_factory=list)


class _Scanner:
    """One text's links grouped by meeting, with the lines each group appears on."""

    def __init__(self, doc: _Document, rules: Sequence[LinkRule], limits: Limits) -> None:
        self.doc = doc
        self.rules = rules
        self.limits = limits
        self.groups: list[_Group] = []
        self._keys: dict[tuple[str, ...], int] = {}  # link key -> first group having it
        self._on_line: dict[int, set[int]] = {}  # line -> groups that appear on it
        self._classified: dict[str, _Found | None] = {}
        self._candidates = 0
        self._labels: dict[tuple[re.Pattern[str], str, int], list[tuple[int, str]]] = {}

    def run(self, deadline: float | None) -> bool:
        """Scan line by line; False when a cap or the deadline stopped the scan early."""
        hrefs: dict[int, list[str]] = {}
        for line_no, href in self.doc.hrefs:
            hrefs.setdefault(line_no, []).append(href)
        lines = self.doc.lines
        for line_no, line in enumerate(lines):
            if line_no % DEADLINE_EVERY == 0 and _passed(deadline):
                return False
            nxt = lines[line_no + 1] if line_no + 1 < len(lines) else ""
            # every URL form has a "/", every address a ":", a labelled address an "@"
            if not (line_no in hrefs or "/" in line or ":" in line or "@" in line or "@" in nxt):
                continue
            for found in self._candidates_on(line_no, line, hrefs.get(line_no, ())):
                if found is not None:
                    self._add(line_no, found)
                if (
                    len(self.groups) >= self.limits.links
                    or self._candidates >= self.limits.candidates
                ):
                    return False
        return True

    def _candidates_on(
        self, line_no: int, line: str, hrefs: Sequence[str]
    ) -> Iterable[_Found | None]:
        for href in hrefs:
            self._candidates += 1
            scheme = href.partition(":")[0].lower()
            if scheme in {"sip", "sips", "h323"}:
                yield _classify_address(scheme, _strip_scheme(href), self.rules)
            else:
                yield self._classify(href)
        if "/" in line:
            for m in _URL.finditer(line):
                self._candidates += 1
                yield self._classify(m.group(0))
        if ":" in line:
            for m in _ADDRESS.finditer(line):
                self._candidates += 1
                yield _classify_address(m["scheme"].lower(), _trim(m["addr"]), self.rules)
        yield from self._labelled_addresses(line_no)

    def _classify(self, url: str) -> _Found | None:
        if url not in self._classified:
            self._classified[url] = _classify_url(url, self.rules)
        return self._classified[url]

    def _labelled_addresses(self, line_no: int) -> Iterable[_Found | None]:
        """``user@host`` counts as a video address only when labelled ("SIP: ...")."""
        lines, cap = self.doc.lines, self.limits.label_chars
        line = lines[line_no][:cap]
        nxt = lines[line_no + 1][:cap] if line_no + 1 < len(lines) else ""
        if "@" not in line and "@" not in nxt:
            return
        for m in _VIDEO_LABEL.finditer(f"{line} {nxt}"):
            if m.start() < len(line):
                self._candidates += 1
                yield _classify_address("sip", m["addr"], self.rules)

    def _add(self, line_no: int, found: _Found) -> None:
        own = _keys(found.link)
        index = _first(self._keys, own)
        if index is None:
            index = len(self.groups)
            self.groups.append(_Group(found, [line_no]))
        else:
            group = self.groups[index]
            group.lines.append(line_no)
            if group.found.rule is None and found.rule is not None:
                group.found = found  # a web link opens better than a bare video address
        _claim(self._keys, own, index)
        self._on_line.setdefault(line_no, set()).add(index)

    def enrich(self, index: int) -> JoinLink:
        """The group's link with the meeting ID, passcode and dial string written near it."""
        group = self.groups[index]
        found = group.found
        link, rule = found.link, found.rule
        if rule is None:
            return link
        windows = [self._window(pos, index) for pos in group.lines]
        meeting_id = link.meeting_id
        if meeting_id is None and rule.id_label is not None:
            ids = self._labelled(group.lines, windows, rule.id_label, digits_only=True)
            meeting_id = ids[0] if ids else None
        passcodes: list[str] = []
        if rule.passcode_label is not None:
            # a passcode written after the link is this meeting's; one written before it may be
            # the previous meeting's: it counts only when neither the text after the link nor
            # the URL gives one
            after, around = (
                [
                    p
                    for p in self._labelled(
                        group.lines, windows, rule.passcode_label, after_only=after_only
                    )
                    if _digits(p) != meeting_id
                ]
                for after_only in (True, False)
            )
            passcodes = after or ([] if link.passcode else around)
        passcode = passcodes[0] if passcodes else link.passcode
        # a dial string carries only a numeric passcode a person types (Zoom: the numeric
        # phone/room passcode), never a token or a word
        numeric = next((p for p in [passcode or "", *passcodes] if _typed_digits(p)), None)
        fields = dict(found.fields)
        if meeting_id:
            fields["id"] = meeting_id
        if numeric:
            fields["passcode"] = numeric
        dial = link.dial or next((d for t in rule.dial if (d := _fill(t, fields))), None)
        link = replace(link, meeting_id=meeting_id, passcode=passcode, dial=dial)
        if rule.enrich is not None:
            lo, hi = windows[0]
            cap = self.limits.label_chars
            link = rule.enrich(link, "\n".join(ln[:cap] for ln in self.doc.lines[lo : hi + 1]))
        return link

    def _window(self, pos: int, group: int) -> tuple[int, int]:
        """Lines around ``pos`` up to BEFORE/AFTER, stopping short of another meeting's link:
        only the lines the window can reach are looked at. Invitations write a meeting's
        details after its link, so the lines between another meeting's link and this one are
        that meeting's: when one comes within BEFORE lines, the window starts at ``pos``."""
        count = len(self.doc.lines)
        lo, hi = max(pos - BEFORE, 0), min(pos + AFTER, count - 1)
        for n in range(pos - 1, lo - 1, -1):
            if self._on_line.get(n, {group}) - {group}:
                lo = pos
                break
        for n in range(pos + 1, hi + 1):
            if self._on_line.get(n, {group}) - {group}:
                hi = n - 1
                break
        return lo, hi

    def _labelled(
        self,
        positions: list[int],
        windows: list[tuple[int, int]],
        pattern: re.Pattern[str],
        *,
        digits_only: bool = False,
        after_only: bool = False,
    ) -> list[str]:
        """Values of ``pattern`` near the link, nearest first (after the link before before it;
        with ``after_only``, on the link's line and after it only)."""
        scored: list[tuple[float, int, str]] = []
        for pos, (lo, hi) in zip(positions, windows, strict=True):
            for line_no in range(max(lo, pos) if after_only else lo, hi + 1):
                for length, raw in self._label_matches(pattern, line_no, "value"):
                    if value := _label_value(length, raw, digits_only=digits_only):
                        distance = line_no - pos
                        scored.append(
                            (distance if distance >= 0 else 0.5 - distance, line_no, value)
                        )
        scored.sort(key=lambda item: (item[0], item[1]))
        return list(dict.fromkeys(value for _, _, value in scored))

    def _label_matches(
        self, pattern: re.Pattern[str], line_no: int, group: str
    ) -> list[tuple[int, str]]:
        """Matches of a label pattern that start on the line (it may continue on the next one),
        as (characters of the value on the label's line, value); computed once per line."""
        key = (pattern, group, line_no)
        if key not in self._labels:
            lines, cap = self.doc.lines, self.limits.label_chars
            line = lines[line_no][:cap]
            nxt = lines[line_no + 1][:cap] if line_no + 1 < len(lines) else ""
            self._labels[key] = [
                (len(line) - m.start(group), m.group(group))
                for m in pattern.finditer(f"{line} {nxt}")
                if m.start() < len(line)
            ]
        return self._labels[key]


def _label_value(length: int, value: str, *, digits_only: bool) -> str:
    """A labelled value: the part on the label's line (a number may stand on the next line),
    without the punctuation that ends a sentence."""
    if length > 0:
        value = value[:length]
    elif not digits_only:
        return ""
    value = value.rstrip(".,;:)]}*")
    return _digits(value) if digits_only else value


def _classify_url(text: str, rules: Sequence[LinkRule]) -> _Found | None:
    url = _candidate_url(text)
    if url is None:
        return None
    found = _classify_normal(url, rules)
    incomplete = (
        found is not None
        and found.rule is not None
        and found.rule.id_param is not None
        and found.link.meeting_id is None
    )  # a meeting number parameter with a word glued to it: "…&MK=2551112223Password"
    if (found is None or incomplete) and (shorter := unglued(url)) is not None:
        found = _classify_normal(shorter, rules) or found
    return found if found is None or found.rule is not None else None


def _candidate_url(url: str) -> str | None:
    """The absolute URL a candidate stands for, unwrapped and normalised, or None."""
    if len(url) > MAX_URL_CHARS:
        return None
    url = _trim(normalise_url(url))
    unwrapped = web_url(unwrap_url(web_url(url)))
    if unwrapped != url:
        url = _trim(normalise_url(unwrapped))
    if "://" not in url:
        if not _schemeless(url):
            return None  # mailto:, tel:, ...
        url = f"https://{url}"
    return url


def _schemeless(url: str) -> bool:
    """``host.tld/...`` without a scheme: a host of word labels, a final label of letters."""
    host, slash, _ = url.partition("/")
    if not slash or _HOST_LABELS.fullmatch(host) is None or "." not in host:
        return False
    return _TLD.fullmatch(host.rpartition(".")[2]) is not None


def _classify_normal(url: str, rules: Sequence[LinkRule]) -> _Found | None:
    """``_classify_url`` of an absolute, normalised URL; a match of an ignore rule is a
    ``_Found`` without a rule, so that the caller does not look further."""
    parts = split_url(url)
    if parts is None or parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    host = ascii_host(parts.hostname)
    if host is None:
        return None
    if host != parts.hostname:
        url = _with_host(parts, host)
    subject = host + parts.path + (f"?{parts.query}" if parts.query else "")
    for rule in rules:
        if rule.target != "url" or (m := rule.pattern.match(subject)) is None:
            continue
        if not rule.join:
            return _Found(JoinLink("", url), None, {})
        fields = {k: v for k, v in m.groupdict().items() if isinstance(v, str) and v}
        fields["host"] = host
        meeting_id = _meeting_id(rule, parts, fields)
        passcode = fields.get("passcode")
        if passcode is None and rule.passcode_param:
            values = _query(parts).get(rule.passcode_param, [])
            # a passcode that percent-decodes to broken UTF-8 is no passcode anyone can type
            passcode = next((v for v in values if "\ufffd" not in v), None)
        canonical = _fill(rule.canonical, fields) if rule.canonical else None
        link = JoinLink(rule.provider, canonical or url, meeting_id, passcode or None)
        return _Found(link, rule, fields)
    return None


def _meeting_id(rule: LinkRule, parts: SplitResult, fields: dict[str, str]) -> str | None:
    """The meeting ID a rule's match names (digits only where it is a number), or the one a
    query parameter carries (Webex URL API ``MK``); written into ``fields`` for templates."""
    meeting_id = fields.get("id")
    if meeting_id is None and rule.id_param:
        values = _query(parts).get(rule.id_param, [])
        meeting_id = next((v for v in values if _DIGITS.fullmatch(v)), None)
    if meeting_id and _DIGITS.fullmatch(meeting_id):
        meeting_id = _digits(meeting_id)
    if meeting_id:
        fields["id"] = meeting_id
        return meeting_id
    fields.pop("id", None)
    return None


def _with_host(parts: SplitResult, host: str) -> str:
    """The URL with its host in lowercase ASCII (``xn--`` form), user and port kept."""
    userinfo, at, hostport = parts.netloc.rpartition("@")
    _, colon, port = hostport.rpartition(":")
    netloc = f"{userinfo}{at}{host}" + (f":{port}" if colon and port.isdigit() else "")
    return parts._replace(netloc=netloc).geturl()


def _classify_address(scheme: str, address: str, rules: Sequence[LinkRule]) -> _Found | None:
    address = address.strip().rstrip(".")
    if not address or ("@" not in address and scheme != "h323"):
        return None
    provider = "h323" if scheme == "h323" else "sip"
    for rule in rules:
        if rule.target != "address" or (m := rule.pattern.match(address)) is None:
            continue
        if not rule.join:
            return None
        fields = {k: v for k, v in m.groupdict().items() if isinstance(v, str) and v}
        fields["host"] = address.rpartition("@")[2].lower()
        link = JoinLink(rule.provider, f"{scheme}:{address}", fields.get("id"), dial=address)
        return _Found(link, None, fields)
    return _Found(JoinLink(provider, f"{scheme}:{address}", dial=address), None, {})


def _keys(link: JoinLink) -> set[tuple[str, ...]]:
    keys: set[tuple[str, ...]] = {("url", _normal_url(link.url))}
    if link.meeting_id:
        keys.add(("id", link.provider, link.meeting_id))
    if link.dial:
        keys.add(("dial", link.dial.lower()))
    return keys


def _normal_url(url: str) -> str:
    parts = split_url(url)
    if parts is None or not parts.netloc:
        return url.lower()
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}?{parts.query}"


def _trim(url: str) -> str:
    """Drop punctuation that ends the sentence, not the URL."""
    end = len(url)
    opened = url.count("(")
    closed = url.count(")")
    while end:
        last = url[end - 1]
        if last in ".,;:!?'\"*_":
            end -= 1
        elif last == ")" and opened < closed:
            end -= 1
            closed -= 1
        else:
            break
    return url[:end]


def _strip_scheme(uri: str) -> str:
    scheme, sep, rest = uri.partition(":")
    if sep and scheme.lower() in {"sip", "sips", "h323", "tel"}:
        return rest.removeprefix("//")
    return uri


def _typed_digits(value: str) -> bool:
    """ASCII digits, as long as a passcode is (Zoom: at most 10; other systems a few more)."""
    return value.isascii() and value.isdigit() and len(value) <= 16


def _digits(value: str) -> str:
    return _NON_DIGITS.sub("", value)


def _fill(template: str, fields: dict[str, str]) -> str | None:
    """``template`` with its fields filled, or None when one is missing or a value does not fit
    the template's format (templates come from the configuration, values from invitations)."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        if not names <= fields.keys():
            return None
        return template.format(**{name: fields[name] for name in names})
    except (ValueError, KeyError, IndexError, AttributeError, TypeError):
        return None
