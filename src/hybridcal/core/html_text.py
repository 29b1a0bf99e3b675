"""Visible text and link targets of an HTML fragment (descriptions, mail bodies), stdlib only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

_TAG_NAMES = (
    "a|abbr|b|blockquote|body|br|center|code|div|em|font|h[1-6]|head|hr|html|i|img|li|meta|ol"
    "|p|pre|s|small|span|strong|style|sub|sup|table|tbody|td|th|thead|tr|u|ul"
)
# a real tag of HTML, not just a "<" in text such as "<https://...>" or "a < b"
HTML_TAG = re.compile(rf"</?(?:{_TAG_NAMES})(?:\s[^<>]*)?/?>", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:nbsp|amp|lt|gt|quot|#\d+|#x[0-9a-f]+);", re.IGNORECASE)

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
    parser = _TextParser()
    parser.feed(markup)
    parser.close()
    return HtmlText("".join(parser.parts), tuple(parser.hrefs))


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hrefs: list[tuple[int, str]] = []
        self._length = 0
        self._hidden = 0

    def _emit(self, text: str) -> None:
        self.parts.append(text)
        self._length += len(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCK:
            self._emit("\n")
        elif tag in _CELL:
            self._emit(" ")
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append((self._length, href.strip()))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)  # <br/>, <a href=... />

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK:
            self._emit("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            # source line breaks inside HTML are just spaces
            self._emit(data.replace("\r", " ").replace("\n", " "))
