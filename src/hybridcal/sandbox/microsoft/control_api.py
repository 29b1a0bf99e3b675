"""A small JSON control panel for people trying the demo with curl (loopback only, no auth).

- ``GET    /_control/mailboxes``                          users and rooms
- ``POST   /_control/mailboxes/{email}/events``           body: Graph event JSON → a person creates
- ``GET    /_control/mailboxes/{email}/events``           the mailbox's events (masters, singles)
- ``GET    /_control/mailboxes/{email}/events/{id}``      one event as that mailbox sees it
- ``PATCH  /_control/mailboxes/{email}/events/{id}``      body: changes → a person edits it
- ``DELETE /_control/mailboxes/{email}/events/{id}``      a person deletes it
- ``GET    /_control/subscriptions``                      live subscriptions
- ``POST   /_control/subscriptions/{id}/lifecycle``       body ``{"event": "missed"}``
- ``GET    /_control/stats``                              counters
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hybridcal.sandbox.microsoft.errors import GraphError

if TYPE_CHECKING:
    from hybridcal.sandbox.microsoft.app import GraphSimulator


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data, indent=2), content_type="application/json"
    )


def _guarded(action: Callable[[], Any], status: int = 200) -> web.Response:
    try:
        result = action()
    except GraphError as exc:
        return _json(exc.body(), exc.status)
    except (KeyError, ValueError) as exc:
        return _json({"error": {"code": "BadRequest", "message": str(exc)}}, 400)
    if result is None:
        return web.Response(status=204)
    return _json(result, status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body must be JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


def control_routes(sim: GraphSimulator) -> list[web.RouteDef]:
    async def mailboxes(_request: web.Request) -> web.Response:
        rows = [
            {"id": m.id, "email": m.email, "name": m.name, "kind": m.kind, "timeZone": m.timezone}
            for m in sim._directory.all()  # noqa: SLF001 - the simulator's own panel
        ]
        return _json(rows)

    async def create(request: web.Request) -> web.Response:
        body = await _body(request)
        return _guarded(lambda: sim.person_create(request.match_info["email"], body), 201)

    async def list_events(request: web.Request) -> web.Response:
        return _guarded(lambda: sim.list_events(request.match_info["email"]))

    async def get_event(request: web.Request) -> web.Response:
        found = sim.get_event(request.match_info["email"], request.match_info["event_id"])
        if found is None:
            return _json({"error": {"code": "ErrorItemNotFound", "message": "not found"}}, 404)
        return _json(found)

    async def patch_event(request: web.Request) -> web.Response:
        body = await _body(request)
        email, event_id = request.match_info["email"], request.match_info["event_id"]
        return _guarded(lambda: sim.person_update(email, event_id, body))

    async def delete_event(request: web.Request) -> web.Response:
        email, event_id = request.match_info["email"], request.match_info["event_id"]
        return _guarded(lambda: sim.person_delete(email, event_id))

    async def subscriptions(_request: web.Request) -> web.Response:
        return _json(sim.subscriptions())

    async def lifecycle(request: web.Request) -> web.Response:
        body = await _body(request)
        sub_id = request.match_info["sub_id"]
        return _guarded(lambda: sim.send_lifecycle(sub_id, str(body.get("event", ""))))

    async def stats(_request: web.Request) -> web.Response:
        return _json(
            {
                "teams_meetings_created": sim.teams_meetings_created,
                "notifications_sent": sim.notifications_sent,
                "notifications_dropped": sim.notifications_dropped,
                "notifications_failed": sim.notifications_failed,
                "requests": len(sim.request_log),
            }
        )

    return [
        web.get("/_control/mailboxes", mailboxes),
        web.post("/_control/mailboxes/{email}/events", create),
        web.get("/_control/mailboxes/{email}/events", list_events),
        web.get("/_control/mailboxes/{email}/events/{event_id}", get_event),
        web.patch("/_control/mailboxes/{email}/events/{event_id}", patch_event),
        web.delete("/_control/mailboxes/{email}/events/{event_id}", delete_event),
        web.get("/_control/subscriptions", subscriptions),
        web.post("/_control/subscriptions/{sub_id}/lifecycle", lifecycle),
        web.get("/_control/stats", stats),
    ]
