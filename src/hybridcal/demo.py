"""`hybridcal demo`: the whole product on loopback, against the built-in Google, Microsoft
Graph and Zoom simulators: one daemon serving a Google Workspace and a Microsoft 365 tenant.

Everything is real except the cloud: a throwaway service-account key signs real JWT grants, the
daemon talks HTTP to the simulator with Google's own client library, the simulator pushes real
notifications to the daemon's webhook, a throwaway Zoom Server-to-Server app gets real
``account_credentials`` tokens, the store is a real SQLite file encrypted with a fresh keyring,
a throwaway Entra app gets client-credential tokens from azure-identity's own
ClientSecretCredential (the simulator's token endpoint is served over TLS with a CA made for
the run, trusted through ``microsoft.ca_bundle``) for msgraph-sdk, Graph validates the
daemon's webhook and posts change notifications to it, and each room's meeting list is fetched
from the endpoint API with a device token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import tempfile
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from hybridcal.config.loader import settings_from_mapping
from hybridcal.config.settings import GOOGLE_SCOPES, Settings
from hybridcal.core.html_text import html_to_text, looks_like_html
from hybridcal.core.model import CalendarKind, Provider
from hybridcal.crypto import init_keyring
from hybridcal.crypto.secret_files import write_private
from hybridcal.daemon.admin import admin_session
from hybridcal.daemon.service import Daemon
from hybridcal.sandbox.google.app import GoogleSimulator
from hybridcal.sandbox.keys import generate_service_account
from hybridcal.sandbox.microsoft import GraphApp, GraphSimulator
from hybridcal.sandbox.microsoft.tls import make_loopback_ca
from hybridcal.sandbox.zoom import ZoomApp, ZoomSimulator

Echo = Callable[[str], None]

DOMAIN = "example.com"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
ADMIN = f"hybridcal-admin@{DOMAIN}"
ROOM = "c_1880zurich-board-room@resource.calendar.google.com"
ZONE = "Europe/Zurich"
TENANT = "contoso.example"
MEGAN = f"megan@{TENANT}"
ADELE = f"adele@{TENANT}"
M365_ROOM = f"boardroom@{TENANT}"

PASTED_ZOOM = """Agenda: pricing for next year, then Q&A.

Jamie Vendor is inviting you to a scheduled Zoom meeting.

Join Zoom Meeting
https://us06web.zoom.us/j/81234567890?pwd=QWxwaGFCcmF2b0NoYXJsaWU.1

Meeting ID: 812 3456 7890
Passcode: 424242
"""


# what the README asks the admin to grant the Zoom app
ZOOM_SCOPES = ("meeting:read:admin", "meeting:write:admin", "user:read:admin", "account:read:admin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def install_service_account(
    sim: GoogleSimulator, path: Path, info: Mapping[str, str]
) -> dict[str, str]:
    """What an admin does once: store hybridcal's key (mode 0600) and grant its client ID the
    scopes in the (simulated) Admin console's domain-wide delegation page."""
    key = dict(info, token_uri=sim.token_uri)
    write_private(path, json.dumps(key).encode())
    sim.register_service_account(key)
    sim.grant_delegation(key["client_id"], GOOGLE_SCOPES)
    return key


def install_zoom_app(zoom: ZoomSimulator, workdir: Path) -> ZoomApp:
    """What an admin does once in the Zoom App Marketplace: a Server-to-Server OAuth app with
    the scopes the README names, its client secret stored in a file of its own (mode 0600)."""
    app = zoom.create_app(ZOOM_SCOPES)
    path = workdir / "zoom-client-secret"
    write_private(path, app.client_secret.encode())
    return app


def install_graph_app(graph: GraphSimulator, workdir: Path) -> GraphApp:
    """What an admin does once in Entra ID: an app registration with the three application
    permissions and admin consent, its client secret in a file of its own (mode 0600)."""
    app = graph.register_app()
    path = workdir / "microsoft-client-secret"
    write_private(path, app.client_secret.encode())
    return app


