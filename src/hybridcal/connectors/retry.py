"""Backoff shared by every connector: exponential with jitter, or the server's Retry-After."""

from __future__ import annotations

from tenacity import RetryCallState
from tenacity.wait import wait_random_exponential

from hybridcal.connectors.errors import ThrottledError

_exponential = wait_random_exponential(multiplier=0.5, max=30)
MAX_RETRY_AFTER = 120.0


def wait_for_retry(state: RetryCallState) -> float:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    if isinstance(error, ThrottledError) and error.retry_after is not None:
        return min(error.retry_after, MAX_RETRY_AFTER)
    return float(_exponential(state))
