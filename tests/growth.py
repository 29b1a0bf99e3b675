"""How the cost of some work grows with its input, robust to a busy machine.

Linearity tests compare the time of the same work on a small and a large input within one run
(a ratio, never an absolute time). The two are measured alternately and the best of several
rounds is kept for each, so that another process taking the CPU for a moment slows one
measurement, not the ratio.
"""

from __future__ import annotations

import time
from collections.abc import Callable

FLOOR = 1e-4  # seconds: below this the clock says little


def growth(small: Callable[[], object], large: Callable[[], object], rounds: int = 5) -> float:
    """best time of ``large`` / best time of ``small``, measured alternately."""
    best_small = best_large = float("inf")
    for _ in range(rounds):
        for run, is_large in ((small, False), (large, True)):
            start = time.perf_counter()
            run()
            elapsed = time.perf_counter() - start
            if is_large:
                best_large = min(best_large, elapsed)
            else:
                best_small = min(best_small, elapsed)
    return max(best_large, FLOOR) / max(best_small, FLOOR)