def microsoft_config(graph: GraphSimulator, app: GraphApp, workdir: Path) -> dict[str, Any]:
    return {
        "enabled": True,
        "tenant_id": app.tenant_id,
        "client_id": app.client_id,
        "client_secret_file": str(workdir / "microsoft-client-secret"),
        "authority": graph.authority,
        "graph_root": graph.graph_root,
        # the simulator's CA (see start_graph): the daemon trusts it the way an admin makes it
        # trust a proxy's CA, for azure-identity and for msgraph alike
        **({"ca_bundle": str(graph.ca_file)} if graph.ca_file is not None else {}),
    }


async def start_graph(graph: GraphSimulator, directory: Path) -> None:
    """The Graph simulator over TLS, with a certificate authority made now in ``directory``:
    azure-identity talks to https authorities only, and the daemon must run the credential
    classes it runs in production."""
    await graph.start(tls=make_loopback_ca(directory))


def zoom_config(zoom: ZoomSimulator, app: ZoomApp, workdir: Path) -> dict[str, Any]:
    return {
        "enabled": True,
        "account_id": app.account_id,
        "client_id": app.client_id,
        "client_secret_file": str(workdir / "zoom-client-secret"),
        "oauth_root": zoom.oauth_root,
        "api_root": zoom.api_root,
        "topic_template": "{title} ({organizer_name})",
    }


def sandbox_config(
    sim: GoogleSimulator,
    workdir: Path,
    port: int,
    zoom: tuple[ZoomSimulator, ZoomApp] | None = None,
    microsoft: tuple[GraphSimulator, GraphApp] | None = None,
) -> dict[str, Any]:
    """The config of a daemon on ``port`` that talks to the simulators, its files in
    ``workdir``: only base URLs differ from a production config."""
    extra: dict[str, Any] = {"zoom": zoom_config(zoom[0], zoom[1], workdir)} if zoom else {}
    if microsoft:
        extra["microsoft"] = microsoft_config(microsoft[0], microsoft[1], workdir)
    return {
        **extra,
        "daemon": {"listen_port": port, "public_url": f"http://127.0.0.1:{port}"},
        "store": {"path": str(workdir / "hybridcal.db")},
        "crypto": {"keyring": str(workdir / "keyring.json")},
        "google": {
            "enabled": True,
            "service_account_file": str(workdir / "service-account.json"),
            "room_access_user": ADMIN,
            "token_uri": sim.token_uri,
            "calendar_api_root": sim.calendar_root,
            "gmail_api_root": sim.gmail_root,
        },
    }


@dataclass(frozen=True)
class Serve:
    """``demo --serve``: run until ``until`` is set; the work dir holds a config file for the
    admin commands, and ``info_file`` (if any) tells where everything is (see :func:`_serve`)."""

    until: asyncio.Event
    info_file: Path | None = None


async def run_demo(
    echo: Echo,
    *,
    serve_until: asyncio.Event | None = None,
    port: int = 0,
    workdir: Path | None = None,
    info_file: Path | None = None,
) -> None:
    """The demo; with ``serve_until`` it keeps running until that event is set. ``workdir``
    (default: a temporary directory, removed at the end) must be new or empty and is kept."""
    serve = Serve(serve_until, info_file) if serve_until is not None else None
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="hybridcal-demo-"))
            )
        else:
            workdir = workdir.resolve()  # the config file names absolute paths
            _prepare_workdir(workdir)
        sim = GoogleSimulator(domain=DOMAIN, conference_delay_s=0.3)
        zoom = ZoomSimulator(account_id="demoaccount")
        graph = GraphSimulator(domain=TENANT)
        for simulator in (sim, zoom):
            await simulator.start()
        await start_graph(graph, workdir / "graph-tls")
        try:
            await _scenario(echo, (sim, zoom, graph), workdir, serve, port or free_port())
        finally:
            await graph.close()
            await zoom.close()
            await sim.close()


