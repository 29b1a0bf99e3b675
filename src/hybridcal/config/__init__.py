"""Typed settings: a TOML file plus ``HYBRIDCAL_*`` environment overrides, validated up front."""

from hybridcal.config.loader import ConfigError, load_settings, settings_from_mapping
from hybridcal.config.settings import GOOGLE_SCOPES, MEETING_SYSTEMS, Settings

__all__ = [
    "GOOGLE_SCOPES",
    "MEETING_SYSTEMS",
    "ConfigError",
    "Settings",
    "load_settings",
    "settings_from_mapping",
]
