"""Settings: defaults, TOML file, environment overrides, and every problem reported at once."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from hybridcal.config import (
    GOOGLE_SCOPES,
    ConfigError,
    Settings,
    load_settings,
    settings_from_mapping,
)
from hybridcal.config.loader import environment_overrides
from hybridcal.config.preflight import credential_path, preflight

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "systemd" / "hybridcal.toml.example"
MINIMAL = {"daemon": {"public_url": "https://hybridcal.example.com"}}


def write(tmp_path: Path, text: str, name: str = "hybridcal.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(data)
    return dict(caught.value.problems)


def with_daemon(**sections: Any) -> dict[str, Any]:
    return {**MINIMAL, **sections}


# -- defaults -------------------------------------------------------------------------------------


def test_defaults_match_the_documented_schema() -> None:
    s = settings_from_mapping(MINIMAL)
    assert s.daemon.listen_host == "127.0.0.1"
    assert s.daemon.listen_port == 8480
    assert s.daemon.public_url == "https://hybridcal.example.com"
    assert s.daemon.max_webhook_body_bytes == 65536
    assert s.daemon.sync_concurrency == 8
    assert s.daemon.shutdown_timeout_seconds == 20
    assert s.store.path == Path("/var/lib/hybridcal/hybridcal.db")
    assert s.crypto.keyring == Path("/etc/hybridcal/keyring.json")
    assert s.crypto.credential is None
    assert (s.logging.level, s.logging.format) == ("info", "auto")
    assert (s.window.past_days, s.window.future_days) == (7, 31)
    assert s.schedule.reconcile_minutes == 60
    assert s.schedule.channel_renew_before_hours == 24
    assert s.schedule.prune_minutes == 60
    assert s.schedule.presence_minutes == 15
    assert dict(s.keywords) == {
        "@meet": "meet",
        "@zoom": "zoom",
        "@teams": "teams",
        "@webex": "webex",
    }
    assert (s.render.default_locale, s.render.force_default_locale) == ("en", False)
    assert s.endpoint.obtp_lead_minutes == 5
    assert s.endpoint.hide_tentative is False
    assert s.endpoint.max_window_days == 31
    assert s.endpoint.hide_private_titles is True
    g = s.google
    assert g.enabled is False
    assert g.service_account_file is None
    assert g.service_account_credential is None
    assert g.room_access_user is None
    assert g.token_uri == "https://oauth2.googleapis.com/token"
    assert g.calendar_api_root == "https://www.googleapis.com/calendar/v3/"
    assert g.gmail_api_root == "https://gmail.googleapis.com/"
    assert g.send_updates == "none"
    assert g.channel_ttl_seconds == 604800
    assert (g.http_timeout_seconds, g.max_retries, g.request_concurrency) == (30, 5, 8)


def test_google_scopes() -> None:
    assert GOOGLE_SCOPES == (
        "https://www.googleapis.com/auth/calendar",
        "https://www.googleapis.com/auth/gmail.settings.basic",
    )


def test_public_url_is_required_and_named() -> None:
    assert problems_of({}) == {"daemon.public_url": "required"}


def test_settings_are_frozen() -> None:
    s = settings_from_mapping(MINIMAL)
    with pytest.raises(ValidationError):
        s.daemon.listen_port = 1
    with pytest.raises(TypeError):
        s.keywords["@skype"] = "zoom"  # type: ignore[index]


# -- TOML file and environment --------------------------------------------------------------------


def test_toml_file_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [daemon]
        public_url = "https://cal.example.org/hooks/"
        listen_port = 9000
        [google]
        enabled = true
        service_account_credential = "google-sa"
        send_updates = "externalOnly"
        [keywords]
        "@Zm" = "zoom"
        """,
    )
    s = load_settings(path, {})
    assert s.daemon.public_url == "https://cal.example.org/hooks"  # trailing slash dropped
    assert s.daemon.listen_port == 9000
    assert s.google.enabled
    assert s.google.send_updates == "externalOnly"
    assert dict(s.keywords) == {"@zm": "zoom"}  # replaces the defaults, folded to lower case


