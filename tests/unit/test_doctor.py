"""``hybridcal doctor`` against the Google, Graph and Zoom simulators, and its command line."""

from __future__ import annotations

import json
import sqlite3
import tomllib
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from aiohttp import web
from click.testing import CliRunner

from hybridcal.cli import main
from hybridcal.config.loader import settings_from_mapping
from hybridcal.config.settings import GOOGLE_SCOPES
from hybridcal.core.model import CalendarKind, CalendarRecord, Provider, calendar_key
from hybridcal.crypto import RecordCipher, init_keyring
from hybridcal.crypto.secret_files import write_private
from hybridcal.daemon.admin import admin_session
from hybridcal.demo import (
    ZOOM_SCOPES,
    config_toml,
    install_service_account,
    microsoft_config,
    sandbox_config,
    start_graph,
    zoom_config,
)
from hybridcal.doctor import local, meetings
from hybridcal.doctor.checks import Options, Result, Status, exit_code
from hybridcal.doctor.microsoft import token_roles
from hybridcal.doctor.network import certificate_result, public_url_result, skew_result
from hybridcal.doctor.run import as_json, run_doctor
from hybridcal.sandbox.google.app import GoogleSimulator
from hybridcal.sandbox.keys import generate_service_account
from hybridcal.sandbox.microsoft import GraphSimulator
from hybridcal.sandbox.microsoft.tls import make_loopback_ca
from hybridcal.sandbox.zoom import ZoomSimulator
from hybridcal.store.postgres import PostgreSQLStore
from hybridcal.store.schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from tests.postgres import PostgresServer

DOMAIN = "example.com"
ALICE = f"alice@{DOMAIN}"
ADMIN = f"hybridcal-admin@{DOMAIN}"
ROOM = "c_doctor-room@resource.calendar.google.com"
TENANT = "contoso.example"
MEGAN = f"megan@{TENANT}"
ADELE = f"adele@{TENANT}"
DWD_FIX_PREFIX = (
    "Google Admin console → Security → Access and data control → API controls → Manage "
    "domain-wide delegation: edit client ID "
)


@dataclass
class World:
    """Simulators as an admin set them up, a config file and a store as the daemon left it."""

    google: GoogleSimulator
    graph: GraphSimulator
    zoom: ZoomSimulator
    workdir: Path
    config: dict[str, Any]
    sa_info: dict[str, str]

    @property
    def config_path(self) -> Path:
        return self.workdir / "hybridcal.toml"

    def write_config(self, **sections: dict[str, Any]) -> Path:
        config = {k: dict(v) for k, v in self.config.items()}
        for name, values in sections.items():
            config[name] = {**config.get(name, {}), **values}
        self.config_path.write_text(config_toml(config), encoding="utf-8")
        return self.config_path

    async def doctor(self, *, now: Any = None, **options: Any) -> dict[str, Result]:
        self.config_path.exists() or self.write_config()
        opts = Options(**{"microsoft_user": MEGAN, **options})
        results = await run_doctor(self.config_path, {}, opts, now=now)
        found = {r.id: r for r in results}
        assert len(found) == len(results), [r.id for r in results]
        return found

    def register_graph_app(self, permissions: Iterable[str] | None = None) -> None:
        app = (
            self.graph.register_app()
            if permissions is None
            else self.graph.register_app(permissions=permissions)
        )
        write_private(self.workdir / "microsoft-client-secret", app.client_secret.encode())
        self.config["microsoft"] = microsoft_config(self.graph, app, self.workdir)
        self.graph_client_id = app.client_id


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    google = GoogleSimulator(domain=DOMAIN)
    graph = GraphSimulator(domain=TENANT)
    zoom = ZoomSimulator(account_id="doctoraccount")
    await google.start()
    await start_graph(graph, tmp_path / "graph-ca")
    await zoom.start()
    try:
        info = install_service_account(
            google, tmp_path / "service-account.json", generate_service_account(key_size=1024)
        )
        google.add_user(ALICE)
        google.add_user(ADMIN, admin=True)
        google.add_room(ROOM, name="Doctor's room")
        for person in (MEGAN, ADELE):
            graph.add_user(person)
        zoom.add_user(ALICE)
        app = zoom.create_app(ZOOM_SCOPES)
        write_private(tmp_path / "zoom-client-secret", app.client_secret.encode())
        config = sandbox_config(google, tmp_path, 8480)
        config["zoom"] = zoom_config(zoom, app, tmp_path)
        world = World(google, graph, zoom, tmp_path, config, info)
        world.register_graph_app()
        init_keyring(tmp_path / "keyring.json")
        settings = settings_from_mapping(config)
        async with admin_session(settings, {}, connect=False) as admin:
            await admin.store.add_calendar(
                CalendarRecord(
                    key=calendar_key(Provider.GOOGLE, ROOM),
                    provider=Provider.GOOGLE,
                    address=ROOM,
                    kind=CalendarKind.ROOM,
                )
            )
        yield world
    finally:
        await zoom.close()
        await graph.close()
        await google.close()


