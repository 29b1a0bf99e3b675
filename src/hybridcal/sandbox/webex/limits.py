"""Rate limits: the app's per-minute request budget and the admin's daily create quota.

Per minute (webex.md §4 [BAS]: about 300 requests a minute for most APIs, counted per user, so
all traffic of one Service App shares one bucket): at most ``per_minute`` authenticated API
requests in any sliding 60 s of a monotonic clock (replaceable: ``WebexSimulator.rate_clock``,
so a frozen simulator clock does not throttle forever); beyond that 429 with ``Retry-After`` =
seconds until the oldest request leaves the window. Refused requests do not count.
``per_minute <= 0`` turns it off.

Creates (webex.md §4 [MTG]: an admin may create 800 meetings per host and 3000 overall in
24 h, and **failed requests count**): every ``POST /v1/meetings`` whose host is known is
charged to that host and to the app, whether it then succeeds or not; beyond either budget in
the sliding 24 h of the simulator's clock → 429 with ``Retry-After`` until the oldest charge
leaves the window.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from hybridcal.sandbox.webex.errors import too_many

DAY = timedelta(hours=24)


class MinuteBudget:
    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._recent: deque[float] = deque()

    def admit(self) -> None:
        if self.limit <= 0:
            return
        now = self.clock()
        while self._recent and self._recent[0] <= now - 60.0:
            self._recent.popleft()
        if len(self._recent) >= self.limit:
            raise too_many(math.ceil(self._recent[0] + 60.0 - now))
        self._recent.append(now)


class CreateQuota:
    def __init__(self, per_host: int, overall: int, now: Callable[[], datetime]) -> None:
        self.per_host = per_host
        self.overall = overall
        self._now = now
        self._charges: dict[str, deque[datetime]] = {}
        self._all: deque[datetime] = deque()

    def _trim(self, charges: deque[datetime]) -> None:
        cutoff = self._now() - DAY
        while charges and charges[0] <= cutoff:
            charges.popleft()

    def charge(self, host: str) -> None:
        mine = self._charges.setdefault(host.lower(), deque())
        self._trim(mine)
        self._trim(self._all)
        for charges, limit in ((mine, self.per_host), (self._all, self.overall)):
            if len(charges) >= limit:
                wait = (charges[0] + DAY - self._now()).total_seconds()
                raise too_many(max(1.0, wait), "The meeting creation quota has been reached.")
        now = self._now()
        mine.append(now)
        self._all.append(now)

    def count(self, host: str) -> int:
        mine = self._charges.get(host.lower(), deque())
        self._trim(mine)
        return len(mine)
