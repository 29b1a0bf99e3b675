"""Make ``tests.contract.*`` importable so that backend test modules can share the suites.

pytest's default ("prepend") import mode puts this directory, not the repository root, on
``sys.path``; the PostgreSQL server fixture lives in ``tests/conftest.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
