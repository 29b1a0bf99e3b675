"""``bench.failover`` in its smallest configuration: two replicas on a throwaway PostgreSQL, six
calendars, a few seconds of edits, one replica killed (then started again) and the other stopped
cleanly. No meeting is made twice, no keyword event is lost, and no device request to a live
replica fails. Short leases (5 s) keep it well under a minute."""

from __future__ import annotations

import os

import pytest
from bench import failover
from bench._postgres import find_bin_dir

pytestmark = pytest.mark.slow


async def test_failover_keeps_every_meeting_once_and_every_list_served() -> None:
    if find_bin_dir() is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) not found"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the failover benchmark: {reason}")
        pytest.skip(reason)
    params = failover.parse_args(["--quick", "--lease-seconds", "5", "--settle-timeout", "60"])

    result = await failover.run_async(params)

    assert result["duplicate_meetings"] == 0, result
    assert result["lost_keyword_events"] == 0, result
    assert result["stale_events"] == 0, result
    assert result["endpoint_errors"] == 0, result["endpoint_error_samples"]
    assert result["takeover_calendars_not_served"] == 0, result
    assert result["handover_calendars_not_served"] == 0, result
    assert result["takeover_seconds"] is not None
    assert result["takeover_seconds"] <= failover.TARGET_TAKEOVER_SECONDS
    assert result["stop_exit_code"] == 0
