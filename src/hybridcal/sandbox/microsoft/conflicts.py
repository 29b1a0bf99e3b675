"""Concurrent saves: the 409 ``ErrorIrresolvableConflict`` a PATCH can meet besides 412.

Exchange saves an item with optimistic concurrency on its change key. ``If-Match`` is checked
first (412 when the etag is stale); a second save of the same item that lands while ours is
being applied — Outlook on another device, a delegate, the Calendar Attendant processing a
response — makes ours fail with 409 ``ErrorIrresolvableConflict``. Our PATCH is not applied,
the other save is, so the item's change key moves on: the only useful answer is to read the
item again and re-plan (retrying with the same etag would now get a 412).

The simulator produces it on demand (``arm``: the next PATCHes of one event) or at a rate over
all API PATCHes of events (``rate``, seeded), for the tests and the benchmarks.
"""

from __future__ import annotations

import random

from hybridcal.sandbox.microsoft.errors import IRRESOLVABLE_CONFLICT, GraphError


def concurrent_save_conflict() -> GraphError:
    return GraphError(409, "ErrorIrresolvableConflict", IRRESOLVABLE_CONFLICT)


class ConcurrentSaves:
    def __init__(self, rng: random.Random, rate: float = 0.0) -> None:
        self._rng = rng
        self.rate = rate
        self._armed: dict[tuple[str, str], int] = {}
        self.struck = 0

    def arm(self, mailbox: str, event_id: str, count: int = 1) -> None:
        """The next ``count`` API PATCHes of this event meet a concurrent save."""
        self._armed[(mailbox.lower(), event_id)] = count

    def strike(self, mailbox: str, event_id: str) -> bool:
        """Whether this PATCH meets a concurrent save (counted when it does)."""
        key = (mailbox.lower(), event_id)
        left = self._armed.get(key, 0)
        if left > 0:
            if left == 1:
                del self._armed[key]
            else:
                self._armed[key] = left - 1
        elif not (self.rate > 0 and self._rng.random() < self.rate):
            return False
        self.struck += 1
        return True