async def _scenario(
    echo: Echo,
    sims: tuple[GoogleSimulator, ZoomSimulator, GraphSimulator],
    workdir: Path,
    serve: Serve | None,
    port: int,
) -> None:
    sim, zoom, graph = sims
    install_service_account(
        sim, workdir / "service-account.json", generate_service_account(project_id="hybridcal-demo")
    )
    sim.add_user(ALICE, name="Alice Example", locale="en", timezone=ZONE)
    sim.add_user(BOB, name="Bob Beispiel", locale="de", timezone=ZONE)
    sim.add_user(ADMIN, name="hybridcal service", admin=True, timezone=ZONE)
    sim.add_room(ROOM, name="Zurich Board Room")
    app = install_zoom_app(zoom, workdir)
    zoom.add_user(ALICE, first_name="Alice", last_name="Example", timezone=ZONE)
    zoom.add_user(BOB, first_name="Bob", last_name="Beispiel", timezone=ZONE)
    graph_app = install_graph_app(graph, workdir)
    graph.add_user(MEGAN, name="Megan Bowen")
    graph.add_user(ADELE, name="Adele Vance", language="de-DE")
    graph.add_room(M365_ROOM, name="Contoso Board Room")
    zoom.add_user(ADELE, first_name="Adele", last_name="Vance", timezone=ZONE)

    init_keyring(workdir / "keyring.json")
    config = sandbox_config(sim, workdir, port, (zoom, app), (graph, graph_app))
    config_path = _write_admin_files(workdir, config) if serve is not None else None
    settings = settings_from_mapping(config)
    echo(
        f"Google simulator on {sim.base_url}; Microsoft Graph simulator on {graph.base_url}; "
        f"Zoom simulator on {zoom.base_url}; daemon on http://127.0.0.1:{port}\n"
    )
    if config_path is not None:
        echo(f"work dir {workdir}; config for the admin commands: {config_path}\n")

    token, m365_token = await _enable_calendars(settings, echo)

    daemon = Daemon(settings)
    await daemon.start()
    await daemon.wait_initial_sweep()
    try:
        ids = _create_events(sim)
        echo(
            "\nAlice typed '@meet', Bob typed '@zoom' on his weekly series, a vendor pasted a "
            "Zoom invitation, one event is plain."
        )
        echo("Waiting for push notifications and the daemon's work ...\n")
        outlook = _create_outlook_events(graph)
        echo("In Outlook, Megan typed '@teams', Adele '@zoom', and Megan '@meet' on one more.")
        await _wait_until_done(daemon, sim, ids["meet"], token)
        await _wait_until_outlook_done(daemon, graph, outlook, m365_token)
        for organizer, event_id in (
            (ALICE, ids["meet"]),
            (BOB, ids["weekly"]),
            (BOB, ids["zoom"]),
            (ALICE, ids["plain"]),
        ):
            echo(format_invitation(sim.get(organizer, event_id) or {}))
        echo(format_zoom_meetings(zoom))
        meetings = await _fetch_meetings(daemon.base_url, token)
        echo(format_meeting_list(meetings))
        for mailbox, key in ((MEGAN, "teams"), (ADELE, "zoom"), (MEGAN, "meet")):
            echo(format_outlook_invitation(graph.get_event(mailbox, outlook[key]) or {}))
        echo(format_meeting_list(await _fetch_meetings(daemon.base_url, m365_token)))
        echo(_summary(sim, zoom, graph))
        if serve is not None and config_path is not None:
            info = _info(daemon.base_url, config_path, sims, (token, m365_token))
            await _serve(echo, serve, info, sim.base_url)
    finally:
        await daemon.stop()


