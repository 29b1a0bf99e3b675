"""Lifecycle notifications that Graph sends on its own schedule, not when a test asks.

In production ``reauthorizationRequired`` arrives unprompted and often (access token lifetimes,
policy evaluation), ``subscriptionRemoved`` whenever Exchange drops a subscription, and
``missed`` whenever notifications were lost. :class:`LifecycleSchedule` makes the simulator do
the same, seeded, while it runs:

- ``reauthorizationRequired``: the subscription's change-notification flow stops until the app
  reauthorizes it (here: a PATCH of the subscription, which also renews it). Changes meanwhile
  are **not** delivered and no ``missed`` follows, so an app that only extends the subscription
  loses them: it must also read what changed (a delta round) once the flow resumes.
- ``subscriptionRemoved``: the subscription is gone (404 from then on); the app must create a
  new one and resync.
- ``missed``: the notifications of the subscription's next change are lost, then ``missed`` is
  sent; the app must resync.

Each tick, every live subscription with a lifecycle URL rolls once for each event, with the
probability that makes the configured mean interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass

from hybridcal.sandbox.microsoft.subscriptions import Subscription, SubscriptionService


@dataclass(frozen=True)
class LifecycleSchedule:
    """Mean seconds between events per subscription (None: never)."""

    reauthorize_every_s: float | None = None
    remove_every_s: float | None = None
    miss_every_s: float | None = None
    tick_s: float = 0.1
    seed: int = 0
    for_s: float | None = None  # stop sending after this long (None: until stopped)


class LifecycleTicker:
    def __init__(
        self,
        subscriptions: SubscriptionService,
        send: Callable[[Subscription, str], None],
    ) -> None:
        self._subs = subscriptions
        self._send = send
        self._task: asyncio.Task[None] | None = None
        # sent directly; `missed` follows a real loss and is counted by the notifier
        self.sent: dict[str, int] = {"reauthorizationRequired": 0, "subscriptionRemoved": 0}

    def start(self, schedule: LifecycleSchedule | None) -> None:
        self.stop()
        if schedule is not None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(schedule), name="graph-lifecycle"
            )

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, schedule: LifecycleSchedule) -> None:
        rng = random.Random(schedule.seed)  # noqa: S311 - simulation
        events = (
            ("subscriptionRemoved", schedule.remove_every_s),
            ("missed", schedule.miss_every_s),
            ("reauthorizationRequired", schedule.reauthorize_every_s),
        )
        loop = asyncio.get_running_loop()
        until = None if schedule.for_s is None else loop.time() + schedule.for_s
        while until is None or loop.time() < until:
            await asyncio.sleep(schedule.tick_s)
            self._subs.purge()
            for sub in list(self._subs.subscriptions.values()):
                if sub.lifecycle_url is None:
                    continue
                for event, every in events:
                    if every is None or rng.random() >= schedule.tick_s / every:
                        continue
                    if event == "missed":
                        sub.lose_next = True  # the notifier sends `missed` when it drops them
                    elif event != "reauthorizationRequired" or not sub.reauthorization_pending:
                        self.sent[event] += 1
                        self._send(sub, event)
                    if event == "subscriptionRemoved":
                        break  # nothing more happens to a removed subscription
