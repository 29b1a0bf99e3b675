"""``hybridcal webex authorize`` and ``hybridcal webex check`` against the Webex simulator, and
the ``[webex]`` settings."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from click.testing import CliRunner
from tests.webex_support import ALICE, UNLICENSED, MemoryVault, seed_vault, started

from hybridcal.cli import main
from hybridcal.config import ConfigError, settings_from_mapping
from hybridcal.connectors.meetings.webex import WebexMeetings
from hybridcal.connectors.meetings.webex_auth import WebexTokens
from hybridcal.crypto import init_keyring
from hybridcal.daemon.webex_check import check_webex
from hybridcal.daemon.zoom_check import Finding
from hybridcal.sandbox.webex import WebexSimulator

T = TypeVar("T")
BASE = {"daemon": {"public_url": "https://hybridcal.example.com"}}


@pytest.fixture
async def sim() -> AsyncIterator[WebexSimulator]:
    async with started() as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def connector(sim: WebexSimulator, http: aiohttp.ClientSession) -> WebexMeetings:
    vault = MemoryVault()
    secret = seed_vault(vault, sim)
    tokens = WebexTokens(
        session=http,
        vault=vault,
        token_url=sim.token_url,
        client_id=sim.client_id,
        client_secret=secret,
    )
    return WebexMeetings(tokens=tokens, session=http, api_root=sim.api_root)


def failures(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.ok and not f.warning]


async def test_a_licensed_host_passes_and_nothing_is_left_behind(
    connector: WebexMeetings, sim: WebexSimulator
) -> None:
    findings = await check_webex(connector, (ALICE,))
    assert failures(findings) == [], [f.line() for f in findings]
    assert [f.what for f in findings] == [
        "access token",
        f"{ALICE}: the user's Webex sites",
        f"{ALICE}: reading their meetings",
        f"{ALICE}: scheduling a meeting for them",
    ]
    assert sim.meetings(ALICE) == []  # the test meeting was deleted
    creates = [r for r in sim.request_log if r.method == "POST" and r.path == "/v1/meetings"]
    assert creates[0].body["sendEmail"] is False


async def test_an_unlicensed_host_fails_with_control_hub_words(connector: WebexMeetings) -> None:
    findings = await check_webex(connector, (UNLICENSED,))
    failed = {f.what: f.detail for f in failures(findings)}
    detail = failed[f"{UNLICENSED}: scheduling a meeting for them"]
    assert "Control Hub" in detail
    assert "licence" in detail


async def test_a_revoked_app_fails_at_the_token(
    connector: WebexMeetings, sim: WebexSimulator
) -> None:
    sim.revoke()
    findings = await check_webex(connector, (ALICE,))
    assert len(findings) == 1
    assert findings[0].what == "access token"
    assert "Control Hub" in findings[0].detail


async def test_a_missing_scope_is_named(http: aiohttp.ClientSession) -> None:
    async with started(scopes=("meeting:admin_schedule_write", "meeting:admin_schedule_read")) as s:
        vault = MemoryVault()
        secret = seed_vault(vault, s)
        tokens = WebexTokens(
            session=http, vault=vault, token_url=s.token_url, client_id=s.client_id,
            client_secret=secret,
        )  # fmt: skip
        webex = WebexMeetings(tokens=tokens, session=http, api_root=s.api_root)
        findings = await check_webex(webex, (ALICE,))
    failed = {f.what: f.detail for f in failures(findings)}
    assert "meeting:admin_preferences_read" in failed[f"{ALICE}: the user's Webex sites"]


# -- settings ------------------------------------------------------------------------------------


def test_webex_settings_need_a_client_id_and_one_secret() -> None:
    with pytest.raises(ConfigError) as missing:
        settings_from_mapping({**BASE, "webex": {"enabled": True}})
    keys = {key for key, _ in missing.value.problems}
    assert {"webex.client_id", "webex.client_secret_file"} <= keys
    with pytest.raises(ConfigError) as both:
        settings_from_mapping(
            {
                **BASE,
                "webex": {"client_secret_file": "/s", "client_secret_credential": "webex-secret"},
            }
        )
    assert "webex.client_secret_credential" in {key for key, _ in both.value.problems}


def test_webex_settings_defaults_and_site() -> None:
    s = settings_from_mapping(
        {
            **BASE,
            "webex": {
                "enabled": True,
                "client_id": "C1",
                "client_secret_file": "/etc/hybridcal/webex-client-secret",
                "site_url": "https://Example.webex.com/",
            },
        }
    )
    assert s.webex.api_root == "https://webexapis.com/v1/"
    assert s.webex.token_url == "https://webexapis.com/v1/access_token"
    assert s.webex.site_url == "example.webex.com"
    with pytest.raises(ConfigError):
        settings_from_mapping({**BASE, "webex": {"site_url": "not a site"}})


# -- the command line ----------------------------------------------------------------------------


class SimulatorThread:
    """A WebexSimulator on its own loop in a thread: CliRunner runs ``asyncio.run`` here."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._context: Any = None
        self.sim: WebexSimulator | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def call(self, func: Callable[[WebexSimulator], T]) -> T:
        async def on_loop() -> T:
            assert self.sim is not None
            return func(self.sim)

        return self.run(on_loop())

    def start(self) -> WebexSimulator:
        self._thread.start()

        async def begin() -> WebexSimulator:
            self._context = started()
            sim: WebexSimulator = await self._context.__aenter__()
            return sim

        self.sim = self.run(begin())
        return self.sim

    def stop(self) -> None:
        if self._context is not None:
            self.run(self._context.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def background() -> Iterator[SimulatorThread]:
    thread = SimulatorThread()
    thread.start()
    yield thread
    thread.stop()


def private(path: Path, text: str) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def write_config(tmp_path: Path, sim: WebexSimulator, secret: str) -> Path:
    private(tmp_path / "webex-secret", secret)
    init_keyring(tmp_path / "keyring.json")
    config = tmp_path / "hybridcal.toml"
    config.write_text(
        f"""
[daemon]
public_url = "https://hybridcal.example.com"

[store]
path = "{tmp_path / "hybridcal.db"}"

[crypto]
keyring = "{tmp_path / "keyring.json"}"

[webex]
enabled = true
client_id = "{sim.client_id}"
client_secret_file = "webex-secret"
api_root = "{sim.api_root}"
token_url = "{sim.token_url}"
""",
        encoding="utf-8",
    )
    return config


def cli(*arguments: str) -> Any:
    return CliRunner().invoke(main, list(arguments), catch_exceptions=False)


def test_authorize_then_check_from_the_command_line(
    background: SimulatorThread, tmp_path: Path
) -> None:
    _client, secret, _access, refresh = background.call(lambda s: s.issue_service_app_tokens())
    assert background.sim is not None
    config = write_config(tmp_path, background.sim, secret)
    unauthorised = cli("--config", str(config), "webex", "check")
    assert unauthorised.exit_code == 1
    assert "not authorised" in unauthorised.output
    token_file = private(tmp_path / "refresh-token", refresh)
    done = cli(
        "--config", str(config), "webex", "authorize", "--refresh-token-file", str(token_file)
    )
    assert done.exit_code == 0, done.output
    assert "stored" in done.output
    assert refresh not in done.output
    checked = cli("--config", str(config), "webex", "check", "--user", ALICE)
    assert checked.exit_code == 0, checked.output
    assert f"[ok  ] {ALICE}: scheduling a meeting for them" in checked.output
    refused = cli("--config", str(config), "webex", "check", "--user", UNLICENSED)
    assert refused.exit_code == 1
    assert "licence" in refused.output


def test_authorize_refuses_a_bad_token(background: SimulatorThread, tmp_path: Path) -> None:
    _client, secret, _access, _refresh = background.call(lambda s: s.issue_service_app_tokens())
    assert background.sim is not None
    config = write_config(tmp_path, background.sim, secret)
    token_file = private(tmp_path / "refresh-token", "not-a-refresh-token")
    result = CliRunner().invoke(
        main,
        ["--config", str(config), "webex", "authorize", "--refresh-token-file", str(token_file)],
    )
    assert result.exit_code == 1
    assert "refresh token" in result.output


def test_config_check_wants_the_webex_secret_file_private(tmp_path: Path) -> None:
    from hybridcal.config.preflight import preflight  # noqa: PLC0415

    secret = tmp_path / "webex-secret"
    secret.write_text("s3cret\n", encoding="utf-8")
    secret.chmod(0o644)
    webex = {"enabled": True, "client_id": "C1", "client_secret_file": str(secret)}
    problems = dict(preflight(settings_from_mapping({**BASE, "webex": webex}), {}))
    assert "webex.client_secret_file" in problems
    secret.chmod(0o600)
    problems = dict(preflight(settings_from_mapping({**BASE, "webex": webex}), {}))
    assert "webex.client_secret_file" not in problems
