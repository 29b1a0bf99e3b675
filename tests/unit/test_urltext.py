"""Typed and pasted URL text to plain URL syntax."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridcal.core.urltext import (
    ascii_host,
    normalise_text,
    normalise_url,
    split_url,
    unglued,
)


def test_ascii_text_is_returned_as_is() -> None:
    text = "Join https://zoom.us/j/1"
    assert normalise_text(text) is text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\uff48\uff54\uff54\uff50\uff53\uff1a\uff0f\uff0f", "https://"),
        ("a\u2215b\u2044c\u29f8d", "a/b/c/d"),
        ("zoom\u3002us zoom\uff61us", "zoom.us zoom.us"),
        ("a\u2236b", "a:b"),
        (
            "\u200bz\u200co\u200do\u200em\u200f\u202a\u202e\u2060\u2064\u2066\u2069\ufeff\u00ad",
            "zoom",
        ),
        ("\uff11\uff12\uff13", "123"),
    ],
)
def test_normalise_text(text: str, expected: str) -> None:
    assert normalise_text(text) == expected


_MIXED = st.lists(
    st.sampled_from(["a", " ", "\ufdfa", "\u3002", "e\u0301", "\u0301", "\uff0f", "\u200b"]),
    max_size=3000,
).map("".join)


@given(_MIXED, st.integers(min_value=0, max_value=20000))
def test_a_limit_cuts_the_same_text_as_folding_it_all(text: str, limit: int) -> None:
    # long enough to be folded a chunk at a time
    text = text * 3
    assert normalise_text(text, limit) == normalise_text(text)[:limit]


def test_a_limit_bounds_the_work_on_expanding_text() -> None:
    text = "\ufdfa" * 100_000  # 1.8 million characters after NFKC
    folded = normalise_text(text, 1000)
    assert folded == unicodedata.normalize("NFKC", "\ufdfa" * 56)[:1000]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://zoom.us/j/1\u3067\u3059", "https://zoom.us/j/1"),
        ("https://zoom.us/j/1\u201d", "https://zoom.us/j/1"),
        ("https://m\u00fcnchen.zoom.us/j/1", "https://m\u00fcnchen.zoom.us/j/1"),  # host kept
        ("https://zoom.us/j/1Passcode:abc", "https://zoom.us/j/1"),
        ("https://zoom.us/j/1?pwd=abc", "https://zoom.us/j/1?pwd=abc"),
        ("https://teams.microsoft.com/l/meetup-join/19:meeting_x@thread.v2/0", None),
        ("  zoom.us/j/1\u3002  ", "zoom.us/j/1."),
    ],
)
def test_normalise_url(url: str, expected: str | None) -> None:
    assert normalise_url(url) == (url if expected is None else expected)


def test_unglued_cuts_a_word_after_a_meeting_number() -> None:
    assert unglued("https://zoom.us/j/123456789Meeting") == "https://zoom.us/j/123456789"
    assert unglued("https://zoom.us/j/123456789") is None
    assert unglued("https://zoom.us/j/12345Meeting") is None  # too short for a meeting number


def test_split_url_refusals_are_none() -> None:
    assert split_url("https://[zoom.us/j/1") is None
    assert split_url("http://\u2100/x") is None
    parts = split_url("https://zoom.us/j/1")
    assert parts is not None
    assert parts.hostname == "zoom.us"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("ZOOM.us", "zoom.us"),
        ("M\u00fcnchen.zoom.us", "xn--mnchen-3ya.zoom.us"),
        ("xn--mnchen-3ya.zoom.us", "xn--mnchen-3ya.zoom.us"),
        ("b\u00fccher..zoom.us", None),
        ("a" * 64 + "\u00fc.example", None),
    ],
)
def test_ascii_host(host: str, expected: str | None) -> None:
    assert ascii_host(host) == expected
