"""A tiny JSON control panel for people trying the demo with curl (loopback only, no auth).

- ``GET  /_control/users``                 the site's users
- ``POST /_control/users``                 ``{email, licensed?, timezone?, personal_room?,
  display_name?}`` → the new user
- ``POST /_control/tokens``                the admin authorises the Service App: client id and
  secret, access and refresh token (this panel is for a local demo)
- ``POST /_control/revoke``                the authorisation is removed
- ``GET  /_control/meetings[?host=EMAIL&include_deleted=true]``
- ``GET  /_control/stats``                 requests by operation

Control requests are not in the request log and take no faults, limits or hooks.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from hybridcal.sandbox.webex.app import WebexSimulator


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data, indent=2), content_type="application/json"
    )


def routes(sim: WebexSimulator) -> list[web.RouteDef]:
    async def list_users(_request: web.Request) -> web.Response:
        return _json(sim.users())

    async def add_user(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _json({"error": "body must be JSON"}, 400)
        if not isinstance(body, dict):
            return _json({"error": "body must be a JSON object"}, 400)
        email = str(body.pop("email", ""))
        try:
            return _json(sim.add_user(email, **body), 201)
        except (KeyError, ValueError, TypeError) as exc:
            return _json({"error": str(exc)}, 400)

    async def tokens(_request: web.Request) -> web.Response:
        client_id, secret, access, refresh = sim.issue_service_app_tokens()
        return _json(
            {
                "client_id": client_id,
                "client_secret": secret,
                "access_token": access,
                "refresh_token": refresh,
            },
            201,
        )

    async def revoke(_request: web.Request) -> web.Response:
        sim.revoke()
        return _json({"revoked": True})

    async def meetings(request: web.Request) -> web.Response:
        host = request.query.get("host")
        deleted = request.query.get("include_deleted") == "true"
        return _json(sim.meetings(host, include_deleted=deleted))

    async def stats(_request: web.Request) -> web.Response:
        return _json(
            {
                "tokens_issued": sim.tokens_issued,
                "requests": len(sim.request_log),
                "operations": dict(sim.operations()),
                "meetings": len(sim.meetings()),
            }
        )

    return [
        web.get("/_control/users", list_users),
        web.post("/_control/users", add_user),
        web.post("/_control/tokens", tokens),
        web.post("/_control/revoke", revoke),
        web.get("/_control/meetings", meetings),
        web.get("/_control/stats", stats),
    ]
