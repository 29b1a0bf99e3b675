"""The wheel that `make dist` builds carries everything the installed program needs.

Builds a wheel from the checkout with `python -m build` (as `make dist` and the Containerfile
do) and reads its file list and metadata. Skipped only where `build` is not installed, and
never in CI.
"""

from __future__ import annotations

import email
import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "hybridcal"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("build") is None:
        if os.environ.get("CI"):
            pytest.fail("`build` is missing: `make test` installs it with the dev extra")
        pytest.skip("`build` is not installed (pip install build, or the dev extra)")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (found,) = out.glob("hybridcal-*-py3-none-any.whl")
    return found


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_every_module_and_data_file_is_in_the_wheel(wheel: Path) -> None:
    names = _names(wheel)
    expected = {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert "hybridcal/py.typed" in expected
    assert expected <= names, sorted(expected - names)
    # the simulators the demo runs, the locale tables the join blocks use
    for module in ("hybridcal/demo.py", "hybridcal/core/locales.py", "hybridcal/cli.py"):
        assert module in names
    assert any(n.startswith("hybridcal/sandbox/google/") for n in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # only the package and its metadata: no tests, bench or docs installed as top-level modules
    assert {n.split("/")[0] for n in names} == {
        "hybridcal",
        wheel.name.split("-py3")[0] + ".dist-info",
    }


def test_metadata_and_entry_point(wheel: Path) -> None:
    stem = wheel.name.split("-py3")[0]
    with zipfile.ZipFile(wheel) as zf:
        entry_points = zf.read(f"{stem}.dist-info/entry_points.txt").decode()
        metadata = email.message_from_bytes(zf.read(f"{stem}.dist-info/METADATA"))
    assert "[console_scripts]" in entry_points
    assert "hybridcal = hybridcal.cli:main" in entry_points
    assert metadata["Name"] == "hybridcal"
    assert metadata["Requires-Python"] == ">=3.11"
    requires = metadata.get_all("Requires-Dist") or []
    assert any(r.startswith("aiohttp") for r in requires)
    # build tooling and test tools stay out of the runtime dependencies
    runtime = [r for r in requires if "extra ==" not in r]
    assert not [
        r for r in runtime if r.split(">")[0].split("[")[0] in {"build", "pytest", "pyyaml"}
    ]
