"""The admin API on a bare aiohttp application: not mounted without a token, 401 with a
Bearer challenge for a missing or wrong token, the document for the right one, and the
comparison made in constant time on hashes."""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hybridcal.crypto.secret_files import SecretFileError
from hybridcal.daemon.admin_api import (
    AdminTokenError,
    add_admin_routes,
    load_token_hash,
    token_hash,
)

if TYPE_CHECKING:
    from pathlib import Path

TOKEN = secrets.token_urlsafe(32)
DOC = {"calendars": {"total": 3}, "daemon": {"queue_depth": 2, "first_sweep_running": True}}
Client = TestClient[web.Request, web.Application]


async def fake_status() -> dict[str, Any]:
    return DOC


async def client_for(hashed: bytes | None) -> Client:
    app = web.Application()
    add_admin_routes(app, status=fake_status, token_hash=hashed)
    client: Client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def test_no_token_configured_means_no_admin_api() -> None:
    client = await client_for(None)
    try:
        response = await client.get("/admin/v1/status", headers={"Authorization": "Bearer x"})
        assert response.status == 404
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, None),
        ("", None),
        ("Basic " + TOKEN, None),
        ("Bearer ", None),
        ("Bearer " + TOKEN[:-1], "invalid_token"),
        ("Bearer " + TOKEN + "x", "invalid_token"),
        ("Bearer wrong", "invalid_token"),
    ],
)
async def test_missing_or_wrong_token_is_refused(authorization: str | None, error: str) -> None:
    client = await client_for(token_hash(TOKEN))
    headers = {} if authorization is None else {"Authorization": authorization}
    try:
        response = await client.get("/admin/v1/status", headers=headers)
        assert response.status == 401
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ")
        assert ("invalid_token" in challenge) == (error is not None)
        assert "calendars" not in await response.text()
    finally:
        await client.close()


async def test_the_right_token_gets_the_document(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # admin_api calls hmac.compare_digest
    client = await client_for(token_hash(TOKEN))
    try:
        response = await client.get(
            "/admin/v1/status", headers={"Authorization": f"bearer {TOKEN}"}
        )
        assert response.status == 200
        assert await response.json() == DOC
        assert response.headers["Cache-Control"] == "no-store"
        bad = await client.get("/admin/v1/status", headers={"Authorization": "Bearer nope"})
        assert bad.status == 401
    finally:
        await client.close()
    # hashes of equal length were compared, never the token itself
    assert [len(a) for a, _ in compared] == [32, 32]
    assert all(TOKEN.encode() not in (a, b) for a, b in compared)


def write_token(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="ascii")
    path.chmod(mode)
    return path


def test_load_token_hash(tmp_path: Path) -> None:
    assert load_token_hash(None) is None
    path = write_token(tmp_path / "token", TOKEN + "\n")
    assert load_token_hash(path) == token_hash(TOKEN)
    with pytest.raises(AdminTokenError, match="at least 32"):
        load_token_hash(write_token(tmp_path / "short", "abc\n"))
    with pytest.raises(AdminTokenError, match="one word"):
        load_token_hash(write_token(tmp_path / "two", f"{TOKEN} {TOKEN}"))
    with pytest.raises(SecretFileError):
        load_token_hash(write_token(tmp_path / "public", TOKEN, 0o644))
