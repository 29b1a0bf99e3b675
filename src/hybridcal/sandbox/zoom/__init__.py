"""A strict local Zoom simulator: Server-to-Server OAuth and the REST API v2 meeting endpoints."""

from hybridcal.sandbox.faults import DropRequest, DropResponse
from hybridcal.sandbox.zoom.app import ZoomSimulator
from hybridcal.sandbox.zoom.auth import ZoomApp
from hybridcal.sandbox.zoom.http import RequestInfo, ZoomRecord

__all__ = ["DropRequest", "DropResponse", "RequestInfo", "ZoomApp", "ZoomRecord", "ZoomSimulator"]
