"""The doctor as a whole: every area's checks in order, and how their results are shown."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import aiohttp

from hybridcal.doctor import google, local, meetings, microsoft, network
from hybridcal.doctor.checks import Check, Context, Options, Result, Status, run_checks

if TYPE_CHECKING:
    import ssl

CHECKS: Final[tuple[Check, ...]] = (
    *local.CHECKS,
    *google.CHECKS,
    *microsoft.CHECKS,
    *meetings.CHECKS,
    *network.CHECKS,
)
_STYLE: Final = {
    Status.OK: ("ok", "green"),
    Status.WARNING: ("WARN", "yellow"),
    Status.FAIL: ("FAIL", "bold red"),
    Status.SKIPPED: ("skip", "dim"),
}


async def run_doctor(
    config_path: Path,
    environ: Mapping[str, str],
    options: Options,
    *,
    public_tls: ssl.SSLContext | None = None,
    now: Callable[[], datetime] | None = None,
    checks: Sequence[Check] = CHECKS,
) -> list[Result]:
    """Every check's results; ``public_tls`` (the CAs trusted for the public URL) and ``now``
    (this host's clock) are for tests."""
    async with aiohttp.ClientSession() as http:
        ctx = Context(config_path, environ, options, http, public_tls=public_tls)
        if now is not None:
            ctx.now = now
        return await run_checks(checks, ctx)


def summary(results: Sequence[Result]) -> dict[str, int]:
    counts = Counter(r.status for r in results)
    return {status.value: counts.get(status, 0) for status in Status}


def as_json(results: Sequence[Result]) -> dict[str, Any]:
    """What ``--json`` prints: overall ok, counts by status, and every check."""
    return {
        "ok": not any(r.status is Status.FAIL for r in results),
        "summary": summary(results),
        "checks": [r.to_json() for r in results],
    }


def print_human(results: Sequence[Result], stream: IO[str]) -> None:
    """One line per check under its group's heading; colours only on a terminal."""
    from rich.console import Console  # noqa: PLC0415 - only for the human output
    from rich.markup import escape  # noqa: PLC0415

    console = Console(file=stream, highlight=False, soft_wrap=True)
    group = None
    for result in results:
        if result.group != group:
            group = result.group
            console.print(f"[bold]{escape(group)}[/bold]")
        mark, style = _STYLE[result.status]
        line = f"  [{style}]{mark:<4}[/{style}] {escape(result.id)}: {escape(result.finding)}"
        if result.fix and result.status in {Status.FAIL, Status.WARNING}:
            line += f" [dim]— fix:[/dim] {escape(result.fix)}"
        console.print(line)
    counts = summary(results)
    console.print(
        f"{counts['ok']} ok, {counts['warning']} warning(s), {counts['fail']} failed, "
        f"{counts['skipped']} skipped"
    )
