"""Meetings: create, update, delete and the JSON Zoom answers for them.

Checks, in order: the path user (404 code 1001), field types (300), the host — the path user,
or the ``schedule_for`` user, who must have granted the path user scheduling privilege (1133)
— which must be an active (1120) licensed user; then the host's daily create/update/delete
budget is charged (see :mod:`limits`; a DELETE of the meeting or of one occurrence is charged
too); then what depends on the host: ``start_time`` required for types
2 and 8, ``recurrence`` required for type 8 (ignored for other types), the passcode against
the host's effective ``meeting_password_requirement`` (300 ``Invalid parameter: password.``),
``settings.alternative_hosts`` (each an active licensed user of the account, else 1114).

Passcodes: a passcode sent is checked; none sent (or ``""`` on create) while the host's
``require_password_for_scheduled_meeting`` is on (for every meeting type, a simplification) or
with ``default_password: true`` gets a generated one that satisfies the rules. On update,
``""`` removes the passcode unless the account requires one (then 300).

Updates merge: top-level fields replace, ``settings`` merge key by key, ``recurrence`` is
replaced as a whole. A change of ``type``, ``recurrence``, ``start_time`` or ``timezone`` of a
fixed-time series recomputes its occurrences and drops per-occurrence changes and deletions.
An occurrence (``occurrence_id``) takes only ``start_time``, ``duration``, ``agenda`` and
``settings``; ``schedule_for`` on update moves the meeting to that host (privilege as on
create). A type-8 meeting's ``start_time`` is its first occurrence's start. Deleting every
occurrence leaves the meeting in place with no occurrences.

Simplified: meetings never start (``status`` stays ``waiting``), no registrants, no PMI, no
webinars; ``start_url`` never expires.
"""

from __future__ import annotations

import base64
import random
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hybridcal.sandbox.zoom.errors import (
    Problems,
    invalid_alternative_host,
    invalid_password,
    meeting_not_found,
    no_scheduling_privilege,
)
from hybridcal.sandbox.zoom.fields import (
    INSTANT,
    RECURRING_FIXED_TIME,
    SCHEDULED,
    Changes,
    check_body,
    occurrence_problems,
    split_hosts,
)
from hybridcal.sandbox.zoom.model import Meeting, Occurrence, sort_key
from hybridcal.sandbox.zoom.passcodes import generate, violations
from hybridcal.sandbox.zoom.recurrence import Recurrence, expand, parse
from hybridcal.sandbox.zoom.render import MeetingView
from hybridcal.sandbox.zoom.security import SecurityPolicy
from hybridcal.sandbox.zoom.times import epoch_ms
from hybridcal.sandbox.zoom.users import LICENSED, Directory, User

DEFAULT_DURATION = 60
_MAX_ID = 99_999_999_999
_MIN_ID = 80_000_000_000