def test_environment_overrides_file_with_nesting_and_types(tmp_path: Path) -> None:
    path = write(tmp_path, '[daemon]\npublic_url = "https://a.example.com"\nlisten_port = 1\n')
    env = {
        "HYBRIDCAL_GOOGLE__SEND_UPDATES": "all",  # bare word -> string
        "HYBRIDCAL_DAEMON__LISTEN_PORT": "9001",  # TOML integer
        "HYBRIDCAL_ENDPOINT__HIDE_TENTATIVE": "true",  # TOML boolean
        "HYBRIDCAL_GOOGLE__HTTP_TIMEOUT_SECONDS": "2.5",  # TOML float
        "HYBRIDCAL_RENDER__DEFAULT_LOCALE": '"de"',  # quoted TOML string
        "HYBRIDCAL_CRYPTO__CREDENTIAL": "1234",  # text setting: stays text
        "HYBRIDCAL_STORE__PATH": "/srv/h.db",
        "HYBRIDCAL_KEYWORDS__@VIDEO": "webex",  # a keyword map entry
        "HYBRIDCAL_CONFIG": "/etc/elsewhere.toml",  # reserved for the CLI, ignored
        "OTHER": "x",
    }
    s = load_settings(path, env)
    assert s.google.send_updates == "all"
    assert s.daemon.listen_port == 9001
    assert s.endpoint.hide_tentative is True
    assert s.google.http_timeout_seconds == 2.5
    assert s.render.default_locale == "de"
    assert s.crypto.credential == "1234"
    assert s.store.path == Path("/srv/h.db")
    assert s.keywords["@video"] == "webex"


def test_empty_environment_value_restores_default(tmp_path: Path) -> None:
    path = write(tmp_path, '[daemon]\npublic_url = "https://a.example.com"\nlisten_port = 1\n')
    s = load_settings(path, {"HYBRIDCAL_DAEMON__LISTEN_PORT": ""})
    assert s.daemon.listen_port == 8480


def test_keyword_overrides_edit_the_default_table() -> None:
    s = load_settings(
        None,
        {
            "HYBRIDCAL_DAEMON__PUBLIC_URL": "https://a.example.com",
            "HYBRIDCAL_KEYWORDS__@VIDEO": "webex",
            "HYBRIDCAL_KEYWORDS__@ZOOM": "",  # removes the default @zoom
        },
    )
    assert dict(s.keywords) == {
        "@meet": "meet",
        "@teams": "teams",
        "@webex": "webex",
        "@video": "webex",
    }


def test_environment_alone_without_file() -> None:
    s = load_settings(None, {"HYBRIDCAL_DAEMON__PUBLIC_URL": "http://127.0.0.1:8480"})
    assert s.daemon.public_url == "http://127.0.0.1:8480"


def test_environment_value_parsing() -> None:
    overrides, sources, problems = environment_overrides(
        {
            "HYBRIDCAL_WINDOW__PAST_DAYS": "1_000",
            "HYBRIDCAL_DAEMON__PUBLIC_URL": "https://x.example.com",
            "HYBRIDCAL_GOOGLE__ROOM_ACCESS_USER": "1979-05-27",  # a TOML date, but text here
            "HYBRIDCAL_WINDOW__FUTURE_DAYS": "1979-05-27",  # a date is not a number: kept as text
        }
    )
    assert problems == []
    assert overrides[("window", "past_days")] == 1000
    assert overrides[("daemon", "public_url")] == "https://x.example.com"
    assert overrides[("google", "room_access_user")] == "1979-05-27"
    assert overrides[("window", "future_days")] == "1979-05-27"
    assert sources["window.past_days"] == "HYBRIDCAL_WINDOW__PAST_DAYS"


