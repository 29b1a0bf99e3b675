"""The /_control/ panel for demos with curl."""

from __future__ import annotations

from tests.sandbox.graph_support import ALICE, BOB, graph_env, timed


async def test_control_panel_round_trip() -> None:
    async with graph_env() as env:
        base = f"{env.sim.base_url}/_control"
        async with env.session.get(f"{base}/mailboxes") as resp:
            assert {m["email"] for m in await resp.json()} >= {ALICE, BOB}
        body = {
            "subject": "Demo @teams",
            "attendees": [{"emailAddress": {"address": BOB}}],
            **timed("2026-12-02T10:00:00", "2026-12-02T11:00:00"),
        }
        async with env.session.post(f"{base}/mailboxes/{ALICE}/events", json=body) as resp:
            assert resp.status == 201
            created = await resp.json()
        url = f"{base}/mailboxes/{ALICE}/events/{created['id']}"
        async with env.session.patch(url, json={"subject": "Renamed"}) as resp:
            assert (await resp.json())["subject"] == "Renamed"
        async with env.session.patch(url, json={"id": "x"}) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"]["code"] == "ErrorInvalidPropertyUpdateSentToServer"
        async with env.session.get(f"{base}/mailboxes/{BOB}/events") as resp:
            assert [e["subject"] for e in await resp.json()] == ["Renamed"]
        async with env.session.delete(url) as resp:
            assert resp.status == 204
        async with env.session.get(url) as resp:
            assert resp.status == 404
        async with env.session.get(f"{base}/stats") as resp:
            assert (await resp.json())["teams_meetings_created"] == 0
