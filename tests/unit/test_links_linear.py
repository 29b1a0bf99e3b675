"""Link detection does work linear in its input, whatever the input's shape.

Each shape was quadratic before (measured: 4,000 distinct links took 3 s; 80 KB on one line after
a Teams link, 25 s). With the caps lifted, four times the input must cost about four times the
time; a quadratic step would cost sixteen. Times are the best of three, compared within one run
(a ratio, not an absolute time), with a generous bound. With the default caps, input past the
cap costs nothing more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.growth import growth

from hybridcal.core.links import MAX_SCAN_CHARS, Limits, dedupe_links, find_links_in_text
from hybridcal.core.model import JoinLink

if TYPE_CHECKING:
    from collections.abc import Callable

UNCAPPED = Limits(scan_chars=10**9, links=10**9, candidates=10**9)


def _repeat(unit: Callable[[int], str], size: int) -> str:
    parts, length, n = [], 0, 0
    while length < size:
        parts.append(unit(n))
        length += len(parts[-1])
        n += 1
    return "".join(parts)


TEAMS = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0\n"

SHAPES: dict[str, Callable[[int], str]] = {
    "distinct links": lambda size: _repeat(lambda n: f"https://zoom.us/j/{10**9 + n}\n", size),
    "long line after a Teams link": lambda size: TEAMS + "a" * size,
    "long line of addresses after a Teams link": lambda size: TEAMS + "a@b.c " * (size // 6),
    "long line of labels": lambda size: "https://zoom.us/j/123456789 " + "SIP \t" * (size // 5),
    "same link on every line": lambda size: (
        "https://zoom.us/j/123456789\nPasscode: 1\n" * (size // 40)
    ),
    "many labels": lambda size: (
        "https://zoom.us/j/123456789\n"
        + "Meeting ID: 123 456 789 Passcode: abc SIP: a@b.c\n" * (size // 50)
    ),
    "deep HTML": lambda size: "<div>" * (size // 5) + "https://zoom.us/j/123456789",
    "HTML links": lambda size: _repeat(
        lambda n: f'<a href="https://zoom.us/j/{10**9 + n}">Join</a><br>', size
    ),
    "dotted host run": lambda size: "a." * (size // 2) + "zoom.us/j/123456789",
    "full-width text": lambda size: (
        "\uff48\uff54\uff54\uff50\uff53\uff1a\uff0f\uff0f " * (size // 9)
    ),
    # the families added for 2023-2026 invitations
    "distinct app deep links": lambda size: _repeat(
        lambda n: f"zoommtg://zoom.us/join?action=join&confno={10**9 + n}&pwd=x\n", size
    ),
    "wrapped launchers": lambda size: _repeat(
        lambda n: (
            "https://linkprotect.cudasvc.com/url?a=https%3a%2f%2fteams.microsoft.com%2fdl%2f"
            f"launcher%2flauncher.html%3furl%3d%252f_%2523%252fl%252fmeetup-join%252f{n}\n"
        ),
        size,
    ),
    "glued escapes after URLs": lambda size: _repeat(
        lambda n: f"https://zoom.us/j/{10**9 + n}" + "%3e" * 500 + "&gt; ", size
    ),
    "long Webex URL API queries": lambda size: _repeat(
        lambda n: f"https://a.webex.com/a/m.php?{'x=1&' * 1000}AT=JM&MK={10**9 + n}\n", size
    ),
    "meetings separated by labels": lambda size: _repeat(
        lambda n: f"https://zoom.us/j/{10**9 + n}\nMeeting ID: {10**9 + n}\nPasscode: 1\n",
        size,
    ),
    "dotted provider host run": lambda size: "zoommtg://" + "a." * (size // 2) + "zoom.us/join",
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_eight_times_the_input_costs_about_eight_times_the_work(shape: str) -> None:
    # 8x apart, so that linear (8x), n log n (~9.5x) and quadratic (64x) are far apart and a
    # busy machine (caches, another process) cannot push a linear shape over the bound
    small, large = SHAPES[shape](16_000), SHAPES[shape](128_000)
    ratio = growth(
        lambda: find_links_in_text(small, limits=UNCAPPED),
        lambda: find_links_in_text(large, limits=UNCAPPED),
    )
    assert ratio < 24, f"{shape}: 8x the input took {ratio:.1f}x the time"


def test_merging_distinct_links_is_linear() -> None:
    def links(count: int) -> list[JoinLink]:
        return [
            JoinLink("zoom", f"https://zoom.us/j/{10**9 + n}", str(10**9 + n), dial=f"{n}@x")
            for n in range(count)
        ]

    small, large = links(2_000), links(8_000)
    ratio = growth(lambda: dedupe_links(small), lambda: dedupe_links(large))
    assert ratio < 8, f"4x the links took {ratio:.1f}x the time"


@pytest.mark.parametrize("shape", ["distinct links", "long line after a Teams link", "deep HTML"])
def test_input_past_the_cap_costs_nothing_more(shape: str) -> None:
    at_cap, far_past = SHAPES[shape](MAX_SCAN_CHARS), SHAPES[shape](8 * MAX_SCAN_CHARS)
    ratio = growth(lambda: find_links_in_text(at_cap), lambda: find_links_in_text(far_past))
    assert ratio < 2.5, f"{shape}: 8x the input past the cap took {ratio:.1f}x the time"