def test_bad_environment_values_name_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, '[daemon]\npublic_url = "https://a.example.com"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(
            path,
            {
                "HYBRIDCAL_GOOGLE__SEND_UPDATES": "everyone",
                "HYBRIDCAL_GOOGLE_SEND_UPDATES": "all",  # single underscore: not a setting
                "HYBRIDCAL_DAEMON__LISTEN_PORT": "eighty",
            },
        )
    problems = dict(caught.value.problems)
    assert problems == {
        "google.send_updates": "must be one of none, all, externalOnly (got 'everyone')"
        " [set by HYBRIDCAL_GOOGLE__SEND_UPDATES]",
        "HYBRIDCAL_GOOGLE_SEND_UPDATES": problems["HYBRIDCAL_GOOGLE_SEND_UPDATES"],
        "daemon.listen_port": "must be a whole number (got 'eighty')"
        " [set by HYBRIDCAL_DAEMON__LISTEN_PORT]",
    }
    assert "double underscore" in problems["HYBRIDCAL_GOOGLE_SEND_UPDATES"]


def test_nested_override_into_a_scalar_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, 'window = 3\n[daemon]\npublic_url = "https://a.example.com"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {"HYBRIDCAL_WINDOW__PAST_DAYS": "3"})
    assert (
        "window",
        "is not a table in the file, so it cannot take nested overrides",
    ) in caught.value.problems


# -- every problem at once ------------------------------------------------------------------------


def test_three_bad_keys_give_three_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [daemon]
        public_url = "https://a.example.com"
        listen_port = 70000
        [google]
        send_updates = "everyone"
        [window]
        future_days = 0
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    error = caught.value
    assert error.problems == [
        ("daemon.listen_port", "must be at most 65535 (got 70000)"),
        ("window.future_days", "must be at least 1 (got 0)"),
        ("google.send_updates", "must be one of none, all, externalOnly (got 'everyone')"),
    ]
    text = str(error)
    assert text.startswith(f"invalid configuration in {path} (3 problems):")
    assert (
        "\n  google.send_updates: must be one of none, all, externalOnly (got 'everyone')" in text
    )


def test_unknown_keys_are_reported_with_suggestions() -> None:
    problems = problems_of(
        with_daemon(
            google={"send_update": "all"},
            logging={"levle": "debug"},
            windw={"past_days": 1},
            crypto={"completely_unrelated": 1},
        )
    )
    assert problems == {
        "google.send_update": "unknown key (did you mean 'send_updates'?)",
        "logging.levle": "unknown key (did you mean 'level'?)",
        "windw": "unknown key (did you mean 'window'?)",
        "crypto.completely_unrelated": "unknown key",
    }


def test_type_errors_are_worded_for_admins() -> None:
    problems = problems_of(
        with_daemon(
            endpoint={"hide_tentative": "maybe"},
            schedule={"prune_minutes": "often"},
            render={"default_locale": 5},
            store="here",
        )
    )
    assert problems == {
        "endpoint.hide_tentative": "must be true or false (got 'maybe')",
        "schedule.prune_minutes": "must be a number (got 'often')",
        "render.default_locale": "must be a string (got 5)",
        "store": "must be a table (got 'here')",
    }


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[daemon]\npublic_url = "https://a.example.com"\nlisten_port = = 3\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    [(key, message)] = caught.value.problems
    assert key == str(path)
    assert message.startswith("invalid TOML:")
    assert "line 3" in message


def test_missing_file_is_one_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    assert caught.value.problems == [(str(path), "cannot read the file: No such file or directory")]


# -- individual rules -----------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_config_directory(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    path = write(
        etc,
        """
        [daemon]
        public_url = "https://a.example.com"
        [store]
        path = "data/h.db"
        [crypto]
        keyring = "/abs/keyring.json"
        [google]
        enabled = true
        service_account_file = "sa.json"
        """,
    )
    s = load_settings(path, {})
    assert s.store.path == etc / "data" / "h.db"
    assert s.crypto.keyring == Path("/abs/keyring.json")
    assert s.google.service_account_file == etc / "sa.json"


def test_relative_path_from_environment_also_resolves_against_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[daemon]\npublic_url = "https://a.example.com"\n')
    s = load_settings(path, {"HYBRIDCAL_STORE__PATH": "x.db"})
    assert s.store.path == tmp_path / "x.db"