def failed(results: dict[str, Result]) -> dict[str, Result]:
    return {k: r for k, r in results.items() if r.status is Status.FAIL}


# -- everything set up as the README says ----------------------------------------------------


async def test_a_sound_setup_passes(world: World) -> None:
    results = await world.doctor(google_user=ALICE, zoom_users=(ALICE,))
    assert failed(results) == {}, [r.finding for r in failed(results).values()]
    for check_id in (
        "config.load",
        "config.files",
        "keyring.open",
        "store.keyring",
        "store.open",
        "store.schema",
        "google.key",
        "google.scope.calendar",
        "google.scope.gmail.settings.basic",
        "google.calendar",
        "google.gmail",
        "google.rooms",
        "microsoft.token",
        "microsoft.permission.Calendars.ReadWrite",
        "microsoft.permission.MailboxSettings.Read",
        "microsoft.permission.User.Read.All",
        "microsoft.mailbox",
        "zoom.access_token",
        f"zoom.{ALICE}_host_for_their_own_meetings",
        "clock.google",
        "clock.microsoft",
        "clock.zoom",
        "proxy.google",
        "proxy.microsoft",
        "proxy.zoom",
        "public_url.paths",
    ):
        assert results[check_id].status is Status.OK, (check_id, results[check_id])
    assert results["google.rooms"].finding == f"{ADMIN} reads the room calendars (1)"
    assert results["public_url.scheme"].status is Status.WARNING  # loopback http: sandbox only
    assert results["public_url.certificate"].status is Status.SKIPPED
    assert results["public_url.reach"].finding.startswith("run with --reach")
    assert results["webex.app"].status is Status.SKIPPED
    assert exit_code(list(results.values())) == 0


async def test_the_room_access_user_is_the_default_google_user(world: World) -> None:
    results = await world.doctor()
    assert results["google.scope.calendar"].finding.startswith(f"token for {ADMIN} ")


async def test_without_a_user_google_access_is_skipped_with_the_option_to_give(
    world: World,
) -> None:
    world.config["google"].pop("room_access_user")
    world.write_config()
    results = await world.doctor()
    assert results["google.scope"].status is Status.SKIPPED
    assert "--google-user" in results["google.scope"].finding
    # an enabled room without google.room_access_user cannot work
    assert results["google.rooms"].status is Status.FAIL
    assert "set google.room_access_user" in results["google.rooms"].fix


# -- Google ------------------------------------------------------------------------------------


async def test_a_scope_missing_from_domain_wide_delegation_is_named_with_the_fix(
    world: World,
) -> None:
    client_id = world.sa_info["client_id"]
    world.google.revoke_delegation(client_id)
    world.google.grant_delegation(client_id, [GOOGLE_SCOPES[0]])
    results = await world.doctor(google_user=ALICE)
    assert set(failed(results)) == {"google.scope.gmail.settings.basic"}
    missing = results["google.scope.gmail.settings.basic"]
    assert missing.finding == (
        f"client ID {client_id} is not granted "
        "https://www.googleapis.com/auth/gmail.settings.basic through domain-wide delegation "
        "(Google refused the token: unauthorized_client)"
    )
    assert missing.fix == (
        f"{DWD_FIX_PREFIX}{client_id} (or Add new) and set its OAuth scopes to "
        "https://www.googleapis.com/auth/calendar,"
        "https://www.googleapis.com/auth/gmail.settings.basic"
    )
    assert results["google.scope.calendar"].status is Status.OK
    assert results["google.calendar"].status is Status.OK
    assert results["google.gmail"].status is Status.SKIPPED


