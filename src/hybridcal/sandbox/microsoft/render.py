"""Events as Graph's JSON, as one mailbox sees them.

Every event carries the default properties of Graph v1.0 in Graph's order; ``$select`` keeps
the named ones (``@odata.etag`` and ``id`` always stay), unknown names are refused.
``$expand=singleValueExtendedProperties($filter=id eq '...')`` adds the property only when the
copy has it (Graph omits the collection when nothing matches). Times are rendered in the zone of
``Prefer: outlook.timezone`` (default UTC); ``Prefer: outlook.body-content-type`` converts the
body. Occurrences show the master copy's ``changeKey``; exceptions have their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from hybridcal.sandbox.microsoft import bodies
from hybridcal.sandbox.microsoft.directory import Directory
from hybridcal.sandbox.microsoft.errors import GraphError
from hybridcal.sandbox.microsoft.model import Copy, Item, instance_ical_uid, occurrence_id
from hybridcal.sandbox.microsoft.teams import TeamsMeeting
from hybridcal.sandbox.microsoft.times import When, format_stamp

NO_TIME = "0001-01-01T00:00:00Z"
EVENT_PROPERTIES = (
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "transactionId",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "iCalUId",
    "uid",
    "reminderMinutesBeforeStart",
    "isReminderOn",
    "hasAttachments",
    "subject",
    "bodyPreview",
    "importance",
    "sensitivity",
    "isAllDay",
    "isCancelled",
    "isOrganizer",
    "responseRequested",
    "seriesMasterId",
    "showAs",
    "type",
    "webLink",
    "onlineMeetingUrl",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "allowNewTimeProposals",
    "occurrenceId",
    "isDraft",
    "hideAttendees",
    "responseStatus",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "recurrence",
    "attendees",
    "organizer",
    "onlineMeeting",
    "originalStart",
)
SELECTABLE = frozenset(EVENT_PROPERTIES) | {"id", "singleValueExtendedProperties"}


@dataclass(frozen=True)
class View:
    """How a request wants events rendered."""

    zone: str = "UTC"
    body_type: str | None = None  # "text" | "html" from Prefer: outlook.body-content-type
    select: frozenset[str] | None = None
    props: tuple[str, ...] | None = None  # canonical extended-property ids to expand


def check_select(names: frozenset[str] | None) -> None:
    for name in names or ():
        if name not in SELECTABLE:
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{name}' on type 'microsoft.graph.event'.",
            )


def render(
    item: Item,
    copy: Copy,
    directory: Directory,
    view: View,
    *,
    occurrence: tuple[datetime, When, When] | None = None,
) -> dict[str, Any]:
    """``item``'s ``copy``; with ``occurrence`` (a master's computed instance) that instance."""
    fields = item.effective()
    master = item.master
    start, end = item.start, item.end
    kind = {"single": "singleInstance", "master": "seriesMaster", "exception": "exception"}[
        item.kind
    ]
    event_id, series_id, original = copy.id, None, item.original
    ical_uid = item.ical_uid
    if occurrence is not None:
        original, start, end = occurrence
        kind, event_id, series_id = "occurrence", occurrence_id(copy.id, original), copy.id
        ical_uid = instance_ical_uid(item.ical_uid, start.instant())
    elif master is not None:
        series_id = master.copies[copy.mailbox].id
    subject = str(fields.get("subject") or "")
    if copy.cancelled:
        subject = "Canceled: " + subject
    body = _body(fields["body"], view.body_type)
    meeting: TeamsMeeting | None = fields.get("onlineMeeting")
    organizer = directory.by_email(item.organizer)
    out: dict[str, Any] = {
        "@odata.etag": copy.etag,
        "id": event_id,
        "createdDateTime": format_stamp(copy.created),
        "lastModifiedDateTime": format_stamp(copy.modified),
        "changeKey": copy.change_key,
        "categories": list(copy.local.get("categories", [])),
        "transactionId": (master or item).transaction_id if copy.response == "organizer" else None,
        "originalStartTimeZone": start.zone_name,
        "originalEndTimeZone": end.zone_name,
        "iCalUId": ical_uid,
        "uid": (master or item).ical_uid,
        "reminderMinutesBeforeStart": copy.local.get("reminderMinutesBeforeStart", 15),
        "isReminderOn": copy.local.get("isReminderOn", True),
        "hasAttachments": False,
        "subject": subject,
        "bodyPreview": bodies.preview(body["content"], body["contentType"]),
        "importance": fields.get("importance", "normal"),
        "sensitivity": fields.get("sensitivity", "normal"),
        "isAllDay": start.all_day,
        "isCancelled": copy.cancelled,
        "isOrganizer": copy.response == "organizer",
        "responseRequested": fields.get("responseRequested", True),
        "seriesMasterId": series_id,
        "showAs": copy.local.get("showAs", "busy"),
        "type": kind,
        "webLink": "https://outlook.office365.com/owa/?itemid="
        + quote(event_id, safe="")
        + "&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": bool(fields.get("isOnlineMeeting")),
        "onlineMeetingProvider": fields.get("onlineMeetingProvider", "unknown"),
        "allowNewTimeProposals": fields.get("allowNewTimeProposals", True),
        "occurrenceId": None if original is None else f"OID.{series_id}.{start.instant():%Y-%m-%d}",
        "isDraft": False,
        "hideAttendees": fields.get("hideAttendees", False),
        "responseStatus": {
            "response": copy.response,
            "time": format_stamp(copy.response_time) if copy.response_time else NO_TIME,
        },
        "body": body,
        "start": start.render(view.zone),
        "end": end.render(view.zone),
        "location": dict(fields["location"]),
        "locations": [dict(loc) for loc in fields.get("locations", [])],
        "recurrence": fields.get("recurrence")
        if item.kind == "master" and not occurrence
        else None,
        "attendees": [
            {
                "type": a["type"],
                "status": dict(a["status"]),
                "emailAddress": dict(a["emailAddress"]),
            }
            for a in fields.get("attendees", [])
        ],
        "organizer": {
            "emailAddress": {
                "name": organizer.name if organizer else item.organizer,
                "address": item.organizer,
            }
        },
        "onlineMeeting": {"joinUrl": meeting.join_url} if meeting is not None else None,
    }
    if original is not None and occurrence is None:
        out["originalStart"] = original.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if view.props:
        found = [{"id": p, "value": copy.props[p]} for p in view.props if p in copy.props]
        if found:
            out["singleValueExtendedProperties"] = found
    if view.select is not None:
        keep = set(view.select) | {"@odata.etag", "id"}
        out = {k: v for k, v in out.items() if k in keep}
    return out


def _body(body: dict[str, str], wanted: str | None) -> dict[str, str]:
    kind, content = body["contentType"], body["content"]
    if wanted == "text" and kind == "html":
        return {"contentType": "text", "content": bodies.to_text(content)}
    if wanted == "html" and kind == "text":
        return {"contentType": "html", "content": bodies.to_html(content)}
    return {"contentType": kind, "content": content}


def tombstone(event_id: str) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.event",
        "id": event_id,
        "@removed": {"reason": "deleted"},
    }