def test_mapping_paths_resolve_against_given_base_dir(tmp_path: Path) -> None:
    s = settings_from_mapping(with_daemon(store={"path": "h.db"}), base_dir=tmp_path)
    assert s.store.path == tmp_path / "h.db"
    assert settings_from_mapping(with_daemon(store={"path": "h.db"})).store.path == Path("h.db")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8480",
        "http://127.1.2.3",
        "http://[::1]:9000/",
        "http://localhost:8480",
        "https://hybridcal.example.com/prefix",
    ],
)
def test_public_url_accepted(url: str) -> None:
    assert settings_from_mapping({"daemon": {"public_url": url}}).daemon.public_url == url.rstrip(
        "/"
    )


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://hybridcal.example.com", "must use https unless its host is loopback"),
        ("http://10.0.0.1:8480", "must use https unless its host is loopback"),
        ("http://localhost.example.com", "must use https unless its host is loopback"),
        ("ftp://hybridcal.example.com", "must be an http(s) URL with a host"),
        ("hybridcal.example.com", "must be an http(s) URL with a host"),
        ("https://h.example.com/?a=1", "must not have a query or fragment"),
    ],
)
def test_public_url_rejected(url: str, fragment: str) -> None:
    message = problems_of({"daemon": {"public_url": url}})["daemon.public_url"]
    assert fragment in message
    assert repr(url) in message


def test_api_roots_get_a_trailing_slash_and_allow_loopback_http() -> None:
    s = settings_from_mapping(
        with_daemon(
            google={
                "calendar_api_root": "http://127.0.0.1:9999/calendar/v3",
                "gmail_api_root": "http://127.0.0.1:9999",
                "token_uri": "http://127.0.0.1:9999/token",
            }
        )
    )
    assert s.google.calendar_api_root == "http://127.0.0.1:9999/calendar/v3/"
    assert s.google.gmail_api_root == "http://127.0.0.1:9999/"
    assert s.google.token_uri == "http://127.0.0.1:9999/token"
    problems = problems_of(with_daemon(google={"token_uri": "http://oauth.example.com/token"}))
    assert "must use https" in problems["google.token_uri"]


def test_keyword_map_rules() -> None:
    problems = problems_of(
        with_daemon(
            keywords={
                "zoom": "zoom",
                "@my meeting": "meet",
                "@": "meet",
                "@skype": "skype",
                "@ok": "teams",
            }
        )
    )
    assert problems == {
        "keywords.zoom": "keyword must start with '@' and contain no whitespace (got 'zoom')",
        "keywords.@my meeting": (
            "keyword must start with '@' and contain no whitespace (got '@my meeting')"
        ),
        "keywords.@": "keyword must start with '@' and contain no whitespace (got '@')",
        "keywords.@skype": "must be one of meet, zoom, teams, webex (got 'skype')",
    }


def test_keyword_map_case_duplicates_and_empty_table() -> None:
    problems = problems_of(with_daemon(keywords={"@Zoom": "zoom", "@zoom": "webex"}))
    assert "given twice" in problems["keywords"]
    assert dict(settings_from_mapping(with_daemon(keywords={})).keywords) == {}


def test_numeric_ranges() -> None:
    problems = problems_of(
        {
            "daemon": {
                "public_url": "https://a.example.com",
                "listen_port": -1,
                "sync_concurrency": 0,
                "shutdown_timeout_seconds": 0,
            },
            "window": {"past_days": 0, "future_days": 400},
            "google": {"max_retries": -1, "request_concurrency": 0},
        }
    )
    assert problems == {
        "daemon.listen_port": "must be at least 0 (got -1)",
        "daemon.sync_concurrency": "must be at least 1 (got 0)",
        "daemon.shutdown_timeout_seconds": "must be greater than 0 (got 0)",
        "window.past_days": "must be at least 1 (got 0)",
        "window.future_days": "must be at most 366 (got 400)",
        "google.max_retries": "must be at least 0 (got -1)",
        "google.request_concurrency": "must be at least 1 (got 0)",
    }
    assert settings_from_mapping(
        with_daemon(daemon={"public_url": "http://127.0.0.1", "listen_port": 0})
    )


