"""``hybridcal zoom check``: check_zoom against the simulator, and the command line around it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from click.testing import CliRunner
from tests.sandbox.zoom_support import ALICE, BASIC, BOB, CAROL, GONE, INVITED, started

from hybridcal.cli import main
from hybridcal.config.loader import settings_from_mapping
from hybridcal.config.settings import Settings
from hybridcal.connectors.meetings.zoom import ZoomMeetings, ZoomOptions
from hybridcal.connectors.meetings.zoom_auth import ZoomTokens
from hybridcal.daemon.zoom_check import Finding, check_zoom
from hybridcal.sandbox.zoom import ZoomApp, ZoomSimulator

T = TypeVar("T")
CLASSIC = ("meeting:read:admin", "meeting:write:admin", "user:read:admin")
ALL = (*CLASSIC, "account:read:admin")
GRANULAR = (
    "meeting:write:meeting:admin",
    "meeting:update:meeting:admin",
    "meeting:delete:meeting:admin",
    "meeting:read:meeting:admin",
    "meeting:read:list_meetings:admin",
    "user:read:user:admin",
    "account:read:settings:admin",
)
NOBODY = "nobody@example.com"


def settings_for(app: ZoomApp | None = None, **zoom: Any) -> Settings:
    section: dict[str, Any] = {"enabled": True, "client_secret_file": "/unused/zoom-secret"}
    if app is not None:
        section |= {"account_id": app.account_id, "client_id": app.client_id}
    else:
        section |= {"account_id": "acct", "client_id": "client"}
    section |= zoom
    return settings_from_mapping(
        {"daemon": {"public_url": "https://hybridcal.example.com"}, "zoom": section}
    )


@pytest.fixture
async def sim() -> AsyncIterator[ZoomSimulator]:
    async with started() as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


Check = Callable[..., Coroutine[Any, Any, list[Finding]]]


@pytest.fixture
def check(sim: ZoomSimulator, http: aiohttp.ClientSession) -> Check:
    """``await check(scopes=..., users=..., **zoom_settings)``: the findings for that app."""

    async def run(
        *,
        scopes: Sequence[str] = ALL,
        users: tuple[str, ...] = (),
        secret: str | None = None,
        **zoom: Any,
    ) -> list[Finding]:
        app = sim.create_app(scopes)
        settings = settings_for(app, **zoom)
        z = settings.zoom
        tokens = ZoomTokens(
            session=http,
            oauth_root=sim.oauth_root,
            account_id=app.account_id,
            client_id=app.client_id,
            client_secret=app.client_secret if secret is None else secret,
        )
        zoom_meetings = ZoomMeetings(
            tokens=tokens,
            session=http,
            api_root=sim.api_root,
            options=ZoomOptions(
                fallback_host=z.fallback_host,
                scheduler=z.scheduler,
                alternative_hosts=z.alternative_hosts,
            ),
        )
        return await check_zoom(zoom_meetings, settings, users)

    return run


def by_what(findings: list[Finding]) -> dict[str, Finding]:
    return {f.what: f for f in findings}


def failures(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.ok and not f.warning]


# -- check_zoom ------------------------------------------------------------------------------------


async def test_everything_fine(check: Check, sim: ZoomSimulator) -> None:
    sim.set_password_requirement(length=10, have_special_character=True)
    findings = await check(users=(ALICE,), fallback_host=CAROL, alternative_hosts=[BOB])
    assert all(f.ok for f in findings), [f.line() for f in findings if not f.ok]
    found = by_what(findings)
    assert found["access token"].detail == "granted"
    assert found[f"{ALICE} (host for their own meetings)"].detail.startswith("a licensed")
    assert f"{CAROL} (zoom.fallback_host)" in found
    assert f"{BOB} (zoom.alternative_hosts)" in found
    assert found["passcode rules"].detail == (
        "at least 10 characters, letters and digits, a special character"
    )
    assert [f.what for f in findings if f.what.startswith("scope to ")] == [
        "scope to create meetings",
        "scope to update meetings",
        "scope to delete meetings",
        "scope to read meetings",
        "scope to list a host's meetings",
        "scope to look up users",
        "scope to read the account's passcode rules",
    ]
    assert all(f.line().startswith("[ok  ] ") for f in findings)


async def test_granular_scopes_are_enough(check: Check) -> None:
    findings = await check(scopes=GRANULAR, users=(ALICE,))
    assert all(f.ok for f in findings), [f.line() for f in findings if not f.ok]


async def test_missing_scopes_fail_and_say_what_to_add(check: Check) -> None:
    findings = await check(scopes=("meeting:read:admin", "user:read:admin"), users=(ALICE,))
    failed = {f.what: f for f in failures(findings)}
    assert set(failed) == {
        "scope to create meetings",
        "scope to update meetings",
        "scope to delete meetings",
    }
    assert failed["scope to create meetings"].line() == (
        "[FAIL] scope to create meetings: add meeting:write:admin (or "
        "meeting:write:meeting:admin) on the app's Scopes page in the Zoom App Marketplace, "
        "then activate the app again"
    )
    assert "meeting:delete:meeting:admin" in failed["scope to delete meetings"].detail
    assert by_what(findings)["scope to read meetings"].ok


async def test_a_missing_user_scope_makes_host_lookups_fail(check: Check) -> None:
    findings = await check(scopes=("meeting:read:admin", "meeting:write:admin"), users=(ALICE,))
    failed = by_what(failures(findings))
    assert "add user:read:admin" in failed["scope to look up users"].detail
    host = failed[f"{ALICE} (host for their own meetings)"]
    assert "4711" in host.detail
    assert "user:read:admin" in host.detail


async def test_the_account_scope_is_optional(check: Check) -> None:
    findings = await check(scopes=CLASSIC, users=(ALICE,))
    assert failures(findings) == []
    [warned] = [f for f in findings if f.warning]
    assert warned.what == "scope to read the account's passcode rules"
    assert warned.line().startswith("[warn] scope to read the account's passcode rules: add ")
    assert "account:read:admin" in warned.detail
    assert "hybridcal's defaults apply" in warned.detail
    assert by_what(findings)["passcode rules"].ok  # the defaults


async def test_an_unknown_user_fails_with_advice(check: Check) -> None:
    findings = await check(users=(NOBODY,))
    [failed] = failures(findings)
    assert failed.what == f"{NOBODY} (host for their own meetings)"
    assert failed.detail == (
        "no such Zoom user; add this user to the Zoom account (a licensed user) or change the "
        "setting"
    )


async def test_an_unknown_user_with_a_fallback_host_is_told_where_meetings_go(
    check: Check,
) -> None:
    findings = await check(users=(NOBODY,), fallback_host=CAROL)
    assert failures(findings) == []  # a warning: the fallback host takes their meetings
    warned = by_what(findings)[f"{NOBODY} (host for their own meetings)"]
    assert warned.warning
    assert warned.detail == "no such Zoom user; their meetings go to zoom.fallback_host"
    assert by_what(findings)[f"{CAROL} (zoom.fallback_host)"].ok


async def test_an_unknown_fallback_host_or_scheduler_fails(check: Check) -> None:
    findings = await check(fallback_host=NOBODY, scheduler="ghost@example.com")
    failed = by_what(failures(findings))
    assert set(failed) == {f"{NOBODY} (zoom.fallback_host)", "ghost@example.com (zoom.scheduler)"}
    for finding in failed.values():
        assert "add this user to the Zoom account" in finding.detail


async def test_a_basic_user_is_a_warning(check: Check) -> None:
    findings = await check(users=(BASIC,))
    assert failures(findings) == []
    [warned] = [f for f in findings if f.warning]
    assert warned.what == f"{BASIC} (host for their own meetings)"
    assert "basic (unlicensed)" in warned.detail
    assert warned.line().startswith("[warn] ")


@pytest.mark.parametrize(("user", "status"), [(GONE, "inactive"), (INVITED, "pending")])
async def test_a_user_who_is_not_active_fails(check: Check, user: str, status: str) -> None:
    findings = await check(users=(user,))
    [failed] = failures(findings)
    assert failed.detail == f"the Zoom user is {status}; activate it in the Zoom admin portal"


async def test_a_refused_token_is_the_only_finding(check: Check) -> None:
    wrong = "not-the-secret-0123456789"
    findings = await check(secret=wrong, users=(ALICE,))
    [only] = findings
    assert only.what == "access token"
    assert not only.ok
    assert not only.warning
    assert "client ID or client secret" in only.detail
    assert wrong not in only.line()


# -- the command line ------------------------------------------------------------------------------


class SimulatorThread:
    """A ZoomSimulator on its own event loop in a background thread, because CliRunner runs
    the command (and its ``asyncio.run``) on the test's thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._context: Any = None
        self.sim: ZoomSimulator | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def call(self, func: Callable[[ZoomSimulator], T]) -> T:
        """``func(sim)`` on the simulator's thread."""

        async def on_loop() -> T:
            assert self.sim is not None
            return func(self.sim)

        return self.run(on_loop())

    def start(self) -> ZoomSimulator:
        self._thread.start()

        async def begin() -> ZoomSimulator:
            self._context = started()
            sim: ZoomSimulator = await self._context.__aenter__()
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


