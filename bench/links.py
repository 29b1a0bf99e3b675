"""Join-link detection benchmark: hostile invitation text costs time linear in its size, capped.

``python -m bench.links [--quick] [--repeat 2]`` from the repository root prints one JSON object.

For each nasty shape of text (many distinct links, one long line after a Teams link, deep HTML,
unclosed HTML tags, many labels, the same link on every line, full-width text, random text, ...)
at two sizes (1 MiB and 2 MiB; 64 and 128 KiB with ``--quick``), best of ``--repeat`` runs:

- ``capped_ms``: ``find_links_in_text`` as the daemon calls it, default caps (one field is read
  up to ``MAX_SCAN_CHARS``): past the cap, more input costs nothing more;
- ``uncapped_ms``: the same with every cap lifted, i.e. the algorithm itself on the whole text;
- ``baseline_ms``: a plain linear scan of the same text (``re.findall(r"\\S+", text)``), the
  yardstick that makes figures comparable across machines;
- ``uncapped_vs_baseline``: uncapped time / baseline time at the larger size;
- ``growth``: uncapped time at 2x the size / at 1x (linear: about 2; quadratic: about 4).

``analyse_bytes`` (``hybridcal links``) on 50 MiB of link-dense text (5 MiB with ``--quick``) runs
in a child process that reads the input from a file, so that the peak memory is its own: seconds,
peak RSS, and how much the analysis added to what reading the input took.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybridcal.core.links import MAX_LINKS, MAX_SCAN_CHARS, Limits, find_links_in_text
from hybridcal.core.sources import MAX_INPUT_BYTES, analyse_bytes

if TYPE_CHECKING:
    from collections.abc import Callable

UNCAPPED = Limits(scan_chars=10**12, links=10**12, candidates=10**12)
_BASELINE = re.compile(r"\S+")
_TEAMS = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0\n"


def _fill(unit: Callable[[int], str], size: int) -> str:
    parts, length, n = [], 0, 0
    while length < size:
        parts.append(unit(n))
        length += len(parts[-1])
        n += 1
    return "".join(parts)[:size]


def _random_text(size: int) -> str:
    rng = random.Random(7)
    return "".join(rng.choices("abc xyz .:/@\n-_%&<>#?=0123456789", k=size))


SHAPES: dict[str, Callable[[int], str]] = {
    "distinct_links": lambda n: _fill(lambda i: f"Join https://zoom.us/j/{10**9 + i}?pwd=x\n", n),
    "distinct_other_urls": lambda n: _fill(lambda i: f"https://example.com/p/{i} ", n),
    "long_line_after_teams_link": lambda n: _TEAMS + _fill(lambda _: "a", n),
    "long_line_of_addresses_after_teams_link": lambda n: _TEAMS + _fill(lambda _: "a@b.c ", n),
    "deep_html": lambda n: _fill(lambda _: "<div>", n),
    "unclosed_html_tags": lambda n: "<p>x</p>" + _fill(lambda _: "<a ", n),
    "html_links": lambda n: _fill(
        lambda i: f'<a href="https://zoom.us/j/{10**9 + i}">Join</a><br>', n
    ),
    "many_labels": lambda n: (
        "https://zoom.us/j/123456789\n"
        + _fill(lambda _: "Meeting ID: 123 456 789 Passcode: abc SIP: a@b.c\n", n)
    ),
    "labels_on_one_line": lambda n: (
        "https://zoom.us/j/123456789 " + _fill(lambda _: "Meeting ID: Passcode: SIP  ", n)
    ),
    "same_link_every_line": lambda n: _fill(lambda _: "https://zoom.us/j/123456789\n", n),
    "short_lines_with_slashes": lambda n: _fill(lambda _: "x/\n", n),
    "full_width_urls": lambda n: _fill(
        lambda _: (
            "\uff48\uff54\uff54\uff50\uff53\uff1a\uff0f\uff0f\uff5a\uff4f\uff4f\uff4d"
            "\uff0e\uff55\uff53\uff0f\uff4a\uff0f\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18"
            "\uff19 "
        ),
        n,
    ),
    "nfkc_expanding": lambda n: _fill(lambda _: "\ufdfa", n),
    "random_text": _random_text,
}


def _best(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return max(best, 1e-6)


def _measure(text: str, repeat: int) -> dict[str, float]:
    return {
        "capped_ms": 1000 * _best(lambda: find_links_in_text(text), repeat),
        "uncapped_ms": 1000 * _best(lambda: find_links_in_text(text, limits=UNCAPPED), repeat),
        "baseline_ms": 1000 * _best(lambda: len(_BASELINE.findall(text)), repeat),
    }


def run_shapes(sizes: tuple[int, int], repeat: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, make in SHAPES.items():
        small, large = (_measure(make(size), repeat) for size in sizes)
        results[name] = {
            "small": {k: round(v, 2) for k, v in small.items()},
            "large": {k: round(v, 2) for k, v in large.items()},
            "uncapped_vs_baseline": round(large["uncapped_ms"] / large["baseline_ms"], 1),
            "growth": round(large["uncapped_ms"] / small["uncapped_ms"], 2),
        }
        print(f"{name}: {results[name]}", file=sys.stderr)
    return results


_UNIT = b"Join https://zoom.us/j/123456789 or https://meet.google.com/abc-defg-hij\n"


def _analyse_inputs(size: int) -> dict[str, bytes]:
    """50 MiB inputs for ``hybridcal links``: distinct links (the link cap stops the scan), one
    link over and over (every cap is reached), and the same as the body of an e-mail."""
    distinct = b"".join(b"https://zoom.us/j/%d\n" % (10**9 + n) for n in range(2 * MAX_LINKS))
    same = _UNIT * (size // len(_UNIT))
    mail = b"From: a@example.com\nSubject: x\nContent-Type: text/plain\n\n"
    return {
        "distinct_links_text": distinct + same[len(distinct) :],
        "same_link_text": same,
        "same_link_mail": mail + same[len(mail) :],
    }


def _peak_rss_kib() -> int:
    """This process's peak resident memory (``VmHWM``; ``ru_maxrss`` would carry the parent's
    peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def analyse_child(path: str) -> dict[str, Any]:
    """Run in a child process: ``analyse_bytes`` on the file at ``path``."""
    data = Path(path).read_bytes()
    before = _peak_rss_kib()
    start = time.perf_counter()
    report = analyse_bytes(data)
    seconds = time.perf_counter() - start
    after = _peak_rss_kib()
    return {
        "input_mib": round(len(data) / 2**20, 1),
        "seconds": round(seconds, 3),
        "peak_rss_mib": round(after / 1024, 1),
        "rss_growth_mib": round((after - before) / 1024, 1),
        "kind": report.kind,
        "links": len(report.links),
        "truncated": report.truncated,
    }


