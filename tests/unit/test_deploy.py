"""The container image definition and the compose examples in deploy/.

No container runtime is needed: the Containerfile's instructions and the compose files'
structure are checked as text and YAML, and the configs they mount are loaded as the daemon
would load them.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from hybridcal.config.loader import load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
STATE = "/var/lib/hybridcal"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Containerfile").read_text()
    joined = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    ))  # fmt: skip
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _compose(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / name).read_text())
    return data


def test_containerfile_is_multi_stage_non_root_with_health_check() -> None:
    ins = _instructions()
    froms = [args for word, args in ins if word == "FROM"]
    assert len(froms) == 2
    assert froms[0].endswith("AS build")
    runtime_start = max(i for i, (word, _) in enumerate(ins) if word == "FROM")
    runtime = ins[runtime_start:]
    words = [word for word, _ in runtime]
    # the runtime stage installs the wheel built in the first stage, nothing from the source tree
    copies = [args for word, args in runtime if word == "COPY"]
    assert copies == ["--from=build /dist/ /tmp/dist/"]
    assert any("pip install" in args and ".whl" in args for word, args in runtime if word == "RUN")
    user = [args for word, args in runtime if word == "USER"]
    assert user == ["10001:10001"]
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")
    assert dict(runtime)["VOLUME"] == f'["{STATE}"]'
    assert "8480" in dict(runtime)["EXPOSE"].split()
    assert dict(runtime)["STOPSIGNAL"] == "SIGTERM"
    health = dict(runtime)["HEALTHCHECK"]
    assert "CMD" in health
    assert "python" in health
    assert "curl" not in health
    assert "HYBRIDCAL_HEALTH_URL=http://127.0.0.1:8480/healthz" in dict(runtime)["ENV"]
    assert "PYTHONDONTWRITEBYTECODE=1" in dict(runtime)["ENV"]  # nothing written under /usr
    assert dict(runtime)["ENTRYPOINT"] == '["hybridcal"]'
    assert dict(runtime)["CMD"] == '["run"]'


def test_dockerignore_keeps_secrets_and_state_out_of_the_build_context() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".git", ".venv", "*.db", "keyring*.json"):
        assert entry in lines


@pytest.mark.parametrize("name", ["compose.sqlite.yml", "compose.postgres.yml"])
def test_compose_hybridcal_services_are_read_only_non_root_with_secrets(name: str) -> None:
    data = _compose(name)
    services = data["services"]
    ours = {k: v for k, v in services.items() if k.startswith("hybridcal")}
    assert ours
    declared = set(data["secrets"])
    for service in ours.values():
        assert service["read_only"] is True
        assert service["user"] == "10001:10001"
        assert service["build"]["dockerfile"] == "Containerfile"
        assert (DEPLOY / service["build"]["context"] / "Containerfile").is_file()
        assert service["stop_signal"] == "SIGTERM"
        assert service["environment"]["CREDENTIALS_DIRECTORY"] == "/run/secrets"
        check = service["healthcheck"]["test"]
        assert check[0] == "CMD"
        assert "python" in check
        assert re.search(r"/(healthz|readyz)'", " ".join(check))
        assert {"keyring", "admin-token"} <= set(service["secrets"])
        assert set(service["secrets"]) <= declared
        mounts = service["volumes"]
        config = [m for m in mounts if m.endswith(":/etc/hybridcal/hybridcal.toml:ro")]
        assert len(config) == 1
        assert (DEPLOY / config[0].split(":")[0]).is_file()
        writable = [m for m in mounts if not m.endswith(":ro")]
        assert all(m.split(":")[1] == STATE for m in writable), writable
    for secret in data["secrets"].values():
        assert secret["file"].startswith("./secrets/")
    for service in services.values():
        assert "healthcheck" in service


def test_compose_sqlite_is_one_replica_with_a_state_volume() -> None:
    data = _compose("compose.sqlite.yml")
    (service,) = data["services"].values()
    assert f"state:{STATE}" in service["volumes"]
    assert "state" in data["volumes"]
    assert "deploy" not in service  # one daemon per SQLite file (the store's lock)


def test_compose_postgres_runs_two_replicas_behind_a_proxy() -> None:
    data = _compose("compose.postgres.yml")
    services = data["services"]
    replicas = sorted(k for k in services if k.startswith("hybridcal"))
    assert replicas == ["hybridcal-1", "hybridcal-2"]
    db = services["postgres"]
    assert db["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/pgpassword"
    assert "pgpassword" in db["secrets"]
    for name in replicas:
        assert "pgpassword" in services[name]["secrets"]
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    proxy = services["proxy"]
    conditions = {d: c["condition"] for d, c in proxy["depends_on"].items()}
    assert conditions == dict.fromkeys(replicas, "service_healthy")
    caddyfile = (DEPLOY / "caddy" / "Caddyfile").read_text()
    for name in replicas:
        assert f"{name}:8480" in caddyfile
    assert "health_uri /readyz" in caddyfile
    address = proxy["networks"]["backend"]["ipv4_address"]
    config = tomllib.loads((DEPLOY / "config" / "hybridcal.postgres.toml").read_text())
    assert config["daemon"]["trusted_proxies"] == [address]


@pytest.mark.parametrize("name", ["hybridcal.sqlite.toml", "hybridcal.postgres.toml"])
def test_mounted_configs_are_valid(name: str) -> None:
    settings = load_settings(DEPLOY / "config" / name, {})
    assert settings.daemon.listen_host == "0.0.0.0"
    assert settings.daemon.listen_port == 8480
    assert settings.crypto.credential == "keyring"
    if settings.store.backend == "sqlite":
        assert str(settings.store.path).startswith(STATE)
