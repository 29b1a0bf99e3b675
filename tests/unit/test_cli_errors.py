"""The admin command line never prints a traceback for bad input: one line, exit 1 (2 for usage).

Through click's CliRunner with real files, keyrings and databases in tmp_path, and a few cases
through a real subprocess (what an admin's shell sees).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner, Result

import hybridcal.cli
from hybridcal.cli import main
from hybridcal.core import sources
from hybridcal.crypto import init_keyring
from hybridcal.sandbox.keys import generate_service_account

REPO = Path(__file__).resolve().parents[2]
ZOOM_LINK = "https://example.zoom.us/j/85512345678?pwd=Zk9vQmFyQmF6"


def invoke(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, env=env)


def assert_one_line_error(result: Result, *needles: str, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    return result.stderr


# -- links ----------------------------------------------------------------------------------------


def test_links_missing_file_directory_and_a_good_one(tmp_path: Path) -> None:
    good = tmp_path / "invite.txt"
    good.write_text(f"Join: {ZOOM_LINK}\n", encoding="utf-8")
    missing = tmp_path / "missing.txt"
    result = invoke("links", str(missing), str(tmp_path), str(good))
    stderr = assert_one_line_error(result)
    assert f"Error: {missing}: No such file or directory" in stderr
    assert f"Error: {tmp_path}: is a directory" in stderr
    [line] = result.stdout.splitlines()  # the good input is still reported
    report = json.loads(line)
    assert report["file"] == str(good)
    assert report["links"][0]["url"].startswith("https://example.zoom.us/j/85512345678")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_links_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.eml"
    path.write_text("x", encoding="utf-8")
    path.chmod(0)
    assert_one_line_error(invoke("links", str(path)), f"{path}: Permission denied")


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 64,  # binary
        "Réunion: ".encode("latin-1") + ZOOM_LINK.encode() + b"\xff\xfe\x80",  # not UTF-8
        f"Join {ZOOM_LINK}".encode("utf-16"),  # another encoding altogether
        b"[" * 200_000 + b"]" * 200_000,  # deep JSON
        b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
        b"BEGIN:VCALENDAR\r\n" + b"BEGIN:VEVENT\r\n" * 20_000,  # an unterminated .ics
        b"\xed\xa0\x80" + ZOOM_LINK.encode(),  # an encoded lone surrogate
    ],
    ids=["binary", "latin-1", "utf-16", "deep-array", "deep-object", "ics", "surrogate"],
)
def test_links_hostile_input_never_prints_a_traceback(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "input"
    path.write_bytes(data)
    result = invoke("links", str(path))
    assert "Traceback" not in result.output
    assert result.exit_code in {0, 1}, result.output
    if result.exit_code == 0:
        json.loads(result.stdout)  # one JSON line
    else:
        assert result.stderr.startswith(f"Error: {path}:")


def test_links_reads_at_most_the_cap_and_says_truncated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hybridcal.cli, "LINKS_MAX_BYTES", 1000)
    path = tmp_path / "huge.txt"
    path.write_bytes(f"{ZOOM_LINK}\n".encode() + b"x" * 5000 + b" https://meet.google.com/abc")
    seen: list[int] = []
    analyse = sources.analyse_bytes

    def spy(data: bytes, name: str = "-") -> Any:
        seen.append(len(data))
        return analyse(data, name=name)

    monkeypatch.setattr(sources, "analyse_bytes", spy)
    result = invoke("links", str(path))
    assert result.exit_code == 0, result.output
    assert seen == [1000]  # only the cap was read and analysed
    report = json.loads(result.stdout)
    assert report["truncated"] is True
    assert report["links"][0]["url"].startswith("https://example.zoom.us")
    assert "truncated" in result.stderr
    small = tmp_path / "small.txt"
    small.write_text(ZOOM_LINK, encoding="utf-8")
    assert "truncated" not in json.loads(invoke("links", str(small)).stdout)


def test_links_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke("links", "-", stdin=f"Join {ZOOM_LINK}".encode())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["file"] == "-"


def test_links_a_bug_in_the_analyser_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(data: bytes, name: str = "-") -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(sources, "analyse_bytes", broken)
    path = tmp_path / "invite.ics"
    path.write_text("BEGIN:VCALENDAR", encoding="utf-8")
    stderr = assert_one_line_error(invoke("links", str(path)))
    assert stderr == f"Error: {path}: could not be analysed (RecursionError)\n"


# -- config, keyring, store ----------------------------------------------------------------------


def write_config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "hybridcal.toml"
    config.write_text(
        f"""
[daemon]
public_url = "https://hybridcal.example.com"

[store]
path = "{tmp_path / "hybridcal.db"}"

