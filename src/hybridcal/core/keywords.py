"""Keywords typed in an event's location: ``@zoom``, ``@meet:myroom``, ``@webex:space``.

A keyword counts only as a whole token: it must not be part of a word, an e-mail address
(``bob@zoom.us``) or a URL. When several keywords are present, the leftmost wins.

The location is text anyone who sends an invitation writes: only its first ``SCAN_LIMIT``
characters are searched (a person types the keyword where they can see it), and the search is
linear in that.

A modifier may choose between the host's personal room and a meeting made for the event (see
``wants_personal_room``). The spellings are the ones people know from the products: Cisco's
Hybrid Calendar documents ``:myroom`` (always the Personal Room) and ``:onetime`` (always a
one-time meeting); Zoom calls the room the Personal Meeting ID (PMI), earlier the Personal
Meeting Room (PMR), and Webex calls it the Personal Room.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

SCAN_LIMIT = 4096  # characters of a location searched for a keyword

# modifiers, compared without "-" and "_" (":personal-room", ":one_time")
PERSONAL_ROOM_MODIFIERS = frozenset({"pmr", "pmi", "personal", "personalroom", "myroom"})
SCHEDULED_MODIFIERS = frozenset({"onetime", "scheduled"})

_MODIFIER = re.compile(r":([A-Za-z0-9_-]+)")
_URL = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://|www\.)\S+", re.IGNORECASE)
# Punctuation that may stand right before a keyword ("(@zoom", "x,@meet"); characters that
# belong to addresses and URLs may not.
_ADDRESS_CHARS = frozenset("@./\\:-_%#&=+~*$^`")


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    keyword: str  # as configured, e.g. "@zoom"
    system: str  # the meeting system the admin mapped it to
    modifier: str | None  # "space" for "@webex:space", lowercased
    start: int  # span of the keyword itself in the location
    end: int


def find_keyword(location: str, keywords: Mapping[str, str]) -> KeywordMatch | None:
    """The leftmost keyword of ``keywords`` (keyword -> system) in ``location``, if any."""
    if not location or not keywords:
        return None
    location = location[:SCAN_LIMIT]
    by_folded = {k.lower(): (k, v) for k, v in keywords.items() if k}
    # longest first, so that "@zoomgov" is preferred over "@zoom" at the same position
    alternatives = sorted(by_folded, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(k) for k in alternatives), re.IGNORECASE)
    urls = [m.span() for m in _URL.finditer(location)]  # in order, never overlapping
    starts = [a for a, _ in urls]
    pos = 0
    while (found := pattern.search(location, pos)) is not None:
        pos = found.start() + 1
        start, end = found.span()
        text = location[start:end].lower()
        if text not in by_folded:  # IGNORECASE folding that .lower() does not agree with
            continue
        if not _boundary_before(location, start) or _inside(urls, starts, start):
            continue
        modifier = None
        after = end
        if (mod := _MODIFIER.match(location, end)) is not None:
            modifier, after = mod.group(1).lower(), mod.end()
        if not _boundary_after(location, after):
            continue
        keyword, system = by_folded[text]
        return KeywordMatch(keyword, system, modifier, start, end)
    return None


def wants_personal_room(match: KeywordMatch, *, by_default: bool) -> bool:
    """Whether ``match`` asks for the host's personal room rather than a meeting of its own.
    ``by_default``: what the organisation chose for the plain keyword. Other modifiers
    (``:space``) leave the default alone."""
    modifier = (match.modifier or "").replace("-", "").replace("_", "")
    if modifier in PERSONAL_ROOM_MODIFIERS:
        return True
    if modifier in SCHEDULED_MODIFIERS:
        return False
    return by_default


def _inside(spans: list[tuple[int, int]], starts: list[int], index: int) -> bool:
    """Whether ``index`` lies inside one of the sorted, disjoint ``spans``."""
    at = bisect.bisect_right(starts, index) - 1
    return at >= 0 and index < spans[at][1]


def _boundary_before(text: str, index: int) -> bool:
    if index == 0:
        return True
    return _is_separator(text[index - 1])


def _boundary_after(text: str, index: int) -> bool:
    if index >= len(text):
        return True
    char = text[index]
    if char in ".:":
        # sentence punctuation ends a keyword; "@zoom.us" or "@zoom:x.y" does not
        return index + 1 >= len(text) or not _is_word(text[index + 1])
    return _is_separator(char)


def _is_separator(char: str) -> bool:
    if char.isspace():
        return True
    if char in _ADDRESS_CHARS:
        return False
    return unicodedata.category(char)[0] in "PSZ" or char in "<>|"


def _is_word(char: str) -> bool:
    return char.isalnum() or char in "_-@/"