def write_config(
    tmp_path: Path, sim: ZoomSimulator, app: ZoomApp, *, enabled: bool = True, extra: str = ""
) -> Path:
    secret = tmp_path / "zoom-secret"
    secret.write_text(app.client_secret + "\n", encoding="utf-8")
    secret.chmod(0o600)
    config = tmp_path / "hybridcal.toml"
    config.write_text(
        f"""
[daemon]
public_url = "https://hybridcal.example.com"

[store]
path = "{tmp_path / "hybridcal.db"}"

[crypto]
keyring = "{tmp_path / "keyring.json"}"

[zoom]
enabled = {"true" if enabled else "false"}
account_id = "{app.account_id}"
client_id = "{app.client_id}"
client_secret_file = "zoom-secret"
oauth_root = "{sim.oauth_root}"
api_root = "{sim.api_root}"
{extra}
""",
        encoding="utf-8",
    )
    return config


def zoom_check(config: Path, *users: str) -> Any:
    arguments = ["--config", str(config), "zoom", "check"]
    for user in users:
        arguments += ["--user", user]
    return CliRunner().invoke(main, arguments, catch_exceptions=False)


def test_cli_exits_0_when_everything_is_fine(background: SimulatorThread, tmp_path: Path) -> None:
    assert background.sim is not None
    app = background.call(lambda sim: sim.create_app(ALL))
    config = write_config(tmp_path, background.sim, app, extra=f'fallback_host = "{CAROL}"')
    result = zoom_check(config, ALICE.upper())
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "[ok  ] access token: granted"
    assert f"[ok  ] {ALICE} (host for their own meetings): a licensed, active Zoom user" in lines
    assert f"[ok  ] {CAROL} (zoom.fallback_host): a licensed, active Zoom user" in lines
    assert lines[-1].startswith("[ok  ] passcode rules: at least 8 characters")
    assert all(line.startswith("[ok  ] ") for line in lines)
    assert not background.call(lambda sim: sim.meetings())  # read-only