async def test_an_unknown_google_user_is_one_finding(world: World) -> None:
    results = await world.doctor(google_user=f"nobody@{DOMAIN}")
    token = results["google.token"]
    assert token.status is Status.FAIL
    assert f"no active user nobody@{DOMAIN}" in token.finding
    assert "Directory → Users" in token.fix
    assert not any(k.startswith("google.scope.") for k in results)


async def test_a_room_the_access_user_cannot_see_fails(world: World) -> None:
    world.write_config(google={"room_access_user": ALICE})  # not an admin: rooms are invisible
    results = await world.doctor(google_user=ALICE)
    rooms = results["google.rooms"]
    assert rooms.status is Status.FAIL
    assert rooms.finding == f"{ALICE} cannot read room calendar(s): {ROOM} (404 notFound)"
    assert f"share each room's calendar with {ALICE}" in rooms.fix


# -- Microsoft 365 -----------------------------------------------------------------------------


async def test_a_permission_missing_from_the_token_fails_with_the_console_path(
    world: World,
) -> None:
    world.register_graph_app(("Calendars.ReadWrite", "User.Read.All"))
    world.write_config()
    results = await world.doctor(google_user=ALICE)
    missing = results["microsoft.permission.MailboxSettings.Read"]
    assert missing.status is Status.FAIL
    assert missing.finding == (
        "the app's token lacks the application permission MailboxSettings.Read "
        "(time zone, language and automatic replies)"
    )
    assert missing.fix == (
        f"Microsoft Entra admin center → App registrations → the app (client ID "
        f"{world.graph_client_id}) → API permissions → Add a permission → Microsoft Graph → "
        "Application permissions → MailboxSettings.Read, then Grant admin consent"
    )
    assert results["microsoft.permission.Calendars.ReadWrite"].status is Status.OK
    # the mailbox read needs the missing permission too
    assert results["microsoft.mailbox"].status is Status.FAIL


async def test_an_access_policy_denial_names_the_powershell_to_run(world: World) -> None:
    world.graph.restrict_app(world.graph_client_id, [ADELE])
    results = await world.doctor(google_user=ALICE)
    mailbox = results["microsoft.mailbox"]
    assert mailbox.status is Status.FAIL
    assert mailbox.finding.startswith(
        f"the Exchange application access policy does not include {MEGAN}"
    )
    assert (
        f"`Test-ApplicationAccessPolicy -Identity {MEGAN} -AppId {world.graph_client_id}`"
        in mailbox.fix
    )
    assert f"`Add-DistributionGroupMember -Identity <group> -Member {MEGAN}`" in mailbox.fix
    allowed = await world.doctor(google_user=ALICE, microsoft_user=ADELE)
    assert allowed["microsoft.mailbox"].status is Status.OK


def test_token_roles_reads_the_jwt_claim() -> None:
    import base64  # noqa: PLC0415

    payload = base64.urlsafe_b64encode(json.dumps({"roles": ["A.B", "C"]}).encode()).decode()
    assert token_roles(f"e30.{payload.rstrip('=')}.sig") == frozenset({"A.B", "C"})
    assert token_roles("opaque-token") is None


# -- Zoom ----------------------------------------------------------------------------------------


async def test_zoom_findings_become_results(world: World) -> None:
    app = world.zoom.create_app(("meeting:read:admin", "user:read:admin"))
    write_private(world.workdir / "zoom-client-secret", app.client_secret.encode())
    world.write_config(zoom={"client_id": app.client_id})
    results = await world.doctor(google_user=ALICE)
    create = results["zoom.scope_to_create_meetings"]
    assert create.status is Status.FAIL
    assert "Zoom App Marketplace" in create.fix
    assert results["zoom.scope_to_read_meetings"].status is Status.OK


# -- local files ---------------------------------------------------------------------------------


