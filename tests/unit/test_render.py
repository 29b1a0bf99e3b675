"""The join block: localised rendering, HTML safety, replacement that keeps the person's text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridcal.core.locales import LOCALES
from hybridcal.core.model import JoinInfo, PhoneNumber
from hybridcal.core.render import (
    END_MARK,
    START_MARK,
    NoteKind,
    RenderedBlock,
    block_digest_of,
    choose_locale,
    extract_block,
    render_join_block,
    render_note,
    replace_block,
)

INFO = JoinInfo(
    system="zoom",
    meeting_id="81234567890",
    join_url="https://acme.zoom.us/j/81234567890?pwd=abc&x=<y>",
    passcode="plan42",
    phones=(PhoneNumber("+1 555 010 0001", "US", "New York"), PhoneNumber("+49 30 5550100", "DE")),
    phone_passcode="445566",
    sip="81234567890.445566@zoomcrc.com",
)
OTHER = JoinInfo(
    system="teams",
    meeting_id="312345678901",
    join_url="https://teams.microsoft.com/meet/312345678901?p=x",
)


@pytest.mark.parametrize(
    ("locale", "header", "passcode"),
    [
        ("en", "Join Zoom meeting", "Passcode: plan42"),
        ("de-CH", "Zoom-Meeting beitreten", "Kenncode: plan42"),
        ("ja", "Zoom ミーティングに参加する", "パスコード: plan42"),
    ],
)
def test_each_locale_renders(locale: str, header: str, passcode: str) -> None:
    block = render_join_block(INFO, locale)
    lines = block.text.splitlines()
    assert lines[0] == START_MARK
    assert lines[-1] == END_MARK
    assert header in lines
    assert passcode in lines
    assert INFO.join_url in lines
    assert "812 3456 7890" in block.text
    assert "+15550100001,,81234567890#,,,,*445566# (New York)" in lines
    assert "+49 30 5550100 (DE)" in lines
    assert INFO.sip in lines
    assert len(block.digest) == 16


def test_locale_tables_have_the_same_keys() -> None:
    keys = set(LOCALES["en"])
    for table in LOCALES.values():
        assert set(table) == keys


@pytest.mark.parametrize(
    ("calendar", "default", "force", "expected"),
    [
        ("de", "en", False, "de"),
        ("de-CH", "en", False, "de"),
        ("ja", "en", False, "ja"),
        ("en_GB", "de", False, "en"),
        ("pt-BR", "de", False, "pt"),
        ("tr-TR", "de", False, "de"),
        (None, "ja", False, "ja"),
        ("", "xx", False, "en"),
        ("de", "ja-JP", True, "ja"),
    ],
)
def test_choose_locale(calendar: str | None, default: str, force: bool, expected: str) -> None:
    assert choose_locale(calendar, default, force_default=force) == expected


def test_html_variant_escapes_and_has_the_same_digest() -> None:
    block = render_join_block(INFO, "en")
    assert '<a href="https://acme.zoom.us/j/81234567890?pwd=abc&amp;x=&lt;y&gt;">' in block.html
    assert "<y>" not in block.html
    assert block_digest_of(block.html) == block.digest == block_digest_of(block.text)


def test_note_params_are_escaped_and_required() -> None:
    note = render_note(NoteKind.FAILED, "en", system="zoom", reason="a < b & c")
    assert "The Zoom meeting could not be created: a < b & c" in note.text
    assert "a &lt; b &amp; c" in note.html
    assert block_digest_of(note.html) == note.digest
    # a value that reads as markup is neutralised in both variants, so their digests agree
    tagged = render_note(NoteKind.FAILED, "en", system="zoom", reason="<b>bold</b>")
    assert "<b>" not in tagged.text
    assert "<b>" not in tagged.html
    assert block_digest_of(tagged.html) == tagged.digest == block_digest_of(tagged.text)
    with pytest.raises(ValueError, match="reason"):
        render_note(NoteKind.FAILED, "en", system="zoom")


@pytest.mark.parametrize("kind", list(NoteKind))
@pytest.mark.parametrize("locale", ["en", "de", "ja"])
def test_every_note_renders(kind: NoteKind, locale: str) -> None:
    note = render_note(kind, locale, keyword="@zoom", system="zoom", reason="quota")
    assert note.text.startswith(START_MARK)
    assert block_digest_of(note.text) == note.digest


def test_unavailable_note_text() -> None:
    note = render_note(NoteKind.UNAVAILABLE, "en", keyword="@zoom", system="zoom")
    assert "@zoom is not available for this calendar (ask your administrator)." in note.text


def test_insert_replace_remove_plain() -> None:
    a, b = render_join_block(INFO, "en"), render_join_block(OTHER, "de")
    description = "Agenda:\n1. budget\n"
    with_a = replace_block(description, a)
    assert with_a == description + "\n\n" + a.text
    assert extract_block(with_a) is not None
    assert block_digest_of(with_a) == a.digest
    assert replace_block(with_a, b) == description + "\n\n" + b.text
    assert replace_block(with_a, None) == description
    assert replace_block(description, None) == description
    assert block_digest_of(description) is None
    assert replace_block("", a) == a.text


def test_block_found_after_google_turned_it_into_html() -> None:
    a = render_join_block(INFO, "en")
    stored = "Agenda<br><br>" + a.text.replace("\n", "<br>").replace(
        INFO.join_url,
        '<a href="x">'
        + INFO.join_url.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        + "</a>",
    )
    stored = stored.replace(START_MARK, f"<span>{START_MARK.replace(' ', '&nbsp;', 1)}</span>")
    assert block_digest_of(stored) == a.digest
    assert replace_block(stored, None) == "Agenda"
    b = render_join_block(OTHER, "en")
    assert replace_block(stored, b) == "Agenda<br><br>" + b.html


def test_html_description_gets_html_block_inside_body() -> None:
    a = render_join_block(INFO, "en")
    description = "<html><body><div>Hi &amp; welcome</div></body></html>"
    result = replace_block(description, a)
    assert result == "<html><body><div>Hi &amp; welcome</div><br><br>" + a.html + "</body></html>"
    assert block_digest_of(result) == a.digest
    assert replace_block(result, None) == description


def test_never_duplicated() -> None:
    a, b = render_join_block(INFO, "en"), render_join_block(OTHER, "en")
    doubled = f"x\n\n{a.text}\nmiddle\n\n{a.text}"
    assert replace_block(doubled, b) == f"x\n\n{b.text}\nmiddle"


def test_stray_markers_in_the_persons_text_are_kept() -> None:
    a = render_join_block(INFO, "en")
    description = f"notes {END_MARK} and {START_MARK} end"
    assert extract_block(description) is None
    assert replace_block(replace_block(description, a), None) == description


_ALPHABET = st.sampled_from(
    [
        "a",
        " ",
        "\n",
        "<br>",
        "<p>",
        "</p>",
        "&amp;",
        "~",
        "é",
        "\u00a0",
        "</body>",
        "<",
        ">",
        "\r\n",
        "hybridcal:",
        "~~~",
        START_MARK,
        END_MARK,
    ]
)
_DESCRIPTIONS = st.lists(_ALPHABET, max_size=20).map("".join)
_BLOCKS = st.sampled_from(
    [
        render_join_block(INFO, "en"),
        render_join_block(INFO, "ja"),
        render_join_block(OTHER, "de"),
        render_note(NoteKind.RETRYING, "en", system="zoom"),
    ]
)


@given(_DESCRIPTIONS, _BLOCKS, _BLOCKS)
def test_replacing_twice_equals_replacing_once(d: str, a: RenderedBlock, b: RenderedBlock) -> None:
    assert replace_block(replace_block(d, a), b) == replace_block(d, b)
    assert block_digest_of(replace_block(d, b)) == b.digest


@given(_DESCRIPTIONS, _BLOCKS)
def test_removing_restores_the_persons_text(d: str, a: RenderedBlock) -> None:
    if extract_block(d) is None:
        assert replace_block(replace_block(d, a), None) == d
        assert replace_block(d, None) == d


def test_paragraph_wrapped_markers_are_removed_cleanly() -> None:
    a = render_join_block(OTHER, "en")
    inner = "</p><p>".join(a.text.splitlines())
    stored = f"<p>Agenda</p><p>{inner}</p><p>After</p>"
    assert block_digest_of(stored) == a.digest
    assert replace_block(stored, None) == "<p>Agenda</p><p>After</p>"


def test_thousands_of_pasted_blocks_collapse_to_one_in_one_pass() -> None:
    """Hostile or runaway text: 5,000 copies of our block (and stray markers) are cleaned up
    in linear time, keeping the person's text between them."""
    copies = "".join(f"line {n}\n{START_MARK}\nold\n{END_MARK}\n" for n in range(5000))
    block = render_note(NoteKind.UNAVAILABLE, "en", keyword="@webex", system="webex")
    result = replace_block(copies + END_MARK, block)
    assert result.count(START_MARK) == 1
    assert "line 4999" in result
    assert "line 0" in result
