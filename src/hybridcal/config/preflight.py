"""Checks of the files the settings point at, for `hybridcal config check` and daemon start.

`load_settings` validates the configuration's *shape* only, so that it can be checked on a
machine (or as a user) that cannot read the secrets. `preflight` then looks at the files
themselves: the service-account key and the keyring exist and are readable, every file holding
a secret is private to its owner (mode 0600; the fix is named), and systemd credentials are
present when the process runs inside the service. It reports contents' shape, never contents.
`hybridcal config check` prints its problems and `hybridcal run` refuses to start on any.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hybridcal.crypto.secret_files import SecretFileError, check_private, read_private

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hybridcal.config.settings import Problem, Settings

CREDENTIALS_DIRECTORY: Final = "CREDENTIALS_DIRECTORY"
_SERVICE_ACCOUNT_FIELDS: Final = ("client_email", "private_key", "token_uri")


def credential_path(name: str, environ: Mapping[str, str]) -> Path | None:
    """Where systemd placed the credential ``name`` (``LoadCredential=``); None outside a
    service that loads credentials."""
    directory = environ.get(CREDENTIALS_DIRECTORY)
    return Path(directory) / name if directory else None


def preflight(settings: Settings, environ: Mapping[str, str]) -> list[Problem]:
    """Every problem with the files the settings name, as (dotted key, message) pairs.

    A credential can only be checked where ``$CREDENTIALS_DIRECTORY`` is set, i.e. inside the
    service; elsewhere it is skipped rather than reported.
    """
    problems: list[Problem] = []
    google = settings.google
    if google.enabled:
        if google.service_account_file is not None:
            problems += _service_account(
                "google.service_account_file", google.service_account_file, credential=False
            )
        elif google.service_account_credential is not None:
            path = credential_path(google.service_account_credential, environ)
            if path is not None:
                problems += _service_account(
                    "google.service_account_credential", path, credential=True
                )
    zoom, microsoft = settings.zoom, settings.microsoft
    secrets = [
        ("zoom.client_secret_file", zoom.client_secret_file if zoom.enabled else None),
        (
            "webex.client_secret_file",
            settings.webex.client_secret_file if settings.webex.enabled else None,
        ),
        (
            "microsoft.client_secret_file",
            microsoft.client_secret_file if microsoft.enabled else None,
        ),
        ("microsoft.certificate_file", microsoft.certificate_file if microsoft.enabled else None),
        ("daemon.admin_token_file", settings.daemon.admin_token_file),
        ("store.password_file", settings.store.password_file),
    ]
    for key, secret_file in secrets:
        if secret_file is not None:
            problems += _private(key, secret_file)
    if settings.crypto.credential is not None:
        path = credential_path(settings.crypto.credential, environ)
        if path is not None:
            problems += _readable("crypto.credential", path)
    else:
        problems += _private("crypto.keyring", settings.crypto.keyring)
    return problems


def _readable(key: str, path: Path) -> list[Problem]:
    """A systemd credential: readable is enough, systemd made it private to the service."""
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        return [(key, f"cannot read {path}: {error.strerror or error}")]
    return []


def _private(key: str, path: Path) -> list[Problem]:
    """A secret file named in the config: readable, and private to its owner."""
    problems = _readable(key, path)
    if not problems:
        problem = check_private(path)
        problems = [(key, problem)] if problem else []
    return problems


def _service_account(key: str, path: Path, *, credential: bool) -> list[Problem]:
    try:
        data = path.read_bytes() if credential else read_private(path)
    except OSError as error:
        return [(key, f"cannot read {path}: {error.strerror or error}")]
    except SecretFileError as error:
        return [(key, str(error))]
    try:
        info = json.loads(data)
    except ValueError:
        return [(key, f"{path} is not JSON; download the service account's key as JSON")]
    if not isinstance(info, dict) or info.get("type") != "service_account":
        return [(key, f'{path} is not a service-account key ("type" is not "service_account")')]
    missing = [field for field in _SERVICE_ACCOUNT_FIELDS if not info.get(field)]
    if missing:
        return [(key, f"{path} lacks {', '.join(missing)}")]
    return []
