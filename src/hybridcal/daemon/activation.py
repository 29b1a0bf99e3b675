"""Enabling a calendar: prove we can reach it before processing anything in it."""

from __future__ import annotations

from dataclasses import replace

import structlog

from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.connectors.errors import ConnectorError, TransientError
from hybridcal.core.model import CalendarRecord, CalendarState
from hybridcal.store.base import Store

log = structlog.get_logger(__name__)


async def activate(
    calendar: CalendarRecord, connector: CalendarConnector, store: Store
) -> CalendarRecord:
    """Check access and store the outcome: ``active`` with the calendar's locale and time zone,
    or ``error`` with a reason an admin can act on. Transient faults leave it ``pending``."""
    try:
        check = await connector.check_access(calendar)
    except TransientError as exc:
        log.info("calendar.activation_deferred", calendar=calendar.key, error=str(exc))
        return calendar
    except ConnectorError as exc:
        failed = replace(calendar, state=CalendarState.ERROR, reason=str(exc))
        await store.update_calendar(failed)
        log.warning("calendar.activation_failed", calendar=calendar.key, reason=str(exc))
        return failed
    active = replace(
        calendar,
        state=CalendarState.ACTIVE,
        reason=None,
        locale=check.locale or calendar.locale,
        timezone=check.timezone or calendar.timezone,
        display_name=check.display_name or calendar.display_name,
    )
    await store.update_calendar(active)
    log.info("calendar.activated", calendar=calendar.key)
    return active
