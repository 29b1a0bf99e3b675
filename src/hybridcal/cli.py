"""The admin command line. Thin: parses arguments and calls into the packages."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final, TextIO, TypeVar

import click

from hybridcal.cli_errors import explain
from hybridcal.config.loader import load_settings
from hybridcal.config.preflight import preflight
from hybridcal.config.settings import Settings
from hybridcal.core.model import CalendarKind, CalendarRecord, Provider
from hybridcal.crypto import init_keyring, rotate_keyring
from hybridcal.logs import configure_logging

if TYPE_CHECKING:
    from hybridcal.core.model import JoinLink
    from hybridcal.core.sources import SourceReport

DEFAULT_CONFIG = "/etc/hybridcal/hybridcal.toml"
R = TypeVar("R")


class Context:
    def __init__(self, config: Path) -> None:
        self.config = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config, os.environ)
        return self._settings


def _run(coro: Coroutine[Any, Any, R]) -> R:
    return asyncio.run(coro)


class _Commands(click.Group):
    """The root group. The one place where a failing command becomes one line on stderr and
    exit code 1 (`explain` words it), never a traceback unless ``--debug`` asks for one."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click prints these itself (usage errors exit 2)
        except KeyboardInterrupt:
            raise click.ClickException("interrupted (Ctrl-C); run the command again") from None
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(explain(exc)) from None


@click.group(cls=_Commands)
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="HYBRIDCAL_CONFIG",
    default=DEFAULT_CONFIG,
    show_default=True,
    help="The TOML config file (env HYBRIDCAL_CONFIG).",
)
@click.option(
    "--debug",
    is_flag=True,
    envvar="HYBRIDCAL_DEBUG",
    help="Show the traceback when a command fails (env HYBRIDCAL_DEBUG=1).",
)
@click.version_option(package_name="hybridcal")
@click.pass_context
def main(ctx: click.Context, config: Path, debug: bool) -> None:  # noqa: ARG001 - read in invoke
    """hybridcal: keyword meetings, join links and endpoint meeting lists for your organisation."""
    ctx.obj = Context(config)
    # Admin commands print their results on stdout; only warnings and errors are logged, on
    # stderr, redacted (`run` and `demo` set the daemon's own level and format).
    configure_logging("warning", "console", stream=sys.stderr)


# -- run -------------------------------------------------------------------------------------


@main.command()
@click.pass_obj
def run(obj: Context) -> None:
    """Run the daemon (what the systemd unit starts)."""
    from hybridcal.daemon.service import Daemon  # noqa: PLC0415 - keep `--help` fast

    settings = obj.settings
    problems = preflight(settings, os.environ)
    if problems:  # every problem at once, before anything starts
        lines = [f"refusing to start: {len(problems)} problem(s) with the files {obj.config} names"]
        lines += [f"  {key}: {message}" for key, message in problems]
        raise click.ClickException("\n".join(lines))
    configure_logging(settings.logging.level, settings.logging.format)
    daemon = Daemon(settings, environ=os.environ)
    _run(_serve(daemon.run_until))


async def _serve(body: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await body(stop)


# -- demo ------------------------------------------------------------------------------------


@main.command()
@click.option("--serve", is_flag=True, help="Keep the simulators and daemon running for curl.")
@click.option("--port", default=0, show_default=True, help="Daemon port with --serve (0: any).")
@click.option("--log-level", default="warning", show_default=True, help="The daemon's log level.")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    help="With --serve: keep the demo's files (config, store, keys) in this new or empty"
    " directory, left in place afterwards. Default: a temporary directory, removed at the end.",
)
@click.option(
    "--info-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --serve: once everything runs, write JSON here (daemon and admin API URLs, admin"
    " and device tokens, config path; mode 0600); removed when the demo stops.",
)
def demo(
    serve: bool, port: int, log_level: str, workdir: Path | None, info_file: Path | None
) -> None:
    """The whole product against the built-in simulators, no cloud account needed.

    With --serve it keeps running and writes a config file, so that every admin command can be
    tried against it: hybridcal --config <work dir>/hybridcal.toml users list"""
    from hybridcal.demo import run_demo  # noqa: PLC0415

    if not serve and (workdir is not None or info_file is not None):
        raise click.UsageError("--workdir and --info-file need --serve")
    configure_logging(log_level, "console" if sys.stderr.isatty() else "json", stream=sys.stderr)
    if serve:
        _run(
            _serve(
                lambda stop: run_demo(
                    click.echo, serve_until=stop, port=port, workdir=workdir, info_file=info_file
                )
            )
        )
    else:
        _run(run_demo(click.echo))


