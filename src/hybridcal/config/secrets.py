"""The secrets the settings point at (service-account key, client secrets), read from private
files or systemd credentials, and what the demo and tests hand in instead."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybridcal.config.preflight import credential_path
from hybridcal.config.settings import Settings
from hybridcal.connectors.errors import ConnectorError
from hybridcal.crypto import Keyring
from hybridcal.crypto.secret_files import SecretFileError, check_private, read_private


@dataclass(frozen=True, slots=True)
class Overrides:
    """What the demo and tests hand in instead of reading it from disk."""

    keyring: Keyring | None = None
    service_account_info: Mapping[str, Any] | None = None
    zoom_client_secret: str | None = None
    webex_client_secret: str | None = None
    microsoft_client_secret: str | None = None


def secret_path(
    key: str, file: Path | None, credential: str | None, environ: Mapping[str, str]
) -> Path:
    """Where a secret lives: the systemd credential when one is named, else the file.
    ``key`` is the settings prefix, e.g. ``google.service_account``."""
    if credential:
        path = credential_path(credential, environ)
        if path is None:
            raise ConnectorError(
                f"{key}_credential is set but $CREDENTIALS_DIRECTORY is not "
                "(use LoadCredential= in the systemd unit)"
            )
        return path
    if file:
        return Path(file)
    raise ConnectorError(f"{key}_file is not set")


def read_secret(
    key: str, file: Path | None, credential: str | None, environ: Mapping[str, str], what: str
) -> tuple[Path, bytes]:
    """The bytes of a secret and where they came from. A file must be private to its owner
    (`read_private`); a systemd credential is private to the service by construction."""
    path = secret_path(key, file, credential, environ)
    try:
        if credential:
            return path, path.read_bytes()
        return path, read_private(path)
    except OSError as exc:
        raise ConnectorError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except SecretFileError as exc:
        raise ConnectorError(f"{what}: {exc}") from None


def load_service_account(settings: Settings, environ: Mapping[str, str]) -> dict[str, Any]:
    google = settings.google
    path, data = read_secret(
        "google.service_account",
        google.service_account_file,
        google.service_account_credential,
        environ,
        "the service-account key",
    )
    try:
        info = json.loads(data)
    except ValueError as exc:  # UnicodeDecodeError included
        raise ConnectorError(f"cannot read the service-account key {path}: {exc}") from None
    if not isinstance(info, dict):
        raise ConnectorError(f"the service-account key {path} is not a JSON object")
    return info


def _secret_text(path: Path, data: bytes, what: str) -> str:
    try:
        secret = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConnectorError(f"{what} {path} is not UTF-8 text") from None
    if not secret:
        raise ConnectorError(f"{what} file {path} is empty")
    return secret


def load_zoom_secret(settings: Settings, environ: Mapping[str, str]) -> str:
    zoom = settings.zoom
    what = "the Zoom client secret"
    path, data = read_secret(
        "zoom.client_secret", zoom.client_secret_file, zoom.client_secret_credential, environ, what
    )
    return _secret_text(path, data, what)


def load_webex_secret(settings: Settings, environ: Mapping[str, str]) -> str:
    webex = settings.webex
    what = "the Webex client secret"
    path, data = read_secret(
        "webex.client_secret",
        webex.client_secret_file,
        webex.client_secret_credential,
        environ,
        what,
    )
    return _secret_text(path, data, what)


def load_microsoft_secret(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """The app's client secret, or None when it proves itself with a certificate (whose file,
    holding the private key, is held to the same rule as every secret file)."""
    m = settings.microsoft
    if m.certificate_file is not None:
        problem = check_private(Path(m.certificate_file))
        if problem is not None:
            raise ConnectorError(f"the Microsoft certificate: {problem}")
        return None
    what = "the Microsoft client secret"
    path, data = read_secret(
        "microsoft.client_secret", m.client_secret_file, m.client_secret_credential, environ, what
    )
    return _secret_text(path, data, what)
