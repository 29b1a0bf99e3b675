"""Join-link detection: what the Join button of a meeting opens.

Order of trust: the conference data the calendar system attached (Meet, Teams), then the
location, then the description. Within a text, links come in the order they appear; the meeting
ID and passcode are read from the lines around each link ("Meeting ID: 939 688 0476"), never
across another meeting's link. Links to the same meeting are merged, the first one kept.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from hybridcal.core.html_text import html_to_text, looks_like_html
from hybridcal.core.link_rules import DEFAULT_RULES, LinkRule
from hybridcal.core.model import Conference, Event, JoinLink

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

_URL_CHARS = r"[^\s<>\"'\[\]{}|\\^`]+"
_BARE_HOSTS = (
    r"zoom\.us|zoomgov\.com|webex\.com|meet\.google\.com|teams\.microsoft\.com|teams\.live\.com"
)
_URL = re.compile(
    rf"(?:https?://|www\.){_URL_CHARS}|(?<![\w/.@-])(?:[\w-]+\.)*(?:{_BARE_HOSTS})/{_URL_CHARS}",
    re.IGNORECASE,
)
_ADDRESS = re.compile(
    r"(?<![\w.-])(?P<scheme>sips?|h323):(?://)?(?P<addr>[^\s<>\"',;()]+)", re.IGNORECASE
)
_VIDEO_LABEL = re.compile(
    r"(?:\bSIP(?:[ \t]+(?:address|URI))?|video[ \t]+(?:address|system(?:[ \t]+address)?)"
    r"|join[ \t]+by[ \t]+(?:SIP|H\.?323)|\bH\.?323|Videoadresse|ビデオ[ \t]*アドレス)"
    r"[ \t]*[:\uff1a]?[ \t]*(?P<addr>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)",
    re.IGNORECASE,
)
_SCHEMELESS = re.compile(r"(?:[\w-]+\.)+[a-z]{2,}/", re.IGNORECASE)
_QUOTE_PREFIX = re.compile(r"^[ \t]*(?:>[ \t]?)+")
_DIGITS = re.compile(r"[\d \t\xa0-]+")
_PROOFPOINT_V3 = re.compile(r"^https?://urldefense\.com/v3/__(.+?)__;", re.IGNORECASE)
_SYSTEMS = {"hangoutsMeet": "meet", "teamsForBusiness": "teams", "skypeForBusiness": "teams"}

BEFORE = 4  # lines before a link searched for its meeting ID / passcode
AFTER = 15  # lines after it


def detect_links(event: Event, rules: Sequence[LinkRule] = DEFAULT_RULES) -> tuple[JoinLink, ...]:
    """Every join link of ``event``, best first; empty when there is none."""
    found = [
        *links_from_conference(event.conference, rules),
        *find_links_in_text(event.location, rules),
        *find_links_in_text(event.description, rules),
    ]
    return dedupe_links(found)


def links_from_conference(
    conference: Conference | None, rules: Sequence[LinkRule] = DEFAULT_RULES
) -> list[JoinLink]:
    """Links from the conference data a calendar system attached to the event."""
    if conference is None:
        return []
    system = _SYSTEMS.get(conference.system, conference.system)
    sip = next((ep.uri for ep in conference.entry_points if ep.kind == "sip"), None)
    links: list[JoinLink] = []
    for ep in conference.entry_points:
        if ep.kind != "video" or not ep.uri:
            continue
        link = classify_url(ep.uri, rules) or JoinLink(provider=system, url=ep.uri.strip())
        meeting_id = link.meeting_id
        if meeting_id is None and link.provider != "teams":
            meeting_id = conference.conference_id
        dial = link.dial or (_strip_scheme(sip) if sip else None)
        passcode = ep.passcode or ep.pin or link.passcode
        links.append(replace(link, meeting_id=meeting_id, passcode=passcode, dial=dial))
    if not links and sip:
        links.extend(find_links_in_text(sip, rules))
    return links


def find_links_in_text(text: str, rules: Sequence[LinkRule] = DEFAULT_RULES) -> list[JoinLink]:
    """Join links in plain text or HTML (mail bodies, descriptions, locations), in order."""
    if not text or not text.strip():
        return []
    doc = _Document.parse(text)
    groups = _group(_occurrences(doc, rules))
    lines_of = [g.lines for g in groups]
    links = []
    for index, group in enumerate(groups):
        others = sorted({n for i, ls in enumerate(lines_of) if i != index for n in ls})
        links.append(_enrich(group, doc.lines, others))
    return list(dedupe_links(links))


def classify_url(url: str, rules: Sequence[LinkRule] = DEFAULT_RULES) -> JoinLink | None:
    """The join link ``url`` stands for, or None (not a meeting, or a page we ignore)."""
    found = _classify_url(url, rules)
    return found.link if found else None


def unwrap_url(url: str) -> str:
    """The original URL behind mail-gateway rewriting (Safe Links, Google, Proofpoint)."""
    for _ in range(5):  # gateways may wrap each other
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        query = parse_qs(parts.query)
        if host.endswith("safelinks.protection.outlook.com") and "url" in query:
            url = query["url"][0]
        elif host in {"www.google.com", "google.com"} and parts.path == "/url":
            target = query.get("q") or query.get("url")
            if not target:
                break
            url = target[0]
        elif (
            host == "urldefense.proofpoint.com"
            and parts.path.startswith("/v2/url")
            and "u" in query
        ):
            url = unquote(query["u"][0].replace("-", "%").replace("_", "/"))
        elif (v3 := _PROOFPOINT_V3.match(url)) is not None:
            url = v3.group(1)
        else:
            break
        url = url.strip()
    return url


def dedupe_links(links: Iterable[JoinLink]) -> tuple[JoinLink, ...]:
    """Merge links to the same meeting (same URL, meeting or dial string); the first wins and
    gains what the later ones add (a passcode, a dial string)."""
    merged: list[JoinLink] = []
    keys: list[set[tuple[str, ...]]] = []
    for link in links:
        own = _keys(link)
        for index, seen in enumerate(keys):
            if seen & own:
                merged[index] = _merge(merged[index], link)
                keys[index] = seen | _keys(merged[index]) | own
                break
        else:
            merged.append(link)
            keys.append(own)
    return tuple(merged)


# -- internals --------------------------------------------------------------------------------


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
    values = parse_qs(urlsplit(link.url).query).values()
    return any(link.passcode in v for v in values)


@dataclass(frozen=True, slots=True)
class _Document:
    lines: list[str]  # non-empty lines, quote prefixes ("> > ") removed
    hrefs: list[tuple[int, str]]  # (line index, href) of HTML anchors

    @classmethod
    def parse(cls, text: str) -> _Document:
        hrefs: list[tuple[int, str]] = []
        anchors: tuple[tuple[int, str], ...] = ()
        if looks_like_html(text):
            html = html_to_text(text)
            text, anchors = html.text, html.hrefs
        lines: list[str] = []
        offset = 0
        pending = list(anchors)
        for raw in text.split("\n"):
            end = offset + len(raw) + 1
            line = _QUOTE_PREFIX.sub("", raw).strip()
            if line:
                lines.append(line)
            while pending and pending[0][0] < end:
                hrefs.append((max(len(lines) - 1, 0), pending.pop(0)[1]))
            offset = end
        if hrefs and not lines:
            lines.append("")  # anchors without visible text
        return cls(lines, hrefs)


@dataclass(frozen=True, slots=True)
class _Found:
    link: JoinLink
    rule: LinkRule | None
    fields: dict[str, str]  # template fields: host, user, ...


@dataclass(slots=True)
class _Group:
    found: _Found
    lines: list[int] = field(default_factory=list)
    keys: set[tuple[str, ...]] = field(default_factory=set)


def _occurrences(doc: _Document, rules: Sequence[LinkRule]) -> list[tuple[int, _Found]]:
    result: list[tuple[int, _Found]] = []
    hrefs: dict[int, list[str]] = {}
    for line_no, href in doc.hrefs:
        hrefs.setdefault(line_no, []).append(href)
    for line_no, line in enumerate(doc.lines):
        candidates: list[_Found | None] = []
        for href in hrefs.get(line_no, []):
            scheme = href.partition(":")[0].lower()
            if scheme in {"sip", "sips", "h323"}:
                candidates.append(_classify_address(scheme, _strip_scheme(href), rules))
            else:
                candidates.append(_classify_url(href, rules))
        candidates.extend(_classify_url(m.group(0), rules) for m in _URL.finditer(line))
        candidates.extend(
            _classify_address(m["scheme"].lower(), _trim(m["addr"]), rules)
            for m in _ADDRESS.finditer(line)
        )
        candidates.extend(_labelled_addresses(doc.lines, line_no, rules))
        result.extend((line_no, found) for found in candidates if found is not None)
    return result


def _labelled_addresses(lines: list[str], line_no: int, rules: Sequence[LinkRule]) -> list[_Found]:
    """``user@host`` counts as a video address only when labelled ("SIP: ...", "Video address")."""
    line = lines[line_no]
    combined = f"{line} {lines[line_no + 1]}" if line_no + 1 < len(lines) else line
    found = [
        _classify_address("sip", m["addr"], rules)
        for m in _VIDEO_LABEL.finditer(combined)
        if m.start() < len(line)
    ]
    return [f for f in found if f is not None]


def _group(occurrences: list[tuple[int, _Found]]) -> list[_Group]:
    groups: list[_Group] = []
    for line_no, found in occurrences:
        own = _keys(found.link)
        for group in groups:
            if group.keys & own:
                group.lines.append(line_no)
                group.keys |= own
                if group.found.rule is None and found.rule is not None:
                    group.found = found  # a web link opens better than a bare video address
                break
        else:
            groups.append(_Group(found, [line_no], own))
    return groups


def _enrich(group: _Group, lines: list[str], others: list[int]) -> JoinLink:
    found = group.found
    link, rule = found.link, found.rule
    if rule is None:
        return link
    windows = [_window(pos, others, len(lines)) for pos in group.lines]
    meeting_id = link.meeting_id
    if meeting_id is None and rule.id_label is not None:
        ids = _labelled(lines, group.lines, windows, rule.id_label, digits_only=True)
        meeting_id = ids[0] if ids else None
    passcodes: list[str] = []
    if rule.passcode_label is not None:
        passcodes = [
            p
            for p in _labelled(lines, group.lines, windows, rule.passcode_label)
            if _digits(p) != meeting_id
        ]
    passcode = passcodes[0] if passcodes else link.passcode
    numeric = next((p for p in [passcode or "", *passcodes] if p.isdigit()), None)
    fields = dict(found.fields)
    if meeting_id:
        fields["id"] = meeting_id
    if numeric:
        fields["passcode"] = numeric
    dial = link.dial or next((d for t in rule.dial if (d := _fill(t, fields))), None)
    link = replace(link, meeting_id=meeting_id, passcode=passcode, dial=dial)
    if rule.enrich is not None:
        lo, hi = windows[0]
        link = rule.enrich(link, "\n".join(lines[lo : hi + 1]))
    return link


def _window(pos: int, others: list[int], count: int) -> tuple[int, int]:
    before = [n for n in others if n < pos]
    after = [n for n in others if n > pos]
    lo = max(pos - BEFORE, before[-1] + 1 if before else 0)
    hi = min(pos + AFTER, after[0] - 1 if after else count - 1)
    return lo, hi


def _labelled(
    lines: list[str],
    positions: list[int],
    windows: list[tuple[int, int]],
    pattern: re.Pattern[str],
    *,
    digits_only: bool = False,
) -> list[str]:
    """Values of ``pattern`` near the link, nearest first (after the link before before it)."""
    scored: list[tuple[float, int, str]] = []
    for pos, (lo, hi) in zip(positions, windows, strict=True):
        for line_no in range(lo, hi + 1):
            line = lines[line_no]
            nxt = lines[line_no + 1] if line_no + 1 < len(lines) else ""
            for m in pattern.finditer(f"{line} {nxt}"):
                value = m.group("value")
                if m.start() >= len(line):
                    continue
                if m.start("value") < len(line):
                    value = value[: len(line) - m.start("value")]
                elif not digits_only:
                    continue  # only a number may stand on the line after its label
                value = value.rstrip(".,;:)]}*")
                if digits_only:
                    value = _digits(value)
                if value:
                    distance = line_no - pos
                    scored.append((distance if distance >= 0 else 0.5 - distance, line_no, value))
    scored.sort(key=lambda item: (item[0], item[1]))
    return list(dict.fromkeys(value for _, _, value in scored))


def _classify_url(url: str, rules: Sequence[LinkRule]) -> _Found | None:
    url = unwrap_url(_trim(url.strip()))
    if "://" not in url:
        if not _SCHEMELESS.match(url):
            return None  # mailto:, tel:, ...
        url = f"https://{url}"
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    host = parts.hostname.lower()
    subject = host + parts.path + (f"?{parts.query}" if parts.query else "")
    for rule in rules:
        if rule.target != "url" or (m := rule.pattern.match(subject)) is None:
            continue
        if not rule.join:
            return None
        fields = {k: v for k, v in m.groupdict().items() if v}
        fields["host"] = host
        meeting_id = fields.get("id")
        if meeting_id and _DIGITS.fullmatch(meeting_id):
            fields["id"] = meeting_id = _digits(meeting_id)
        passcode = fields.get("passcode")
        if passcode is None and rule.passcode_param:
            passcode = next(iter(parse_qs(parts.query).get(rule.passcode_param, [])), None)
        canonical = _fill(rule.canonical, fields) if rule.canonical else None
        link = JoinLink(rule.provider, canonical or url, meeting_id, passcode or None)
        return _Found(link, rule, fields)
    return None


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
        fields = {k: v for k, v in m.groupdict().items() if v}
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
    parts = urlsplit(url)
    if not parts.netloc:
        return url.lower()
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}?{parts.query}"


def _trim(url: str) -> str:
    """Drop punctuation that ends the sentence, not the URL."""
    while url:
        last = url[-1]
        if last in ".,;:!?'\"*_" or (last == ")" and url.count("(") < url.count(")")):
            url = url[:-1]
        else:
            break
    return url


def _strip_scheme(uri: str) -> str:
    scheme, sep, rest = uri.partition(":")
    if sep and scheme.lower() in {"sip", "sips", "h323", "tel"}:
        return rest.removeprefix("//")
    return uri


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _fill(template: str, fields: dict[str, str]) -> str | None:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    if not names <= fields.keys():
        return None
    return template.format(**{name: fields[name] for name in names})
