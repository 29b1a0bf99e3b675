"""A strict local simulator of Google Workspace: OAuth token endpoint, Calendar v3, Gmail settings."""

from hybridcal.sandbox.google.app import CALENDAR_SCOPE, GMAIL_SETTINGS_SCOPE, GoogleSimulator
from hybridcal.sandbox.google.http import RequestRecord

__all__ = ["CALENDAR_SCOPE", "GMAIL_SETTINGS_SCOPE", "GoogleSimulator", "RequestRecord"]