def _write_admin_files(workdir: Path, config: dict[str, Any]) -> Path:
    """What an admin does with `hybridcal admin-token` and the config file: the daemon serves
    the admin API with this token, and admin commands read the same config as the daemon."""
    token_file = workdir / "admin-token"
    write_private(token_file, (secrets.token_urlsafe(32) + "\n").encode())
    config["daemon"]["admin_token_file"] = str(token_file)
    config_path = workdir / "hybridcal.toml"
    config_path.write_text(config_toml(config))
    return config_path


def _info(
    daemon_url: str,
    config_path: Path,
    sims: tuple[GoogleSimulator, ZoomSimulator, GraphSimulator],
    tokens: tuple[str, str],
) -> dict[str, Any]:
    """The info file's content (``demo --serve --info-file``)."""
    sim, zoom, graph = sims
    token_file = config_path.parent / "admin-token"
    return {
        "daemon_url": daemon_url,
        "admin_api_url": f"{daemon_url}/admin/v1/status",
        "admin_token": token_file.read_text().strip(),
        "admin_token_file": str(token_file),
        "device_token": tokens[0],
        "device_tokens": {f"google:{ROOM}": tokens[0], f"microsoft:{M365_ROOM}": tokens[1]},
        "config": str(config_path),
        "workdir": str(config_path.parent),
        "simulators": {"google": sim.base_url, "microsoft": graph.base_url, "zoom": zoom.base_url},
        "pid": os.getpid(),
    }


async def _serve(echo: Echo, serve: Serve, info: Mapping[str, Any], sim_url: str) -> None:
    """Print how to reach the running demo, write the info file (0600: it holds tokens), wait
    for the stop and remove the info file again (it describes a running demo only)."""
    echo(_serve_help(info, sim_url))
    if serve.info_file is not None:
        write_info_file(serve.info_file, info)
        echo(f"info file (JSON): {serve.info_file}")
    try:
        await serve.until.wait()
    finally:
        if serve.info_file is not None:
            serve.info_file.unlink(missing_ok=True)


def _prepare_workdir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if any(path.iterdir()):
        raise ValueError(f"--workdir {path} is not empty: give a new or empty directory")


def write_info_file(path: Path, info: Mapping[str, Any]) -> None:
    """Atomically: a reader polling for the file never sees it half written."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    write_private(partial, (json.dumps(info, indent=2) + "\n").encode())
    partial.replace(path)


def config_toml(config: Mapping[str, Mapping[str, Any]]) -> str:
    """The demo's config as a TOML file (tables of strings, numbers and booleans)."""
    lines = ["# hybridcal demo: written by `hybridcal demo --serve`, valid while it runs"]
    for section, table in config.items():
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


async def _enable_calendars(settings: Settings, echo: Echo) -> tuple[str, str]:
    """What the admin does with ``hybridcal users add`` / ``rooms add`` / ``devices add``;
    returns the two rooms' device tokens (Google, Microsoft)."""
    async with admin_session(settings, {}) as admin:
        for address in (ALICE, BOB):
            record = await admin.enable(Provider.GOOGLE, address, CalendarKind.USER)
            echo(f"enabled user {record.address}: {record.state.value} (locale {record.locale})")
        record = await admin.enable(
            Provider.GOOGLE, ROOM, CalendarKind.ROOM, name="Zurich Board Room"
        )
        echo(f"enabled room {record.address}: {record.state.value}")
        _device, token = await admin.add_device(Provider.GOOGLE, ROOM, "Board room codec")
        for address in (MEGAN, ADELE):
            record = await admin.enable(Provider.MICROSOFT, address, CalendarKind.USER)
            echo(f"enabled Microsoft 365 user {record.address}: {record.state.value}")
        record = await admin.enable(
            Provider.MICROSOFT, M365_ROOM, CalendarKind.ROOM, name="Contoso Board Room"
        )
        echo(f"enabled Microsoft 365 room mailbox {record.address}: {record.state.value}")
        _device, m365_token = await admin.add_device(
            Provider.MICROSOFT, M365_ROOM, "Contoso board room codec"
        )
    return token, m365_token