def test_choice_fields_fold_case_where_it_is_harmless() -> None:
    s = settings_from_mapping(with_daemon(logging={"level": "DEBUG", "format": "JSON"}))
    assert (s.logging.level, s.logging.format) == ("debug", "json")
    # Google's own enum is case-sensitive, so ours is too.
    problems = problems_of(with_daemon(google={"send_updates": "ALL"}))
    assert "google.send_updates" in problems


def test_google_needs_exactly_one_service_account_source() -> None:
    assert problems_of(with_daemon(google={"enabled": True})) == {
        "google.service_account_file": (
            "google.enabled needs service_account_file or service_account_credential"
        )
    }
    both = problems_of(
        with_daemon(google={"service_account_file": "/a.json", "service_account_credential": "sa"})
    )
    assert "not both" in both["google.service_account_credential"]
    enabled = settings_from_mapping(
        with_daemon(google={"enabled": True, "service_account_credential": "google-sa"})
    )
    assert enabled.google.enabled


def test_cross_field_problems_are_all_reported() -> None:
    problems = problems_of(
        with_daemon(
            google={"enabled": True, "channel_ttl_seconds": 3600},
            schedule={"channel_renew_before_hours": 1},
            endpoint={"max_window_days": 39},
        )
    )
    assert set(problems) == {
        "google.service_account_file",
        "schedule.channel_renew_before_hours",
        "endpoint.max_window_days",
    }
    assert "(38)" in problems["endpoint.max_window_days"]
    # Half an hour before a one-hour channel expires is fine.
    s = settings_from_mapping(
        with_daemon(
            google={"channel_ttl_seconds": 3600}, schedule={"channel_renew_before_hours": 0.5}
        )
    )
    assert s.schedule.channel_renew_before_hours == 0.5


def test_credential_email_and_locale_formats() -> None:
    problems = problems_of(
        with_daemon(
            crypto={"credential": "../keyring"},
            google={"room_access_user": "admin", "service_account_credential": "a b"},
            render={"default_locale": "english!"},
        )
    )
    assert set(problems) == {
        "crypto.credential",
        "google.room_access_user",
        "google.service_account_credential",
        "render.default_locale",
    }
    s = settings_from_mapping(
        with_daemon(
            google={"room_access_user": "Admin@Example.com"}, render={"default_locale": "de_CH"}
        )
    )
    assert s.google.room_access_user == "admin@example.com"
    assert s.render.default_locale == "de-CH"


# -- output and the example file ------------------------------------------------------------------


def test_redacted_dict_is_json_and_complete() -> None:
    s = settings_from_mapping(with_daemon(store={"path": "/x/h.db"}))
    data = s.redacted_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == set(Settings.model_fields)
    assert data["store"]["path"] == "/x/h.db"
    assert data["keywords"]["@zoom"] == "zoom"


def test_redacted_dict_masks_secret_fields() -> None:
    # No secret lives in the config today; a future SecretStr field must come out masked.
    class WithSecret(Settings):
        api_secret: SecretStr

    s = WithSecret.model_validate({**MINIMAL, "api_secret": "hunter2-very-secret"})
    assert "hunter2-very-secret" not in json.dumps(s.redacted_dict())


def _documented_keys(text: str) -> set[str]:
    """Dotted keys written in the example, set or commented out (`# key = ...`)."""
    keys: set[str] = set()
    section = ""
    for line in text.splitlines():
        if header := re.fullmatch(r"\[(\w+)\]", line.strip()):
            section = header.group(1)
        elif entry := re.match(r'#?\s?("?[@\w]+"?) = ', line):
            keys.add(f"{section}.{entry.group(1).strip(chr(34))}")
    return keys


