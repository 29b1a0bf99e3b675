"""Frozen domain types shared by every part of hybridcal.

Connectors turn provider JSON into these types at the edge; nothing inside the daemon sees
provider dicts. All datetimes are timezone-aware; instants are normalised to UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Provider(StrEnum):
    GOOGLE = "google"
    MICROSOFT = "microsoft"


class CalendarKind(StrEnum):
    USER = "user"
    ROOM = "room"


class CalendarState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    ERROR = "error"


class EventStatus(StrEnum):
    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    CANCELLED = "cancelled"


def calendar_key(provider: Provider | str, address: str) -> str:
    """The stable identity of a calendar: ``google:alice@example.com``."""
    return f"{Provider(provider).value}:{address.strip().lower()}"


@dataclass(frozen=True, slots=True)
class Attendee:
    email: str
    name: str | None = None
    resource: bool = False
    organizer: bool = False
    optional: bool = False
    response: str = "needsAction"  # accepted / declined / tentative / needsAction


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """One way into a conference, as Google conference data describes it."""

    kind: str  # video / phone / sip / more
    uri: str
    label: str | None = None
    pin: str | None = None
    passcode: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class Conference:
    """Conference data attached to an event by the calendar system itself (Meet, Teams)."""

    system: str  # "meet", "teams", or the provider's solution type
    conference_id: str | None = None
    status: str | None = None  # pending / success / failure (creation requests only)
    request_id: str | None = None
    entry_points: tuple[EntryPoint, ...] = ()

    @property
    def join_url(self) -> str | None:
        for ep in self.entry_points:
            if ep.kind == "video":
                return ep.uri
        return None


@dataclass(frozen=True, slots=True)
class Marker:
    """What we wrote into an event: stored in the event itself (Google private extended
    properties, Graph single-value extended property) so that echoes and crashes are harmless."""

    system: str  # meeting system we made the meeting with, or "note" for an explanatory note
    request_id: str  # idempotency key of the creation; stable across retries
    meeting_id: str | None = None
    block_hash: str | None = None  # hash of the join block we inserted; None if none

    PREFIX = "hybridcal."

    def to_properties(self) -> dict[str, str]:
        props = {f"{self.PREFIX}system": self.system, f"{self.PREFIX}request": self.request_id}
        if self.meeting_id is not None:
            props[f"{self.PREFIX}meeting"] = self.meeting_id
        if self.block_hash is not None:
            props[f"{self.PREFIX}hash"] = self.block_hash
        return props

    @classmethod
    def property_names(cls) -> tuple[str, ...]:
        return tuple(f"{cls.PREFIX}{n}" for n in ("system", "request", "meeting", "hash"))

    @classmethod
    def from_properties(cls, props: dict[str, str] | None) -> Marker | None:
        if not props:
            return None
        system = props.get(f"{cls.PREFIX}system")
        request_id = props.get(f"{cls.PREFIX}request")
        if not system or not request_id:
            return None
        return cls(
            system=system,
            request_id=request_id,
            meeting_id=props.get(f"{cls.PREFIX}meeting") or None,
            block_hash=props.get(f"{cls.PREFIX}hash") or None,
        )


@dataclass(frozen=True, slots=True)
class Event:
    """One event as one calendar sees it (an attendee's or room's copy is a separate Event)."""

    calendar_key: str
    event_id: str
    etag: str | None
    status: EventStatus
    start: datetime | None
    end: datetime | None
    all_day: bool = False
    timezone: str | None = None
    summary: str = ""
    location: str = ""
    description: str = ""
    ical_uid: str | None = None
    organizer: str | None = None
    organizer_name: str | None = None
    is_organizer_copy: bool = False
    attendees: tuple[Attendee, ...] = ()
    private: bool = False
    recurrence: tuple[str, ...] = ()  # RRULE/EXRULE/RDATE/EXDATE lines of a series master
    recurring_event_id: str | None = None  # set on instances and exceptions of a series
    original_start: datetime | None = None
    conference: Conference | None = None
    marker: Marker | None = None
    updated: datetime | None = None

    @property
    def is_series_master(self) -> bool:
        return bool(self.recurrence)

    @property
    def is_cancelled(self) -> bool:
        return self.status is EventStatus.CANCELLED


@dataclass(frozen=True, slots=True)
class JoinLink:
    """A join link found in an invitation, ready to become a Join button."""

    provider: str  # zoom / teams / meet / webex / sip / h323 / gotomeeting / ...
    url: str
    meeting_id: str | None = None
    passcode: str | None = None
    dial: str | None = None  # a SIP/H.323 dial string an endpoint can call

    def to_json(self) -> dict[str, str | None]:
        return {
            "provider": self.provider,
            "url": self.url,
            "meeting_id": self.meeting_id,
            "passcode": self.passcode,
            "dial": self.dial,
        }


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    number: str
    country: str | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True)
class JoinInfo:
    """What a meeting system returns for a meeting it made: rendered into the join block."""

    system: str
    meeting_id: str
    join_url: str
    passcode: str | None = None
    phones: tuple[PhoneNumber, ...] = ()
    phone_passcode: str | None = None
    sip: str | None = None
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class MeetingEntry:
    """One row of an endpoint's meeting list: one occurrence of one event in one calendar."""

    calendar_key: str
    event_key: str  # unique within the calendar: event id, or instance id for occurrences
    source_id: str  # the event (or series master) this row was derived from
    start: datetime
    end: datetime
    all_day: bool = False
    title: str = ""
    organizer: str | None = None
    organizer_name: str | None = None
    attendees: tuple[str, ...] = ()
    location: str = ""
    private: bool = False
    tentative: bool = False
    links: tuple[JoinLink, ...] = ()  # the first is the one to put behind the Join button
    # The people invited (the organiser and every attendee who is not a room or other resource
    # and did not decline, once each): how many, and each one's display name, else address.
    # None: a row stored by a version that did not count them.
    attendee_count: int | None = None
    attendee_names: tuple[str, ...] = ()
    # The Join target's passcode as a keypad types it (ASCII digits), when the invitation gives
    # one: Zoom's numeric room/phone passcode, Webex's video-system password.
    numeric_passcode: str | None = None


