"""store.backend chooses the store through hybridcal.store.registry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hybridcal.config import ConfigError, settings_from_mapping
from hybridcal.config.settings import Settings
from hybridcal.crypto import Keyring, RecordCipher
from hybridcal.store import registry
from hybridcal.store.base import StoreError
from hybridcal.store.registry import open_store, postgres_password
from hybridcal.store.sqlite import SQLiteStore


def _now() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


def _settings(tmp_path: Path, **store: object) -> Settings:
    data = {"daemon": {"public_url": "https://h.example.org"}, "store": store}
    return settings_from_mapping(data, base_dir=tmp_path)


async def test_sqlite_is_the_default(tmp_path: Path) -> None:
    settings = _settings(tmp_path, path="state/h.db")
    store = await open_store(settings, RecordCipher(Keyring.generate()), now=_now)
    try:
        assert isinstance(store, SQLiteStore)
        assert (tmp_path / "state" / "h.db").exists()
    finally:
        await store.close()


async def test_an_unregistered_backend_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(registry.BACKENDS, "postgresql")
    settings = _settings(tmp_path, backend="postgresql", dsn="host=/nowhere dbname=h")
    with pytest.raises(StoreError, match=r"postgresql.*available: sqlite"):
        await open_store(settings, RecordCipher(Keyring.generate()), now=_now)


@pytest.mark.parametrize(
    ("store", "problem"),
    [
        ({"backend": "postgresql"}, "store.dsn: .*needs a dsn"),
        ({"backend": "postgresql", "dsn": "dbname=h password=x"}, "must not hold the password"),
        ({"backend": "postgresql", "dsn": "postgresql://u:pw@db/h"}, "must not hold the password"),
        ({"dsn": "dbname=h"}, "store.dsn: only used with"),
        ({"backend": "mysql"}, "must be one of sqlite, postgresql"),
        (
            {
                "backend": "postgresql",
                "dsn": "dbname=h",
                "password_file": "p",
                "password_credential": "pg",
            },
            "either password_file or password_credential",
        ),
    ],
)
def test_store_settings_are_validated(tmp_path: Path, store: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        _settings(tmp_path, **store)


def test_postgresql_settings_are_accepted(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, backend="postgresql", dsn="postgresql://hc@db/h", password_file="pgpass"
    )
    assert settings.store.backend == "postgresql"
    assert settings.store.password_file == tmp_path / "pgpass"


def test_the_postgresql_password_file_must_be_private(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, backend="postgresql", dsn="postgresql://hc@db/h", password_file="pgpass"
    )
    secret = tmp_path / "pgpass"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    with pytest.raises(StoreError, match="PostgreSQL password file"):
        postgres_password(settings, {})
    secret.chmod(0o600)
    assert postgres_password(settings, {}) == "s3cret"