async def test_a_keyring_that_is_not_the_stores_fails(world: World) -> None:
    (world.workdir / "keyring.json").unlink()
    init_keyring(world.workdir / "keyring.json")
    results = await world.doctor(google_user=ALICE)
    assert set(failed(results)) == {"store.keyring"}
    assert "not the keyring the store was made with" in results["store.keyring"].finding
    assert "crypto.keyring" in results["store.keyring"].fix


async def test_a_store_written_by_a_newer_version_fails(world: World) -> None:
    with sqlite3.connect(world.workdir / "hybridcal.db") as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [SCHEMA_VERSION + 1])
    results = await world.doctor(google_user=ALICE)
    schema = results["store.schema"]
    assert schema.status is Status.FAIL
    assert f"schema version {SCHEMA_VERSION + 1} was written by a newer hybridcal" in (
        schema.finding
    )
    assert schema.fix.startswith("upgrade hybridcal")


async def test_an_open_secret_file_fails_with_chmod(world: World) -> None:
    (world.workdir / "service-account.json").chmod(0o644)
    results = await world.doctor(google_user=ALICE)
    problem = results["config.files.google.service_account_file"]
    assert problem.status is Status.FAIL
    assert "chmod 600" in problem.finding


async def test_a_missing_store_is_a_warning(world: World) -> None:
    world.write_config(store={"path": str(world.workdir / "new.db")})
    results = await world.doctor(google_user=ALICE)
    assert results["store.open"].status is Status.WARNING
    assert not (world.workdir / "new.db").exists()  # the doctor creates nothing


# -- the network ---------------------------------------------------------------------------------


def test_public_url_must_be_https_except_on_loopback() -> None:
    assert public_url_result("https://hybridcal.example.com").status is Status.OK
    assert public_url_result("http://127.0.0.1:8480").status is Status.WARNING
    refused = public_url_result("http://hybridcal.example.com")
    assert refused.status is Status.FAIL
    assert refused.fix.startswith("set daemon.public_url to the HTTPS address")


def test_a_certificate_expiring_within_14_days_fails() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    soon = certificate_result("h.example.com", now + timedelta(days=13), now)
    assert soon.status is Status.FAIL
    assert "in 13 day(s)" in soon.finding
    later = certificate_result("h.example.com", now + timedelta(days=90), now)
    assert later.status is Status.OK


def test_clock_skew_over_a_minute_fails() -> None:
    server = datetime(2026, 1, 1, tzinfo=UTC)
    assert skew_result("google", server + timedelta(seconds=59), server).status is Status.OK
    ahead = skew_result("google", server + timedelta(seconds=90), server)
    assert ahead.status is Status.FAIL
    assert ahead.finding.startswith("this host's clock is 90 s ahead of google's")
    assert "timedatectl set-ntp true" in ahead.fix
    behind = skew_result("zoom", server - timedelta(minutes=5), server)
    assert "300 s behind zoom's" in behind.finding


async def test_a_skewed_clock_is_found_against_the_token_endpoints(world: World) -> None:
    def skewed() -> datetime:
        return datetime.now(UTC) + timedelta(minutes=3)

    results = await world.doctor(google_user=ALICE, now=skewed)
    for provider in ("google", "microsoft", "zoom"):
        assert results[f"clock.{provider}"].status is Status.FAIL, provider
        assert "ahead of" in results[f"clock.{provider}"].finding


async def test_an_https_public_url_checks_certificate_and_reach(tmp_path: Path) -> None:
    ca = make_loopback_ca(tmp_path / "ca")
    app = web.Application()

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ca.server_context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        init_keyring(tmp_path / "keyring.json")
        config = tmp_path / "hybridcal.toml"
        config.write_text(
            config_toml(
                {
                    "daemon": {"public_url": f"https://127.0.0.1:{port}"},
                    "store": {"path": str(tmp_path / "hybridcal.db")},
                    "crypto": {"keyring": str(tmp_path / "keyring.json")},
                }
            ),
            encoding="utf-8",
        )
        results = {
            r.id: r
            for r in await run_doctor(
                config, {}, Options(reach=True), public_tls=ca.client_context()
            )
        }
    finally:
        await runner.cleanup()
    assert results["public_url.scheme"].status is Status.OK
    cert = results["public_url.certificate"]  # the test CA's certificates last a day
    assert cert.status is Status.FAIL
    assert "expires on" in cert.finding
    assert results["public_url.reach"].status is Status.OK
    assert results["clock"].status is Status.SKIPPED


