"""``hybridcal status`` (lines, --json, --watch), bulk ``users add --from-file`` and
``hybridcal admin-token``, through click's CliRunner with a real keyring and store."""

from __future__ import annotations

import asyncio
import io
import json
import stat
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from hybridcal import cli_status
from hybridcal.cli import main
from hybridcal.crypto import init_keyring
from hybridcal.daemon import admin
from hybridcal.daemon.admin_api import load_token_hash

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    init_keyring(tmp_path / "keyring.json")
    path = tmp_path / "hybridcal.toml"
    path.write_text(
        f"""
[daemon]
public_url = "https://hybridcal.example.com"
[store]
path = "{tmp_path / "hybridcal.db"}"
[crypto]
keyring = "{tmp_path / "keyring.json"}"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(autouse=True)
def no_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bulk enable and status must never reach a provider."""

    def refuse(*_args: object, **_kwargs: object) -> Any:
        raise AssertionError("a provider was called")

    monkeypatch.setattr(admin, "build_connectors", refuse)
    monkeypatch.setattr(admin, "activate", refuse)


def invoke(config: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], input=stdin)


def test_bulk_enable_of_ten_thousand_stores_them_pending(config: Path, tmp_path: Path) -> None:
    people = tmp_path / "people.txt"
    lines = ["# everyone", ""] + [f"Person{n}@Example.com  # n{n}" for n in range(10_000)]
    lines += ["not an address", "x@localhost", "person5@example.com"]
    people.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = invoke(config, "users", "add", "--from-file", str(people))

    assert result.exit_code == 1, result.output  # bad lines make it fail, after storing
    assert result.stdout.splitlines()[0] == (
        "10,000 calendars enabled (pending: the daemon checks and syncs them; see hybridcal status)"
    )
    assert "1 repeated line ignored" in result.stdout
    assert "line 10003: 'not an address': contains a space" in result.stderr
    assert "line 10004: 'x@localhost': 'localhost' is not a valid domain" in result.stderr
    assert "2 lines are not addresses" in result.stderr

    doc = json.loads(invoke(config, "status", "--json").stdout)
    assert doc["calendars"]["pending"] == 10_000
    assert doc["calendars"]["users"] == 10_000
    assert doc["sweep"]["remaining"] == 10_000

    again = invoke(config, "users", "add", "--from-file", "-", stdin="person1@example.com\n")
    assert again.exit_code == 0, again.output
    assert "0 calendars enabled" in again.stdout
    assert "1 already enabled, left as they were" in again.stdout


def test_bulk_enable_of_rooms_from_stdin(config: Path) -> None:
    result = invoke(config, "rooms", "add", "--from-file", "-", stdin="room-1@example.com\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1 calendar enabled (pending")
    doc = json.loads(invoke(config, "status", "--json").stdout)
    assert (doc["calendars"]["rooms"], doc["calendars"]["users"]) == (1, 0)


@pytest.mark.parametrize(
    "args", [("a@example.com", "--from-file", "-"), ("--name", "X", "--from-file", "-"), ()]
)
def test_bulk_enable_usage(config: Path, args: tuple[str, ...]) -> None:
    assert invoke(config, "users", "add", *args, stdin="b@example.com\n").exit_code == 2


def test_status_lines(config: Path) -> None:
    invoke(config, "users", "add", "--from-file", "-", stdin="a@example.com\nb@example.com\n")
    result = invoke(config, "status")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:4] == [
        "calendars    2: 0 active, 2 pending, 0 in error (0 rooms, 2 users)",
        "sync         0 of 2 calendars synced; none in the last 10 min, so no estimate",
        f"queue        {cli_status.QUEUE_UNKNOWN}",
        "channels     0 expire within a day",
    ]


def document(synced: int) -> dict[str, Any]:
    return {
        "generated_at": "2026-12-05T12:00:00+00:00",
        "calendars": {
            "total": 10_000,
            "pending": 2_500,
            "active": 7_412,
            "error": 88,
            "rooms": 300,
            "users": 9_700,
            "top_error_reasons": [
                {"reason": "<address> not found", "count": 88, "example": "google:x@example.com"}
            ],
        },
        "sweep": {
            "synced": synced,
            "total": 9_912,
            "remaining": 9_912 - synced,
            "done": False,
            "rate_per_minute": 812.0,
            "rate_window_minutes": 10,
            "eta_seconds": 185,
            "eta_at": "2026-12-05T12:03:05+00:00",
        },
        "channels": {"expiring_within_a_day": 12},
        "problems": {
            "calendars_failing": 1,
            "event_faults": 0,
            "latest": [
                {
                    "calendar": "google:y@example.com",
                    "kind": "sync",
                    "event": None,
                    "error": "TransientError",
                    "message": "503\nfrom Google",
                    "since": "2026-12-05T11:00:00+00:00",
                    "last_seen": "2026-12-05T11:58:00+00:00",
                    "attempts": 4,
                    "next_retry": None,
                }
            ],
        },
        "daemon": {"queue_depth": 3, "first_sweep_running": True, "replica": None},
    }


def test_lines_of_a_sweep_in_progress() -> None:
    lines = cli_status.status_lines(document(7_412))
    assert lines[1] == "  88 in error: <address> not found (e.g. google:x@example.com)"
    assert lines[2] == (
        "sync         7,412 of 9,912 calendars synced, 812/min over the last 10 min,"
        " about 3 min left"
    )
    assert lines[3] == "queue        3 calendars waiting (first sweep running)"
    assert lines[5] == "problems     1 calendar failing to sync, 0 events not handled"
    assert lines[-1] == (
        "  2026-12-05 11:58  google:y@example.com  sync  TransientError: 503 from Google"
    )


async def test_watch_redraws_with_a_progress_bar() -> None:
    out = io.StringIO()
    console = Console(file=out, width=160, force_terminal=True, color_system=None)
    docs = iter([document(7_000), document(7_412)])

    async def fetch() -> dict[str, Any]:
        return next(docs)

    await cli_status.watch(fetch, console, interval=0, rounds=2)
    text = out.getvalue()
    assert "first sweep" in text
    assert "7,000 of 9,912 calendars synced" in text
    assert "7,412 of 9,912 calendars synced" in text  # redrawn
    assert "━" in text  # the bar


def test_watch_ends_cleanly_on_ctrl_c(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def interrupted(*_args: object, **_kwargs: object) -> None:
        await asyncio.sleep(0)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_status, "watch", interrupted)
    result = invoke(config, "status", "--watch")
    assert result.exit_code == 0, result.output
    assert "Error" not in result.output
    assert invoke(config, "status", "--watch", "--json").exit_code == 2


def test_admin_token(tmp_path: Path) -> None:
    path = tmp_path / "admin-token"
    result = CliRunner().invoke(main, ["admin-token", str(path)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = path.read_text(encoding="ascii").strip()
    assert token not in result.output
    assert load_token_hash(path) is not None
    refused = CliRunner().invoke(main, ["admin-token", str(path)])
    assert refused.exit_code == 1
    assert path.read_text(encoding="ascii").strip() == token
    assert CliRunner().invoke(main, ["admin-token", "--force", str(path)]).exit_code == 0
    assert path.read_text(encoding="ascii").strip() != token
