"""The typed, frozen settings of the daemon.

One pydantic model per TOML section; `Settings` holds them all. The models only describe and
validate: reading the file and the environment is `loader.py`'s job. Validation errors carry
enough context (`ctx`) for the loader to name every problem with its dotted key.

Relative paths are resolved against ``base_dir`` from the validation context (the config file's
directory); without one they stay as written.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from hybridcal.core.locales import LOCALES
from hybridcal.core.render import match_locale

GOOGLE_SCOPES: Final = (
    # Read-write events, push channels (watch) and calendar settings.
    "https://www.googleapis.com/auth/calendar",
    # The vacation responder, which is how out-of-office is read.
    "https://www.googleapis.com/auth/gmail.settings.basic",
)

MEETING_SYSTEMS: Final = ("meet", "zoom", "teams", "webex")
LOG_LEVELS: Final = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS: Final = ("auto", "json", "console")
SEND_UPDATES: Final = ("none", "all", "externalOnly")
KEYWORD_MEANINGS: Final = ("scheduled", "personal_room")  # what a plain @zoom / @webex makes

DEFAULT_KEYWORDS: Final = MappingProxyType({f"@{system}": system for system in MEETING_SYSTEMS})

# systemd credential names end up as file names under $CREDENTIALS_DIRECTORY.
_CREDENTIAL_NAME = re.compile(r"[A-Za-z0-9_.@-]+")
_GATEWAY_PART = re.compile(r"[A-Za-z0-9._+-]*")  # what may stand around {code} in the user part
_GATEWAY_DOMAIN = re.compile(r"(?:[A-Za-z0-9-]+\.)+[A-Za-z0-9-]+")
ATTENDEE_NAME_MODES: Final = ("off", "rooms_listed", "all")
_LOCALE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*")
_SITE = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")


def _fail(kind: str, template: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, template, ctx)


def _choice(*choices: str, fold_case: bool = False) -> BeforeValidator:
    """Membership check with a message that lists the accepted values."""

    def check(value: object) -> object:
        candidate = value.lower() if fold_case and isinstance(value, str) else value
        if candidate not in choices:
            raise _fail(
                "choice",
                "must be one of {choices} (got {got})",
                choices=", ".join(choices),
                got=repr(value),
            )
        return candidate

    return BeforeValidator(check)


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    if str(value) in {"", "."}:
        raise _fail("path", "must be a path to a file")
    base = (info.context or {}).get("base_dir")
    if base is not None and not value.is_absolute():
        return Path(base) / value
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(*, trailing_slash: bool) -> Callable[[str], str]:
    """An http(s) URL that must be https unless it points at this machine (sandbox, tests)."""

    def check(value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise _fail("url", "must be an http(s) URL with a host (got {got})", got=repr(value))
        if parts.scheme != "https" and not _is_loopback(parts.hostname):
            raise _fail(
                "url_https",
                "must use https unless its host is loopback (got {got})",
                got=repr(value),
            )
        if parts.query or parts.fragment:
            raise _fail("url", "must not have a query or fragment (got {got})", got=repr(value))
        value = value.rstrip("/")
        return value + "/" if trailing_slash else value

    return check


def _credential_name(value: str) -> str:
    if not _CREDENTIAL_NAME.fullmatch(value) or value in {".", ".."}:
        raise _fail(
            "credential",
            "must be a systemd credential name (letters, digits, '_.@-'; got {got})",
            got=repr(value),
        )
    return value


def _keyword(value: str) -> str:
    if len(value) < 2 or not value.startswith("@") or any(c.isspace() for c in value):
        raise _fail(
            "keyword",
            "keyword must start with '@' and contain no whitespace (got {got})",
            got=repr(value),
        )
    return value.lower()  # keywords match case-insensitively


def _email(value: str) -> str:
    local, _, domain = value.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in value):
        raise _fail("email", "must be an email address (got {got})", got=repr(value))
    return value.lower()


def _meet_gateway(value: str) -> str:
    """A Meet interop gateway as a dial-string template: a bare domain means
    ``{code}@domain``; a template names the meeting code once as ``{code}`` before its ``@``."""
    template = value if "@" in value else f"{{code}}@{value}"
    user, _, domain = template.rpartition("@")
    rest = user.replace("{code}", "", 1)
    if (
        user.count("{code}") != 1
        or _GATEWAY_PART.fullmatch(rest) is None
        or _GATEWAY_DOMAIN.fullmatch(domain) is None
    ):
        raise _fail(
            "meet_sip_gateway",
            "must be a gateway domain or a template like '{code}@meet.example.com' (got {got})",
            got=repr(value),
        )
    return f"{user}@{domain.lower()}"


def _locale(value: str) -> str:
    if not _LOCALE.fullmatch(value):
        raise _fail(
            "locale", "must be a language tag such as 'en' or 'de-CH' (got {got})", got=repr(value)
        )
    if match_locale(value) is None:  # would silently become English
        raise _fail(
            "locale",
            "has no join-block language for {got} (have {have})",
            got=repr(value),
            have=", ".join(LOCALES),
        )
    return value.replace("_", "-")


# what a Zoom topic template may name (connectors/meetings/zoom_wire.py fills them in)
TOPIC_PLACEHOLDERS: Final = ("title", "organizer", "organizer_name")


def _topic_template(value: str) -> str:
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(value)]
    except ValueError as exc:
        raise _fail("template", "is not a valid template: {why}", why=str(exc)) from None
    for name, spec, conversion in fields:
        if name is not None and (name not in TOPIC_PLACEHOLDERS or spec or conversion):
            raise _fail(
                "template",
                "unknown placeholder {got} (use {allowed})",
                got=f"{{{name}}}",
                allowed=", ".join(f"{{{p}}}" for p in TOPIC_PLACEHOLDERS),
            )
    if not value.strip():
        raise _fail("template", "must not be empty")
    return value


def _site_url(value: str) -> str:
    """A Webex site as the Meetings API names it: ``example.webex.com`` (no scheme, no path)."""
    site = value.strip().lower().removeprefix("https://").rstrip("/")
    if not _SITE.fullmatch(site):
        raise _fail(
            "site", "must be a Webex site such as 'example.webex.com' (got {got})", got=repr(value)
        )
    return site


def _proxy_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise _fail("url", "must be an http(s) proxy URL with a host (got {got})", got=repr(value))
    return value


def _ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise _fail("ip", "must be an IP address (got {got})", got=repr(value)) from None


def _no_case_duplicates(value: object) -> object:
    if isinstance(value, Mapping):
        seen: set[str] = set()
        for key in value:
            folded = str(key).lower()
            if folded in seen:
                raise _fail(
                    "keyword",
                    "keyword {got} is given twice (keywords are case-insensitive)",
                    got=repr(folded),
                )
            seen.add(folded)
    return value


def _freeze(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


ConfigPath = Annotated[Path, AfterValidator(_resolve_path)]
HttpsUrl = Annotated[str, AfterValidator(_url(trailing_slash=False))]
ApiRoot = Annotated[str, AfterValidator(_url(trailing_slash=True))]
CredentialName = Annotated[str, AfterValidator(_credential_name)]
Email = Annotated[str, AfterValidator(_email)]
NonEmpty = Annotated[str, Field(min_length=1)]
TopicTemplate = Annotated[str, AfterValidator(_topic_template)]
ProxyUrl = Annotated[str, AfterValidator(_proxy_url)]
SiteUrl = Annotated[str, AfterValidator(_site_url)]
IpAddress = Annotated[str, AfterValidator(_ip_address)]
MeetingSystem = Annotated[Literal["meet", "zoom", "teams", "webex"], _choice(*MEETING_SYSTEMS)]
Keyword = Annotated[str, AfterValidator(_keyword)]
KeywordMap = Annotated[
    Mapping[Keyword, MeetingSystem],
    BeforeValidator(_no_case_duplicates),
    AfterValidator(_freeze),
    PlainSerializer(dict),
]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DaemonSettings(_Section):
    listen_host: NonEmpty = "127.0.0.1"
    listen_port: Annotated[int, Field(ge=0, le=65535)] = 8480
    public_url: HttpsUrl  # stored without a trailing slash
    max_webhook_body_bytes: Annotated[int, Field(ge=1024)] = 65536
    sync_concurrency: Annotated[int, Field(ge=1)] = 8
    # wait this long after a notification before syncing, so a burst is read in one listing
    sync_debounce_seconds: Annotated[float, Field(ge=0, le=30)] = 0.5
    shutdown_timeout_seconds: Annotated[float, Field(gt=0)] = 20
    # HTTP limits against slow or abusive clients (see hybridcal.toml.example)
    header_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10
    body_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30
    keepalive_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 75
    max_connections: Annotated[int, Field(ge=8, le=1_000_000)] = 1000
    max_requests_per_client: Annotated[int, Field(ge=1, le=100_000)] = 32
    trusted_proxies: tuple[IpAddress, ...] = ()
    # a private file holding the admin API's bearer token; unset: no admin API (404)
    admin_token_file: ConfigPath | None = None


class StoreSettings(_Section):
    backend: Annotated[Literal["sqlite", "postgresql"], _choice("sqlite", "postgresql")] = "sqlite"
    path: ConfigPath = Path("/var/lib/hybridcal/hybridcal.db")  # the SQLite database
    # PostgreSQL: a libpq connection string without the password, which comes from a private
    # file or a systemd credential (never from the configuration file itself)
    dsn: NonEmpty | None = None
    password_file: ConfigPath | None = None
    password_credential: CredentialName | None = None


class ClusterSettings(_Section):
    """Replicas sharing one PostgreSQL store (see docs/deployment.md)."""

    # how this replica is named in leases and logs; empty: host name, process id and a nonce
    replica_id: str = ""
    # a calendar's lease lapses this long after its owner last renewed it; a dead replica's
    # calendars are taken over within about this time
    lease_seconds: Annotated[float, Field(ge=5, le=300)] = 15


class CryptoSettings(_Section):
    keyring: ConfigPath = Path("/etc/hybridcal/keyring.json")
    credential: CredentialName | None = None  # wins over `keyring` when set


class LoggingSettings(_Section):
    level: Annotated[
        Literal["debug", "info", "warning", "error", "critical"],
        _choice(*LOG_LEVELS, fold_case=True),
    ] = "info"
    format: Annotated[Literal["auto", "json", "console"], _choice(*LOG_FORMATS, fold_case=True)] = (
        "auto"
    )


class WindowSettings(_Section):
    past_days: Annotated[int, Field(ge=1, le=366)] = 7
    future_days: Annotated[int, Field(ge=1, le=366)] = 31


class ScheduleSettings(_Section):
    reconcile_minutes: Annotated[float, Field(gt=0)] = 60
    channel_renew_before_hours: Annotated[float, Field(gt=0)] = 24
    prune_minutes: Annotated[float, Field(gt=0)] = 60
    presence_minutes: Annotated[float, Field(gt=0)] = 15


KeywordMeaning = Annotated[
    Literal["scheduled", "personal_room"], _choice(*KEYWORD_MEANINGS, fold_case=True)
]


class MeetingsSettings(_Section):
    """What a plain keyword of a meeting system with an API means in this organisation: a
    meeting made for the event, or the organiser's personal room (Zoom's Personal Meeting ID,
    Webex's Personal Room). ``:pmr`` (``:pmi``, ``:myroom``, ...) and ``:onetime`` choose
    either way whatever the default."""

    zoom_default: KeywordMeaning = "scheduled"
    webex_default: KeywordMeaning = "scheduled"

    def personal_room_systems(self) -> frozenset[str]:
        """The systems whose plain keyword means the personal room."""
        chosen = {"zoom": self.zoom_default, "webex": self.webex_default}
        return frozenset(system for system, meaning in chosen.items() if meaning == "personal_room")


class RenderSettings(_Section):
    default_locale: Annotated[str, AfterValidator(_locale)] = "en"
    force_default_locale: bool = False


class EndpointSettings(_Section):
    obtp_lead_minutes: Annotated[int, Field(ge=0, le=60)] = 5
    hide_tentative: bool = False
    max_window_days: Annotated[int, Field(ge=1)] = 31
    hide_private_titles: bool = True
    # Attendee names in endpoint meeting lists (the count is always given): "off", "all"
    # calendars, or only the calendars listed in attendee_name_rooms ("rooms_listed").
    attendee_names: Annotated[
        Literal["off", "rooms_listed", "all"], _choice(*ATTENDEE_NAME_MODES)
    ] = "off"
    attendee_name_rooms: tuple[Email, ...] = ()
    # Meet through an interop gateway: "{code}@gateway.example.com" (or just the domain);
    # unset: Meet meetings get no dial string of ours.
    meet_sip_gateway: Annotated[str, AfterValidator(_meet_gateway)] | None = None

    # a room system booking its own room holds it at most this long ahead of now
    max_booking_minutes: Annotated[int, Field(ge=5, le=1440)] = 60

    @model_validator(mode="after")
    def _rooms_need_their_mode(self) -> EndpointSettings:
        if self.attendee_name_rooms and self.attendee_names != "rooms_listed":
            raise _fail(
                "attendee_names",
                'attendee_name_rooms is used only with attendee_names = "rooms_listed"',
            )
        return self


class GoogleSettings(_Section):
    enabled: bool = False
    service_account_file: ConfigPath | None = None
    service_account_credential: CredentialName | None = None
    room_access_user: Email | None = None
    token_uri: HttpsUrl = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
    calendar_api_root: ApiRoot = "https://www.googleapis.com/calendar/v3/"
    gmail_api_root: ApiRoot = "https://gmail.googleapis.com/"
    send_updates: Annotated[Literal["none", "all", "externalOnly"], _choice(*SEND_UPDATES)] = "none"
    channel_ttl_seconds: Annotated[int, Field(ge=60)] = 604800
    http_timeout_seconds: Annotated[float, Field(gt=0)] = 30
    max_retries: Annotated[int, Field(ge=0, le=20)] = 5
    request_concurrency: Annotated[int, Field(ge=1)] = 8


class ZoomSettings(_Section):
    """A Zoom Server-to-Server OAuth app (Zoom App Marketplace → Develop → Server-to-Server)."""

    enabled: bool = False
    account_id: NonEmpty | None = None
    client_id: NonEmpty | None = None
    client_secret_file: ConfigPath | None = None
    client_secret_credential: CredentialName | None = None
    oauth_root: HttpsUrl = "https://zoom.us"  # the token endpoint is {oauth_root}/oauth/token
    api_root: HttpsUrl = "https://api.zoom.us/v2"
    topic_template: TopicTemplate = "{title}"
    fallback_host: Email | None = None
    alternative_hosts: tuple[Email, ...] = ()
    scheduler: Email | None = None
    join_before_host: bool | None = None
    waiting_room: bool | None = None
    proxy: ProxyUrl | None = None
    http_timeout_seconds: Annotated[float, Field(gt=0)] = 30
    max_retries: Annotated[int, Field(ge=0, le=20)] = 3
    request_concurrency: Annotated[int, Field(ge=1)] = 8
    # Zoom's per-second limits are per account and shared by every app of the account
    requests_per_second: Annotated[float, Field(gt=0, le=100)] = 10


class WebexSettings(_Section):
    """A Webex Service App (developer.webex.com → My Webex Apps → Service App) with the admin
    meeting scopes, authorised by a full admin in Control Hub; its refresh token is handed to
    hybridcal with ``hybridcal webex authorize`` and kept in the encrypted store."""

    enabled: bool = False
    client_id: NonEmpty | None = None
    client_secret_file: ConfigPath | None = None
    client_secret_credential: CredentialName | None = None
    api_root: ApiRoot = "https://webexapis.com/v1/"
    token_url: HttpsUrl = "https://webexapis.com/v1/access_token"  # noqa: S105 - a URL
    # the site meetings are made on; unset: each host's preferred site
    site_url: SiteUrl | None = None
    proxy: ProxyUrl | None = None
    http_timeout_seconds: Annotated[float, Field(gt=0)] = 30
    max_retries: Annotated[int, Field(ge=0, le=20)] = 3
    # Webex's limits are per user, and every call of the Service App is the same user
    request_concurrency: Annotated[int, Field(ge=1)] = 8


class MicrosoftSettings(_Section):
    """An Entra ID app with application permissions (Calendars.ReadWrite, MailboxSettings.Read,
    User.Read.All), granted admin consent."""

    enabled: bool = False
    tenant_id: NonEmpty | None = None
    client_id: NonEmpty | None = None
    # exactly one way to prove the app's identity: a client secret, or a certificate (PEM with
    # its private key)
    client_secret_file: ConfigPath | None = None
    client_secret_credential: CredentialName | None = None
    certificate_file: ConfigPath | None = None
    # national clouds: https://login.microsoftonline.us, https://login.chinacloudapi.cn, ...
    authority: HttpsUrl = "https://login.microsoftonline.com"
    graph_root: HttpsUrl = "https://graph.microsoft.com/v1.0"
    # CA certificates (PEM) trusted for the authority and the Graph root instead of the system's:
    # a TLS-inspecting proxy's CA, or the sandbox's test CA
    ca_bundle: ConfigPath | None = None
    page_size: Annotated[int, Field(ge=1, le=1000)] = 100
    subscription_minutes: Annotated[int, Field(ge=45, le=10070)] = 10000
    mailbox_concurrency: Annotated[int, Field(ge=1, le=4)] = 4
    http_timeout_seconds: Annotated[float, Field(gt=0)] = 30
    max_retries: Annotated[int, Field(ge=0, le=20)] = 5


Problem = tuple[str, str]


class Settings(BaseModel):
    """Everything the daemon is configured with; build it with `load_settings` or
    `settings_from_mapping`, never piece by piece."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    daemon: DaemonSettings
    store: StoreSettings = Field(default_factory=StoreSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    crypto: CryptoSettings = Field(default_factory=CryptoSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    window: WindowSettings = Field(default_factory=WindowSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    keywords: KeywordMap = Field(default_factory=lambda: DEFAULT_KEYWORDS)
    meetings: MeetingsSettings = Field(default_factory=MeetingsSettings)
    render: RenderSettings = Field(default_factory=RenderSettings)
    endpoint: EndpointSettings = Field(default_factory=EndpointSettings)
    google: GoogleSettings = Field(default_factory=GoogleSettings)
    zoom: ZoomSettings = Field(default_factory=ZoomSettings)
    webex: WebexSettings = Field(default_factory=WebexSettings)
    microsoft: MicrosoftSettings = Field(default_factory=MicrosoftSettings)

    @model_validator(mode="before")
    @classmethod
    def _daemon_section_may_be_absent(cls, data: Any) -> Any:
        # Without this a missing [daemon] reports "daemon: required" instead of naming the one
        # key that is actually required.
        if isinstance(data, Mapping) and "daemon" not in data:
            return {**data, "daemon": {}}
        return data

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        problems = cross_field_problems(self)
        if problems:
            raise _fail(
                "cross_field",
                "{summary}",
                summary="; ".join(f"{key}: {message}" for key, message in problems),
                problems=tuple(problems),
            )
        return self

    def redacted_dict(self) -> dict[str, Any]:
        """A JSON-ready view for `hybridcal config check`. Secret-holding fields are typed
        `SecretStr`, which pydantic renders masked; paths and URLs are shown as they are."""
        return self.model_dump(mode="json")


def _dsn_has_password(dsn: str) -> bool:
    if "://" in dsn:  # postgresql://user:secret@host/db
        authority = dsn.split("://", 1)[1].split("/", 1)[0]
        return "@" in authority and ":" in authority.rsplit("@", 1)[0]
    return re.search(r"(^|\s)password\s*=", dsn) is not None


def _store_problems(store: StoreSettings) -> list[Problem]:
    problems: list[Problem] = []
    if store.password_file is not None and store.password_credential is not None:
        problems.append(
            (
                "store.password_credential",
                "set either password_file or password_credential, not both",
            )
        )
    if store.backend == "postgresql":
        if store.dsn is None:
            problems.append(("store.dsn", 'store.backend = "postgresql" needs a dsn'))
        elif _dsn_has_password(store.dsn):
            problems.append(
                (
                    "store.dsn",
                    "must not hold the password: use password_file or password_credential",
                )
            )
    else:
        unused = f'only used with store.backend = "postgresql" (got {store.backend!r})'
        problems.extend(
            (f"store.{key}", unused)
            for key in ("dsn", "password_file", "password_credential")
            if getattr(store, key) is not None
        )
    return problems


def cross_field_problems(settings: Settings) -> list[Problem]:
    """Rules that involve more than one key; every broken rule is reported."""
    problems: list[Problem] = []
    problems.extend(_store_problems(settings.store))
    google = settings.google
    if google.service_account_file is not None and google.service_account_credential is not None:
        problems.append(
            (
                "google.service_account_credential",
                "set either service_account_file or service_account_credential, not both",
            )
        )
    if (
        google.enabled
        and google.service_account_file is None
        and google.service_account_credential is None
    ):
        problems.append(
            (
                "google.service_account_file",
                "google.enabled needs service_account_file or service_account_credential",
            )
        )
    problems += _zoom_problems(settings.zoom)
    problems += _webex_problems(settings.webex)
    problems += _microsoft_problems(settings.microsoft)
    renew_seconds = settings.schedule.channel_renew_before_hours * 3600
    if renew_seconds >= google.channel_ttl_seconds:
        problems.append(
            (
                "schedule.channel_renew_before_hours",
                (
                    f"must be shorter than google.channel_ttl_seconds"
                    f" ({google.channel_ttl_seconds} s) or channels are renewed as soon as made"
                ),
            )
        )
    cached_days = settings.window.past_days + settings.window.future_days
    if settings.endpoint.max_window_days > cached_days:
        problems.append(
            (
                "endpoint.max_window_days",
                (
                    "must not exceed the cached window, window.past_days + window.future_days"
                    f" ({cached_days})"
                ),
            )
        )
    return problems


def _zoom_problems(zoom: ZoomSettings) -> list[Problem]:
    problems: list[Problem] = []
    if zoom.client_secret_file is not None and zoom.client_secret_credential is not None:
        problems.append(
            (
                "zoom.client_secret_credential",
                "set either client_secret_file or client_secret_credential, not both",
            )
        )
    if not zoom.enabled:
        return problems
    problems.extend(
        (f"zoom.{key}", "zoom.enabled needs it (from the app's App Credentials page)")
        for key in ("account_id", "client_id")
        if getattr(zoom, key) is None
    )
    if zoom.client_secret_file is None and zoom.client_secret_credential is None:
        problems.append(
            (
                "zoom.client_secret_file",
                "zoom.enabled needs client_secret_file or client_secret_credential",
            )
        )
    return problems


def _webex_problems(webex: WebexSettings) -> list[Problem]:
    problems: list[Problem] = []
    if webex.client_secret_file is not None and webex.client_secret_credential is not None:
        problems.append(
            (
                "webex.client_secret_credential",
                "set either client_secret_file or client_secret_credential, not both",
            )
        )
    if not webex.enabled:
        return problems
    if webex.client_id is None:
        problems.append(("webex.client_id", "webex.enabled needs it (from the Service App's page)"))
    if webex.client_secret_file is None and webex.client_secret_credential is None:
        problems.append(
            (
                "webex.client_secret_file",
                "webex.enabled needs client_secret_file or client_secret_credential",
            )
        )
    return problems


def _microsoft_problems(microsoft: MicrosoftSettings) -> list[Problem]:
    proofs = [
        name
        for name in ("client_secret_file", "client_secret_credential", "certificate_file")
        if getattr(microsoft, name) is not None
    ]
    problems: list[Problem] = []
    if len(proofs) > 1:
        problems.append((f"microsoft.{proofs[1]}", f"set only one of {', '.join(proofs)}"))
    if not microsoft.enabled:
        return problems
    problems.extend(
        (f"microsoft.{key}", "microsoft.enabled needs it (from the app's Overview page)")
        for key in ("tenant_id", "client_id")
        if getattr(microsoft, key) is None
    )
    if not proofs:
        problems.append(
            (
                "microsoft.client_secret_file",
                (
                    "microsoft.enabled needs client_secret_file, client_secret_credential or "
                    "certificate_file"
                ),
            )
        )
    return problems
