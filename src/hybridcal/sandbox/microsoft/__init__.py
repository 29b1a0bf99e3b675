"""A strict local Microsoft Graph v1.0 simulator: Entra ID tokens, users, mailbox settings,
events with series and Teams meetings, calendarView delta, subscriptions and notifications."""

from hybridcal.sandbox.microsoft.app import SANDBOX_TENANT_ID, GraphSimulator
from hybridcal.sandbox.microsoft.auth import GraphApp
from hybridcal.sandbox.microsoft.errors import GraphError
from hybridcal.sandbox.microsoft.http import GraphRecord
from hybridcal.sandbox.microsoft.lifecycle import LifecycleSchedule

__all__ = [
    "SANDBOX_TENANT_ID",
    "GraphApp",
    "GraphError",
    "GraphRecord",
    "GraphSimulator",
    "LifecycleSchedule",
]