def _create_events(sim: GoogleSimulator) -> dict[str, str]:
    zone = ZoneInfo(ZONE)
    now = datetime.now(zone).replace(second=0, microsecond=0)
    tomorrow = (now + timedelta(days=1)).replace(hour=14, minute=0)

    def when(start: datetime, minutes: int) -> dict[str, Any]:
        end = start + timedelta(minutes=minutes)
        return {
            "start": {"dateTime": start.isoformat(), "timeZone": ZONE},
            "end": {"dateTime": end.isoformat(), "timeZone": ZONE},
        }

    room = {"email": ROOM, "resource": True}
    meet = sim.person_insert(
        ALICE,
        {
            "summary": "Design review",
            "location": "Board room, @meet",
            "description": "Walk through the new lobby signage.\nBring printouts.",
            "attendees": [{"email": BOB}, room],
            **when(now + timedelta(minutes=3), 45),
        },
    )
    zoom = sim.person_insert(
        BOB,
        {
            "summary": "Vendor call",
            "location": "Board room",
            "description": PASTED_ZOOM,
            "attendees": [{"email": ALICE}, room],
            **when(tomorrow, 30),
        },
    )
    weekly = sim.person_insert(
        BOB,
        {
            "summary": "Projekt-Update",
            "location": "@zoom",
            "description": "Kurzer Stand der Arbeitspakete.",
            "attendees": [{"email": ALICE}, room],
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=6"],
            **when(now + timedelta(minutes=20), 30),
        },
    )
    plain = sim.person_insert(
        ALICE, {"summary": "Lunch", "location": "Canteen", **when(tomorrow.replace(hour=12), 60)}
    )
    return {"meet": meet["id"], "weekly": weekly["id"], "zoom": zoom["id"], "plain": plain["id"]}


def _create_outlook_events(graph: GraphSimulator) -> dict[str, str]:
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=2)

    def when(at: datetime, minutes: int) -> dict[str, Any]:
        fmt = "%Y-%m-%dT%H:%M:%S"
        end = at + timedelta(minutes=minutes)
        return {
            "start": {"dateTime": at.strftime(fmt), "timeZone": "UTC"},
            "end": {"dateTime": end.strftime(fmt), "timeZone": "UTC"},
        }

    room = {
        "emailAddress": {"address": M365_ROOM, "name": "Contoso Board Room"},
        "type": "resource",
    }

    def event(subject: str, location: str, text: str, at: datetime) -> dict[str, Any]:
        return {
            "subject": subject,
            "location": {"displayName": location},
            "body": {"contentType": "html", "content": f"<html><body><p>{text}</p></body></html>"},
            "attendees": [room],
            **when(at, 30),
        }

    teams = graph.person_create(MEGAN, event("Sales sync", "@teams", "Pipeline review.", start))
    zoom = graph.person_create(
        ADELE, event("Lieferanten-Call", "@zoom", "Preise besprechen.", start + timedelta(hours=2))
    )
    meet = graph.person_create(
        MEGAN, event("Design crit", "@meet", "Bring sketches.", start + timedelta(hours=4))
    )
    return {"teams": teams["id"], "zoom": zoom["id"], "meet": meet["id"]}


async def _wait_until_outlook_done(
    daemon: Daemon, graph: GraphSimulator, ids: Mapping[str, str], token: str
) -> None:
    """Until the Teams meeting exists and the Microsoft room lists the Teams and Zoom links."""
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        teams = graph.get_event(MEGAN, ids["teams"]) or {}
        if (teams.get("onlineMeeting") or {}).get("joinUrl"):
            meetings = await _fetch_meetings(daemon.base_url, token)
            if len([m for m in meetings.get("meetings", []) if m.get("join")]) >= 2:
                return
        await asyncio.sleep(0.1)
    raise TimeoutError("the Microsoft 365 part of the demo did not settle within 30 s")