def test_example_config_validates_and_documents_every_key() -> None:
    if not EXAMPLE.exists():
        pytest.skip("systemd/hybridcal.toml.example not present")
    s = load_settings(EXAMPLE, {})
    assert s.daemon.public_url == "https://hybridcal.example.com"
    assert s.google.enabled
    assert s.google.service_account_file == EXAMPLE.parent / "google-service-account.json"
    assert s.crypto.credential == "keyring"  # matches LoadCredential=keyring:... in the unit

    documented = _documented_keys(EXAMPLE.read_text(encoding="utf-8"))
    expected = {
        f"{section}.{key}"
        for section, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        for key in field.annotation.model_fields
    } | {f"keywords.{k}" for k in s.keywords}
    assert expected <= documented
    # Everything written in it is also a real key (no stale documentation).
    assert tomllib.loads(EXAMPLE.read_text(encoding="utf-8")).keys() <= set(Settings.model_fields)


def test_example_unit_and_config_agree() -> None:
    unit = REPO / "systemd" / "hybridcal.service"
    if not unit.exists():
        pytest.skip("systemd/hybridcal.service not present")
    text = unit.read_text(encoding="utf-8")
    assert "LoadCredential=keyring:/etc/hybridcal/keyring.json" in text
    assert "ExecStart=/usr/bin/hybridcal run --config /etc/hybridcal/hybridcal.toml" in text
    for line in ("Type=notify", "NotifyAccess=main", "WatchdogSec=60", "ProtectSystem=strict"):
        assert f"\n{line}\n" in text


# -- preflight (file checks at `config check` time) -----------------------------------------------


def test_preflight_reports_missing_key_files_of_the_example(tmp_path: Path) -> None:
    if not EXAMPLE.exists():
        pytest.skip("systemd/hybridcal.toml.example not present")
    s = load_settings(EXAMPLE, {})
    key_files = {
        "google.service_account_file",
        "zoom.client_secret_file",
        "microsoft.client_secret_file",
    }
    # Outside the service, the keyring credential cannot be checked and is skipped.
    problems = dict(preflight(s, {}))
    assert set(problems) == key_files
    assert all("cannot read" in problems[key] for key in key_files)
    # Inside it, a missing credential is reported.
    problems = dict(preflight(s, {"CREDENTIALS_DIRECTORY": str(tmp_path)}))
    assert set(problems) == key_files | {"crypto.credential"}


def test_preflight_checks_service_account_shape(tmp_path: Path) -> None:
    keyring = tmp_path / "keyring.json"
    keyring.write_text("{}")
    keyring.chmod(0o600)  # secret files must be private (tests/unit/test_secret_files.py)
    sa = tmp_path / "sa.json"
    sa.touch(mode=0o600)

    def check() -> dict[str, str]:
        s = settings_from_mapping(
            with_daemon(
                crypto={"keyring": str(keyring)},
                google={"enabled": True, "service_account_file": str(sa)},
            )
        )
        return dict(preflight(s, {}))

    sa.write_text("not json")
    assert "is not JSON" in check()["google.service_account_file"]
    sa.write_text('{"type": "authorized_user"}')
    assert "not a service-account key" in check()["google.service_account_file"]
    sa.write_text('{"type": "service_account", "client_email": "a@b.iam.example.com"}')
    message = check()["google.service_account_file"]
    assert "lacks private_key, token_uri" in message
    sa.write_text(
        json.dumps(
            {
                "type": "service_account",
                "client_email": "a@b.iam.example.com",
                "private_key": "-----BEGIN PRIVATE KEY-----\nX\n-----END PRIVATE KEY-----\n",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    assert check() == {}
    keyring.unlink()
    assert "cannot read" in check()["crypto.keyring"]


def test_preflight_reads_credentials_directory(tmp_path: Path) -> None:
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert credential_path("keyring", env) == tmp_path / "keyring"
    assert credential_path("keyring", {}) is None
    (tmp_path / "keyring").write_text("{}")
    (tmp_path / "google-sa").write_text('{"type": "service_account"}')
    s = settings_from_mapping(
        with_daemon(
            crypto={"credential": "keyring"},
            google={"enabled": True, "service_account_credential": "google-sa"},
        )
    )
    problems = dict(preflight(s, env))
    assert set(problems) == {"google.service_account_credential"}
