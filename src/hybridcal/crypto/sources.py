"""Where the daemon gets its keyring: a private file, or a systemd credential.

With ``LoadCredential=keyring:/etc/hybridcal/keyring.json`` (or ``SetCredentialEncrypted=``)
systemd places the keyring in ``$CREDENTIALS_DIRECTORY/keyring``, readable only by the service,
so no mode check is needed there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hybridcal.crypto.errors import KeyringError
from hybridcal.crypto.keyring import Keyring, load_keyring

if TYPE_CHECKING:
    from collections.abc import Mapping


def keyring_from_credentials(name: str, environ: Mapping[str, str]) -> Keyring:
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        raise KeyringError(
            f"keyring credential {name!r} requested but CREDENTIALS_DIRECTORY is not set:"
            f" add `LoadCredential={name}:/etc/hybridcal/keyring.json` to the systemd unit"
        )
    if not name or "/" in name or name in {".", ".."}:
        raise KeyringError(f"invalid credential name {name!r}")
    path = Path(directory) / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyringError(
            f"systemd credential {name!r} not found in {directory}:"
            f" add `LoadCredential={name}:/etc/hybridcal/keyring.json` to the systemd unit"
        ) from None
    except OSError as exc:
        raise KeyringError(f"cannot read credential {path}: {exc.strerror}") from None
    return Keyring.from_json(data, source=f"credential {name!r}")


def open_keyring(
    *, path: Path | None, credential: str | None, environ: Mapping[str, str]
) -> Keyring:
    """The keyring for startup: a configured credential wins over a path."""
    if credential is not None:
        return keyring_from_credentials(credential, environ)
    if path is not None:
        return load_keyring(path)
    raise KeyringError(
        "no keyring configured: set a keyring path (created with `hybridcal keys init`)"
        " or a systemd credential name"
    )