async def _wait_until_done(daemon: Daemon, sim: GoogleSimulator, meet_id: str, token: str) -> None:
    """Until the Meet exists and the room's list shows the Meet, the new Zoom meeting and the
    pasted Zoom link (or 30 s pass)."""
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        event = sim.get(ALICE, meet_id) or {}
        status = event.get("conferenceData", {}).get("createRequest", {}).get("status", {})
        if status.get("statusCode") == "success":
            meetings = await _fetch_meetings(daemon.base_url, token)
            if len({m["join"]["url"] for m in meetings.get("meetings", []) if m.get("join")}) >= 3:
                return
        await asyncio.sleep(0.1)
    raise TimeoutError("the demo did not settle within 30 s; see the log above")


async def _fetch_meetings(base_url: str, token: str) -> dict[str, Any]:
    """The next two days of the room's list, as a room system would ask for them."""
    now = datetime.now(UTC).replace(microsecond=0)
    window = {"from": _iso(now - timedelta(hours=1)), "to": _iso(now + timedelta(days=2))}
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{base_url}/api/v1/meetings",
            params=window,
            headers={"Authorization": f"Bearer {token}"},
        ) as resp,
    ):
        resp.raise_for_status()
        data: dict[str, Any] = await resp.json()
        return data


def format_invitation(event: dict[str, Any]) -> str:
    organizer = event.get("organizer", {}).get("email", "?")
    start = event.get("start", {}).get("dateTime", "")
    end = event.get("end", {}).get("dateTime", "")
    lines = [
        f"── Invitation as {organizer} sees it " + "─" * 30,
        f"  Title:       {event.get('summary', '')}",
        f"  When:        {_short_time(start)} to {_short_time(end)} ({ZONE})",
        f"  Location:    {event.get('location', '')}",
    ]
    conference = event.get("conferenceData") or {}
    for ep in conference.get("entryPoints", []):
        kind = ep.get("entryPointType")
        if kind == "video":
            lines.append(f"  Join with Google Meet: {ep.get('uri')}")
        elif kind == "phone":
            lines.append(
                f"  Join by phone: {ep.get('label') or ep.get('uri')}  PIN: {ep.get('pin')}"
            )
        elif kind == "more":
            lines.append(f"  More phone numbers: {ep.get('uri')}")
    description = event.get("description", "")
    if description:
        lines.append("  Description:")
        lines.extend(textwrap.indent(description.strip(), "    ").splitlines())
    private = (event.get("extendedProperties") or {}).get("private") or {}
    ours = {
        k.removeprefix("hybridcal."): v for k, v in private.items() if k.startswith("hybridcal.")
    }
    if ours:
        lines.append(f"  hybridcal marker: {ours.get('system')} (request {ours.get('request')})")
    return "\n".join(lines) + "\n"


def format_meeting_list(data: dict[str, Any]) -> str:
    calendar = data.get("calendar", {})
    name = calendar.get("display_name") or calendar.get("address")
    lines = [f"── Meeting list of {name}, as its endpoint receives it " + "─" * 12]
    for meeting in data.get("meetings", []):
        join = meeting.get("join") or {}
        button = "[ Join ]" if meeting.get("obtp", {}).get("show_button") else "        "
        lines.append(
            f"  {button} {_short_time(meeting['start'])}  {meeting.get('title', '')}"
            f"  — {join.get('provider', 'no join link')} {join.get('url', '')}".rstrip()
        )
        if join.get("dial"):
            lines.append(f"             video systems dial: {join['dial']}")
    if not data.get("meetings"):
        lines.append("  (no meetings)")
    return "\n".join(lines) + "\n"


