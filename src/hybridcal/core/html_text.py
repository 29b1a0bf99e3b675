"""Visible text and link targets of an HTML fragment (descriptions, mail bodies), stdlib only.

Linear in the markup whatever it holds: a tag is ``<name ...>`` with no ``<`` or ``>`` inside,
so that every character is looked at a bounded number of times (the standard library's
``HTMLParser`` rescans the rest of the input for each unclosed ``<a `` and takes minutes on a
few hundred kilobytes of them). On well-formed markup the result is the one ``HTMLParser`` gives:
text with character references resolved, block elements ending lines, table cells separated by a
space, ``head``/``script``/``style``/``title``/``template`` content hidden. Where markup is broken
it reads like a browser: an unclosed comment hides the rest, a ``<`` that starts no tag is text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

_TAG_NAMES = (
    "a|abbr|b|blockquote|body|br|center|code|div|em|font|h[1-6]|head|hr|html|i|img|li|meta|ol"
    "|p|pre|s|small|span|strong|style|sub|sup|table|tbody|td|th|thead|tr|u|ul"
)
# a real tag of HTML, not just a "<" in text such as "<https://...>" or "a < b"
HTML_TAG = re.compile(rf"</?(?:{_TAG_NAMES})(?:\s[^<>]*+)?/?>", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:nbsp|amp|lt|gt|quot|#\d+|#x[0-9a-f]+);", re.IGNORECASE)

# one piece of markup: a start or end tag, the opening of a comment, a declaration or
# processing instruction, or an end tag without a name; never reaches past the next "<"
_MARKUP = re.compile(
    r"<(?:(?P<end>/?)(?P<name>[a-zA-Z][^\t\n\r\f />\x00<]*+)(?P<attrs>[^<>]*+)>"
    r"|(?P<comment>!--)|[!?][^<>]*+>|/[^<>]*+>)"
)
_ATTRIBUTE = re.compile(
    r"""(?P<name>[^\s/>"'=][^\s/>=]*+)(?:\s*+=\s*+(?P<value>"[^"]*+"|'[^']*+'|[^\s>]*+))?"""
)
# a numeric character reference; ``html.unescape`` converts its digits with int(), which
# refuses more than 4300 decimal digits: longer ones are shortened first
_NUMERIC_REFERENCE = re.compile(r"&#(?:(?P<x>[xX])0*+(?P<hex>[0-9a-fA-F]++)|0*+(?P<dec>[0-9]++));?")
_MAX_REFERENCE_DIGITS = 8  # every code point takes at most 7 decimal or 6 hex digits
_RAW_TEXT_END = {
    "script": re.compile(r"</script\s*+>", re.IGNORECASE),
    "style": re.compile(r"</style\s*+>", re.IGNORECASE),
}

_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "center", "dd", "div", "dl", "dt",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p",
        "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
    }
)  # fmt: skip
_CELL = frozenset({"td", "th"})
_HIDDEN = frozenset({"head", "script", "style", "title", "template"})


def looks_like_html(text: str) -> bool:
    """True when ``text`` is HTML markup (Google's web UI and Outlook store descriptions so)."""
    return HTML_TAG.search(text) is not None or ("<" in text and _ENTITY.search(text) is not None)


@dataclass(frozen=True, slots=True)
class HtmlText:
    text: str  # visible text; block elements end lines
    hrefs: tuple[tuple[int, str], ...]  # (offset in ``text`` where the anchor starts, href)


def html_to_text(markup: str) -> HtmlText:
    """The visible text of ``markup`` and the targets of its links, in one pass."""
    reader = _Reader()
    pos = 0
    while (found := _MARKUP.search(markup, pos)) is not None:
        reader.data(markup[pos : found.start()])
        pos = found.end()
        if found["comment"]:
            if markup.startswith((">", "->"), pos):  # "<!-->", "<!--->": empty comments
                pos = markup.find(">", pos) + 1
                continue
            close = markup.find("-->", pos)
            pos = len(markup) if close < 0 else close + 3
        elif (name := found["name"]) is not None:
            name = name.lower()
            if found["end"]:
                reader.end_tag(name)
            else:
                attrs = found["attrs"]
                reader.start_tag(name, _href(attrs) if name == "a" else None)
                closing = _RAW_TEXT_END.get(name)
                if closing is not None and not attrs.endswith("/"):
                    # script and style hold raw text up to their end tag, hidden
                    end = closing.search(markup, pos)
                    pos = len(markup) if end is None else end.start()
                elif attrs.endswith("/") and name in _HIDDEN:
                    reader.end_tag(name)  # <title/> hides nothing
    reader.data(markup[pos:])
    return HtmlText("".join(reader.parts), tuple(reader.hrefs))


def _href(attrs: str) -> str | None:
    """The last ``href`` of a start tag's attributes, unquoted and unescaped (as HTMLParser)."""
    href = None
    for found in _ATTRIBUTE.finditer(attrs):
        if found["name"].lower() != "href":
            continue
        value = found["value"] or ""
        if value[:1] in "\"'" and len(value) > 1 and value[-1] == value[0]:
            value = value[1:-1]
        href = _unescape(value) if value else value
    return href


def _unescape(text: str) -> str:
    """``html.unescape`` that never raises: a reference too long for a code point reads as
    one out of range, which becomes U+FFFD as it would have."""
    if "&#" in text:
        text = _NUMERIC_REFERENCE.sub(_short_reference, text)
    return unescape(text)


def _short_reference(found: re.Match[str]) -> str:
    digits = found["hex"] or found["dec"]
    if len(digits) > _MAX_REFERENCE_DIGITS:
        return "&#x110000;"  # beyond Unicode
    return f"&#{found['x'] or ''}{digits};"


class _Reader:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.hrefs: list[tuple[int, str]] = []
        self._length = 0
        self._hidden = 0

    def _emit(self, text: str) -> None:
        self.parts.append(text)
        self._length += len(text)

    def start_tag(self, tag: str, href: str | None) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCK:
            self._emit("\n")
        elif tag in _CELL:
            self._emit(" ")
        if href:
            self.hrefs.append((self._length, href.strip()))

    def end_tag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK:
            self._emit("\n")

    def data(self, text: str) -> None:
        if text and not self._hidden:
            # source line breaks inside HTML are just spaces
            self._emit(_unescape(text).replace("\r", " ").replace("\n", " "))
