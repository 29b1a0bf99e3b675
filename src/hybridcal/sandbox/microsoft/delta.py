"""``GET /users/{id}/calendarView/delta``: paged change tracking over a time window.

The first round needs ``startDateTime`` and ``endDateTime`` and returns everything in the window
(singleInstance events, occurrences, exceptions; series masters are not returned: calendarView
delta expands series, and occurrences name their master in ``seriesMasterId``). Pages hold
``Prefer: odata.maxpagesize`` entries (default 10, at most 1000; the preference must be sent on
every page) and end with an absolute ``@odata.nextLink`` (``$skiptoken``) or, on the last page,
an absolute ``@odata.deltaLink`` (``$deltatoken``). A later round through the deltaLink returns
only what changed in the window since: new or changed entries in full, and entries deleted or
moved out of the window as ``{"@odata.type": "#microsoft.graph.event", "id", "@removed":
{"reason": "deleted"}}``. As Graph documents, events *created or updated outside the window*
since the last round come back the same way, as ``@removed`` entries (their ids are not in the
window at all: a client must not take them for deletions of its own rows, nor read each one
into its planning as if it were in the window). ``$select``, ``$filter``, ``$orderby``,
``$expand``, ``$search``, ``$top``, ``$skip`` and ``$count`` are refused.

Tokens are HMAC-sealed and bound to the mailbox; the window lives in the server-side sync
state they name. An unknown, evicted or expired state answers 410 ``syncStateNotFound``; a
token for another mailbox or a forged one 410 ``syncStateInvalid``. A page shows the entry's
content as it is when the page is served (a change after the round began shows up again in the
next round: duplicates are allowed, losses are not).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hybridcal.sandbox.microsoft.directory import Directory, Mailbox
from hybridcal.sandbox.microsoft.errors import GraphError, bad_request
from hybridcal.sandbox.microsoft.events import Change, EventStore
from hybridcal.sandbox.microsoft.render import View, tombstone
from hybridcal.sandbox.microsoft.times import parse_query_instant
from hybridcal.sandbox.microsoft.views import Entry, window

DEFAULT_PAGE = 10
MAX_PAGE = 1000
STATES_PER_MAILBOX = 50
MAX_ROUNDS = 2000
REFUSED = ("$select", "$filter", "$orderby", "$expand", "$search", "$top", "$skip", "$count")
_KNOWN = {"startDateTime", "endDateTime", "$skiptoken", "$deltatoken"}


@dataclass(frozen=True)
class Page:
    """Who asks and how the answer should look."""

    mailbox: Mailbox
    size: int
    link_base: str  # the Graph root, for absolute links
    view: View


@dataclass
class SyncState:
    mailbox: str
    low: datetime
    high: datetime
    versions: dict[str, str]
    epoch: int
    seq: int = 0  # the change sequence when the state was made


@dataclass
class Round:
    id: str
    mailbox: str
    low: datetime
    high: datetime
    rows: list[Entry | str]  # an entry to render, or the id of a removed one
    state_id: str


def gone(code: str = "syncStateNotFound") -> GraphError:
    return GraphError(
        410,
        code,
        "The sync state generation is not found or has expired. A full resync is required."
        if code == "syncStateNotFound"
        else "The sync state is not valid for this request. A full resync is required.",
    )


class DeltaService:
    def __init__(self, store: EventStore, directory: Directory) -> None:
        self._store = store
        self._directory = directory
        self._key = secrets.token_bytes(32)
        self._states: OrderedDict[str, SyncState] = OrderedDict()
        self._rounds: OrderedDict[str, Round] = OrderedDict()
        self._epochs: dict[str, int] = {}
        # mailbox -> event id -> sequence number of its last creation or update
        self._seq = 0
        self._changed: dict[str, dict[str, int]] = {}

    def changed(self, changes: list[Change]) -> None:
        """Every write in the store (called with the notifier's list of changes)."""
        for change in changes:
            if change.change_type in ("created", "updated"):
                self._seq += 1
                self._changed.setdefault(change.mailbox, {})[change.event_id] = self._seq

    def expire(self, mailbox: str) -> None:
        """Every deltaLink and nextLink of the mailbox answers 410 from now on."""
        self._epochs[mailbox] = self._epochs.get(mailbox, 0) + 1

    # -- tokens --------------------------------------------------------------------------------

    def _seal(self, payload: Mapping[str, Any]) -> str:
        raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self._key, raw, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac + raw).decode().rstrip("=")

    def _open(self, token: str, kind: str, mailbox: Mailbox) -> dict[str, Any]:
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise gone("syncStateInvalid") from None
        mac, raw = blob[:16], blob[16:]
        if not hmac.compare_digest(mac, hmac.new(self._key, raw, hashlib.sha256).digest()[:16]):
            raise gone("syncStateInvalid")
        payload = json.loads(raw)
        if not isinstance(payload, dict) or payload.get("k") != kind:
            raise gone("syncStateInvalid")
        if payload.get("m") != mailbox.id:
            raise gone("syncStateInvalid")
        if payload.get("e") != self._epochs.get(mailbox.email, 0):
            raise gone()
        return payload

    # -- the request ---------------------------------------------------------------------------

    @staticmethod
    def check_query(query: Mapping[str, str]) -> None:
        for name in query:
            if name in REFUSED or name.lower() in REFUSED:
                raise bad_request(
                    "The following parameters are not supported with change tracking over the "
                    f"'CalendarView' resource: '{', '.join(REFUSED)}'.",
                    "ErrorInvalidUrlQuery",
                )
            if name not in _KNOWN:
                raise bad_request(
                    f"The query parameter '{name}' is not supported.", "ErrorInvalidUrlQuery"
                )

    def handle(self, page: Page, query: Mapping[str, str]) -> dict[str, Any]:
        self.check_query(query)
        mailbox = page.mailbox
        if "$skiptoken" in query and "$deltatoken" in query:
            raise bad_request(
                "$skiptoken and $deltatoken cannot be combined.", "ErrorInvalidUrlQuery"
            )
        if "$skiptoken" in query:
            token = self._open(query["$skiptoken"], "page", mailbox)
            found = self._rounds.get(str(token["r"]))
            if found is None:
                raise gone()
            self._check_window(query, found.low, found.high)
            return self._page(found, int(token["o"]), page)
        if "$deltatoken" in query:
            token = self._open(query["$deltatoken"], "delta", mailbox)
            state = self._states.get(str(token["s"]))
            if state is None or state.mailbox != mailbox.email:
                raise gone()
            self._check_window(query, state.low, state.high)
            current = window(self._store, self._directory, mailbox.email, state.low, state.high)
            rows: list[Entry | str] = [e for e in current if state.versions.get(e.id) != e.version]
            live = {e.id for e in current}
            rows += [i for i in state.versions if i not in live]
            rows += self._outside(mailbox.email, state, current)
            return self._begin(page, state.low, state.high, current, rows)
        low = parse_query_instant(query.get("startDateTime"), "startDateTime")
        high = parse_query_instant(query.get("endDateTime"), "endDateTime")
        if high <= low:
            raise bad_request(
                "The endDateTime must be later than the startDateTime.", "ErrorInvalidParameter"
            )
        current = window(self._store, self._directory, mailbox.email, low, high)
        return self._begin(page, low, high, current, list(current))

    def _outside(self, mailbox: str, state: SyncState, current: list[Entry]) -> list[str]:
        """Ids created or updated since ``state`` that the window does not show at all."""
        shown = {e.id for e in current} | {e.copy.id for e in current}
        return [
            event_id
            for event_id, seq in self._changed.get(mailbox, {}).items()
            if seq > state.seq and event_id not in shown and event_id not in state.versions
        ]

    @staticmethod
    def _check_window(query: Mapping[str, str], low: datetime, high: datetime) -> None:
        for name, bound in (("startDateTime", low), ("endDateTime", high)):
            if name in query and parse_query_instant(query[name], name) != bound:
                raise bad_request(
                    f"The {name} does not match the window of the sync state.",
                    "ErrorInvalidParameter",
                )

    def _begin(
        self,
        page: Page,
        low: datetime,
        high: datetime,
        current: list[Entry],
        rows: list[Entry | str],
    ) -> dict[str, Any]:
        mailbox = page.mailbox
        state_id = secrets.token_urlsafe(12)
        epoch = self._epochs.get(mailbox.email, 0)
        self._states[state_id] = SyncState(
            mailbox.email, low, high, {e.id: e.version for e in current}, epoch, self._seq
        )
        self._evict_states(mailbox.email)
        found = Round(secrets.token_urlsafe(12), mailbox.email, low, high, rows, state_id)
        self._rounds[found.id] = found
        while len(self._rounds) > MAX_ROUNDS:
            self._rounds.popitem(last=False)
        return self._page(found, 0, page)

    def _evict_states(self, mailbox: str) -> None:
        mine = [k for k, s in self._states.items() if s.mailbox == mailbox]
        for key in mine[:-STATES_PER_MAILBOX]:
            del self._states[key]

    def _page(self, found: Round, offset: int, page: Page) -> dict[str, Any]:
        mailbox, page_size, link_base, view = page.mailbox, page.size, page.link_base, page.view
        epoch = self._epochs.get(mailbox.email, 0)
        chosen = found.rows[offset : offset + page_size]
        value = [
            tombstone(row) if isinstance(row, str) else row.render(self._directory, view)
            for row in chosen
        ]
        out: dict[str, Any] = {"@odata.context": f"{link_base}/$metadata#Collection(event)"}
        link = f"{link_base}/users/{mailbox.id}/calendarView/delta"
        if offset + page_size < len(found.rows):
            token = self._seal(
                {"k": "page", "m": mailbox.id, "r": found.id, "o": offset + page_size, "e": epoch}
            )
            out["@odata.nextLink"] = f"{link}?$skiptoken={token}"
        else:
            token = self._seal({"k": "delta", "m": mailbox.id, "s": found.state_id, "e": epoch})
            out["@odata.deltaLink"] = f"{link}?$deltatoken={token}"
        out["value"] = value
        return out