def format_outlook_invitation(event: dict[str, Any]) -> str:
    organizer = ((event.get("organizer") or {}).get("emailAddress") or {}).get("address", "?")
    start = (event.get("start") or {}).get("dateTime", "")[:16].replace("T", " ")
    lines = [
        f"── Outlook invitation as {organizer} sees it " + "─" * 22,
        f"  Title:       {event.get('subject', '')}",
        f"  When:        {start} (UTC)",
        f"  Location:    {(event.get('location') or {}).get('displayName', '')}",
    ]
    online = event.get("onlineMeeting") or {}
    if online.get("joinUrl"):
        lines.append(f"  Teams meeting: {online['joinUrl']}")
    content = (event.get("body") or {}).get("content", "")
    text = html_to_text(content).text if looks_like_html(content) else content
    body = "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())
    if body:
        lines.append("  Body:")
        lines.extend(textwrap.indent(body, "    ").splitlines())
    return "\n".join(lines) + "\n"


def format_zoom_meetings(zoom: ZoomSimulator) -> str:
    lines = ["── Meetings in the Zoom account " + "─" * 37]
    for meeting in zoom.meetings():
        occurrences = [o for o in meeting.get("occurrences", []) if o.get("status") != "deleted"]
        kind = {2: "scheduled", 3: "recurring, no fixed time", 8: "recurring"}.get(
            meeting["type"], str(meeting["type"])
        )
        series = f", {len(occurrences)} occurrences" if occurrences else ""
        lines.append(
            f"  {meeting['id']}  {meeting['topic']}  (host {meeting['host_email']}, {kind}{series})"
        )
    return "\n".join(lines) + "\n"


def _summary(sim: GoogleSimulator, zoom: ZoomSimulator, graph: GraphSimulator) -> str:
    patches = sum(1 for r in sim.request_log if r.method == "PATCH")
    graph_patches = sum(
        1 for r in graph.request_log if r.method == "PATCH" and "/events/" in r.path
    )
    creates = len(zoom.calls("POST", "/v2/users/"))
    return (
        f"Provider calls: Google {len(sim.request_log)} in all, {patches} event patch(es), "
        f"{sim.conferences_created()} Meet conference(s) created, "
        f"{sim.notifications_sent} push notification(s) delivered; "
        f"Microsoft Graph {len(graph.request_log)} in all, {graph_patches} event patch(es), "
        f"{graph.teams_meetings_created} Teams meeting(s) created, "
        f"{graph.notifications_sent} notification(s) delivered; "
        f"Zoom {len(zoom.request_log)} in all, {creates} meeting(s) created.\n"
    )


def _serve_help(info: Mapping[str, Any], sim_url: str) -> str:
    start, end = _in_an_hour(), _in_an_hour(30)
    daemon_url, token, config = info["daemon_url"], info["device_token"], info["config"]
    return textwrap.dedent(
        f"""\
        The demo keeps running (Ctrl-C stops it).
          daemon:            {daemon_url}   (/healthz /readyz /metrics)
          google simulator:  {sim_url}
          room device token: {token}
          config:            {config}
          admin token file:  {info["admin_token_file"]}

          hybridcal --config {config} users list
          hybridcal --config {config} status
          curl -s -H "Authorization: Bearer $(cat {info["admin_token_file"]})" \\
               {info["admin_api_url"]}
          curl -s -H 'Authorization: Bearer {token}' {daemon_url}/api/v1/meetings
          curl -s -X POST {sim_url}/sandbox/users/{ALICE}/events \\
               -H 'Content-Type: application/json' \\
               -d '{{"summary": "Try it", "location": "@meet", "attendees": [{{"email": "{ROOM}"}}],
                    "start": {{"dateTime": "{start}"}}, "end": {{"dateTime": "{end}"}}}}'
        """
    )


def _in_an_hour(extra_minutes: int = 0) -> str:
    return _iso(
        datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1, minutes=extra_minutes)
    )


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _short_time(value: str) -> str:
    try:
        return datetime.fromisoformat(value).astimezone(ZoneInfo(ZONE)).strftime("%a %d %b %H:%M")
    except ValueError:
        return value
