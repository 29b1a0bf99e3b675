"""Every file holding a secret is refused when group or others may access it.

Real files with real modes in tmp_path: the shared rule (`crypto.secret_files`), `config check`'s
preflight, the daemon's secret loaders, `hybridcal run`, and the demo's writers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hybridcal.cli import main
from hybridcal.config import settings_from_mapping
from hybridcal.config.preflight import preflight
from hybridcal.config.secrets import load_microsoft_secret, load_service_account, load_zoom_secret
from hybridcal.config.settings import Settings
from hybridcal.connectors.errors import ConnectorError
from hybridcal.crypto import KeyringError, init_keyring, load_keyring
from hybridcal.crypto.secret_files import (
    SecretFileError,
    check_private,
    read_private,
    write_private,
)
from hybridcal.demo import install_zoom_app
from hybridcal.sandbox.zoom.app import ZoomSimulator

SA_KEY = {
    "type": "service_account",
    "client_email": "hybridcal@demo.iam.gserviceaccount.com",
    "private_key": "-----BEGIN PRIVATE KEY-----\nMIIfake\n-----END PRIVATE KEY-----\n",
    "token_uri": "https://oauth2.googleapis.com/token",
}


def secret(path: Path, text: str, mode: int) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o610, 0o601, 0o620, 0o777])
def test_any_group_or_other_bit_is_refused_with_the_exact_fix(tmp_path: Path, mode: int) -> None:
    path = secret(tmp_path / "zoom-secret", "s3cret", mode)
    problem = check_private(path)
    assert problem is not None
    assert f"`chmod 600 {path}`" in problem
    assert f"mode {mode:04o}" in problem
    assert "s3cret" not in problem
    with pytest.raises(SecretFileError, match=f"chmod 600 {path}"):
        read_private(path)


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_owner_only_modes_are_accepted(tmp_path: Path, mode: int) -> None:
    path = secret(tmp_path / "zoom-secret", "s3cret", mode)
    assert check_private(path) is None
    assert read_private(path) == b"s3cret"


def test_a_symlink_is_judged_by_its_target(tmp_path: Path) -> None:
    target = secret(tmp_path / "real-secret", "s3cret", 0o600)
    link = tmp_path / "secret-link"
    link.symlink_to(target)  # the link itself is 0777, as links always are
    assert check_private(link) is None
    assert read_private(link) == b"s3cret"
    target.chmod(0o644)
    problem = check_private(link)
    assert problem is not None
    assert f"a link to {target}" in problem
    assert f"`chmod 600 {link}`" in problem  # chmod follows the link, so this fixes it


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_file_of_another_user_gets_a_chown_hint(tmp_path: Path) -> None:
    path = secret(tmp_path / "sa.json", json.dumps(SA_KEY), 0o644)
    os.chown(path, 65534, 65534)
    problem = check_private(path)
    assert problem is not None
    assert f"`chmod 600 {path}`" in problem
    assert f"`chown root {path}`" in problem
    path.chmod(0o600)  # private to its owner: nothing to report about the mode
    assert check_private(path) is None


def test_missing_or_not_a_file(tmp_path: Path) -> None:
    assert "cannot read" in (check_private(tmp_path / "absent") or "")
    assert "not a regular file" in (check_private(tmp_path) or "")
    with pytest.raises(FileNotFoundError):
        read_private(tmp_path / "absent")


def test_write_private_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "secret"
        write_private(path, b"one")
        assert path.stat().st_mode & 0o777 == 0o600
        path.chmod(0o666)
        write_private(path, b"two")  # an existing loose file is made private again
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.read_bytes() == b"two"
    finally:
        os.umask(old)


def test_the_keyring_follows_the_same_rule(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    init_keyring(path)
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o640)
    with pytest.raises(KeyringError, match=f"chmod 600 {path}"):
        load_keyring(path)


# -- preflight, loaders and `hybridcal run` ---------------------------------------------------


def all_secrets(tmp_path: Path, mode: int, *, certificate: bool = False) -> dict[str, Any]:
    """Config sections naming a keyring and every kind of secret file, all with ``mode``."""
    keyring = tmp_path / "keyring.json"
    init_keyring(keyring)
    keyring.chmod(mode)
    sa = secret(tmp_path / "sa.json", json.dumps(SA_KEY), mode)
    zoom = secret(tmp_path / "zoom-secret", "zoom-s3cret", mode)
    microsoft: dict[str, Any] = {"enabled": True, "tenant_id": "t", "client_id": "c"}
    if certificate:
        pem = "-----BEGIN PRIVATE KEY-----\nMIIfake\n-----END PRIVATE KEY-----\n"
        microsoft["certificate_file"] = str(secret(tmp_path / "app.pem", pem, mode))
    else:
        ms = secret(tmp_path / "ms-secret", "ms-s3cret", mode)
        microsoft["client_secret_file"] = str(ms)
    return {
        "daemon": {"public_url": "https://hybridcal.example.com"},
        "store": {"path": str(tmp_path / "hybridcal.db")},
        "crypto": {"keyring": str(keyring)},
        "google": {"enabled": True, "service_account_file": str(sa)},
        "zoom": {
            "enabled": True,
            "account_id": "acct",
            "client_id": "zc",
            "client_secret_file": str(zoom),
        },
        "microsoft": microsoft,
    }


@pytest.mark.parametrize("certificate", [False, True])
def test_preflight_reports_every_loose_secret_file_at_once(
    tmp_path: Path, certificate: bool
) -> None:
    settings = settings_from_mapping(all_secrets(tmp_path, 0o644, certificate=certificate))
    problems = dict(preflight(settings, {}))
    ms_key = "microsoft.certificate_file" if certificate else "microsoft.client_secret_file"
    expected = {
        "crypto.keyring": tmp_path / "keyring.json",
        "google.service_account_file": tmp_path / "sa.json",
        "zoom.client_secret_file": tmp_path / "zoom-secret",
        ms_key: tmp_path / ("app.pem" if certificate else "ms-secret"),
    }
    assert set(problems) == set(expected)
    for key, path in expected.items():
        assert f"`chmod 600 {path}`" in problems[key], problems[key]
    for path in expected.values():
        path.chmod(0o600)
    assert preflight(settings, {}) == []


def test_systemd_credentials_are_not_held_to_the_file_rule(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    init_keyring(creds / "keyring")
    (creds / "keyring").chmod(0o644)
    secret(creds / "google-sa", json.dumps(SA_KEY), 0o644)
    secret(creds / "zoom", "zoom-s3cret", 0o644)
    env = {"CREDENTIALS_DIRECTORY": str(creds)}
    settings = settings_from_mapping(
        {
            "daemon": {"public_url": "https://hybridcal.example.com"},
            "crypto": {"credential": "keyring"},
            "google": {"enabled": True, "service_account_credential": "google-sa"},
            "zoom": {
                "enabled": True,
                "account_id": "acct",
                "client_id": "zc",
                "client_secret_credential": "zoom",
            },
        }
    )
    assert preflight(settings, env) == []
    assert load_service_account(settings, env)["client_email"] == SA_KEY["client_email"]
    assert load_zoom_secret(settings, env) == "zoom-s3cret"


def loose(tmp_path: Path, *, certificate: bool = False) -> Settings:
    return settings_from_mapping(all_secrets(tmp_path, 0o640, certificate=certificate))


def test_the_daemon_loaders_refuse_loose_files(tmp_path: Path) -> None:
    settings = loose(tmp_path)
    with pytest.raises(ConnectorError, match=f"chmod 600 {tmp_path / 'sa.json'}"):
        load_service_account(settings, {})
    with pytest.raises(ConnectorError, match=f"chmod 600 {tmp_path / 'zoom-secret'}"):
        load_zoom_secret(settings, {})
    with pytest.raises(ConnectorError, match=f"chmod 600 {tmp_path / 'ms-secret'}"):
        load_microsoft_secret(settings, {})
    for name in ("sa.json", "zoom-secret", "ms-secret"):
        (tmp_path / name).chmod(0o600)
    assert load_service_account(settings, {})["type"] == "service_account"
    assert load_zoom_secret(settings, {}) == "zoom-s3cret"
    assert load_microsoft_secret(settings, {}) == "ms-s3cret"


def test_the_microsoft_certificate_is_a_secret_file_too(tmp_path: Path) -> None:
    settings = loose(tmp_path, certificate=True)
    with pytest.raises(ConnectorError, match=f"chmod 600 {tmp_path / 'app.pem'}"):
        load_microsoft_secret(settings, {})
    (tmp_path / "app.pem").chmod(0o600)
    assert load_microsoft_secret(settings, {}) is None


def write_config(tmp_path: Path, sections: dict[str, Any]) -> Path:
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    config = tmp_path / "hybridcal.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def test_run_refuses_to_start_naming_every_loose_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, all_secrets(tmp_path, 0o644))
    result = CliRunner().invoke(main, ["--config", str(config), "run"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "refusing to start: 4 problem(s)" in result.output
    for name in ("keyring.json", "sa.json", "zoom-secret", "ms-secret"):
        assert f"`chmod 600 {tmp_path / name}`" in result.output
    assert not (tmp_path / "hybridcal.db").exists()  # refused before anything started
    assert "s3cret" not in result.output


def test_config_check_reports_loose_files(tmp_path: Path) -> None:
    config = write_config(tmp_path, all_secrets(tmp_path, 0o604))
    result = CliRunner().invoke(main, ["--config", str(config), "config", "check"])
    assert result.exit_code == 2
    assert f"problem: zoom.client_secret_file: {tmp_path / 'zoom-secret'}" in result.output
    assert f"`chmod 600 {tmp_path / 'sa.json'}`" in result.output


def test_the_demo_writes_secret_files_private(tmp_path: Path) -> None:
    old = os.umask(0)  # the writer must not rely on the umask
    try:
        install_zoom_app(ZoomSimulator(account_id="demo"), tmp_path)
    finally:
        os.umask(old)
    assert (tmp_path / "zoom-client-secret").stat().st_mode & 0o777 == 0o600
