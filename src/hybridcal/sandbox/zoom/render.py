"""The JSON Zoom answers for a meeting (GET, create) and for a listed meeting.

``start_url`` carries the host's secret ``zak``; ``join_url`` embeds ``pwd=`` (the encrypted
passcode) unless the host's ``embed_password_in_join_link`` is off. ``settings`` echo what was
sent over Zoom's defaults; ``global_dial_in_numbers`` are the account's numbers (filtered by
``global_dial_in_countries`` if sent, none when ``audio`` is ``voip``). Occurrences that ended
are shown only with ``show_previous_occurrences=true``; deleted ones never (the inspection view
of the Python API shows them with ``status: "deleted"``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from hybridcal.sandbox.zoom.fields import RECURRING_FIXED_TIME, RECURRING_NO_FIXED_TIME
from hybridcal.sandbox.zoom.model import Meeting
from hybridcal.sandbox.zoom.passcodes import encrypted_passcode, numeric_passcode
from hybridcal.sandbox.zoom.security import SecurityPolicy
from hybridcal.sandbox.zoom.times import utc_text
from hybridcal.sandbox.zoom.users import Directory

DEFAULT_SETTINGS: dict[str, Any] = {
    "host_video": False,
    "participant_video": False,
    "cn_meeting": False,
    "in_meeting": False,
    "join_before_host": False,
    "jbh_time": 0,
    "mute_upon_entry": False,
    "watermark": False,
    "use_pmr": False,
    "approval_type": 2,
    "audio": "both",
    "auto_recording": "none",
    "enforce_login": False,
    "enforce_login_domains": "",
    "alternative_hosts": "",
    "alternative_hosts_email_notification": True,
    "close_registration": False,
    "show_share_button": False,
    "allow_multiple_devices": False,
    "registrants_confirmation_email": True,
    "meeting_authentication": False,
    "encryption_type": "enhanced_encryption",
    "registrants_email_notification": True,
    "email_notification": True,
    "private_meeting": False,
    "host_save_video_order": False,
    "participant_focused_meeting": False,
    "push_change_to_calendar": False,
    "focus_mode": False,
    "request_permission_to_unmute_participants": False,
    "internal_meeting": False,
    "email_in_attendee_report": False,
    "auto_start_meeting_summary": False,
    "contact_name": "",
    "contact_email": "",
}


class MeetingView:
    def __init__(
        self,
        directory: Directory,
        security: SecurityPolicy,
        key: bytes,
        now: Callable[[], datetime],
    ) -> None:
        self._directory = directory
        self._security = security
        self._key = key
        self._now = now

    def render(
        self,
        meeting: Meeting,
        *,
        occurrence_id: str | None = None,
        show_previous: bool = False,
        inspect: bool = False,
    ) -> dict[str, Any]:
        host = self._directory.get(meeting.host_id)
        chosen = None if occurrence_id is None else meeting.occurrence(occurrence_id)
        join = self._directory.join_host
        out: dict[str, Any] = {
            "uuid": meeting.uuid,
            "id": meeting.id,
            "host_id": meeting.host_id,
            "host_email": host.email,
        }
        if meeting.assistant_id:
            out["assistant_id"] = meeting.assistant_id
        out["topic"] = meeting.topic
        out["type"] = meeting.type
        out["status"] = "deleted" if meeting.deleted else meeting.status
        start = chosen.start if chosen is not None else meeting.start
        if start is not None and meeting.type != RECURRING_NO_FIXED_TIME:
            out["start_time"] = utc_text(start)
        out["duration"] = (chosen.duration if chosen else None) or meeting.duration
        out["timezone"] = meeting.timezone
        agenda = chosen.agenda if chosen is not None and chosen.agenda is not None else None
        out["agenda"] = meeting.agenda if agenda is None else agenda
        out["created_at"] = utc_text(meeting.created_at)
        out["start_url"] = f"https://{join}/s/{meeting.id}?zak={meeting.zak}"
        out["join_url"] = self.join_url(meeting)
        if meeting.password:
            out["password"] = meeting.password
            numeric = numeric_passcode(meeting.password, self._key)
            out["h323_password"] = numeric
            out["pstn_password"] = numeric
            out["encrypted_password"] = encrypted_passcode(meeting.id, meeting.password, self._key)
        extra = chosen.settings if chosen is not None and chosen.settings else {}
        out["settings"] = self._settings(meeting, {**meeting.settings, **extra})
        out["pre_schedule"] = meeting.pre_schedule
        if meeting.type == RECURRING_FIXED_TIME:
            out["occurrences"] = self._render_occurrences(meeting, show_previous, inspect)
            assert meeting.recurrence is not None
            out["recurrence"] = meeting.recurrence.render()
        return out

    def join_url(self, meeting: Meeting) -> str:
        url = f"https://{self._directory.join_host}/j/{meeting.id}"
        embed = self._security.flags_for(meeting.host_id).embed_password_in_join_link
        if meeting.password and embed:
            url += "?pwd=" + encrypted_passcode(meeting.id, meeting.password, self._key)
        return url

    def _render_occurrences(
        self, meeting: Meeting, show_previous: bool, inspect: bool
    ) -> list[dict[str, Any]]:
        now = self._now()
        out = []
        for occurrence in meeting.occurrences:
            duration = occurrence.duration or meeting.duration
            ended = occurrence.start + timedelta(minutes=duration) <= now
            if not inspect and (occurrence.deleted or (ended and not show_previous)):
                continue
            out.append(
                {
                    "occurrence_id": occurrence.id,
                    "start_time": utc_text(occurrence.start),
                    "duration": duration,
                    "status": "deleted" if occurrence.deleted else "available",
                }
            )
        return out

    def _settings(self, meeting: Meeting, explicit: dict[str, Any]) -> dict[str, Any]:
        flags = self._security.flags_for(meeting.host_id)
        out = copy.deepcopy(DEFAULT_SETTINGS)
        out["waiting_room"] = flags.waiting_room
        out["encryption_type"] = flags.encryption_type
        out.update(copy.deepcopy(explicit))
        numbers = self._directory.dial_in if out["audio"] != "voip" else []
        wanted = explicit.get("global_dial_in_countries")
        if wanted is not None:
            numbers = [n for n in numbers if n["country"] in wanted]
        out["global_dial_in_countries"] = list(dict.fromkeys(n["country"] for n in numbers))
        out["global_dial_in_numbers"] = [dict(n) for n in numbers]
        return out

    def list_item(self, meeting: Meeting) -> dict[str, Any]:
        item: dict[str, Any] = {
            "uuid": meeting.uuid,
            "id": meeting.id,
            "host_id": meeting.host_id,
            "topic": meeting.topic,
            "type": meeting.type,
        }
        if meeting.start is not None and meeting.type != RECURRING_NO_FIXED_TIME:
            item["start_time"] = utc_text(meeting.start)
        item["duration"] = meeting.duration
        item["timezone"] = meeting.timezone
        item["agenda"] = meeting.agenda
        item["created_at"] = utc_text(meeting.created_at)
        item["join_url"] = self.join_url(meeting)
        return item