def run_analyse(size: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in _analyse_inputs(size).items():
            path = Path(tmp) / name
            path.write_bytes(data)
            done = subprocess.run(
                [sys.executable, "-m", "bench.links", "--analyse-child", str(path)],
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
            )
            results[name] = json.loads(done.stdout)
            print(f"analyse_bytes {name}: {results[name]}", file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--repeat", type=int, default=2, help="runs per figure (best is kept)")
    parser.add_argument("--analyse-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.analyse_child is not None:
        print(json.dumps(analyse_child(args.analyse_child)))
        return
    small = (64 if args.quick else 1024) * 1024
    sizes = (small, 2 * small)
    repeat = 1 if args.quick else max(1, args.repeat)
    started = time.perf_counter()
    shapes = run_shapes(sizes, repeat)
    analyse = run_analyse((5 if args.quick else 50) * 2**20)
    result = {
        "shapes": shapes,
        "worst_capped_ms": max(s["large"]["capped_ms"] for s in shapes.values()),
        "worst_growth": max(s["growth"] for s in shapes.values()),
        "analyse_bytes": analyse,
        "caps": {
            "MAX_SCAN_CHARS": MAX_SCAN_CHARS,
            "MAX_LINKS": MAX_LINKS,
            "MAX_INPUT_BYTES": MAX_INPUT_BYTES,
        },
        "parameters": {"sizes": list(sizes), "repeat": repeat, "quick": args.quick},
        "seconds": round(time.perf_counter() - started, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
