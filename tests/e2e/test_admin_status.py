"""The daemon serves the status document to admins holding the token, live figures included."""

from __future__ import annotations

import secrets
from pathlib import Path

import aiohttp
from tests.e2e.harness import start_harness


async def test_the_daemon_serves_the_status_document_to_the_admin(
    tmp_path: Path, sa_info: dict[str, str]
) -> None:
    token = secrets.token_urlsafe(32)
    token_file = tmp_path / "admin-token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    h = await start_harness(
        tmp_path, sa_info, settings={"daemon": {"admin_token_file": str(token_file)}}
    )
    try:
        url = f"{h.daemon.base_url}/admin/v1/status"
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as refused:
                assert refused.status == 401
            async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
                assert response.status == 200
                body = await response.json()
        assert body["calendars"]["active"] == 3
        assert body["sweep"]["synced"] == 3
        assert body["daemon"]["first_sweep_running"] is False
        assert body["daemon"]["replica"] == "solo"
        await h.daemon.jobs.gauges()
        assert h.metric("hybridcal_sweep_calendars_remaining") == 0
    finally:
        await h.close()