# -- the command line ----------------------------------------------------------------------------


def _local_config(tmp_path: Path, public_url: str = "http://127.0.0.1:8480") -> Path:
    config = tmp_path / "hybridcal.toml"
    config.write_text(
        config_toml(
            {
                "daemon": {"public_url": public_url},
                "store": {"path": str(tmp_path / "hybridcal.db")},
                "crypto": {"keyring": str(tmp_path / "keyring.json")},
            }
        ),
        encoding="utf-8",
    )
    return config


def test_cli_json_lists_every_check_and_exits_0_without_failures(tmp_path: Path) -> None:
    init_keyring(tmp_path / "keyring.json")
    config = _local_config(tmp_path)
    result = CliRunner().invoke(main, ["--config", str(config), "doctor", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc) == {"ok", "summary", "checks"}
    assert doc["ok"] is True
    assert set(doc["summary"]) == {"ok", "warning", "fail", "skipped"}
    assert doc["summary"]["fail"] == 0
    first = doc["checks"][0]
    assert first == {
        "id": "config.load",
        "group": "config",
        "status": "ok",
        "finding": f"{config} is valid",
        "fix": "",
    }
    by_id = {c["id"]: c for c in doc["checks"]}
    assert by_id["google.key"] == {
        "id": "google.key",
        "group": "google",
        "status": "skipped",
        "finding": "google.enabled is false",
        "fix": "",
    }


def test_cli_exits_1_on_a_failure_and_prints_one_line_per_check(tmp_path: Path) -> None:
    config = _local_config(tmp_path)  # no keyring
    result = CliRunner().invoke(main, ["--config", str(config), "doctor"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "config"
    assert lines[1] == f"  ok   config.load: {config} is valid"
    [keyring] = [line for line in lines if "keyring.open" in line]
    assert keyring.startswith("  FAIL keyring.open: the keyring")
    assert "— fix: crypto.keyring" in keyring
    assert "\x1b[" not in result.output  # no colours off a terminal
    assert lines[-1] == "1 ok, 2 warning(s), 2 failed, 15 skipped"


def test_cli_an_http_public_url_off_loopback_fails_the_config(tmp_path: Path) -> None:
    config = _local_config(tmp_path, "http://hybridcal.example.com")
    result = CliRunner().invoke(main, ["--config", str(config), "doctor", "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.output)
    load = doc["checks"][0]
    assert load["id"] == "config.load"
    assert load["status"] == "fail"
    assert "daemon.public_url" in load["finding"]
    assert "https" in load["finding"]
    assert all(c["status"] == "skipped" for c in doc["checks"][1:])


def test_as_json_is_not_ok_with_a_failure() -> None:
    results = [Result("a.b", Status.OK, "fine"), Result("c.d", Status.FAIL, "bad", "fix it")]
    assert as_json(results)["ok"] is False
    assert exit_code(results) == 1


# -- PostgreSQL ----------------------------------------------------------------------------------


@pytest.fixture
def pg_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    dsn = postgres_server.create_database()
    yield dsn
    postgres_server.drop_database(dsn)


def _postgres_config(tmp_path: Path, dsn: str) -> Path:
    config = tmp_path / "hybridcal.toml"
    config.write_text(
        config_toml(
            {
                "daemon": {"public_url": "https://hybridcal.example.com"},
                "store": {"backend": "postgresql", "dsn": dsn},
                "crypto": {"keyring": str(tmp_path / "keyring.json")},
            }
        ),
        encoding="utf-8",
    )
    return config


async def test_postgresql_schema_keyring_and_live_replicas(pg_dsn: str, tmp_path: Path) -> None:
    keyring = init_keyring(tmp_path / "keyring.json")
    store = await PostgreSQLStore.connect(pg_dsn, RecordCipher(keyring))
    await store.close()
    with psycopg.connect(pg_dsn) as conn:
        conn.execute(
            "INSERT INTO replicas (id, lease_until) VALUES"
            " ('replica-a', now() + interval '1 minute'),"
            " ('replica-b', now() - interval '1 minute')"
        )
    config = _postgres_config(tmp_path, pg_dsn)
    results = {r.id: r for r in await run_doctor(config, {}, Options(), checks=local.CHECKS)}
    assert results["store.open"].status is Status.OK
    assert results["store.open"].finding.startswith("postgresql store at ")
    assert results["store.schema"].status is Status.OK
    assert results["store.keyring"].status is Status.OK
    assert results["store.replicas"].finding == "1 live replica(s): replica-a"

    with psycopg.connect(pg_dsn) as conn:
        conn.execute("DELETE FROM replicas")
    results = {r.id: r for r in await run_doctor(config, {}, Options(), checks=local.CHECKS)}
    assert results["store.replicas"].status is Status.WARNING


async def test_an_unreachable_postgresql_fails_with_what_to_check(tmp_path: Path) -> None:
    init_keyring(tmp_path / "keyring.json")
    config = _postgres_config(tmp_path, f"host={tmp_path} port=1 dbname=hybridcal user=nobody")
    results = {r.id: r for r in await run_doctor(config, {}, Options(), checks=local.CHECKS)}
    store = results["store.open"]
    assert store.status is Status.FAIL
    assert "cannot connect to PostgreSQL" in store.finding
    assert "store.dsn" in store.fix


# -- Webex -----------------------------------------------------------------------------------------


async def test_webex_is_checked_through_its_own_check(tmp_path: Path) -> None:
    from tests.webex_support import started  # noqa: PLC0415

    from hybridcal.daemon.webex_check import authorize_webex  # noqa: PLC0415

    async with started() as sim:
        _client, secret, _access, refresh = sim.issue_service_app_tokens()
        write_private(tmp_path / "webex-secret", secret.encode())
        config = _local_config(tmp_path, "https://hybridcal.example.com")
        config.write_text(
            config.read_text(encoding="utf-8")
            + config_toml(
                {
                    "webex": {
                        "enabled": True,
                        "client_id": sim.client_id,
                        "client_secret_file": str(tmp_path / "webex-secret"),
                        "api_root": sim.api_root,
                        "token_url": sim.token_url,
                    }
                }
            ),
            encoding="utf-8",
        )
        init_keyring(tmp_path / "keyring.json")
        checks = (*local.CHECKS, *meetings.CHECKS)
        # no store yet: the Webex check would create it, so it waits
        [waiting] = [
            r for r in await run_doctor(config, {}, Options(), checks=checks) if r.group == "webex"
        ]
        assert waiting.status is Status.SKIPPED
        assert "store" in waiting.finding
        write_private(tmp_path / "refresh-token", refresh.encode())
        settings = settings_from_mapping(tomllib.loads(config.read_text(encoding="utf-8")))
        await authorize_webex(settings, {}, tmp_path / "refresh-token")
        unnamed = {r.id: r for r in await run_doctor(config, {}, Options(), checks=checks)}
        named = await run_doctor(config, {}, Options(webex_users=(ALICE,)), checks=checks)
    assert unnamed["webex.access_token"].status is Status.OK
    assert unnamed["webex.scopes"].status is Status.WARNING
    assert "with --webex-user" in unnamed["webex.scopes"].fix
    webex = [r for r in named if r.group == "webex"]
    assert len(webex) > 2
    assert all(r.status is Status.OK for r in webex), webex


async def test_an_environment_proxy_is_reported_for_google_and_microsoft(world: World) -> None:
    world.write_config()
    opts = Options(google_user=ALICE, microsoft_user=MEGAN)
    found = {
        r.id: r
        for r in await run_doctor(
            world.config_path, {"HTTPS_PROXY": "http://proxy.example:3128"}, opts
        )
    }
    assert found["proxy.google"].status is Status.WARNING
    assert "HTTPS_PROXY in the environment is not used" in found["proxy.google"].finding
    assert found["proxy.microsoft"].status is Status.WARNING
    assert "no microsoft.proxy setting" in found["proxy.microsoft"].finding
    assert found["proxy.zoom"].finding == "zoom's traffic goes direct (zoom.proxy is not set)"
