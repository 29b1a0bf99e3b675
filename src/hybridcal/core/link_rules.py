"""Join-link rules as data: which URLs and video addresses are ways into a meeting.

Providers change their invitation formats, so the rules are a list of plain objects that an
admin-supplied list can extend (``(*DEFAULT_RULES, *custom)``). Rules are tried in order and the
first that matches decides; the "ignore" rules come first so that dial-in pages, meeting options
and help pages never become a Join button, whatever a later custom rule says.

A URL rule's ``pattern`` is matched (anchored) against ``host/path?query`` of the URL with the host
lowercased and no scheme, e.g. ``us02web.zoom.us/j/9396880476?pwd=abc``. An address rule's
pattern is matched against a video address ``user@host`` (from ``sip:``/``h323:`` or a labelled
"SIP:" line). Named groups: ``id`` (meeting ID), ``passcode``, ``user``; ``host`` is always
available to templates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

    from hybridcal.core.model import JoinLink

# The label patterns run over hostile text: every run of blanks is possessive (``*+``), so a
# failed match never retries the ways to share blanks between two runs (that was quadratic).

# "Meeting ID: 939 688 0476" in the languages providers write invitations in
ID_LABEL = re.compile(
    r"(?:meeting[ \t]*+id|meeting[ \t]*+number|meeting[ \t]*+no\.?|meeting-id|besprechungs-id"
    r"|n[uú]mero[ \t]++de[ \t]++(?:la[ \t]++)?r[eé]union|ミーティング[ \t]*+ID|会議[ \t]*+ID)"
    r"[ \t]*+[:\uff1a#]?[ \t]*+(?P<value>\d[\d \t\xa0-]{4,22}\d)(?!\d)",
    re.IGNORECASE,
)
PASSCODE_LABEL = re.compile(
    r"(?:passcode|password|passwort|kenncode|kennwort|code[ \t]++secret|mot[ \t]++de[ \t]++passe"
    r"|パスコード|パスワード)[ \t]*+[:\uff1a][ \t]*+(?P<value>[^\s<>\"']++)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class LinkRule:
    """One way to recognise a join link (or, with ``join=False``, a page that is not one)."""

    name: str
    provider: str
    pattern: re.Pattern[str]
    target: Literal["url", "address"] = "url"
    join: bool = True
    passcode_param: str | None = None  # query parameter carrying the passcode (Teams ``p``)
    id_param: str | None = None  # query parameter carrying the meeting number (Webex ``MK``)
    canonical: str | None = None  # URL template that replaces the matched URL
    dial: tuple[str, ...] = ()  # dial-string templates, the first with all its fields wins
    id_label: re.Pattern[str] | None = ID_LABEL  # meeting ID written near the link
    passcode_label: re.Pattern[str] | None = PASSCODE_LABEL
    # provider-specific extras taken from the text around the link (e.g. Teams video gateways)
    enrich: Callable[[JoinLink, str], JoinLink] | None = None


def compile_rule(
    name: str,
    provider: str,
    pattern: str,
    *,
    target: Literal["url", "address"] = "url",
    join: bool = True,
    passcode_param: str | None = None,
    id_param: str | None = None,
    dial: tuple[str, ...] = (),
) -> LinkRule:
    """A rule from configuration text (what an admin writes into the config file)."""
    return LinkRule(
        name=name,
        provider=provider,
        pattern=re.compile(pattern, re.IGNORECASE),
        target=target,
        join=join,
        passcode_param=passcode_param,
        id_param=id_param,
        dial=dial,
    )


_END = r"(?=$|[/?#&])"
# Hosts, each as its provider documents it (sources in docs/links.md, "Where each form is
# documented"). Zoom: zoom.us and zoom.com with their regional and vanity subdomains
# (us02web.zoom.us, acme.zoom.us); Zoom for Government: zoomgov.com.
_ZOOM_HOST = r"(?:[\w-]+\.)*zoom\.(?:us|com)"
_ZOOMGOV_HOST = r"(?:[\w-]+\.)*zoomgov\.com"
# Teams clients by cloud (Microsoft Teams platform docs, "Sovereign clouds"): commercial and GCC
# teams.microsoft.com, GCC High gov.teams.microsoft.us, DoD dod.teams.microsoft.us, China
# (21Vianet) teams.microsoftonline.cn; Teams free teams.live.com; and the cloud.microsoft domain
# Microsoft is moving Teams to (teams.cloud.microsoft, message center MC1162275).
_TEAMS_HOST = (
    r"(?:[\w-]+\.)*teams\."
    r"(?:microsoft\.com|microsoft\.us|live\.com|cloud\.microsoft|microsoftonline\.cn)"
)
_WEBEX_HOST = r"(?:[\w-]+\.)*webex\.com"
_ZOOM_DIAL = ("{id}.{passcode}@zoomcrc.com", "{id}@zoomcrc.com")

# a video gateway address followed by its "VTC Conference ID" (Teams interop for room systems);
# an address starts only where a word does, and no run is given back once taken
_TEAMS_VIDEO = re.compile(
    r"(?<![\w.+-])(?P<user>[\w.+-]++)@(?P<domain>[\w-]++(?:\.[\w-]++)++)"
    r"(?:\s*+<mailto:[^<>]{0,320}+>)?\s*+"
    r"(?:VTC|Video)[ \t]*+(?:Conference[ \t]*+)?ID[ \t]*+:?[ \t]*+(?P<vtc>\d[\d \t]{0,30}\d)",
    re.IGNORECASE,
)


def _teams_video_gateway(link: JoinLink, window: str) -> JoinLink:
    """The dial string of a Teams video interop gateway (CVI) named near the join link."""
    if link.dial is not None or (found := _TEAMS_VIDEO.search(window)) is None:
        return link
    user, domain = found.group("user"), found.group("domain").lower()
    vtc = re.sub(r"\D", "", found.group("vtc"))
    if not user.isdigit():  # "teams@vc.example.com": the gateway dials the ID directly
        dial = f"{vtc}@{domain}"
    elif domain.endswith("plcm.vc"):  # Poly RealConnect: tenant key first
        dial = f"{user}.{vtc}@{domain}"
    else:  # Cisco and most others: conference ID, then tenant key
        dial = f"{vtc}.{user}@{domain}"
    return replace(link, dial=dial)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _ignore(name: str, pattern: str) -> LinkRule:
    return LinkRule(name, "", _rx(pattern), join=False)


IGNORE_RULES: tuple[LinkRule, ...] = (
    # dial-in lists (/u/), downloads, test pages, registration and the host's own meeting
    # pages in the web portal (zoom.us/meeting/<id> needs the host's sign-in: not a way in)
    _ignore(
        "zoom-info-pages",
        rf"(?:{_ZOOM_HOST}|{_ZOOMGOV_HOST})/(?:u/|zoomconference|download|test|meeting/)",
    ),
    _ignore("zoom-support", r"(?:support|explore|blog)\.zoom\.(?:us|com)/"),
    _ignore("teams-dial-in", r"dialin\.teams\.microsoft\.(?:com|us)/"),
    _ignore("teams-options", rf"{_TEAMS_HOST}/meetingOptions"),
    _ignore("microsoft-help", r"(?:aka\.ms|go\.microsoft\.com|mysettings\.lync\.com)/"),
    _ignore("video-gateway-help", r"dialin\.plcm\.vc/|[\w.-]+\.vc/teams/\?"),
    _ignore("meet-phone", r"(?:tel\.meet/|meet\.google\.com/tel/)"),
    # g.co/meet alone is Google's help page; g.co/meet/<nickname> is a meeting (rule below)
    _ignore(
        "google-help",
        r"support\.google\.com|g\.co/meet/?(?:$|[?#])|(?:www\.|calendar\.)?google\.com/calendar",
    ),
    _ignore("webex-call-in", rf"{_WEBEX_HOST}/\S*(?:globalcallin|tollfree_restrictions)"),
    _ignore("webex-help", r"(?:help|www)\.webex\.com/"),
)

URL_RULES: tuple[LinkRule, ...] = (
    # Zoom join links: /j/ (meeting), /w/ (webinar), /wc/join/ and /wc/<id>/join (web client).
    # The ``pwd=`` in a join link is an encoded token, not the passcode a person types: it stays
    # in the URL (the link keeps working) and the passcode is read from the invitation text.
    LinkRule(
        "zoom-join",
        "zoom",
        _rx(rf"{_ZOOM_HOST}/(?:j|w|wc/join|wc)/(?P<id>\d{{9,11}}){_END}"),
        dial=_ZOOM_DIAL,
    ),
    # the host's start URL carries a host token (a secret): keep only the meeting it names
    LinkRule(
        "zoom-start",
        "zoom",
        _rx(rf"{_ZOOM_HOST}/s/(?P<id>\d{{9,11}}){_END}"),
        canonical="https://{host}/j/{id}",
        dial=_ZOOM_DIAL,
    ),
    LinkRule(
        "zoom-personal-link", "zoom", _rx(rf"{_ZOOM_HOST}/my/(?P<user>[\w.-]+)"), dial=_ZOOM_DIAL
    ),
    LinkRule(
        "zoomgov-join",
        "zoom",
        _rx(rf"{_ZOOMGOV_HOST}/(?:j|w|wc/join|wc)/(?P<id>\d{{9,11}}){_END}"),
    ),
    LinkRule(
        "zoomgov-start",
        "zoom",
        _rx(rf"{_ZOOMGOV_HOST}/s/(?P<id>\d{{9,11}}){_END}"),
        canonical="https://{host}/j/{id}",
    ),
    LinkRule("zoomgov-personal-link", "zoom", _rx(rf"{_ZOOMGOV_HOST}/my/(?P<user>[\w.-]+)")),
    # Teams join links: the long /l/meetup-join/ form and the short /meet/<id>?p= form Teams
    # writes into invitations since 2025 (Microsoft 365 message center MC772556); the app's
    # msteams: links and the /dl/launcher/ page are read as these (links.web_url, unwrap_url)
    LinkRule(
        "teams-meetup-join",
        "teams",
        _rx(rf"{_TEAMS_HOST}/l/meetup-join/\S+"),
        enrich=_teams_video_gateway,
    ),
    LinkRule(
        "teams-meet",
        "teams",
        _rx(rf"{_TEAMS_HOST}/meet/(?P<id>\d{{9,15}}){_END}"),
        passcode_param="p",
        enrich=_teams_video_gateway,
    ),
    # a Meet meeting code is "in the form aaa-bbbb-ccc" (Meet add-ons SDK, meetingCode): any
    # other path on meet.google.com is no meeting
    LinkRule(
        "meet",
        "meet",
        _rx(rf"meet\.google\.com/(?P<id>[a-z]{{3}}-[a-z]{{4}}-[a-z]{{3}}){_END}"),
        canonical="https://meet.google.com/{id}",
        id_label=None,
        passcode_label=None,
    ),
    # meeting nicknames (Google Workspace for Education): meet.google.com/lookup/<nickname> and
    # the short g.co/meet/<nickname>; the nickname opens whatever meeting it names today
    LinkRule(
        "meet-lookup",
        "meet",
        _rx(r"(?:meet\.google\.com/lookup|g\.co/meet)/[\w-]{1,60}+(?=$|[/?#])"),
        id_label=None,
        passcode_label=None,
    ),
    # Webex: personal rooms, j.php?MTID= (the REST API's webLink) and the join service (its
    # joinLink); the video address is <meeting number>@<site> (the API's sipAddress)
    LinkRule(
        "webex-personal-room",
        "webex",
        _rx(rf"{_WEBEX_HOST}/(?:meet|join)/(?P<user>[\w.-]+)"),
        dial=("{user}@{host}",),
    ),
    # the URL API's join command (developer.cisco.com, Webex Meetings URL API): m.php?AT=JM
    # with the meeting number in MK
    LinkRule(
        "webex-url-api-join",
        "webex",
        _rx(rf"{_WEBEX_HOST}/(?:[\w-]+/)?m\.php\?[^#\s]*?(?<![^?&])AT=JM(?=$|&)"),
        id_param="MK",
        dial=("{id}@{host}",),
    ),
    LinkRule(
        "webex-meeting",
        "webex",
        _rx(rf"{_WEBEX_HOST}/(?:[\w-]+/)?(?:j|m|k2/j)\.php\?\S*\bMTID="),
        dial=("{id}@{host}",),
    ),
    LinkRule(
        "webex-join-service",
        "webex",
        _rx(rf"{_WEBEX_HOST}/(?:wbxmjs/joinservice|webappng)/sites/[\w-]+/meeting/"),
        dial=("{id}@{host}",),
    ),
    # a Webex space's meeting link (Webex API: meetingLink of a room, /m/<uuid>)
    LinkRule(
        "webex-space-meeting",
        "webex",
        _rx(
            rf"{_WEBEX_HOST}/m/[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}{_END}"
        ),
    ),
    LinkRule(
        "gotomeeting",
        "gotomeeting",
        _rx(
            r"(?:(?:(?:global|www|app)\.)?gotomeeting\.com/join/|meet\.goto\.com/"
            r"|app\.goto\.com/meeting/)(?P<id>\d{9})(?=$|[/?#&])"
        ),
        id_label=None,
    ),
    LinkRule(
        "bluejeans",
        "bluejeans",
        _rx(rf"(?:[\w-]+\.)?bluejeans\.com/(?P<id>\d{{6,12}})(?:/(?P<passcode>\d{{4,}}))?{_END}"),
        dial=("{id}.{passcode}@sip.bjn.vc", "{id}@sip.bjn.vc"),
    ),
    LinkRule("chime", "chime", _rx(rf"(?:app\.)?chime\.aws/(?P<id>\d{{10}}){_END}")),
    LinkRule("whereby", "whereby", _rx(r"whereby\.com/(?P<user>[\w-]+)"), id_label=None),
    LinkRule("jitsi", "jitsi", _rx(r"meet\.jit\.si/(?P<user>[\w-]+)"), id_label=None),
)

ADDRESS_RULES: tuple[LinkRule, ...] = (
    LinkRule(
        "zoom-crc",
        "zoom",
        _rx(r"(?P<id>\d{9,11})(?:\.\d+)?(?:\.[\w.]+)?@zoomcrc\.com$"),
        target="address",
    ),
    LinkRule(
        "webex-video-address",
        "webex",
        _rx(r"(?P<id>\d{9,11})@[\w-]+\.webex\.com$"),
        target="address",
    ),
)

DEFAULT_RULES: tuple[LinkRule, ...] = (*IGNORE_RULES, *URL_RULES, *ADDRESS_RULES)
