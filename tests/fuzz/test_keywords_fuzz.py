"""Keyword parsing on hostile locations: never an exception, a bounded time per input, and the
answer is a whole-token keyword that really stands in the location."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz.fuzz_settings import fuzz

from hybridcal.core.keywords import SCAN_LIMIT, find_keyword

KEYWORDS = {"@zoom": "zoom", "@meet": "meet", "@teams": "teams", "@webex": "webex"}
PIECES = st.sampled_from(
    ["@zoom", "@ZOOM", "@meet:room", "@webex", "@teams", "https://", "www.", "bob@zoom.us", " ",
     "(", ")", ":", ".", "/", "@", "ß", "İ", "\u200b", "\uff20zoom", "x"]
)  # fmt: skip
LOCATIONS = st.one_of(
    st.text(max_size=300),
    st.lists(PIECES, max_size=200).map("".join),
    st.lists(PIECES, min_size=1, max_size=20).map(lambda p: "".join(p) * 500),
)


@fuzz
@given(LOCATIONS)
def test_find_keyword_never_fails_and_stays_fast(location: str) -> None:
    started = time.perf_counter()
    match = find_keyword(location, KEYWORDS)
    assert time.perf_counter() - started < 0.5
    if match is not None:
        assert match.end <= SCAN_LIMIT
        assert location[match.start : match.end].lower() == match.keyword
        assert match.system == KEYWORDS[match.keyword]
