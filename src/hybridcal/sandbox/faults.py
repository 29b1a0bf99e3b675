"""Fault injection shared by the sandbox simulators.

A :class:`Faults` object is mutable on purpose: a test or benchmark flips rates while the
simulator runs. Every random decision comes from one seeded :class:`random.Random`, so a run
with the same seed and the same request order makes the same decisions.

What each knob means for a simulator:

- ``latency_s``: added before every API answer (``latency_jitter_s`` adds a uniform extra).
- ``error_rate``: share of API requests answered with a server error (Google: 500 backendError).
- ``throttle_rate``: share answered "slow down" (Google: 403 rateLimitExceeded or 429).
- ``drop_notification_rate``: share of push notifications never sent.
- ``channel_ttl_override_s``: caps the TTL of new push channels (an honest, short expiration).
- ``channel_silent_expiry_s``: a channel stops delivering after this many seconds although its
  advertised expiration is later (the provider lost it).
"""

from __future__ import annotations

import asyncio
import enum
import random
from dataclasses import dataclass, field


class DropRequest(Exception):  # noqa: N818 - named for what a hook asks for
    """Raised by a simulator's ``before_request`` hook: the request is not processed and the
    connection is closed unanswered (the client crashed or the network failed on the way)."""


class DropResponse(Exception):  # noqa: N818
    """Raised by an ``after_request`` hook: the change is kept, the connection is closed
    unanswered ("the answer was lost")."""


class Injected(enum.Enum):
    """The fault chosen for one request."""

    ERROR = "error"
    THROTTLE = "throttle"


@dataclass
class Faults:
    latency_s: float = 0.0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_notification_rate: float = 0.0
    seed: int = 0
    latency_jitter_s: float = 0.0
    throttle_retry_after_s: float | None = None
    channel_ttl_override_s: float | None = None
    channel_silent_expiry_s: float | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("error_rate", "throttle_rate", "drop_notification_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        self._rng = random.Random(self.seed)  # noqa: S311 - simulation, not security

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not security

    def choose(self) -> Injected | None:
        """Roll once for a request: an error, a throttle, or nothing."""
        if self.error_rate <= 0 and self.throttle_rate <= 0:
            return None
        roll = self._rng.random()
        if roll < self.error_rate:
            return Injected.ERROR
        if roll < self.error_rate + self.throttle_rate:
            return Injected.THROTTLE
        return None

    def coin(self, probability: float) -> bool:
        """A seeded yes/no with the given probability (for simulator-specific choices)."""
        if probability <= 0:
            return False
        return self._rng.random() < probability

    def drop_notification(self) -> bool:
        return self.coin(self.drop_notification_rate)

    def randint(self, low: int, high: int) -> int:
        return self._rng.randint(low, high)

    def delay_s(self) -> float:
        extra = self._rng.uniform(0, self.latency_jitter_s) if self.latency_jitter_s > 0 else 0.0
        return max(0.0, self.latency_s) + extra

    async def delay(self) -> None:
        seconds = self.delay_s()
        if seconds > 0:
            await asyncio.sleep(seconds)

    def channel_ttl_s(self, requested_s: float) -> float:
        if self.channel_ttl_override_s is None:
            return requested_s
        return min(requested_s, self.channel_ttl_override_s)
