"""The provider's simulator (Google or Microsoft Graph) and Zoom's, in a process of their own.

``python -m bench._sim_proc`` is started by :class:`SimulatorProcess`. It builds the
organisation (people, rooms, their events), writes the credentials the daemon needs into the
work directory, prints one JSON line (the daemon's provider sections and the counts), then
answers one JSON command per line on stdin until ``quit`` or end of input.

At 10,000 calendars the simulator is the busiest process of a run; in the benchmark's own
event loop it would slow down everything the benchmark measures (the old ``/readyz`` poll
measured exactly that), so it runs apart and the benchmark only asks it for figures.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Self

from bench import _graph_workload as graph_workload
from bench import _quota as quota
from bench import _sync_workload as google_workload
from bench._daemon_proc import REPO, GoogleEndpoints, child_environ, google_section
from bench._sync_workload import DOMAIN


@dataclass(frozen=True, slots=True)
class Spec:
    provider: str  # google | microsoft
    people: int
    rooms: int
    events: int
    seed: int
    workdir: str


@dataclass(frozen=True, slots=True)
class Organisation:
    """What the simulator process built: the daemon's provider and Zoom sections, the people,
    the rooms, and the events on every calendar (series once, attendee and room copies
    included)."""

    sections: dict[str, dict[str, Any]]
    people: list[str]
    rooms: list[str]
    events: int
    setup_seconds: float


class _Side:
    """The provider's simulator behind the few operations the benchmark needs."""

    def __init__(self, spec: Spec) -> None:
        from hybridcal.sandbox.zoom import ZoomSimulator  # noqa: PLC0415 - child process only

        self.spec = spec
        self.workdir = Path(spec.workdir)
        self.zoom = ZoomSimulator(account_id="benchaccount")
        self._tls = tempfile.TemporaryDirectory(prefix="hybridcal-scale-tls-")
        if spec.provider == "microsoft":
            from hybridcal.sandbox.microsoft import GraphSimulator  # noqa: PLC0415

            self.graph: Any = GraphSimulator(domain=DOMAIN)
            self.google: Any = None
        else:
            from hybridcal.sandbox.google.app import GoogleSimulator  # noqa: PLC0415

            # Meet completes at once: nothing in this benchmark waits for a conference
            self.google = GoogleSimulator(domain=DOMAIN, conference_delay_s=0.0)
            self.graph = None

    async def start(self) -> Organisation:
        from hybridcal.demo import (  # noqa: PLC0415
            install_graph_app,
            install_service_account,
            install_zoom_app,
            microsoft_config,
            start_graph,
            zoom_config,
        )
        from hybridcal.sandbox.keys import generate_service_account  # noqa: PLC0415

        began = asyncio.get_running_loop().time()
        spec, workdir = self.spec, self.workdir
        await self.zoom.start()
        now = datetime.now(UTC)
        sections: dict[str, dict[str, Any]] = {}
        if self.graph is not None:
            await start_graph(self.graph, Path(self._tls.name))
            app = install_graph_app(self.graph, workdir)
            sections["google"] = {"enabled": False}
            sections["microsoft"] = microsoft_config(self.graph, app, workdir)
            people = graph_workload.populate_directory(self.graph, spec.people)
            rooms = graph_workload.add_rooms(self.graph, spec.rooms)
            graph_workload.seed_events(
                self.graph, people, spec.events, now=now, seed=spec.seed, rooms=rooms
            )
            events = graph_workload.visible_events(self.graph, [*people, *rooms])
        else:
            sim = self.google
            await sim.start()
            info = generate_service_account(project_id="hybridcal-bench")
            install_service_account(sim, workdir / "service-account.json", info)
            endpoints = GoogleEndpoints(sim.token_uri, sim.calendar_root, sim.gmail_root)
            sections["google"] = google_section(workdir, endpoints, google_workload.ADMIN)
            people = google_workload.populate_directory(sim, spec.people)
            rooms = google_workload.add_rooms(sim, spec.rooms)
            google_workload.seed_events(
                sim, people, spec.events, now=now, seed=spec.seed, rooms=rooms
            )
            events = google_workload.visible_events(sim, [*people, *rooms])
        zoom_app = install_zoom_app(self.zoom, workdir)
        sections["zoom"] = zoom_config(self.zoom, zoom_app, workdir)
        return Organisation(
            sections=sections,
            people=people,
            rooms=rooms,
            events=events,
            setup_seconds=round(asyncio.get_running_loop().time() - began, 2),
        )

    async def close(self) -> None:
        await self.zoom.close()
        if self.graph is not None:
            await self.graph.close()
        if self.google is not None:
            await self.google.close()
        self._tls.cleanup()

    def log_size(self) -> int:
        sim = self.graph if self.graph is not None else self.google
        return len(sim.request_log)

    def requests(self, since: int) -> list[quota.Request]:
        if self.graph is not None:
            return [
                quota.Request(r.operation or r.path, r.mailbox, r.status, r.at)
                for r in self.graph.request_log[since:]
            ]
        return [
            quota.Request(r.method_id or r.path, r.subject, r.status, r.at or datetime.now(UTC))
            for r in self.google.request_log[since:]
        ]

    def figures(self, since: int, started_at: float | None) -> dict[str, Any]:
        """Calls by kind and operation, failures, and the peak rates against the quotas, for
        the requests after ``since``; with ``started_at`` (a Unix time) also requests per
        second from then on."""
        requests = self.requests(since)
        provider = self.spec.provider
        figures: dict[str, Any] = {
            "calls_by_kind": quota.calls_by_kind(requests, provider),
            "calls_by_operation": quota.calls_by_operation(requests),
            "failed_requests": sum(1 for r in requests if r.status >= 400),
            "throttled_requests": sum(1 for r in requests if r.status == 429),
            "first_at": requests[0].at.timestamp() if requests else None,
            "last_at": requests[-1].at.timestamp() if requests else None,
        }
        if self.graph is not None:
            figures["rates"] = quota.graph_rates(requests, self.graph.peak_mailbox_inflight)
        else:
            figures["rates"] = quota.google_rates(requests)
        if started_at is not None:
            since_at = datetime.fromtimestamp(started_at, UTC)
            figures["per_second"] = quota.calls_per_second(requests, since_at)
        return figures


