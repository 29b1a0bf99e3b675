"""events.list (full and incremental sync) and events.instances.

Rules enforced, from Google's events.list reference and the sync guide:

- Pages hold ``maxResults`` items (default 250, silently capped at 2500); every page but the
  last has ``nextPageToken``; only the last has ``nextSyncToken``. A page token is bound to the
  exact query it came from.
- With ``syncToken`` these are refused (400): ``iCalUID``, ``orderBy``,
  ``privateExtendedProperty``, ``q``, ``sharedExtendedProperty``, ``timeMin``, ``timeMax``,
  ``updatedMin``, and ``showDeleted=false`` (deleted items are always reported). The other
  filters that shape the result (``singleEvents``, ``showHiddenInvitations``, ``eventTypes``)
  must equal the initial sync's; a mismatch is refused with 400. An expired, foreign or damaged
  token gives 410 ``fullSyncRequired``.
- Without a sync token cancelled events are left out unless ``showDeleted`` — except cancelled
  instances (exceptions) of recurring events, which Google still lists when ``showDeleted`` and
  ``singleEvents`` are both false. In an incremental result a cancelled event carries only its
  id and status (and ``recurringEventId``/``originalStartTime`` for instances).
- ``orderBy=startTime`` needs ``singleEvents=true``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hybridcal.sandbox.google import recurrence
from hybridcal.sandbox.google.directory import Directory
from hybridcal.sandbox.google.errors import (
    ApiError,
    bad_request,
    deleted,
    full_sync_required,
    not_found,
)
from hybridcal.sandbox.google.model import Copy, StoredEvent
from hybridcal.sandbox.google.render import render
from hybridcal.sandbox.google.state import EventStore
from hybridcal.sandbox.google.times import rfc3339_utc

PAGE_DEFAULT = 250
PAGE_MAX = 2500
NOT_WITH_SYNC_TOKEN = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)
SYNC_BOUND = ("singleEvents", "showHiddenInvitations", "eventTypes")


@dataclass(frozen=True)
class Row:
    key: tuple[str, ...]
    item: dict[str, Any]


class Lister:
    def __init__(self, store: EventStore, directory: Directory, secret: bytes) -> None:
        self._store = store
        self._directory = directory
        self._secret = secret

    # -- tokens --------------------------------------------------------------------------------

    def _seal(self, payload: Mapping[str, Any]) -> str:
        raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self._secret, raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(mac + raw).decode().rstrip("=")

    def _open(self, token: str) -> dict[str, Any] | None:
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except ValueError:
            return None
        mac, raw = blob[:12], blob[12:]
        if not hmac.compare_digest(mac, hmac.new(self._secret, raw, hashlib.sha256).digest()[:12]):
            return None
        try:
            payload = json.loads(raw)
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None

    @staticmethod
    def _fingerprint(params: Mapping[str, Any], names: tuple[str, ...] | None = None) -> str:
        picked = {
            k: v
            for k, v in params.items()
            if k not in {"pageToken", "alt", "prettyPrint", "fields", "quotaUser"}
            and (names is None or k in names)
        }
        text = json.dumps(picked, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # -- events.list ---------------------------------------------------------------------------

    def list_events(
        self, calendar: str, params: Mapping[str, Any], access_role: str
    ) -> dict[str, Any]:
        single = bool(params.get("singleEvents", False))
        if params.get("orderBy") == "startTime" and not single:
            raise bad_request("The requested ordering is not available for the particular query.")
        base_seq: int | None = None
        if "syncToken" in params:
            for name in NOT_WITH_SYNC_TOKEN:
                if name in params:
                    raise bad_request(
                        f"The parameter {name} cannot be used together with syncToken.",
                        parameter=name,
                    )
            if params.get("showDeleted") is False:
                raise bad_request(
                    "showDeleted cannot be false with syncToken.", parameter="showDeleted"
                )
            base_seq = self._sync_base(calendar, params)
        page = self._page_state(calendar, params)
        snapshot = page["snapshot"] if page else self._store.seq
        view_zone = params.get("timeZone") or self._directory.timezone_of(calendar)
        rows = self._rows(calendar, params, view_zone, base_seq, snapshot)
        rows.sort(key=lambda r: r.key)
        if page:
            last = tuple(page["last"])
            rows = [r for r in rows if r.key > last]
        size = min(int(params.get("maxResults", PAGE_DEFAULT)), PAGE_MAX)
        chosen = rows[:size]
        out = self._envelope(calendar, view_zone, access_role, chosen)
        if len(rows) > size:
            out["nextPageToken"] = self._seal(
                {
                    "c": calendar,
                    "q": self._fingerprint(params),
                    "snapshot": snapshot,
                    "last": list(chosen[-1].key),
                }
            )
        else:
            out["nextSyncToken"] = self._seal(
                {
                    "c": calendar,
                    "kind": "sync",
                    "seq": snapshot,
                    "epoch": self._store.token_epochs.get(calendar, 0),
                    "f": self._fingerprint(params, SYNC_BOUND),
                }
            )
        out["items"] = [r.item for r in chosen]
        return out

    def _sync_base(self, calendar: str, params: Mapping[str, Any]) -> int:
        token = self._open(str(params["syncToken"]))
        if (
            token is None
            or token.get("kind") != "sync"
            or token.get("c") != calendar
            or token.get("epoch") != self._store.token_epochs.get(calendar, 0)
        ):
            raise full_sync_required()
        if token.get("f") != self._fingerprint(params, SYNC_BOUND):
            raise bad_request(
                "The query parameters do not match the ones of the sync token's initial request.",
                parameter="syncToken",
            )
        return int(token["seq"])

    def _page_state(self, calendar: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        if "pageToken" not in params:
            return None
        page = self._open(str(params["pageToken"]))
        if page is None or page.get("c") != calendar or page.get("q") != self._fingerprint(params):
            raise bad_request("Invalid page token value.", parameter="pageToken")
        return page

    def _rows(
        self,
        calendar: str,
        params: Mapping[str, Any],
        view_zone: str,
        base_seq: int | None,
        snapshot: int,
    ) -> list[Row]:
        single = bool(params.get("singleEvents", False))
        incremental = base_seq is not None
        show_deleted = bool(params.get("showDeleted", False)) or incremental
        max_att = params.get("maxAttendees")
        rows: list[Row] = []
        for event in self._store.on_calendar(calendar):
            copy = event.copies[calendar]
            if incremental:
                assert base_seq is not None
                if not base_seq < copy.seq <= snapshot:
                    continue
            elif not self._matches(event, copy, params):
                continue
            cancelled = copy.removed or event.status == "cancelled"
            if cancelled and not show_deleted:
                keep_exception = event.recurring_event_id is not None and not single
                if not keep_exception:
                    continue
            if single and event.recurrence and not cancelled:
                rows.extend(self._instance_rows(event, copy, params, view_zone, max_att))
                continue
            item = render(
                event,
                copy,
                view_zone,
                self._directory,
                max_attendees=max_att,
                minimal_cancelled=incremental or not show_deleted,
            )
            if not incremental and not self._in_window(event, params):
                continue
            rows.append(Row(self._key(event, copy, params, event.start.sort_key(view_zone)), item))
        return rows

    def _instance_rows(
        self,
        master: StoredEvent,
        copy: Copy,
        params: Mapping[str, Any],
        view_zone: str,
        max_att: int | None,
    ) -> list[Row]:
        overridden = {e.id for e in self._store.exceptions_of(master.id)}
        rows = []
        time_min, time_max = params.get("timeMin"), params.get("timeMax")
        for occ in recurrence.expand(master.start, master.end, master.recurrence, until=time_max):
            if f"{master.id}_{occ.suffix}" in overridden:
                continue
            if time_min is not None and occ.end.sort_key(view_zone) <= time_min:
                continue
            item = render(
                master, copy, view_zone, self._directory, occurrence=occ, max_attendees=max_att
            )
            rows.append(Row(self._key(master, copy, params, occ.start.sort_key(view_zone)), item))
        return rows

    def _matches(self, event: StoredEvent, copy: Copy, params: Mapping[str, Any]) -> bool:
        if "iCalUID" in params and event.ical_uid != params["iCalUID"]:
            return False
        if "updatedMin" in params and copy.updated < params["updatedMin"]:
            return False
        if (
            "eventTypes" in params
            and event.fields.get("eventType", "default") not in params["eventTypes"]
        ):
            return False
        for pair in params.get("privateExtendedProperty", []):
            name, _, value = pair.partition("=")
            if copy.private.get(name) != value:
                return False
        for pair in params.get("sharedExtendedProperty", []):
            name, _, value = pair.partition("=")
            if event.shared_props.get(name) != value:
                return False
        if "q" in params:
            hay = " ".join(
                str(event.fields.get(k, "")) for k in ("summary", "description", "location")
            )
            hay += " ".join(a.get("email", "") for a in event.fields.get("attendees") or [])
            if not all(word.lower() in hay.lower() for word in str(params["q"]).split()):
                return False
        return True

    def _in_window(self, event: StoredEvent, params: Mapping[str, Any]) -> bool:
        time_min, time_max = params.get("timeMin"), params.get("timeMax")
        if time_min is None and time_max is None:
            return True
        zone_name = event.start.zone or self._directory.timezone_of(event.organizer)
        if not event.recurrence or params.get("singleEvents"):
            starts_ok = time_max is None or event.start.sort_key(zone_name) < time_max
            return starts_ok and (time_min is None or event.end.sort_key(zone_name) > time_min)
        occurrences = recurrence.expand(event.start, event.end, event.recurrence, until=time_max)
        return any(time_min is None or o.end.sort_key(zone_name) > time_min for o in occurrences)

    def _key(
        self, event: StoredEvent, copy: Copy, params: Mapping[str, Any], start: datetime
    ) -> tuple[str, ...]:
        start_text = start.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
        ordinal = f"{event.ordinal:012d}"
        order = params.get("orderBy")
        if order == "startTime":
            return (start_text, ordinal, event.id)
        if order == "updated":
            return (copy.updated.astimezone(UTC).isoformat(), ordinal, event.id, start_text)
        return (ordinal, start_text, event.id)

    def _envelope(
        self, calendar: str, view_zone: str, access_role: str, rows: list[Row]
    ) -> dict[str, Any]:
        updated = max(
            (c.updated for e in self._store.on_calendar(calendar) for c in [e.copies[calendar]]),
            default=None,
        )
        out: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"p{self._store.seq:016d}"',
            "summary": self._directory.display_name(calendar) or calendar,
            "description": "",
            "timeZone": view_zone,
            "accessRole": access_role,
            "defaultReminders": [{"method": "popup", "minutes": 10}]
            if access_role == "owner"
            else [],
        }
        if updated is not None:
            out["updated"] = rfc3339_utc(updated)
        del rows
        return out

    # -- events.instances ----------------------------------------------------------------------

    def instances(
        self, calendar: str, event_id: str, params: Mapping[str, Any], access_role: str
    ) -> dict[str, Any]:
        master = self._store.find(calendar, event_id)
        if master is None:
            raise not_found()
        copy = master.copies[calendar]
        if copy.removed or master.status == "cancelled":
            raise deleted()
        if not master.recurrence:
            raise ApiError(400, "invalid", "The event is not a recurring event.")
        view_zone = params.get("timeZone") or self._directory.timezone_of(calendar)
        show_deleted = bool(params.get("showDeleted", False))
        exceptions = {e.id: e for e in self._store.exceptions_of(master.id)}
        time_min, time_max = params.get("timeMin"), params.get("timeMax")
        rows: list[Row] = []
        for occ in recurrence.expand(master.start, master.end, master.recurrence, until=time_max):
            instance_id = f"{master.id}_{occ.suffix}"
            if (
                params.get("originalStart")
                and occ.original.render(view_zone).get(
                    "dateTime", occ.original.render(view_zone).get("date")
                )
                != params["originalStart"]
            ):
                continue
            exception = exceptions.get(instance_id)
            if exception is not None:
                ex_copy = exception.copies.get(calendar, copy)
                cancelled = ex_copy.removed or exception.status == "cancelled"
                if cancelled and not show_deleted:
                    continue
                item = render(exception, ex_copy, view_zone, self._directory)
                start, end = exception.start, exception.end
            else:
                item = render(master, copy, view_zone, self._directory, occurrence=occ)
                start, end = occ.start, occ.end
            if time_min is not None and end.sort_key(view_zone) <= time_min:
                continue
            del start
            key = (occ.original.sort_key(view_zone).astimezone(UTC).strftime("%Y%m%dT%H%M%S"),)
            rows.append(Row(key, item))
        page = self._page_state(calendar, params)
        if page:
            rows = [r for r in rows if r.key > tuple(page["last"])]
        size = min(int(params.get("maxResults", PAGE_DEFAULT)), PAGE_MAX)
        out = self._envelope(calendar, view_zone, access_role, rows[:size])
        if len(rows) > size:
            out["nextPageToken"] = self._seal(
                {
                    "c": calendar,
                    "q": self._fingerprint(params),
                    "snapshot": 0,
                    "last": list(rows[size - 1].key),
                }
            )
        out["items"] = [r.item for r in rows[:size]]
        return out