class BindingState(StrEnum):
    INTENT = "intent"  # recorded before calling the meeting system
    CREATED = "created"  # the meeting exists, the event not yet patched
    PATCHED = "patched"  # the event carries our block and marker


@dataclass(frozen=True, slots=True)
class Binding:
    """An event we acted on and the meeting we made for it."""

    calendar_key: str
    event_id: str
    system: str
    request_id: str
    keyword: str
    state: BindingState
    meeting_id: str | None = None
    block_hash: str | None = None
    join: JoinInfo | None = None
    fingerprint: str | None = None  # hash of the event fields the meeting mirrors (time, title)
    updated_at: datetime | None = None
    # The meeting system refused for now ("the organiser has no Zoom account", "daily limit
    # reached"): the invitation shows a short note, the admin sees ``problem``, and the creation
    # is tried again from ``retry_at`` on.
    problem: MeetingProblem | None = None
    retry_at: datetime | None = None
    # Set on a changed occurrence of a series whose meeting it shares: its own start and end were
    # mirrored into that occurrence of the series' meeting.
    series_id: str | None = None


class ProblemKind(StrEnum):
    HOST_NOT_FOUND = "host_not_found"  # the organiser has no (active) account in the system
    NO_PRIVILEGE = "no_privilege"  # the scheduler may not schedule for the organiser
    DAILY_LIMIT = "daily_limit"  # the system's per-user daily create/update limit
    REFUSED = "refused"  # any other refusal that a person cannot fix by editing the event
    # the calendar's own conference (Meet): not allowed for the organiser (turned off, no
    # licence), or the create request ended in ``failure``
    CONFERENCE_NOT_ALLOWED = "conference_not_allowed"
    CONFERENCE_FAILED = "conference_failed"


@dataclass(frozen=True, slots=True)
class MeetingProblem:
    """Why a meeting system refused to make a meeting, for the admin (``detail``) and for the
    note in the invitation (``kind``, rendered in the organiser's language)."""

    kind: ProblemKind
    detail: str


SYNC_FAULT = ""  # ``Fault.event_id`` of a fault of the calendar's sync itself


@dataclass(frozen=True, slots=True)
class Fault:
    """Why hybridcal could not handle one event (or, with ``event_id == SYNC_FAULT``, a
    calendar's sync round) and when it tries again.

    An event's fault never stops its calendar: the rest of the round is applied and the cursor
    moves on; the event is read again from ``retry_at`` on. The admin sees faults in
    ``users show`` / ``rooms show``; the daemon counts them in ``/readyz`` and ``/metrics``."""

    calendar_key: str
    event_id: str
    error: str  # what failed, e.g. "ValueError" or "PlanDidNotSettleError"
    message: str = field(repr=False)  # admin-readable; may quote provider text: stored sealed
    first_seen: datetime
    last_seen: datetime
    attempts: int = 1
    retry_at: datetime | None = None

    @property
    def is_sync_fault(self) -> bool:
        return self.event_id == SYNC_FAULT


@dataclass(frozen=True, slots=True)
class Channel:
    """A push channel (Google watch) or subscription (Graph) feeding one calendar."""

    channel_id: str
    calendar_key: str
    secret: str  # channel token / clientState: verified on every notification
    resource_id: str | None
    expires_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CalendarRecord:
    key: str
    provider: Provider
    address: str
    kind: CalendarKind
    state: CalendarState = CalendarState.PENDING
    reason: str | None = None
    cursor: str | None = None  # syncToken / deltaLink; None forces a full window sync
    locale: str | None = None
    timezone: str | None = None
    obtp_lead_minutes: int | None = None  # per-room override of the org default
    display_name: str | None = None
    synced_at: datetime | None = None
    # the order the calendar was enabled in, set by the store (None until stored); not part
    # of a record's value, so a record read back equals the one written
    enabled_seq: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    name: str
    calendar_key: str
    token_hash: str
    created_at: datetime
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime

    def contains(self, start: datetime, end: datetime) -> bool:
        """True when [start, end) overlaps the window."""
        return start < self.end and end > self.start


@dataclass(frozen=True, slots=True)
class Presence:
    calendar_key: str
    out_of_office: bool
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    message: str | None = field(default=None, repr=False)
