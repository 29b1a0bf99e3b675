"""How ``hybridcal status`` shows the status document: compact lines, or a live view.

The lines are plain text (pipes, logs, ``watch``); ``--watch`` redraws the same lines under a
progress bar of the first sweep with rich, which handles the terminal (size, redraws, restoring
the cursor) so that we do not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

QUEUE_UNKNOWN = "known to the daemon only (GET /admin/v1/status)"


def status_lines(doc: dict[str, Any]) -> list[str]:
    """The document as a few lines an admin reads at a glance."""
    cal, sweep, problems = doc["calendars"], doc["sweep"], doc["problems"]
    states = f"{cal['active']:,} active, {cal['pending']:,} pending, {cal['error']:,} in error"
    kinds = f"{cal['rooms']:,} rooms, {cal['users']:,} users"
    lines = [f"calendars    {cal['total']:,}: {states} ({kinds})"]
    lines.extend(
        f"  {r['count']:,} in error: {r['reason']} (e.g. {r['example']})"
        for r in cal["top_error_reasons"]
    )
    failing = _count(problems["calendars_failing"], "calendar")
    events = _count(problems["event_faults"], "event")
    lines += [
        f"sync         {sweep_line(sweep)}",
        f"queue        {_queue(doc.get('daemon'))}",
        f"channels     {doc['channels']['expiring_within_a_day']:,} expire within a day",
        f"problems     {failing} failing to sync, {events} not handled",
    ]
    lines.extend(f"  {_problem_line(p)}" for p in problems["latest"])
    return lines


def sweep_line(sweep: dict[str, Any]) -> str:
    done = f"{sweep['synced']:,} of {sweep['total']:,} calendars synced"
    if sweep["done"]:
        return f"{done}: the first sweep is done"
    rate = sweep["rate_per_minute"]
    if rate is None:
        return f"{done}; none in the last {sweep['rate_window_minutes']} min, so no estimate"
    window = sweep["rate_window_minutes"]
    left = _duration(sweep["eta_seconds"])
    shown = f"{rate:,.1f}" if rate < 10 else f"{rate:,.0f}"
    return f"{done}, {shown}/min over the last {window} min, about {left} left"


def _queue(daemon: dict[str, Any] | None) -> str:
    if daemon is None:
        return QUEUE_UNKNOWN
    running = "first sweep running" if daemon["first_sweep_running"] else "first sweep finished"
    return f"{daemon['queue_depth']:,} calendars waiting ({running})"


def _problem_line(problem: dict[str, Any]) -> str:
    seen = datetime.fromisoformat(problem["last_seen"]).strftime("%Y-%m-%d %H:%M")
    what = "sync" if problem["event"] is None else f"event {problem['event']}"
    message = " ".join(problem["message"].split())[:120]
    return f"{seen}  {problem['calendar']}  {what}  {problem['error']}: {message}"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "an unknown time"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{secs} s"


def render(doc: dict[str, Any]) -> RenderableType:
    """The live view: a progress bar of the sweep above the status lines."""
    from rich.console import Group  # noqa: PLC0415 - rich is imported for --watch only
    from rich.progress_bar import ProgressBar  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    sweep = doc["sweep"]
    bar = Table.grid(padding=(0, 1))
    bar.add_row(
        Text("first sweep", style="bold"),
        ProgressBar(total=max(sweep["total"], 1), completed=sweep["synced"], width=40),
        Text(f"{sweep['synced'] / max(sweep['total'], 1):.0%}"),
    )
    return Group(bar, Text("\n".join(status_lines(doc))), Text(f"as of {doc['generated_at']}"))


async def watch(
    fetch: Callable[[], Awaitable[dict[str, Any]]],
    console: Console,
    *,
    interval: float,
    rounds: int | None = None,
) -> None:
    """Redraw the status every ``interval`` seconds (``rounds`` times, or until cancelled)."""
    from rich.live import Live  # noqa: PLC0415

    doc = await fetch()
    with Live(render(doc), console=console, auto_refresh=False, transient=False) as live:
        done = 1
        while rounds is None or done < rounds:
            await asyncio.sleep(interval)
            live.update(render(await fetch()), refresh=True)
            done += 1
