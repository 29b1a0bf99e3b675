"""Keywords typed in an event's location: ``@zoom``, ``@meet:myroom``, ``@webex:space``.

A keyword counts only as a whole token: it must not be part of a word, an e-mail address
(``bob@zoom.us``) or a URL. When several keywords are present, the leftmost wins.

The location is text anyone who sends an invitation writes: only its first ``SCAN_LIMIT``
characters are searched (a person types the keyword where they can see it), and the search is
linear in that.
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
