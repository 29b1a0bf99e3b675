"""hybridcal: a self-hosted hybrid calendar service."""

__version__ = "0.1.0"
