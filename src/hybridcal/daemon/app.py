"""The daemon's HTTP surface: provider webhooks, the endpoint API, health and metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from hybridcal.daemon.endpoint_api import EndpointApi, add_endpoint_routes
from hybridcal.daemon.graph_webhook import GraphWebhook
from hybridcal.daemon.http_guard import HttpGuard, HttpLimits
from hybridcal.daemon.webhooks import GoogleWebhook

if TYPE_CHECKING:
    from hybridcal.daemon.service import Daemon


def build_app(
    daemon: Daemon, google: GoogleWebhook, graph: GraphWebhook | None = None
) -> web.Application:
    s = daemon.settings
    app = web.Application(client_max_size=s.daemon.max_webhook_body_bytes)
    assert daemon.store is not None
    # timeouts, connection and per-client caps, security headers; served by http_guard.serve
    guard = HttpGuard(HttpLimits.from_settings(s.daemon))
    guard.install(app)
    guard.register(daemon.metrics.registry)
    app.router.add_post("/webhooks/google", google.handle)
    if graph is not None:
        app.router.add_post("/webhooks/microsoft", graph.handle)
        app.router.add_post("/webhooks/microsoft/lifecycle", graph.handle_lifecycle)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(_request: web.Request) -> web.Response:
        queue = daemon.queue
        ok = daemon.ready and queue is not None and queue.healthy()
        faults = daemon.faults
        body = {
            "status": "ready" if ok else "not ready",
            "queue_depth": queue.depth if queue else 0,
            # ready all the same: one calendar's trouble must not take the others' lists away
            "calendars_in_trouble": faults.troubled_calendars() if faults else 0,
            "event_faults": faults.event_faults() if faults else 0,
        }
        return web.json_response(body, status=200 if ok else 503)

    async def metrics(_request: web.Request) -> web.Response:
        body, content_type = daemon.metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    add_endpoint_routes(
        app,
        EndpointApi(
            store=daemon.store,
            metrics=daemon.metrics,
            now=daemon.now,
            obtp_lead_minutes=s.endpoint.obtp_lead_minutes,
            hide_tentative=s.endpoint.hide_tentative,
            hide_private_titles=s.endpoint.hide_private_titles,
            max_window_days=s.endpoint.max_window_days,
            window_past_days=s.window.past_days,
            window_future_days=s.window.future_days,
        ),
    )
    return app
