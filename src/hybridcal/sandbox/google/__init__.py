"""A strict local Google Workspace simulator: OAuth token endpoint, Calendar v3, Gmail."""

from hybridcal.sandbox.google.app import CALENDAR_SCOPE, GMAIL_SETTINGS_SCOPE, GoogleSimulator
from hybridcal.sandbox.google.http import RequestRecord

__all__ = ["CALENDAR_SCOPE", "GMAIL_SETTINGS_SCOPE", "GoogleSimulator", "RequestRecord"]
