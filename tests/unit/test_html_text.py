"""HTML to visible text: what HTMLParser gave on sound markup, in linear time on any markup."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.growth import growth

from hybridcal.core.html_text import HtmlText, html_to_text, looks_like_html

_BLOCK = {"br", "div", "p", "li", "ul", "ol", "table", "tr", "h1", "pre", "blockquote", "hr"}
_HIDDEN = {"head", "script", "style", "title", "template"}


class _Reference(HTMLParser):
    """The former HTMLParser-based reader, kept as the reference for sound markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hrefs: list[tuple[int, str]] = []
        self.length = 0
        self.hidden = 0

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCK:
            self.emit("\n")
        elif tag in {"td", "th"}:
            self.emit(" ")
        if tag == "a" and (href := dict(attrs).get("href")):
            self.hrefs.append((self.length, href.strip()))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK:
            self.emit("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.emit(data.replace("\r", " ").replace("\n", " "))


def _reference(markup: str) -> HtmlText:
    parser = _Reference()
    parser.feed(markup)
    parser.close()
    return HtmlText("".join(parser.parts), tuple(parser.hrefs))


_TEXT = st.lists(
    st.sampled_from(
        ["a", "Z", " ", "\n", "\r", "\t", "&amp;", "&nbsp;", "&lt;", "&#8364;", "&#x41;", "&",
         "\u00e9", "\u4f1a", "https://zoom.us/j/1", ":", "/", "=", '"', "'"]
    ),
    max_size=12,
).map("".join)  # fmt: skip
_VALUE = st.lists(
    st.sampled_from(["https://zoom.us/j/1", "?a=1&amp;b=2", " ", "x", "&quot;", "/"]),
    max_size=5,
).map("".join)
_TAG = st.sampled_from(sorted(_BLOCK | {"span", "b", "td", "th", "font", "a", "img", "i"}))


@st.composite
def _markup(draw: st.DrawFn, depth: int = 0) -> str:
    pieces = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 5 if depth < 3 else 1))
        if kind <= 1:
            pieces.append(draw(_TEXT))
        elif kind == 2:
            pieces.append(f"<!--{draw(_TEXT).replace('-', '')}-->")
        elif kind == 3:
            quote = draw(st.sampled_from(['"', "'"]))
            value = draw(_VALUE).replace(quote, "")
            pieces.append(f"<a href={quote}{value}{quote} class=x>{draw(_markup(depth + 1))}</a>")
        elif kind == 4:
            tag = draw(_TAG)
            upper = tag.upper() if draw(st.booleans()) else tag
            pieces.append(f"<{upper} style='x:y'>{draw(_markup(depth + 1))}</{tag}>")
        else:
            hidden = draw(st.sampled_from(sorted(_HIDDEN)))
            pieces.append(f"<{hidden}>{draw(_TEXT)}</{hidden}><br/>")
    return "".join(pieces)


@given(_markup())
def test_sound_markup_reads_as_htmlparser_read_it(markup: str) -> None:
    assert html_to_text(markup) == _reference(markup)


@pytest.mark.parametrize(
    "markup",
    [
        (
            '<div>Plan &amp; review</div><div><a href="https://zoom.us/j/2?pwd=a&amp;b=1">Join'
            "</a></div><div><span>Passcode:</span> <span>xyz</span></div>"
        ),
        "<html><head><title>T</title><style>p {color: red}</style></head><body><p>x</p></body>",
        "<table><tr><td>ID</td><td>123</td></tr></table>",
        "<A HREF='u'>x</A><a\nhref='v'>y</a><a/href='w'>z</a>",
        "<a href='u' href=\"v\">t</a>",  # the last href wins, as in HTMLParser
        "<p>a\r\nb</p>x<3 y and a < b",
        "<script>if (a<b) {x = '<p>'}</script>after",
        "<!DOCTYPE html><?xml version='1.0'?><![CDATA[x]]>text",
        "<!--[if !mso]><!-->shown<!--<![endif]-->",
    ],
)
def test_examples_read_as_htmlparser_read_them(markup: str) -> None:
    assert html_to_text(markup) == _reference(markup)


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>x</p><!--never closed", "\nx\n"),  # a browser hides the rest too
        ("a<!-->b<!--->c", "abc"),  # empty comments
        ("<p>x</p><a href='u", "\nx\n<a href='u"),  # a tag never closed is text
        ("<style>never closed", ""),
        ("<title/>shown", "shown"),  # a self-closed hidden element hides nothing
        ("</ x>y</>z", "yz"),
    ],
)
def test_broken_markup_reads_like_a_browser(markup: str, text: str) -> None:
    assert html_to_text(markup).text == text


def test_looks_like_html() -> None:
    assert looks_like_html("<p>x</p>")
    assert looks_like_html("a <b>bold</b>")
    assert looks_like_html("x &amp; y <https://zoom.us/j/1>")
    assert not looks_like_html("a < b and <https://zoom.us/j/1>")
    assert not looks_like_html("Tom & Jerry")


def _parse(markup: str) -> None:
    html_to_text(markup)
    looks_like_html(markup)


@pytest.mark.parametrize(
    "unit",
    ["<a ", "</", "<!", "<", "<div>", "<!--", "<a href='", "&#", "<p x='>'>", "<script>"],
)
def test_work_grows_linearly_with_hostile_markup(unit: str) -> None:
    # HTMLParser took 17 s for 50 KB of "<a ", growing with the square of the input
    small, large = unit * 20_000, unit * 80_000
    ratio = growth(lambda: _parse(small), lambda: _parse(large))
    assert ratio < 8, f"4x the input took {ratio:.1f}x the time"


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>&#" + "0" * 10_000 + "65;</p>", "\nA\n"),  # leading zeros: still "A"
        ("<p>&#" + "9" * 10_000 + ";</p>", "\n\ufffd\n"),  # html.unescape raises on this
        ("<p>&#x" + "f" * 10_000 + "</p>", "\n\ufffd\n"),
        ("<p>&#65;&#x41;&#X41&#0;&#1114112;</p>", "\nAAA\ufffd\ufffd\n"),
    ],
)
def test_character_references_of_any_length(markup: str, text: str) -> None:
    assert html_to_text(markup).text == text
    assert html_to_text(f'<a href="{markup[3:-4]}">x</a>').hrefs[0][1] == text.strip("\n")
