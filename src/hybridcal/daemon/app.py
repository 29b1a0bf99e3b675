"""The daemon's HTTP surface: provider webhooks, the endpoint API, health and metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from hybridcal.cluster.base import Coordinator
from hybridcal.config.settings import Settings
from hybridcal.daemon.admin_api import add_admin_routes
from hybridcal.daemon.booking_api import BookingParts, add_booking_routes
from hybridcal.daemon.endpoint_api import EndpointApi, add_endpoint_routes
from hybridcal.daemon.faults import FaultBook
from hybridcal.daemon.graph_webhook import GraphWebhook
from hybridcal.daemon.http_guard import HttpGuard, HttpLimits
from hybridcal.daemon.metrics import Metrics
from hybridcal.daemon.webhooks import GoogleWebhook
from hybridcal.daemon.work_queue import CalendarQueue
from hybridcal.store.base import Store


@dataclass(frozen=True, slots=True)
class AppParts:
    """What the HTTP surface works with (not the whole daemon)."""

    settings: Settings
    store: Store
    metrics: Metrics
    queue: CalendarQueue
    faults: FaultBook
    coordinator: Coordinator
    google: GoogleWebhook
    graph: GraphWebhook | None
    ready: Callable[[], bool]  # the daemon has started and is not stopping
    now: Callable[[], datetime]
    status: Callable[[], Awaitable[dict[str, Any]]]  # the admin API's status document
    admin_token_hash: bytes | None  # None: no admin API
    booking: BookingParts | None = None  # room systems booking their own room; None: off


def build_app(p: AppParts) -> web.Application:
    s = p.settings
    app = web.Application(client_max_size=s.daemon.max_webhook_body_bytes)
    # timeouts, connection and per-client caps, security headers; served by http_guard.serve
    guard = HttpGuard(HttpLimits.from_settings(s.daemon))
    guard.install(app)
    guard.register(p.metrics.registry)
    app.router.add_post("/webhooks/google", p.google.handle)
    if p.graph is not None:
        app.router.add_post("/webhooks/microsoft", p.graph.handle)
        app.router.add_post("/webhooks/microsoft/lifecycle", p.graph.handle_lifecycle)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(_request: web.Request) -> web.Response:
        cluster = p.coordinator.view()
        # not ready while cut off from a shared database: the balancer sends requests elsewhere
        ok = p.ready() and p.queue.healthy() and cluster.connected
        body = {
            "status": "ready" if ok else "not ready",
            "queue_depth": p.queue.depth,
            # ready all the same: one calendar's trouble must not take the others' lists away
            "calendars_in_trouble": p.faults.troubled_calendars(),
            "event_faults": p.faults.event_faults(),
            "cluster": cluster.as_dict(),
        }
        return web.json_response(body, status=200 if ok else 503)

    async def metrics(_request: web.Request) -> web.Response:
        body, content_type = p.metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    add_admin_routes(app, status=p.status, token_hash=p.admin_token_hash)
    add_endpoint_routes(
        app,
        EndpointApi(
            store=p.store,
            metrics=p.metrics,
            now=p.now,
            obtp_lead_minutes=s.endpoint.obtp_lead_minutes,
            hide_tentative=s.endpoint.hide_tentative,
            hide_private_titles=s.endpoint.hide_private_titles,
            max_window_days=s.endpoint.max_window_days,
            window_past_days=s.window.past_days,
            window_future_days=s.window.future_days,
            attendee_names=s.endpoint.attendee_names,
            attendee_name_rooms=s.endpoint.attendee_name_rooms,
            meet_sip_gateway=s.endpoint.meet_sip_gateway,
        ),
    )
    if p.booking is not None:
        add_booking_routes(
            app,
            store=p.store,
            parts=p.booking,
            now=p.now,
            max_minutes=s.endpoint.max_booking_minutes,
            default_locale=s.render.default_locale,
        )
    return app
