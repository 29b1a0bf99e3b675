"""Rate limits: the per-user daily Meeting Create/Update/Delete budget and the account's
per-second cap.

Daily: Zoom's rate-limits page says "A single user can only make 100 create, update, or delete
meeting requests per day (UTC)" (developers.zoom.us/docs/api/rate-limits, quoted on the Zoom
developer forum thread "Does meeting requests per day rate limits include DELETE meeting?",
where Zoom staff confirm the 100 per user). So each create (``POST /users/{id}/meetings``),
update (``PATCH /meetings/{id}``, with or without ``occurrence_id``) and delete
(``DELETE /meetings/{id}``, with or without ``occurrence_id``: deleting one occurrence of a
series costs as much as deleting the meeting) is charged to the meeting's host — the
``schedule_for`` user when one is given — once the request is well-formed and its host (and,
for an occurrence, the occurrence) is known, whatever happens after that (a passcode refused
still costs one). The request beyond ``daily_limit`` in one UTC day (by the simulator's clock)
is answered 429 with Zoom's daily message and *no* ``Retry-After`` (Zoom's headers are not
reliable there); refused requests are not charged. The budget resets at 00:00 UTC.

Per second: at most ``qps_limit`` authenticated API requests of the account in any sliding one
second window of real monotonic time (the simulator's clock is often frozen in tests); beyond
that 429 with ``Retry-After: 1``. Refused requests do not count. ``qps_limit <= 0`` turns it
off. Simplified: one bucket for all endpoints (Zoom has light/medium/heavy categories).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime

from hybridcal.sandbox.zoom.errors import daily_limit, per_second_limit


class DailyLimiter:
    def __init__(self, limit: int, now: Callable[[], datetime]) -> None:
        self.limit = limit
        self._now = now
        self._counts: dict[tuple[str, date], int] = {}

    def _today(self) -> date:
        return self._now().astimezone(UTC).date()

    def charge(self, user_id: str) -> None:
        key = (user_id, self._today())
        used = self._counts.get(key, 0)
        if used >= self.limit:
            raise daily_limit(self.limit)
        self._counts[key] = used + 1

    def count(self, user_id: str) -> int:
        return self._counts.get((user_id, self._today()), 0)


class QpsLimiter:
    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._recent: deque[float] = deque()

    def admit(self) -> None:
        if self.limit <= 0:
            return
        now = self.clock()
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.limit:
            raise per_second_limit(1)
        self._recent.append(now)
