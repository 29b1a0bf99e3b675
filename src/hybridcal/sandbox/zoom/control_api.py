"""A tiny JSON control panel for people trying the demo with curl (loopback only, no auth).

- ``GET  /_control/users``                          the account's users
- ``POST /_control/users``                          body ``{email, first_name?, last_name?,
  type?, status?, timezone?}`` → the new user
- ``POST /_control/apps``                           body ``{scopes?: [...]}`` → a new S2S app
  (with its secret: this panel is for a local demo)
- ``POST /_control/apps/{client_id}/revoke``        the app's tokens stop working
- ``POST /_control/privileges``                     body ``{assistant, for}``
- ``PUT  /_control/password_requirement``           body ``{user?, length?, have_letter?, ...}``
- ``PUT  /_control/meeting_security``               body ``{user?, waiting_room?, ...}``
- ``PUT  /_control/dial_in_numbers``                body ``[{country, country_name, city,
  number, type}]``
- ``GET  /_control/meetings[?host=EMAIL&include_deleted=true]``
- ``GET  /_control/meetings/{id}``
- ``GET  /_control/stats``                          counters

Control requests are not in the request log and take no faults, limits or hooks.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from hybridcal.sandbox.zoom.app import ZoomSimulator


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data, indent=2), content_type="application/json"
    )


async def _body(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body must be JSON") from None


async def _object(request: web.Request) -> dict[str, Any]:
    data = await _body(request)
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


def _guarded(action: Callable[[], Any], status: int = 200) -> web.Response:
    try:
        return _json(action(), status)
    except (KeyError, ValueError, TypeError) as exc:
        return _json({"error": str(exc)}, 400)


def routes(sim: ZoomSimulator) -> list[web.RouteDef]:
    async def list_users(_request: web.Request) -> web.Response:
        return _json(sim.users())

    async def add_user(request: web.Request) -> web.Response:
        body = await _object(request)
        email = str(body.pop("email", ""))
        return _guarded(lambda: sim.add_user(email, **body), 201)

    async def create_app(request: web.Request) -> web.Response:
        body = await _object(request) if request.can_read_body else {}
        scopes = body.get("scopes")
        return _guarded(lambda: dataclasses.asdict(sim.create_app(scopes)), 201)

    async def revoke_app(request: web.Request) -> web.Response:
        client_id = request.match_info["client_id"]

        def revoke() -> dict[str, Any]:
            sim.revoke_app(client_id)
            return {"revoked": client_id}

        return _guarded(revoke)

    async def privilege(request: web.Request) -> web.Response:
        body = await _object(request)

        def grant() -> dict[str, Any]:
            sim.grant_scheduling_privilege(str(body["assistant"]), str(body["for"]))
            return {"granted": True}

        return _guarded(grant)

    async def password_requirement(request: web.Request) -> web.Response:
        body = await _object(request)
        user = body.pop("user", None)

        def apply() -> dict[str, Any]:
            sim.set_password_requirement(user=user, **body)
            return {"updated": True}

        return _guarded(apply)

    async def meeting_security(request: web.Request) -> web.Response:
        body = await _object(request)
        user = body.pop("user", None)

        def apply() -> dict[str, Any]:
            sim.set_meeting_security(user=user, **body)
            return {"updated": True}

        return _guarded(apply)

    async def dial_in(request: web.Request) -> web.Response:
        numbers = await _body(request)
        if not isinstance(numbers, list) or not all(isinstance(n, dict) for n in numbers):
            return _json({"error": "body must be a list of objects"}, 400)

        def apply() -> dict[str, Any]:
            sim.set_dial_in_numbers(numbers)
            return {"numbers": len(numbers)}

        return _guarded(apply)

    async def meetings(request: web.Request) -> web.Response:
        host = request.query.get("host")
        deleted = request.query.get("include_deleted") == "true"
        return _guarded(lambda: sim.meetings(host, include_deleted=deleted))

    async def meeting(request: web.Request) -> web.Response:
        found = sim.meeting(request.match_info["meeting_id"])
        return _json(found) if found is not None else _json({"error": "not found"}, 404)

    async def stats(_request: web.Request) -> web.Response:
        return _json(
            {
                "tokens_issued": sim.tokens_issued,
                "requests": len(sim.request_log),
                "meetings": len(sim.meetings()),
            }
        )

    return [
        web.get("/_control/users", list_users),
        web.post("/_control/users", add_user),
        web.post("/_control/apps", create_app),
        web.post("/_control/apps/{client_id}/revoke", revoke_app),
        web.post("/_control/privileges", privilege),
        web.put("/_control/password_requirement", password_requirement),
        web.put("/_control/meeting_security", meeting_security),
        web.put("/_control/dial_in_numbers", dial_in),
        web.get("/_control/meetings", meetings),
        web.get("/_control/meetings/{meeting_id}", meeting),
        web.get("/_control/stats", stats),
    ]