async def _serve(spec: Spec, out: IO[str]) -> None:
    side = _Side(spec)
    try:
        org = await side.start()
        _reply(out, asdict(org))
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                return
            command = json.loads(line)
            name = command.get("command")
            if name == "quit":
                _reply(out, {"ok": True})
                return
            if name == "log_size":
                _reply(out, {"log_size": side.log_size()})
            elif name == "figures":
                _reply(out, side.figures(int(command["since"]), command.get("started_at")))
            else:
                _reply(out, {"error": f"unknown command {name!r}"})
    finally:
        await side.close()


def _reply(out: IO[str], data: Mapping[str, Any]) -> None:
    out.write(json.dumps(data) + "\n")
    out.flush()


def main() -> int:
    from hybridcal.logs import configure_logging  # noqa: PLC0415

    configure_logging("warning", "json", stream=sys.stderr)
    spec = Spec(**json.loads(sys.argv[1]))
    out = sys.stdout
    sys.stdout = sys.stderr  # only replies go to the pipe
    asyncio.run(_serve(spec, out))
    return 0


class SimulatorProcess:
    """``with SimulatorProcess(spec) as sim:`` starts the child and waits for its organisation;
    leaving the block ends it."""

    def __init__(self, spec: Spec, *, log_path: Path) -> None:
        self._spec = spec
        self._log_path = log_path
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[bytes] | None = None
        self.org: Organisation | None = None

    def __enter__(self) -> Self:
        self._log = self._log_path.open("wb")
        self._process = subprocess.Popen(  # our interpreter, our module
            [sys.executable, "-m", "bench._sim_proc", json.dumps(asdict(self._spec))],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=child_environ(),
        )
        try:
            self.org = Organisation(**self._read())
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            try:
                self._ask({"command": "quit"}, process)
                process.wait(10)
            except (OSError, ValueError, RuntimeError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the simulator process is not running")
        return self._process.pid

    def log_size(self) -> int:
        return int(self._ask({"command": "log_size"})["log_size"])

    def figures(self, since: int, started_at: float | None = None) -> dict[str, Any]:
        return self._ask({"command": "figures", "since": since, "started_at": started_at})

    def _ask(
        self, command: Mapping[str, Any], process: subprocess.Popen[str] | None = None
    ) -> dict[str, Any]:
        process = process or self._process
        if process is None or process.stdin is None:
            raise RuntimeError("the simulator process is not running")
        process.stdin.write(json.dumps(command) + "\n")
        process.stdin.flush()
        return self._read(process)

    def _read(self, process: subprocess.Popen[str] | None = None) -> dict[str, Any]:
        process = process or self._process
        if process is None or process.stdout is None:
            raise RuntimeError("the simulator process is not running")
        line = process.stdout.readline()
        if not line:
            tail = self._log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"the simulator process ended; its output:\n{tail}")
        data: dict[str, Any] = json.loads(line)
        return data


if __name__ == "__main__":
    sys.exit(main())
