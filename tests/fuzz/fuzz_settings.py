"""How hard the fuzz tests try: a quick run in `make test`, a deeper one on request.

``HYBRIDCAL_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/fuzz`` explores far more inputs; the
per-input bound (``deadline``) is the same in both, so a slow input fails either run.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("HYBRIDCAL_FUZZ_EXAMPLES", "150"))
PER_INPUT = timedelta(milliseconds=int(os.environ.get("HYBRIDCAL_FUZZ_DEADLINE_MS", "1000")))

fuzz = settings(
    max_examples=EXAMPLES,
    deadline=PER_INPUT,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("HYBRIDCAL_FUZZ_RANDOM") is None,
)
"""Decorate each fuzz test with ``@fuzz``."""
