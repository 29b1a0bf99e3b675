"""The URL a person meant, from what they typed or pasted (pure string work, never raises).

Invitation text is typed with every input method there is: a CJK keyboard gives full-width
solidus, colon and full stop (U+FF0F, U+FF1A, U+FF0E) and the ideographic full stop (U+3002),
word processors insert zero-width spaces and direction marks, mail clients glue the next word or
a closing bracket to a link. Everything here maps such text to plain ASCII URL syntax, or gives
up quietly (``None``) when there is no URL.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import SplitResult, urlsplit

# invisible characters removed wherever they appear: zero-width space/joiners, direction marks
# and embeddings, word joiner and invisible operators, direction isolates, BOM, soft hyphen
_INVISIBLE = (
    "\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)
# look-alikes that NFKC leaves alone but a reader takes for URL punctuation
_LOOK_ALIKES = {
    "\u2215": "/",  # division slash
    "\u2044": "/",  # fraction slash
    "\u29f8": "/",  # big solidus
    "\u3002": ".",  # ideographic full stop (also what NFKC makes of the half-width one)
    "\u2236": ":",  # ratio
    "\ua789": ":",  # modifier letter colon
}
_TABLE = str.maketrans({**dict.fromkeys(_INVISIBLE), **_LOOK_ALIKES})

_AUTHORITY_END = re.compile(r"[/?#]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# a label glued to the end of a link: "https://zoom.us/j/123456789Passcode:abc"
_GLUED_LABEL = re.compile(
    r"(?:passcode|password|passwort|kennwort|kenncode|meeting-?id|pin):", re.IGNORECASE
)
# a meeting number glued to the next word ("https://zoom.us/j/123456789Meeting", also after a
# full stop: "…/123456789.Next", and in a parameter: "…?confno=123456789Join"), or a Meet code
# glued to a capitalised word ("https://meet.google.com/abc-defg-hijJoin")
_GLUED_WORD = re.compile(
    r"[/=]\d{6,}+(?=[.,;:!?)\]]?[A-Za-z])|/[a-z]{3}-[a-z]{4}-[a-z]{3}(?=[A-Z])"
)
# markup glued to a link in text that was HTML once: an escaped bracket or quote
# ("…/j/123456789&gt;"), or a percent-encoded one closing it ("…MTID=m0123%3E")
_GLUED_MARKUP = re.compile(
    r"&(?:gt|lt|quot|apos|nbsp|#0{0,8}+(?:34|39|60|62)|#x0{0,8}+(?:22|27|3c|3e));",
    re.IGNORECASE,
)
_GLUED_ESCAPES = ("%3e", "%3c", "%22")


_CHUNK = 4096


def normalise_text(text: str, limit: int | None = None) -> str:
    """``text`` with invisible characters removed and compatibility forms folded (NFKC), so that
    full-width and look-alike URL punctuation reads as ASCII; ASCII text is returned as is.

    With ``limit``, at most that many characters come back, and the work stays near ``limit``
    even where NFKC multiplies the text (one U+FDFA becomes 18 characters): the text is folded
    a chunk at a time, each chunk ending before a character that does not combine."""
    if text.isascii():
        return text if limit is None else text[:limit]
    if limit is None or len(text) <= _CHUNK:
        folded = unicodedata.normalize("NFKC", text).translate(_TABLE)
        return folded if limit is None else folded[:limit]
    pieces: list[str] = []
    done = start = 0
    while start < len(text) and done < limit:
        end = min(start + _CHUNK, len(text))
        while end < len(text) and end < start + 2 * _CHUNK and unicodedata.combining(text[end]):
            end += 1
        piece = unicodedata.normalize("NFKC", text[start:end]).translate(_TABLE)
        pieces.append(piece)
        done += len(piece)
        start = end
    return "".join(pieces)[:limit]


def normalise_url(url: str) -> str:
    """The URL in ``url`` as ASCII syntax: normalised like :func:`normalise_text`, cut where
    text that cannot belong to it starts (non-ASCII text after the host, a glued label)."""
    url = normalise_text(url.strip())
    scheme = url.find("://")
    authority = scheme + 3 if 0 <= scheme <= 16 else 0
    if (end := _AUTHORITY_END.search(url, authority)) is not None:
        if (other := _NON_ASCII.search(url, end.start())) is not None:
            url = url[: other.start()]
        if (label := _GLUED_LABEL.search(url, end.start())) is not None:
            url = url[: label.start()]
        if (markup := _GLUED_MARKUP.search(url, end.start())) is not None:
            url = url[: markup.start()]
        cut = len(url)
        while cut - 3 >= end.end() and url[cut - 3 : cut].lower() in _GLUED_ESCAPES:
            cut -= 3
        url = url[:cut]
    return url


def unglued(url: str) -> str | None:
    """``url`` without a word glued to its meeting number or Meet code, or None when there is
    none (tried only when the whole URL is no join link)."""
    found = _GLUED_WORD.search(url)
    return url[: found.end()] if found is not None else None


def split_url(url: str) -> SplitResult | None:
    """``urlsplit(url)``, or None where the standard library refuses the URL (a bracket that
    opens an IPv6 host and never closes, a host that only NFKC turns into a delimiter)."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def ascii_host(host: str) -> str | None:
    """A host name lowercased, an internationalised one in its ``xn--`` form; None for a name
    the IDNA codec refuses (an empty or over-long label): no browser could open it."""
    host = host.lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