class MeetingBook:
    def __init__(
        self,
        directory: Directory,
        security: SecurityPolicy,
        rng: random.Random,
        now: Callable[[], datetime],
        charge: Callable[[User], None],
    ) -> None:
        self._directory = directory
        self._security = security
        self._rng = rng
        self._now = now
        self._charge = charge
        self.view = MeetingView(directory, security, rng.randbytes(32), now)
        self.by_id: dict[int, Meeting] = {}

    # -- lookup --------------------------------------------------------------------------------

    def find(self, meeting_id: int | str) -> Meeting | None:
        text = str(meeting_id).strip()
        if not text.isdigit() or len(text) > 19:
            return None
        return self.by_id.get(int(text))

    def lookup(self, raw: str) -> Meeting:
        meeting = self.find(raw)
        if meeting is None or meeting.deleted:
            raise meeting_not_found(raw)
        return meeting

    def host_of(self, meeting: Meeting) -> User:
        return self._directory.get(meeting.host_id)

    # -- create --------------------------------------------------------------------------------

    def create(self, path_user: str, body: dict[str, Any]) -> Meeting:
        self._directory.get(path_user)  # 1001 before anything else
        changes = check_body(body)
        requester = self._directory.host(path_user)
        host = requester
        if changes.schedule_for is not None:
            host = self._directory.host(changes.schedule_for)
            if not self._directory.may_schedule_for(requester, host):
                raise no_scheduling_privilege(requester.email, changes.schedule_for)
        self._charge(host)
        kind = changes.type or SCHEDULED
        zone = changes.timezone or host.timezone
        problems = Problems()
        start: datetime | None = None
        if kind == INSTANT:
            start = self._now().replace(microsecond=0)
        elif changes.start is not None:
            start = changes.start.resolve(zone)
        elif kind in {SCHEDULED, RECURRING_FIXED_TIME}:
            problems.add("start_time", "Required for scheduled meetings (types 2 and 8).")
        recurrence = self._recurrence(kind, changes, None, problems)
        problems.raise_if_any()
        occurrences: list[Occurrence] = []
        if kind == RECURRING_FIXED_TIME:
            assert recurrence is not None
            assert start is not None
            occurrences = self._occurrences(recurrence, start, zone)
            start = occurrences[0].start
        password = self._new_password(
            host, changes.password, default=bool(body.get("default_password"))
        )
        settings = self._checked_settings(changes.settings)
        meeting = Meeting(
            id=self._new_id(),
            uuid=base64.b64encode(self._rng.randbytes(16)).decode("ascii"),
            host_id=host.id,
            assistant_id=requester.id if requester.id != host.id else None,
            topic=changes.topic if changes.topic is not None else "Zoom Meeting",
            type=kind,
            start=start,
            duration=changes.duration or DEFAULT_DURATION,
            timezone=zone,
            agenda=changes.agenda or "",
            created_at=self._now().replace(microsecond=0),
            password=password,
            zak="eyJ" + secrets.token_urlsafe(48),
            settings=settings,
            recurrence=recurrence,
            occurrences=occurrences,
            pre_schedule=bool(body.get("pre_schedule", False)),
        )
        self.by_id[meeting.id] = meeting
        return meeting

    def _new_id(self) -> int:
        while True:
            candidate = self._rng.randint(_MIN_ID, _MAX_ID)
            if candidate not in self.by_id:
                return candidate

    @staticmethod
    def _recurrence(
        kind: int, changes: Changes, current: Recurrence | None, problems: Problems
    ) -> Recurrence | None:
        if kind != RECURRING_FIXED_TIME:
            return None  # Zoom ignores recurrence for other types
        if changes.recurrence is not None:
            return parse(changes.recurrence, problems)
        if current is None:
            problems.add(
                "recurrence", "Required for a recurring meeting with a fixed time (type 8)."
            )
        return current

    @staticmethod
    def _occurrences(recurrence: Recurrence, start: datetime, zone: str) -> list[Occurrence]:
        return [Occurrence(epoch_ms(s), s) for s in expand(recurrence, start, zone)]

    def _new_password(self, host: User, given: str | None, *, default: bool) -> str:
        if given:
            self._check_password(host, given)
            return given
        flags = self._security.flags_for(host.id)
        if flags.require_password_for_scheduled_meeting or default:
            return generate(self._security.rules_for(host.id), self._rng)
        return ""

    def _check_password(self, host: User, password: str) -> None:
        broken = violations(password, self._security.rules_for(host.id))
        if broken:
            raise invalid_password([{"field": "password", "message": m} for m in broken])

    def _checked_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        out = dict(settings)
        if "alternative_hosts" in out:
            emails = []
            for name in split_hosts(out["alternative_hosts"]):
                user = self._directory.find(name)
                if user is None or user.type != LICENSED or user.status != "active":
                    raise invalid_alternative_host(name)
                emails.append(user.email)
            out["alternative_hosts"] = ";".join(dict.fromkeys(emails))
        return out

    # -- update --------------------------------------------------------------------------------

    def update(self, meeting: Meeting, body: dict[str, Any], occurrence_id: str | None) -> None:
        occurrence = None if occurrence_id is None else meeting.occurrence(occurrence_id)
        changes = check_body(body, update=True)
        if occurrence is not None:
            occurrence_problems(changes)
        host = self.host_of(meeting)
        new_host = host
        if changes.schedule_for is not None:
            new_host = self._directory.host(changes.schedule_for)
            scheduler = self._directory.get(meeting.assistant_id or meeting.host_id)
            if new_host.id != host.id and not self._directory.may_schedule_for(scheduler, new_host):
                raise no_scheduling_privilege(scheduler.email, changes.schedule_for)
        self._charge(host)
        if occurrence is not None:
            self._update_occurrence(meeting, occurrence, changes)
            return
        kind = changes.type or meeting.type
        zone = changes.timezone or meeting.timezone
        start = changes.start.resolve(zone) if changes.start is not None else meeting.start
        problems = Problems()
        if kind in {SCHEDULED, RECURRING_FIXED_TIME} and start is None:
            problems.add("start_time", "Required for scheduled meetings (types 2 and 8).")
        recurrence = self._recurrence(kind, changes, meeting.recurrence, problems)
        problems.raise_if_any()
        occurrences = meeting.occurrences if kind == RECURRING_FIXED_TIME else []
        reshaped = kind != meeting.type or bool(
            changes.given & {"recurrence", "start_time", "timezone"}
        )
        if kind == RECURRING_FIXED_TIME and reshaped:
            assert recurrence is not None
            assert start is not None
            occurrences = self._occurrences(recurrence, start, zone)
            start = occurrences[0].start
        password = meeting.password
        if changes.password:
            self._check_password(new_host, changes.password)
            password = changes.password
        elif changes.password == "":
            if self._security.flags_for(new_host.id).require_password_for_scheduled_meeting:
                raise invalid_password(
                    [{"field": "password", "message": "The account requires a passcode."}]
                )
            password = ""
        settings = {**meeting.settings, **self._checked_settings(changes.settings)}
        # every check passed: apply
        if new_host.id != host.id:
            meeting.assistant_id = meeting.assistant_id or host.id
            meeting.host_id = new_host.id
        meeting.type, meeting.timezone, meeting.start = kind, zone, start
        meeting.recurrence, meeting.occurrences = recurrence, occurrences
        meeting.password, meeting.settings = password, settings
        if changes.topic is not None:
            meeting.topic = changes.topic
        if changes.agenda is not None:
            meeting.agenda = changes.agenda
        if changes.duration is not None:
            meeting.duration = changes.duration

    def _update_occurrence(
        self, meeting: Meeting, occurrence: Occurrence, changes: Changes
    ) -> None:
        settings = self._checked_settings(changes.settings)
        if changes.start is not None:
            occurrence.start = changes.start.resolve(meeting.timezone)
        if changes.duration is not None:
            occurrence.duration = changes.duration
        if changes.agenda is not None:
            occurrence.agenda = changes.agenda
        if settings:
            occurrence.settings = {**(occurrence.settings or {}), **settings}

    def delete(self, meeting: Meeting, occurrence_id: str | None) -> None:
        """Deleting a meeting or one occurrence costs one of the host's daily requests (see
        :mod:`limits`); an unknown or already deleted occurrence (3000) costs nothing."""
        occurrence = None if occurrence_id is None else meeting.occurrence(occurrence_id)
        self._charge(self.host_of(meeting))
        if occurrence is None:
            meeting.deleted = True
            return
        occurrence.deleted = True

    # -- listing -------------------------------------------------------------------------------

    def of_host(self, host: User, *, include_deleted: bool = False) -> list[Meeting]:
        found = [
            m
            for m in self.by_id.values()
            if m.host_id == host.id and (include_deleted or not m.deleted)
        ]
        return sorted(found, key=sort_key)
