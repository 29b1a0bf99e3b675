"""The daemon's metrics: own registry, recording helpers, exposition."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from hybridcal.core.model import CalendarState
from hybridcal.daemon.metrics import Metrics, PatchOutcome, WebhookOutcome


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = metrics.render()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, tuple(sorted(labels.items())))]


def test_render_gives_the_text_format_and_its_content_type() -> None:
    body, content_type = Metrics(process_metrics=False).render()
    assert content_type.startswith("text/plain")
    assert b"# TYPE hybridcal_syncs_total counter" in body


def test_every_metric_family_is_exported() -> None:
    body = Metrics(process_metrics=False).render()[0].decode()
    names = {f.name for f in text_string_to_metric_families(body)}
    assert names >= {
        "hybridcal_webhook_notifications",
        "hybridcal_syncs",
        "hybridcal_sync_duration_seconds",
        "hybridcal_events_processed",
        "hybridcal_provider_api_calls",
        "hybridcal_meetings",
        "hybridcal_event_patches",
        "hybridcal_echo_writes_avoided",
        "hybridcal_calendars",
        "hybridcal_channel_renewals",
        "hybridcal_cache_rows",
        "hybridcal_store_integrity_errors",
        "hybridcal_endpoint_requests",
        "hybridcal_endpoint_request_duration_seconds",
        "hybridcal_queue_depth",
    }


def test_known_label_combinations_start_at_zero() -> None:
    m = Metrics(process_metrics=False)
    for outcome in WebhookOutcome:
        name = "hybridcal_webhook_notifications_total"
        assert value(m, name, provider="microsoft", outcome=outcome.value) == 0
    for patch in PatchOutcome:
        assert value(m, "hybridcal_event_patches_total", outcome=patch.value) == 0


def test_recording_helpers() -> None:
    m = Metrics(process_metrics=False)
    m.webhook("google", WebhookOutcome.FORBIDDEN)
    m.sync("google", "ok", 0.3)
    m.sync("google", "ok", 4.0)
    m.events("microsoft", 3)
    m.provider_call("zoom", "create_meeting")
    m.meeting("zoom", "create")
    m.meeting("zoom", "create")
    m.patch("conflict")
    m.echo_avoided()
    m.renewal("google", "error")
    m.set_cache_rows(1234)
    m.set_queue_depth(7)
    m.endpoint_request(304, 0.002)
    assert value(m, "hybridcal_webhook_notifications_total", provider="google", outcome="forbidden")
    assert value(m, "hybridcal_syncs_total", provider="google", outcome="ok") == 2
    assert value(m, "hybridcal_sync_duration_seconds_count", provider="google") == 2
    assert value(m, "hybridcal_sync_duration_seconds_sum", provider="google") == 4.3
    assert value(m, "hybridcal_sync_duration_seconds_bucket", provider="google", le="0.5") == 1
    assert value(m, "hybridcal_events_processed_total", provider="microsoft") == 3
    assert value(m, "hybridcal_provider_api_calls_total", provider="zoom", method="create_meeting")
    assert value(m, "hybridcal_meetings_total", system="zoom", operation="create") == 2
    assert value(m, "hybridcal_event_patches_total", outcome="conflict") == 1
    assert value(m, "hybridcal_echo_writes_avoided_total") == 1
    assert value(m, "hybridcal_channel_renewals_total", provider="google", outcome="error") == 1
    assert value(m, "hybridcal_cache_rows") == 1234
    assert value(m, "hybridcal_queue_depth") == 7
    assert value(m, "hybridcal_endpoint_requests_total", status="304") == 1
    assert value(m, "hybridcal_endpoint_request_duration_seconds_bucket", le="0.0025") == 1
    assert value(m, "hybridcal_endpoint_request_duration_seconds_bucket", le="0.001") == 0


def test_calendar_states_are_set_together() -> None:
    m = Metrics(process_metrics=False)
    m.set_calendars({CalendarState.ACTIVE: 10, CalendarState.ERROR: 2})
    m.set_calendars({CalendarState.ACTIVE: 11})
    assert value(m, "hybridcal_calendars", state="active") == 11
    assert value(m, "hybridcal_calendars", state="error") == 0
    assert value(m, "hybridcal_calendars", state="pending") == 0


def test_integrity_errors_count_growth_of_the_store_total() -> None:
    m = Metrics(process_metrics=False)
    for total in (0, 2, 2, 5, 5):
        m.observe_integrity_errors(total)
    assert value(m, "hybridcal_store_integrity_errors_total") == 5


def test_instances_do_not_share_a_registry() -> None:
    first, second = Metrics(), Metrics()  # would raise "Duplicated timeseries" on a shared one
    first.patch("ok")
    assert value(first, "hybridcal_event_patches_total", outcome="ok") == 1
    assert value(second, "hybridcal_event_patches_total", outcome="ok") == 0


def test_process_metrics_are_optional() -> None:
    with_process = Metrics(process_metrics=True).render()[0]
    without = Metrics(process_metrics=False).render()[0]
    assert b"process_" not in without
    assert b"hybridcal_" in with_process