[crypto]
keyring = "{tmp_path / "keyring.json"}"
{extra}
""",
        encoding="utf-8",
    )
    return config


def test_missing_config(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    result = invoke("--config", str(missing), "users", "list")
    assert_one_line_error(result, "cannot read the file: No such file or directory")


def test_bad_toml_and_invalid_values(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[daemon\n", encoding="utf-8")
    assert_one_line_error(invoke("--config", str(bad), "rooms", "list"), "invalid TOML")
    bad.write_text('[daemon]\nlisten_port = "x"\nsync_concurency = 3\n', encoding="utf-8")
    stderr = assert_one_line_error(invoke("--config", str(bad), "devices", "list"))
    # every problem named at once
    assert "daemon.listen_port: must be a whole number" in stderr
    assert "daemon.public_url: required" in stderr
    assert "did you mean 'sync_concurrency'?" in stderr


def test_missing_keyring(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = invoke("--config", str(config), "users", "list")
    assert_one_line_error(result, "no keyring at", "hybridcal keys init")


def test_wrong_keyring(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    init_keyring(tmp_path / "keyring.json")
    assert invoke("--config", str(config), "users", "list").exit_code == 0  # creates the store
    (tmp_path / "keyring.json").unlink()
    init_keyring(tmp_path / "keyring.json")  # another keyring
    result = invoke("--config", str(config), "users", "list")
    assert_one_line_error(result, "wrong keyring", "keyring this database was created with")


def test_keys_init_refuses_to_overwrite(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    init_keyring(tmp_path / "keyring.json")
    assert_one_line_error(invoke("--config", str(config), "keys", "init"), "already exists")


def test_a_store_that_is_not_a_database(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    init_keyring(tmp_path / "keyring.json")
    (tmp_path / "hybridcal.db").write_bytes(b"this is not sqlite, just text\n" * 100)
    result = invoke("--config", str(config), "devices", "list")
    assert_one_line_error(result, "hybridcal.db")


def test_a_store_from_a_newer_hybridcal(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    init_keyring(tmp_path / "keyring.json")
    assert invoke("--config", str(config), "users", "list").exit_code == 0
    with sqlite3.connect(tmp_path / "hybridcal.db") as conn:
        conn.execute("UPDATE meta SET value = 999 WHERE key = 'schema_version'")
    conn.close()
    result = invoke("--config", str(config), "users", "list")
    assert_one_line_error(result, "schema version 999", "upgrade hybridcal")


def test_a_locked_database(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    init_keyring(tmp_path / "keyring.json")
    assert invoke("--config", str(config), "users", "list").exit_code == 0
    holder = sqlite3.connect(tmp_path / "hybridcal.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # the store waits its busy timeout (5 s), then gives up
        result = invoke("--config", str(config), "users", "list")
    finally:
        holder.close()
    assert_one_line_error(result, "locked")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_provider_defers_the_calendar_in_one_line(tmp_path: Path) -> None:
    port = closed_port()
    root = f"http://127.0.0.1:{port}"
    sa = tmp_path / "sa.json"
    sa.write_text(json.dumps(generate_service_account(token_uri=f"{root}/token")))
    sa.chmod(0o600)
    config = write_config(
        tmp_path,
        f"""
[google]
enabled = true
service_account_file = "{sa}"
token_uri = "{root}/token"
calendar_api_root = "{root}/calendar/v3/"
gmail_api_root = "{root}/"
max_retries = 0
""",
    )
    init_keyring(tmp_path / "keyring.json")
    result = invoke("--config", str(config), "users", "add", "alice@example.com")
    assert "Traceback" not in result.output
    assert result.stdout == "alice@example.com [google user] pending\n"  # retried later
    assert result.stderr == ""  # an info line, below the admin commands' warning level


def test_a_connection_error_names_host_and_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()

    async def connect() -> None:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/"):
            pass

    with pytest.raises(aiohttp.ClientConnectorError) as refused:
        asyncio.run(connect())
    monkeypatch.setattr(hybridcal.cli.Context, "settings", broken_settings(refused.value))
    result = invoke("--config", str(tmp_path / "x.toml"), "devices", "list")
    assert_one_line_error(result, f"cannot reach 127.0.0.1:{port}", "check the URL in the config")


# -- the last resort, --debug and Ctrl-C ---------------------------------------------------------


def broken_settings(exc: BaseException) -> Any:
    def fail(self: Any) -> Any:
        raise exc

    return property(fail)


def test_an_unexpected_error_is_one_line_naming_its_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        hybridcal.cli.Context,
        "settings",
        broken_settings(ZeroDivisionError("division by zero; access_token=abc123")),
    )
    result = invoke("--config", str(tmp_path / "x.toml"), "users", "list")
    stderr = assert_one_line_error(result, "ZeroDivisionError", "--debug", "HYBRIDCAL_DEBUG=1")
    assert len(stderr.splitlines()) == 1
    assert "abc123" not in stderr  # an unexpected error's text is redacted like a log line


@pytest.mark.parametrize("how", [["--debug"], []])
def test_debug_lets_the_traceback_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: list[str]
) -> None:
    monkeypatch.setattr(hybridcal.cli.Context, "settings", broken_settings(ZeroDivisionError()))
    env = {} if how else {"HYBRIDCAL_DEBUG": "1"}
    result = invoke(*how, "--config", str(tmp_path / "x.toml"), "users", "list", env=env)
    assert isinstance(result.exception, ZeroDivisionError)  # not swallowed: Python prints it


def test_ctrl_c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hybridcal.cli.Context, "settings", broken_settings(KeyboardInterrupt()))
    result = invoke("--config", str(tmp_path / "x.toml"), "devices", "list")
    assert_one_line_error(result, "interrupted")


def test_usage_errors_keep_click_exit_code_2() -> None:
    result = invoke("users", "frobnicate")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# -- a real process ------------------------------------------------------------------------------


def hybridcal_process(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    environ = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    environ.pop("HYBRIDCAL_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "hybridcal", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_real_process_prints_one_line(tmp_path: Path) -> None:
    done = hybridcal_process("links", "missing.txt", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "Error: missing.txt: No such file or directory\n"

    (tmp_path / "bad.toml").write_text("x = [", encoding="utf-8")
    done = hybridcal_process("--config", "bad.toml", "users", "list", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("Error: invalid configuration in bad.toml")

    config = write_config(tmp_path)
    done = hybridcal_process("--config", str(config), "run", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "crypto.keyring: cannot read" in done.stderr
