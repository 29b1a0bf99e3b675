"""What the planner asks a calendar connector to change in one event."""

from __future__ import annotations

from dataclasses import dataclass

from hybridcal.core.model import Marker


@dataclass(frozen=True, slots=True)
class EventPatch:
    """Only fields we own. ``None`` means "leave as it is".

    - ``description``: the complete new description (the person's text with our block replaced).
    - ``marker`` / ``clear_marker``: write or remove our extended properties.
    - ``conference_request_id``: ask the calendar system to create its own conference (Meet).
    - ``clear_conference``: remove conference data we created.
    """

    description: str | None = None
    marker: Marker | None = None
    clear_marker: bool = False
    conference_request_id: str | None = None
    clear_conference: bool = False

    @property
    def is_empty(self) -> bool:
        return (
            self.description is None
            and self.marker is None
            and not self.clear_marker
            and self.conference_request_id is None
            and not self.clear_conference
        )
