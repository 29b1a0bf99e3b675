"""The doctor's vocabulary: a check's result, the context checks share, and the runner.

A check is a small async function of a :class:`Context` returning one or more
:class:`Result`; it raises :class:`Skip` when something it needs is missing (the config did not
load, the provider is not configured). The runner runs the checks in order, one at a time,
turns a :class:`Skip` into a ``skipped`` result with its reason, bounds each check's time, and
turns an unexpected exception into a ``fail`` that names it, so one broken check never hides
the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import ssl

    import aiohttp

    from hybridcal.config.settings import Settings
    from hybridcal.crypto import Keyring

CHECK_TIMEOUT_S: Final = 60.0


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAIL = "fail"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Result:
    """One finding: ``id`` is dotted, its first part the group (``google.scope.calendar``)."""

    id: str
    status: Status
    finding: str
    fix: str = ""

    @property
    def group(self) -> str:
        return self.id.split(".", 1)[0]

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "group": self.group,
            "status": self.status.value,
            "finding": self.finding,
            "fix": self.fix,
        }


def ok(check_id: str, finding: str) -> Result:
    return Result(check_id, Status.OK, finding)


def warning(check_id: str, finding: str, fix: str) -> Result:
    return Result(check_id, Status.WARNING, finding, fix)


def fail(check_id: str, finding: str, fix: str) -> Result:
    return Result(check_id, Status.FAIL, finding, fix)


class Skip(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a check that cannot run; the message says why."""


@dataclass(frozen=True, slots=True)
class Options:
    """What the admin asked for on the command line."""

    google_user: str | None = None
    microsoft_user: str | None = None
    zoom_users: tuple[str, ...] = ()
    webex_users: tuple[str, ...] = ()  # a meeting is scheduled for each and deleted at once
    reach: bool = False
    debug: bool = False  # let an unexpected error in a check end the run with its traceback


@dataclass(frozen=True, slots=True)
class StoreFacts:
    """What the store checks read (without changing anything) for the later checks."""

    backend: str
    where: str
    exists: bool
    current: int  # the schema version this hybridcal writes for the backend
    version: int | None = None
    canary: bytes | None = None
    google_rooms: tuple[str, ...] = ()
    microsoft_users: tuple[str, ...] = ()
    replicas: tuple[tuple[str, bool], ...] | None = None  # (id, lease live), PostgreSQL only

    @property
    def current_schema(self) -> bool:
        return self.exists and self.version == self.current


@dataclass
class Context:
    """Everything checks share; earlier checks leave what later ones need."""

    config_path: Path
    environ: Mapping[str, str]
    options: Options
    http: aiohttp.ClientSession
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    # trusted for the public URL's certificate instead of the system's CAs (tests)
    public_tls: ssl.SSLContext | None = None
    settings: Settings | None = None
    keyring: Keyring | None = None
    store: StoreFacts | None = None
    # scratch space between a provider's checks (tokens, the service-account key)
    notes: dict[str, Any] = field(default_factory=dict)

    def require_settings(self) -> Settings:
        if self.settings is None:
            raise Skip("the config did not load")
        return self.settings


CheckFn = Callable[[Context], Awaitable[list[Result]]]


@dataclass(frozen=True, slots=True)
class Check:
    id: str  # the id of its result, or the prefix of its results
    run: CheckFn


async def run_checks(
    checks: Sequence[Check], ctx: Context, *, limit_s: float = CHECK_TIMEOUT_S
) -> list[Result]:
    results: list[Result] = []
    for check in checks:
        results += await _run_one(check, ctx, limit_s)
    return results


async def _run_one(check: Check, ctx: Context, limit_s: float) -> list[Result]:
    try:
        async with asyncio.timeout(limit_s):
            return await check.run(ctx)
    except Skip as skip:
        return [Result(check.id, Status.SKIPPED, str(skip))]
    except TimeoutError:
        return [
            fail(
                check.id,
                f"no answer within {limit_s:.0f} s",
                "check the network path to the service (firewall, proxy) and retry",
            )
        ]
    except Exception as exc:
        if ctx.options.debug:
            raise
        from hybridcal.cli_errors import explain  # noqa: PLC0415 - the CLI's wording

        return [
            fail(
                check.id,
                f"the check itself failed: {explain(exc)}",
                "rerun with --debug and report it if the message does not say what to do",
            )
        ]


def exit_code(results: Sequence[Result]) -> int:
    """0 when nothing failed (warnings and skips included), else 1."""
    return 1 if any(r.status is Status.FAIL for r in results) else 0
