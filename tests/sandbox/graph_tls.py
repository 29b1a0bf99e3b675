"""One loopback CA per test process, for Graph simulators served over TLS (see
``hybridcal.sandbox.microsoft.tls``): azure-identity's real credentials only talk to https."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from hybridcal.sandbox.microsoft import GraphSimulator
from hybridcal.sandbox.microsoft.tls import LoopbackCA, make_loopback_ca


@functools.cache
def loopback_ca() -> LoopbackCA:
    directory = Path(tempfile.mkdtemp(prefix="hybridcal-ca-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return make_loopback_ca(directory)


def ca_bundle() -> str:
    """The CA's PEM file, as ``microsoft.ca_bundle`` names it."""
    return str(loopback_ca().ca_file)


async def start_tls(sim: GraphSimulator) -> GraphSimulator:
    await sim.start(tls=loopback_ca())
    return sim
