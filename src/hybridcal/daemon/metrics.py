"""The daemon's Prometheus metrics, in a registry of their own.

Each :class:`Metrics` owns a private ``CollectorRegistry`` instead of the library's global one, so
tests and several daemons in one process never collide over metric names. Callers use the small
recording methods below (they keep label names in one place); the metric objects stay reachable as
attributes for anything more unusual.
"""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from hybridcal.core.model import CalendarState, Provider

if TYPE_CHECKING:
    from collections.abc import Mapping

NAMESPACE = "hybridcal"


class WebhookOutcome(StrEnum):
    ACCEPTED = "accepted"
    FORBIDDEN = "forbidden"
    UNKNOWN_CHANNEL = "unknown_channel"
    TOO_LARGE = "too_large"
    BAD_REQUEST = "bad_request"


class SyncOutcome(StrEnum):
    OK = "ok"
    CURSOR_EXPIRED = "cursor_expired"  # the provider refused the cursor: full resync follows
    THROTTLED = "throttled"
    ERROR = "error"


class PatchOutcome(StrEnum):
    OK = "ok"
    CONFLICT = "conflict"  # If-Match failed: re-read and re-planned
    GONE = "gone"  # the event was deleted meanwhile
    ERROR = "error"


class MeetingOperation(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class RenewalOutcome(StrEnum):
    OK = "ok"
    ERROR = "error"


# Syncs take from tens of milliseconds (nothing changed) to minutes (a full window resync).
SYNC_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
# Endpoint answers are expected in single-digit milliseconds.
ENDPOINT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_ENDPOINT_STATUSES = ("200", "304", "400", "401", "500")


class Metrics:
    def __init__(self, *, process_metrics: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        if process_metrics:
            # CPU, memory and file descriptors of this process (Linux /proc; empty elsewhere).
            ProcessCollector(registry=self.registry)
        r = self.registry
        ns = NAMESPACE
        self.webhook_notifications = Counter(
            "webhook_notifications",
            "Push notifications received, by provider and how they were handled.",
            ["provider", "outcome"],
            namespace=ns,
            registry=r,
        )
        self.syncs = Counter(
            "syncs", "Calendar sync rounds, by provider and outcome.",
            ["provider", "outcome"], namespace=ns, registry=r,
        )  # fmt: skip
        self.sync_duration = Histogram(
            "sync_duration_seconds", "Duration of one calendar sync round.",
            ["provider"], namespace=ns, registry=r, buckets=SYNC_BUCKETS,
        )  # fmt: skip
        self.events_processed = Counter(
            "events_processed", "Changed events read from a provider and planned.",
            ["provider"], namespace=ns, registry=r,
        )  # fmt: skip
        self.provider_api_calls = Counter(
            "provider_api_calls", "Requests sent to calendar and meeting systems.",
            ["provider", "method"], namespace=ns, registry=r,
        )  # fmt: skip
        self.meetings = Counter(
            "meetings", "Meetings created, updated or deleted in a meeting system.",
            ["system", "operation"], namespace=ns, registry=r,
        )  # fmt: skip
        self.event_patches = Counter(
            "event_patches", "Calendar event patches (join block and marker), by outcome.",
            ["outcome"], namespace=ns, registry=r,
        )  # fmt: skip
        self.echo_writes_avoided = Counter(
            "echo_writes_avoided", "Notifications of our own patches that needed no write.",
            namespace=ns, registry=r,
        )  # fmt: skip
        self.calendars = Gauge(
            "calendars", "Enabled calendars by state.",
            ["state"], namespace=ns, registry=r,
        )  # fmt: skip
        self.channel_renewals = Counter(
            "channel_renewals", "Push channel / subscription renewals, by provider and outcome.",
            ["provider", "outcome"], namespace=ns, registry=r,
        )  # fmt: skip
        self.cache_rows = Gauge(
            "cache_rows", "Rows in the encrypted meeting cache.", namespace=ns, registry=r
        )
        self.store_integrity_errors = Counter(
            "store_integrity_errors",
            "Cache rows that failed authentication (tampered, swapped or unknown key).",
            namespace=ns,
            registry=r,
        )
        self._endpoint_by_status: dict[int, Any] = {}
        self.endpoint_requests = Counter(
            "endpoint_requests", "Endpoint (device) API answers, by HTTP status.",
            ["status"], namespace=ns, registry=r,
        )  # fmt: skip
        self.endpoint_latency = Histogram(
            "endpoint_request_duration_seconds", "Time to answer one endpoint API request.",
            namespace=ns, registry=r, buckets=ENDPOINT_BUCKETS,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "queue_depth", "Calendars waiting in the sync queue.", namespace=ns, registry=r
        )
        self.calendars_in_trouble = Gauge(
            "calendars_in_trouble",
            "Calendars whose sync round keeps failing (see `hybridcal users show`).",
            namespace=ns,
            registry=r,
        )
        self.event_faults = Gauge(
            "event_faults",
            "Events that could not be handled and wait for their retry (one bad event never"
            " stops its calendar).",
            namespace=ns,
            registry=r,
        )
        self.quarantined_rows = Gauge(
            "quarantined_rows",
            "Stored rows that failed to decrypt, moved aside and rebuilt from the provider.",
            namespace=ns,
            registry=r,
        )
        self.sweep_synced = Gauge(
            "sweep_calendars_synced",
            "Calendars synced (active, with a cursor and a live channel).",
            namespace=ns,
            registry=r,
        )
        self.sweep_remaining = Gauge(
            "sweep_calendars_remaining",
            "Calendars the sweep has still to sync (neither synced nor in error); 0 when the"
            " first sweep is done.",
            namespace=ns,
            registry=r,
        )
        self.channels_expiring = Gauge(
            "channels_expiring",
            "Live push channels / subscriptions expiring within a day (renewed ahead of time:"
            " a count that stays up means renewals fail).",
            namespace=ns,
            registry=r,
        )
        self._integrity_seen = 0
        self._integrity_lock = threading.Lock()
        self._initialise_series()

    def _initialise_series(self) -> None:
        """Export known label combinations as 0 so that rate() and alerts work from the start."""
        for provider in Provider:
            for w in WebhookOutcome:
                self.webhook_notifications.labels(provider=provider.value, outcome=w.value)
            for s in SyncOutcome:
                self.syncs.labels(provider=provider.value, outcome=s.value)
            for o in RenewalOutcome:
                self.channel_renewals.labels(provider=provider.value, outcome=o.value)
            self.events_processed.labels(provider=provider.value)
        for p in PatchOutcome:
            self.event_patches.labels(outcome=p.value)
        for state in CalendarState:
            self.calendars.labels(state=state.value)
        for status in _ENDPOINT_STATUSES:
            self.endpoint_requests.labels(status=status)

    # -- recording -------------------------------------------------------------------------------
    def webhook(self, provider: str, outcome: str, count: int = 1) -> None:
        self.webhook_notifications.labels(provider=provider, outcome=outcome).inc(count)

    def sync(self, provider: str, outcome: str, seconds: float) -> None:
        self.syncs.labels(provider=provider, outcome=outcome).inc()
        self.sync_duration.labels(provider=provider).observe(seconds)

    def events(self, provider: str, count: int = 1) -> None:
        self.events_processed.labels(provider=provider).inc(count)

    def provider_call(self, provider: str, method: str) -> None:
        self.provider_api_calls.labels(provider=provider, method=method).inc()

    def meeting(self, system: str, operation: str) -> None:
        self.meetings.labels(system=system, operation=operation).inc()

    def patch(self, outcome: str) -> None:
        self.event_patches.labels(outcome=outcome).inc()

    def echo_avoided(self) -> None:
        self.echo_writes_avoided.inc()

    def set_calendars(self, counts: Mapping[CalendarState, int]) -> None:
        """Set every state's gauge; states missing from ``counts`` go to 0."""
        for state in CalendarState:
            self.calendars.labels(state=state.value).set(counts.get(state, 0))

    def set_sweep(self, *, synced: int, remaining: int) -> None:
        """From ``status.overview()``: ``synced`` and ``remaining`` of ``CalendarOverview``."""
        self.sweep_synced.set(synced)
        self.sweep_remaining.set(remaining)

    def set_channels_expiring(self, count: int) -> None:
        """From ``status.overview()``: ``channels_expiring``."""
        self.channels_expiring.set(count)

    def renewal(self, provider: str, outcome: str) -> None:
        self.channel_renewals.labels(provider=provider, outcome=outcome).inc()

    def set_cache_rows(self, count: int) -> None:
        self.cache_rows.set(count)

    def set_faults(self, *, calendars_in_trouble: int, event_faults: int, quarantined: int) -> None:
        self.calendars_in_trouble.set(calendars_in_trouble)
        self.event_faults.set(event_faults)
        self.quarantined_rows.set(quarantined)

    def observe_integrity_errors(self, total_since_start: int) -> None:
        """Feed the store's running total (``Store.integrity_errors``); only growth is counted."""
        with self._integrity_lock:
            delta = total_since_start - self._integrity_seen
            if delta > 0:
                self.store_integrity_errors.inc(delta)
                self._integrity_seen = total_since_start

    def endpoint_request(self, status: int, seconds: float) -> None:
        counter = self._endpoint_by_status.get(status)
        if counter is None:  # label lookups cost more than the increment on the hot path
            counter = self._endpoint_by_status[status] = self.endpoint_requests.labels(
                status=str(status)
            )
        counter.inc()
        self.endpoint_latency.observe(seconds)

    def set_queue_depth(self, depth: int) -> None:
        """Fits ``CalendarQueue(on_depth=...)``."""
        self.queue_depth.set(depth)

    # -- exposition ------------------------------------------------------------------------------
    def render(self) -> tuple[bytes, str]:
        """The ``/metrics`` body in the text exposition format, and its Content-Type header."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
