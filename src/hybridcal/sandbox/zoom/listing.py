"""``GET /users/{userId}/meetings``: filtering by ``type`` and paging with ``next_page_token``.

``type``: ``scheduled`` (default: every meeting of the host except instant ones),
``upcoming``/``upcoming_meetings`` (those not yet ended, plus type 3), ``previous_meetings``
(ended), ``live`` (started — always empty, meetings never start here). Meetings are ordered by
start time (creation time for type 3), then id; a recurring meeting is listed once with its
series ``start_time``. ``page_size`` 1-300 (default 30), else 300. The token is opaque,
bound to the user and ``type``, signed, and expires after 15 minutes by the simulator's clock
(Zoom's documented lifetime); a bad, foreign or expired token → 400 code 300. Paging is by
position after the last item returned, so meetings created or deleted meanwhile neither
repeat nor shift pages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from hybridcal.sandbox.zoom.errors import ZoomError, validation
from hybridcal.sandbox.zoom.fields import INSTANT, RECURRING_NO_FIXED_TIME
from hybridcal.sandbox.zoom.meetings import MeetingBook
from hybridcal.sandbox.zoom.model import Meeting, sort_key
from hybridcal.sandbox.zoom.users import User

LIST_TYPES = frozenset({"scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings"})
DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 300
TOKEN_TTL = timedelta(minutes=15)


def bad_token() -> ZoomError:
    return ZoomError(400, 300, "The next page token is invalid or expired.")


class Pager:
    def __init__(self, book: MeetingBook, key: bytes, now: Callable[[], datetime]) -> None:
        self._book = book
        self._key = key
        self._now = now

    def answer(self, host: User, query: Mapping[str, str]) -> dict[str, Any]:
        kind = query.get("type", "scheduled")
        if kind not in LIST_TYPES:
            raise validation("type", f"Must be one of {', '.join(sorted(LIST_TYPES))}.")
        raw_size = query.get("page_size", str(DEFAULT_PAGE_SIZE))
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE_SIZE:
            raise validation("page_size", f"Must be between 1 and {MAX_PAGE_SIZE}.")
        size = int(raw_size)
        items = self._select(host, kind)
        token = query.get("next_page_token", "")
        if token:
            after = self._decode(token, host.id, kind)
            items_after = [m for m in items if sort_key(m) > after]
        else:
            items_after = items
        page = items_after[:size]
        more = len(items_after) > size
        return {
            "page_size": size,
            "total_records": len(items),
            "next_page_token": self._encode(host.id, kind, sort_key(page[-1])) if more else "",
            "meetings": [self._book.view.list_item(m) for m in page],
        }

    def _select(self, host: User, kind: str) -> list[Meeting]:
        now = self._now()
        chosen = []
        for meeting in self._book.of_host(host):
            if meeting.type == INSTANT:
                continue
            ends = meeting.ends()
            ended = ends is not None and ends <= now
            if kind == "live":
                keep = meeting.status == "started"
            elif kind in {"upcoming", "upcoming_meetings"}:
                keep = meeting.type == RECURRING_NO_FIXED_TIME or not ended
            elif kind == "previous_meetings":
                keep = ended
            else:
                keep = True
            if keep:
                chosen.append(meeting)
        return chosen

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()[:24]

    def _encode(self, user_id: str, kind: str, after: tuple[float, int]) -> str:
        expires = int((self._now() + TOKEN_TTL).timestamp())
        payload = f"{user_id}|{kind}|{after[0]!r}|{after[1]}|{expires}".encode()
        text = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{text}.{self._sign(payload)}"

    def _decode(self, token: str, user_id: str, kind: str) -> tuple[float, int]:
        text, _, signature = token.partition(".")
        try:
            payload = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise bad_token() from None
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise bad_token()
        try:
            owner, token_kind, moment, meeting_id, expires = payload.decode().split("|")
            after = (float(moment), int(meeting_id))
            expired = int(expires) <= self._now().timestamp()
        except ValueError:
            raise bad_token() from None
        if owner != user_id or token_kind != kind or expired:
            raise bad_token()
        return after
