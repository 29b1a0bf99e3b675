"""A tiny HTTP control panel for people trying the demo with curl (loopback only, no auth).

- ``POST   /sandbox/users/{email}/events``            body: an event → a person creates it
- ``GET    /sandbox/calendars/{cal}/events``          the calendar's live events
- ``GET    /sandbox/calendars/{cal}/events/{id}``     one event as that calendar sees it
- ``PATCH  /sandbox/calendars/{cal}/events/{id}``     body: changes → a person edits it
- ``DELETE /sandbox/calendars/{cal}/events/{id}``     a person deletes it
- ``POST   /sandbox/calendars/{cal}/replay``          body: an event exactly as events.get
                                                      returned it → that copy, verbatim
- ``GET    /sandbox/channels``                        live push channels
- ``GET    /sandbox/stats``                           counters
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hybridcal.sandbox.google.errors import ApiError

if TYPE_CHECKING:
    from hybridcal.sandbox.google.app import GoogleSimulator


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data, indent=2), content_type="application/json"
    )


def routes(sim: GoogleSimulator) -> list[web.RouteDef]:
    async def body_of(request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="body must be JSON") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        return data

    def guarded(action: Any) -> web.Response:
        try:
            return _json(action())
        except ApiError as exc:
            return _json(exc.body(), exc.code)
        except (PermissionError, KeyError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)

    async def create(request: web.Request) -> web.Response:
        body = await body_of(request)
        return guarded(lambda: sim.person_insert(request.match_info["email"], body))

    async def list_events(request: web.Request) -> web.Response:
        return guarded(lambda: sim.list_events(request.match_info["cal"]))

    async def get_event(request: web.Request) -> web.Response:
        item = sim.get(request.match_info["cal"], request.match_info["event_id"])
        return _json(item) if item is not None else _json({"error": "not found"}, 404)

    async def patch_event(request: web.Request) -> web.Response:
        body = await body_of(request)
        cal, event_id = request.match_info["cal"], request.match_info["event_id"]
        return guarded(lambda: sim.person_patch(cal, event_id, body))

    async def delete_event(request: web.Request) -> web.Response:
        cal, event_id = request.match_info["cal"], request.match_info["event_id"]
        try:
            sim.person_delete(cal, event_id)
        except ApiError as exc:
            return _json(exc.body(), exc.code)
        except (PermissionError, KeyError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        return web.Response(status=204)

    async def replay(request: web.Request) -> web.Response:
        body = await body_of(request)
        return guarded(lambda: sim.replay(request.match_info["cal"], body))

    async def channels(_request: web.Request) -> web.Response:
        return _json(sim.channels())

    async def stats(_request: web.Request) -> web.Response:
        return _json(
            {
                "conferences_created": sim.conferences_created(),
                "notifications_sent": sim.notifications_sent,
                "notifications_dropped": sim.notifications_dropped,
                "requests": len(sim.request_log),
            }
        )

    return [
        web.post("/sandbox/users/{email}/events", create),
        web.get("/sandbox/calendars/{cal}/events", list_events),
        web.get("/sandbox/calendars/{cal}/events/{event_id}", get_event),
        web.patch("/sandbox/calendars/{cal}/events/{event_id}", patch_event),
        web.delete("/sandbox/calendars/{cal}/events/{event_id}", delete_event),
        web.post("/sandbox/calendars/{cal}/replay", replay),
        web.get("/sandbox/channels", channels),
        web.get("/sandbox/stats", stats),
    ]