def test_cli_exits_0_with_warnings_only(background: SimulatorThread, tmp_path: Path) -> None:
    assert background.sim is not None
    app = background.call(lambda sim: sim.create_app(CLASSIC))
    result = zoom_check(write_config(tmp_path, background.sim, app), BASIC)
    assert result.exit_code == 0, result.output
    assert result.output.count("[warn] ") == 2
    assert "[FAIL]" not in result.output


def test_cli_exits_1_when_something_fails(background: SimulatorThread, tmp_path: Path) -> None:
    assert background.sim is not None
    app = background.call(lambda sim: sim.create_app(["meeting:read:admin", "user:read:admin"]))
    result = zoom_check(write_config(tmp_path, background.sim, app), NOBODY)
    assert result.exit_code == 1, result.output
    failed = [line for line in result.output.splitlines() if line.startswith("[FAIL] ")]
    assert len(failed) == 4
    assert failed[0].startswith("[FAIL] scope to create meetings: add meeting:write:admin")
    assert failed[-1].startswith(f"[FAIL] {NOBODY} (host for their own meetings): no such")


def test_cli_exits_1_with_a_clear_line_for_a_wrong_secret(
    background: SimulatorThread, tmp_path: Path
) -> None:
    assert background.sim is not None
    app = background.call(lambda sim: sim.create_app(ALL))
    config = write_config(tmp_path, background.sim, app)
    (tmp_path / "zoom-secret").write_text("wrong-secret-value\n", encoding="utf-8")
    result = zoom_check(config)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("[FAIL] access token: Zoom refused the app's client ID")
    assert "wrong-secret-value" not in result.output
    assert app.client_secret not in result.output


def test_cli_refuses_when_zoom_is_disabled(background: SimulatorThread, tmp_path: Path) -> None:
    assert background.sim is not None
    app = background.call(lambda sim: sim.create_app(ALL))
    result = zoom_check(write_config(tmp_path, background.sim, app, enabled=False))
    assert result.exit_code == 1
    assert "Error: zoom.enabled is false in the config: nothing to check" in result.output
    assert "[ok  ]" not in result.output
    assert background.call(lambda sim: sim.tokens_issued) == 0


def test_cli_names_an_unreadable_secret_file(background: SimulatorThread, tmp_path: Path) -> None:
    assert background.sim is not None
    app = background.call(lambda sim: sim.create_app(ALL))
    config = write_config(tmp_path, background.sim, app)
    (tmp_path / "zoom-secret").unlink()
    result = zoom_check(config)
    assert result.exit_code == 1
    assert "Error: cannot read the Zoom client secret" in result.output
    assert "zoom-secret" in result.output
    assert "Traceback" not in result.output
