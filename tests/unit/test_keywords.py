"""Keywords in the location: whole tokens, leftmost wins, modifiers, configurable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridcal.core.keywords import KeywordMatch, find_keyword

KEYWORDS = {"@zoom": "zoom", "@meet": "meet", "@teams": "teams", "@webex": "webex"}


@pytest.mark.parametrize(
    ("location", "keyword", "modifier"),
    [
        ("@zoom", "@zoom", None),
        ("Room 5, @Zoom", "@zoom", None),
        ("(@MEET)", "@meet", None),
        ("[@teams]; other", "@teams", None),
        ("@webex:space", "@webex", "space"),
        ("@meet:MyRoom please", "@meet", "myroom"),
        ("@zoom:one-time_2.", "@zoom", "one-time_2"),
        ("Besprechungsraum Köln @zoom", "@zoom", None),
        ("会議室「@teams」", "@teams", None),
        ("Call @zoom.", "@zoom", None),
        ("@zoom, then coffee", "@zoom", None),
    ],
)
def test_keyword_found(location: str, keyword: str, modifier: str | None) -> None:
    match = find_keyword(location, KEYWORDS)
    assert match is not None
    assert (match.keyword, match.system, match.modifier) == (keyword, KEYWORDS[keyword], modifier)
    assert location[match.start : match.end].lower() == keyword


@pytest.mark.parametrize(
    "location",
    [
        "",
        "Room 5",
        "bob@zoom.us",
        "ask x@meet about it",
        "zoom",
        "@zoomy",
        "@zoom.us",
        "https://example.com/@zoom",
        "https://example.com/path?k=@teams",
        "www.example.com/@meet",
        "mailto:@webex",
        "@zoom:x.y",
        "foo/@zoom",
    ],
)
def test_keyword_not_found(location: str) -> None:
    assert find_keyword(location, KEYWORDS) is None


def test_leftmost_wins() -> None:
    match = find_keyword("Room 1 @teams or @zoom", KEYWORDS)
    assert match == KeywordMatch("@teams", "teams", None, 7, 13)
    match = find_keyword("bob@zoom.us then @meet then @zoom", KEYWORDS)
    assert match is not None
    assert match.keyword == "@meet"


def test_longest_keyword_at_the_same_place() -> None:
    keywords = {"@zoom": "zoom", "@zoomgov": "zoomgov"}
    match = find_keyword("@zoomgov", keywords)
    assert match is not None
    assert match.system == "zoomgov"


def test_configurable_map_keeps_configured_spelling() -> None:
    keywords = {"@Video": "pexip", "#call": "webex"}
    match = find_keyword("Room #CALL and @video", keywords)
    assert match is not None
    assert (match.keyword, match.system) == ("#call", "webex")
    assert find_keyword("@zoom", keywords) is None
    assert find_keyword("@zoom", {}) is None


_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("@:., ()"),
    max_size=60,
)
_KEYWORD_MAPS = st.dictionaries(
    st.text(alphabet="@#abcdeFGHzoK:s", min_size=2, max_size=8),
    st.sampled_from(["zoom", "meet", "teams"]),
    max_size=4,
)


@given(_TEXT, _TEXT, _KEYWORD_MAPS)
def test_never_raises_and_span_is_the_keyword(
    before: str, after: str, keywords: dict[str, str]
) -> None:
    for location in (before + after, f"{before} {next(iter(keywords), '')} {after}"):
        match = find_keyword(location, keywords)
        if match is not None:
            assert location[match.start : match.end].lower() == match.keyword.lower()
            assert keywords[match.keyword] == match.system


@given(_TEXT)
def test_keyword_surrounded_by_spaces_is_always_found(text: str) -> None:
    match = find_keyword(f"{text} @zoom {text}", {"@zoom": "zoom"})
    assert match is not None