# -- config ----------------------------------------------------------------------------------


@main.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("check")
@click.pass_obj
def config_check(obj: Context) -> None:
    """Validate the config file and what it points at; print the effective settings."""
    settings = obj.settings
    problems = preflight(settings, os.environ)
    click.echo(json.dumps(settings.redacted_dict(), indent=2, default=str))
    if problems:
        for key, message in problems:
            click.echo(f"problem: {key}: {message}", err=True)
        raise SystemExit(2)
    click.echo(f"{obj.config}: OK", err=True)


# -- doctor ------------------------------------------------------------------------------------


@main.command()
@click.option("--google-user", help="Test Google with this user (default: room_access_user).")
@click.option("--microsoft-user", help="Test this mailbox's access (default: an enabled one).")
@click.option("--zoom-user", "zoom_users", multiple=True, help="Also check this Zoom host.")
@click.option(
    "--webex-user",
    "webex_users",
    multiple=True,
    help="Also check this Webex host: a meeting is scheduled for them and deleted at once.",
)
@click.option("--reach", is_flag=True, help="Also call <public_url>/healthz from this host.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_context
def doctor(
    ctx: click.Context,
    *,
    google_user: str | None,
    microsoft_user: str | None,
    zoom_users: tuple[str, ...],
    webex_users: tuple[str, ...],
    reach: bool,
    as_json: bool,
) -> None:
    """Check everything hybridcal depends on and say what to fix: config, files, keyring,
    store, Google, Microsoft 365, Zoom, Webex, the public URL, the clock and proxies.
    Exit status 0 when nothing failed (warnings and skipped checks included)."""
    from hybridcal.doctor import run as report  # noqa: PLC0415
    from hybridcal.doctor.checks import Options, exit_code  # noqa: PLC0415

    options = Options(
        google_user=google_user,
        microsoft_user=microsoft_user,
        zoom_users=zoom_users,
        webex_users=webex_users,
        reach=reach,
        debug=bool(ctx.find_root().params.get("debug")),
    )
    results = _run(report.run_doctor(ctx.obj.config, os.environ, options))
    if as_json:
        click.echo(json.dumps(report.as_json(results), indent=2))
    else:
        report.print_human(results, sys.stdout)
    sys.exit(exit_code(results))


# -- users and rooms -------------------------------------------------------------------------


_PROVIDER = click.option(
    "--provider", type=click.Choice([p.value for p in Provider]), default="google"
)


def _calendar_group(kind: CalendarKind) -> click.Group:
    noun = "users" if kind is CalendarKind.USER else "rooms"
    group = click.Group(name=noun, help=f"Enable, disable and list {noun}.")
    group.add_command(_add_command(kind))
    group.add_command(_remove_command())
    group.add_command(_list_command(kind))
    group.add_command(_show_command())
    return group


def _add_command(kind: CalendarKind) -> click.Command:
    @click.command("add")
    @click.argument("addresses", nargs=-1)
    @_PROVIDER
    @click.option("--name", default=None, help="Display name (rooms).")
    @click.option("--lead-minutes", type=click.IntRange(0, 60), default=None, help="OBTP lead.")
    @click.option(
        "--from-file",
        "from_file",
        type=click.File("r", encoding="utf-8"),
        default=None,
        help="Enable every address in this file ('-' = stdin), one a line, # for comments:"
        " stored as pending at once, checked and synced by the daemon.",
    )
    @click.pass_obj
    def add(
        obj: Context,
        *,
        addresses: tuple[str, ...],
        provider: str,
        name: str | None,
        lead_minutes: int | None,
        from_file: TextIO | None,
    ) -> None:
        """Enable calendars. Addresses given as arguments are checked with the provider at once
        and shown active or with their error; a --from-file list (thousands) is stored at once
        and left to the daemon (see `hybridcal status`)."""
        if from_file is not None:
            if addresses or name is not None:
                raise click.UsageError("--from-file takes no addresses and no --name")
            _bulk_add(obj, kind, Provider(provider), from_file.read(), lead_minutes)
            return
        if not addresses:
            raise click.UsageError("give one or more addresses, or --from-file")
        from hybridcal.daemon.admin import admin_session  # noqa: PLC0415

        async def body() -> int:
            failures = 0
            async with admin_session(obj.settings, os.environ) as admin:
                for address in addresses:
                    record = await admin.enable(
                        Provider(provider), address, kind, name=name, lead_minutes=lead_minutes
                    )
                    click.echo(_describe(record))
                    failures += record.reason is not None
            return failures

        if _run(body()):
            raise SystemExit(1)

    return add


def _bulk_add(
    obj: Context, kind: CalendarKind, provider: Provider, text: str, lead_minutes: int | None
) -> None:
    """Bad lines are named on stderr and nothing is stored for them; the others are stored in
    one transaction without a provider call. Exit code 1 when any line was bad."""
    from hybridcal.daemon.admin import admin_session, read_address_lines  # noqa: PLC0415

    lines = read_address_lines(text)
    for number, problem in lines.bad:
        click.echo(f"line {number}: {problem}: skipped", err=True)

    async def body() -> tuple[int, int]:
        async with admin_session(obj.settings, os.environ, connect=False) as admin:
            outcome = await admin.enable_many(
                provider, lines.addresses, kind, lead_minutes=lead_minutes
            )
            return outcome.enabled, len(outcome.existing)

    enabled, existing = _run(body()) if lines.addresses else (0, 0)
    click.echo(
        f"{_count(enabled, 'calendar')} enabled (pending: the daemon checks and syncs them;"
        " see hybridcal status)"
    )
    if existing:
        click.echo(f"{existing:,} already enabled, left as they were")
    if lines.duplicates:
        click.echo(f"{_count(lines.duplicates, 'repeated line')} ignored")
    if lines.bad:
        verb = "is not an address" if len(lines.bad) == 1 else "are not addresses"
        click.echo(f"{_count(len(lines.bad), 'line')} {verb} (see above)", err=True)
        raise SystemExit(1)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _remove_command() -> click.Command:
    @click.command("remove")
    @click.argument("addresses", nargs=-1, required=True)
    @_PROVIDER
    @click.pass_obj
    def remove(obj: Context, addresses: tuple[str, ...], provider: str) -> None:
        """Disable calendars: their channels are stopped, cache rows and devices deleted."""
        from hybridcal.daemon.admin import admin_session  # noqa: PLC0415

        async def body() -> None:
            async with admin_session(obj.settings, os.environ) as admin:
                for address in addresses:
                    await admin.disable(Provider(provider), address)
                    click.echo(f"{address}: removed (its cache rows, channels and devices too)")

        _run(body())

    return remove


def _list_command(kind: CalendarKind) -> click.Command:
    @click.command("list")
    @click.pass_obj
    def list_(obj: Context) -> None:
        """One line per calendar: address, provider, kind, state and the reason of an error."""
        from hybridcal.daemon.admin import admin_session  # noqa: PLC0415

        async def body() -> None:
            async with admin_session(obj.settings, os.environ, connect=False) as admin:
                for record in await admin.store.list_calendars(kind=kind):
                    click.echo(_describe(record))

        _run(body())

    return list_


def _show_command() -> click.Command:
    @click.command("show")
    @click.argument("address")
    @_PROVIDER
    @click.pass_obj
    def show(obj: Context, address: str, provider: str) -> None:
        """Everything about one calendar an admin can act on, as JSON: state and reason,
        whether its sync is failing (and since when), channels, meetings made, meetings a
        meeting system refused, unavailable keywords, and events that could not be handled."""
        from hybridcal.daemon.admin import admin_session  # noqa: PLC0415

        async def body() -> dict[str, Any]:
            async with admin_session(obj.settings, os.environ, connect=False) as admin:
                return await admin.report(Provider(provider), address)

        click.echo(json.dumps(_run(body()), indent=2))

    return show


users = _calendar_group(CalendarKind.USER)
rooms = _calendar_group(CalendarKind.ROOM)
main.add_command(users)
main.add_command(rooms)


# -- status ------------------------------------------------------------------------------------


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status document as JSON.")
@click.option("--watch", is_flag=True, help="Redraw it live with a progress bar (Ctrl-C ends).")
@click.option(
    "--interval",
    type=click.FloatRange(0.5, 3600),
    default=2.0,
    show_default=True,
    help="Seconds between redraws with --watch.",
)
@click.pass_obj
def status(obj: Context, as_json: bool, watch: bool, interval: float) -> None:
    """Where the organisation stands: calendars by state with the top error reasons, the first
    sweep's progress and time left, expiring channels, and the latest problems. Read from the
    store, so it works without asking the daemon (whose queue depth is in GET
    /admin/v1/status)."""
    from hybridcal import cli_status  # noqa: PLC0415
    from hybridcal.core.clock import utcnow  # noqa: PLC0415
    from hybridcal.daemon.admin import admin_session  # noqa: PLC0415
    from hybridcal.daemon.status import status_document  # noqa: PLC0415

    if watch and as_json:
        raise click.UsageError("--watch and --json do not go together")

    async def body() -> dict[str, Any] | None:
        async with admin_session(obj.settings, os.environ, connect=False) as admin:

            async def fetch() -> dict[str, Any]:
                return await status_document(admin.store, utcnow())

            if not watch:
                return await fetch()
            from rich.console import Console  # noqa: PLC0415

            await cli_status.watch(fetch, Console(), interval=interval)
            return None

    try:
        doc = _run(body())
    except KeyboardInterrupt:  # the way out of --watch: the last drawing stays on screen
        return
    if doc is None:
        return
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo("\n".join(cli_status.status_lines(doc)))


@main.command("admin-token")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace an existing token file.")
def admin_token(path: Path, force: bool) -> None:
    """Write a new random admin API token to PATH (mode 0600) for daemon.admin_token_file.

    The token is not printed; read it from the file. Restart the daemon afterwards."""
    import secrets  # noqa: PLC0415

    from hybridcal.crypto.secret_files import write_private  # noqa: PLC0415

    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; --force replaces it (the old token stops)")
    write_private(path, (secrets.token_urlsafe(32) + "\n").encode())
    click.echo(f"wrote a new admin token to {path}; set daemon.admin_token_file to it and")
    click.echo('restart the daemon; use it as: curl -H "Authorization: Bearer $(cat PATH)" ...')


# -- zoom --------------------------------------------------------------------------------------


@main.group()
def zoom() -> None:
    """The Zoom Server-to-Server OAuth app."""


@zoom.command("check")
@click.option(
    "--user",
    "users",
    multiple=True,
    help="Also check that this organiser can host Zoom meetings (repeatable).",
)
@click.pass_obj
def zoom_check(obj: Context, users: tuple[str, ...]) -> None:
    """Token, scopes, hosts and passcode rules of the Zoom app; creates nothing."""
    import aiohttp  # noqa: PLC0415

    from hybridcal.config.secrets import Overrides  # noqa: PLC0415
    from hybridcal.connectors.meetings.registry import build_meeting_systems  # noqa: PLC0415
    from hybridcal.connectors.meetings.zoom import ZoomMeetings  # noqa: PLC0415
    from hybridcal.core.clock import utcnow  # noqa: PLC0415
    from hybridcal.daemon.zoom_check import check_zoom  # noqa: PLC0415

    settings = obj.settings
    if not settings.zoom.enabled:
        raise click.ClickException("zoom.enabled is false in the config: nothing to check")
    configure_logging("warning", "console", stream=sys.stderr)  # the findings speak for it

    async def body() -> bool:
        async with aiohttp.ClientSession() as http:
            systems = build_meeting_systems(
                settings, http, overrides=Overrides(), environ=os.environ, now=utcnow
            )
            zoom = systems["zoom"]
            assert isinstance(zoom, ZoomMeetings)
            findings = await check_zoom(zoom, settings, tuple(u.lower() for u in users))
        for finding in findings:
            click.echo(finding.line())
        return all(f.ok or f.warning for f in findings)

    if not _run(body()):
        sys.exit(1)


# -- webex -------------------------------------------------------------------------------------


@main.group()
def webex() -> None:
    """The Webex Service App (its tokens live in the encrypted store)."""


@webex.command("authorize")
@click.option(
    "--refresh-token-file",
    "token_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A private file (mode 0600) holding the refresh token from the Service App's Org "
    "Authorizations page on developer.webex.com.",
)
@click.pass_obj
def webex_authorize(obj: Context, token_file: Path) -> None:
    """Store the Service App's refresh token, after checking it with one refresh."""
    from hybridcal.daemon.webex_check import authorize_webex  # noqa: PLC0415

    settings = obj.settings
    if not settings.webex.enabled:
        raise click.ClickException("webex.enabled is false in the config: enable it first")
    expires_at = _run(authorize_webex(settings, os.environ, token_file))
    click.echo(
        "stored the Webex Service App's tokens in the encrypted store; the access token is "
        f"valid until {expires_at:%Y-%m-%d %H:%M} UTC and is refreshed by the daemon. Delete "
        f"{token_file} now."
    )


@webex.command("check")
@click.option(
    "--user",
    "users",
    multiple=True,
    help="Also check that this organiser can host Webex meetings: a meeting is scheduled for "
    "them and deleted at once, without mail (repeatable).",
)
@click.pass_obj
def webex_check(obj: Context, users: tuple[str, ...]) -> None:
    """Token refresh, scopes and hosts of the Webex Service App."""
    from hybridcal.daemon.webex_check import run_webex_check  # noqa: PLC0415

    settings = obj.settings
    if not settings.webex.enabled:
        raise click.ClickException("webex.enabled is false in the config: nothing to check")
    configure_logging("warning", "console", stream=sys.stderr)  # the findings speak for it
    findings = _run(run_webex_check(settings, os.environ, tuple(u.lower() for u in users)))
    for finding in findings:
        click.echo(finding.line())
    if not all(f.ok or f.warning for f in findings):
        sys.exit(1)


def _describe(record: CalendarRecord) -> str:
    reason = f" — {record.reason}" if record.reason else ""
    what = f"{record.provider.value} {record.kind.value}"
    return f"{record.address} [{what}] {record.state.value}{reason}"


# -- devices ---------------------------------------------------------------------------------


@main.group()
def devices() -> None:
    """Endpoint tokens: each device reads exactly one calendar's meeting list."""


@devices.command("add")
@click.option("--calendar", "address", required=True, help="The room or user it shows.")
@click.option("--name", required=True)
@click.option("--provider", type=click.Choice([p.value for p in Provider]), default="google")
@click.pass_obj
def devices_add(obj: Context, address: str, name: str, provider: str) -> None:
    """Create a device; its token is printed once and only its hash is stored."""
    from hybridcal.daemon.admin import admin_session  # noqa: PLC0415

    async def body() -> None:
        async with admin_session(obj.settings, os.environ, connect=False) as admin:
            device, token = await admin.add_device(Provider(provider), address, name)
            click.echo(f"device {device.device_id} for {address}")
            click.echo(f"token (shown once): {token}")

    _run(body())


@devices.command("revoke")
@click.argument("device_id")
@click.pass_obj
def devices_revoke(obj: Context, device_id: str) -> None:
    from hybridcal.daemon.admin import admin_session  # noqa: PLC0415

    async def body() -> None:
        async with admin_session(obj.settings, os.environ, connect=False) as admin:
            await admin.store.revoke_device(device_id)
            click.echo(f"device {device_id} revoked")

    _run(body())


@devices.command("list")
@click.pass_obj
def devices_list(obj: Context) -> None:
    from hybridcal.daemon.admin import admin_session  # noqa: PLC0415

    async def body() -> None:
        async with admin_session(obj.settings, os.environ, connect=False) as admin:
            for d in await admin.store.list_devices():
                state = "revoked" if d.revoked else "active"
                address = d.calendar_key.split(":", 1)[1]
                click.echo(f"{d.device_id}  {state:7}  {address}  {d.name}")

    _run(body())


# -- keys ------------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """The keyring that encrypts the store."""


@keys.command("init")
@click.option("--path", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.pass_obj
def keys_init(obj: Context, path: Path | None) -> None:
    """Create a new keyring (mode 0600); refuses to overwrite one."""
    target = path or obj.settings.crypto.keyring
    keyring = init_keyring(target)
    click.echo(f"created {target} with key {keyring.active_id}")


@keys.command("rotate")
@click.option("--path", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.pass_obj
def keys_rotate(obj: Context, path: Path | None) -> None:
    """Add a new active key; old keys stay to read older rows. Restart the daemon afterwards."""
    target = path or obj.settings.crypto.keyring
    keyring = rotate_keyring(target)
    click.echo(f"{target}: key {keyring.active_id} is now active")


# -- links -----------------------------------------------------------------------------------


LINKS_MAX_BYTES: Final = 64 << 20  # read at most this much of each input (64 MiB)


class _UnusableInputError(Exception):
    """An input of `hybridcal links` that cannot be read: one line names it."""


def _read_capped(name: str) -> tuple[bytes, bool]:
    """At most `LINKS_MAX_BYTES` of the file ``name`` ('-' is stdin), and whether it was cut."""
    try:
        if name == "-":
            return _read_stream(sys.stdin.buffer)
        path = Path(name)
        if path.is_dir():
            raise _UnusableInputError("is a directory, not a file")
        with path.open("rb") as stream:
            return _read_stream(stream)
    except OSError as exc:
        raise _UnusableInputError(exc.strerror or str(exc)) from None


def _read_stream(stream: BinaryIO) -> tuple[bytes, bool]:
    data = stream.read(LINKS_MAX_BYTES + 1)
    return data[:LINKS_MAX_BYTES], len(data) > LINKS_MAX_BYTES


def _json_line(line: dict[str, Any]) -> str:
    text = json.dumps(line, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from undecodable input: escape them
        text = json.dumps(line)
    return text


@main.command()
@click.argument("files", nargs=-1, required=True)
def links(files: tuple[str, ...]) -> None:
    """Print the join links found in e-mails, .ics files, event JSON or text ('-' = stdin).

    One JSON line per input, the link a person should click first; an .ics file (or a mail's
    calendar) with several events gives one line per event instead. Each input is read up to
    64 MiB; a longer one is marked "truncated". An input that cannot be read or analysed is
    named on stderr, the others are still reported, and the exit code is 1."""
    from hybridcal.core.sources import analyse_bytes  # noqa: PLC0415

    failed = False
    for name in files:
        try:
            data, cut = _read_capped(name)
        except _UnusableInputError as exc:
            click.echo(f"Error: {name}: {exc}", err=True)
            failed = True
            continue
        if cut:
            click.echo(f"{name}: truncated: only the first {LINKS_MAX_BYTES} bytes read", err=True)
        try:
            report = analyse_bytes(data, name=name)
            lines = _links_lines(name, report)
        except Exception as exc:
            click.echo(f"Error: {name}: could not be analysed ({type(exc).__name__})", err=True)
            failed = True
            continue
        for line in lines:
            if cut or report.truncated:
                line["truncated"] = True
            click.echo(_json_line(line))
    if failed:
        sys.exit(1)


def _links_json(links: list[JoinLink]) -> list[dict[str, str | None]]:
    return [{k: v for k, v in link.to_json().items() if k != "dial" or v} for link in links]


def _links_lines(name: str, report: SourceReport) -> list[dict[str, Any]]:
    """One line for the input; for a calendar with several events, one line per event (its
    UID, summary and start, whether it is cancelled, its own links)."""
    if len(report.events) <= 1:
        return [
            {
                "file": name,
                "kind": report.kind,
                "cancelled": report.cancelled,
                "links": _links_json(report.links),
            }
        ]
    return [
        {
            "file": name,
            "kind": report.kind,
            "event": event.to_json(),
            "cancelled": event.cancelled,
            "links": _links_json(event.links),
        }
        for event in report.events
    ]
