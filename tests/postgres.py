"""A throwaway PostgreSQL server for the tests: ``initdb`` + ``pg_ctl`` on a Unix socket in a
temporary directory, found on ``PATH`` or in the usual install folders. As root (CI), the server
runs as ``nobody``, since PostgreSQL refuses to run as root.

The launcher lives in ``bench/_postgres.py`` so that the benchmarks use the same one without
importing the tests; this module keeps the names the tests import.
"""

from __future__ import annotations

from bench._postgres import PostgresServer, find_bin_dir, running_server

__all__ = ["PostgresServer", "find_bin_dir", "running_server"]
