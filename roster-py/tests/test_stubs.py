"""The hand-written stubs describe the built module exactly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import roster

PACKAGE = Path(roster.__file__).parent


def test_stubtest_finds_no_difference(tmp_path: Path) -> None:
    # mypy's stubtest imports the built package and compares every name,
    # signature and default with the stubs.
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "roster"],
        cwd=tmp_path,  # where mypy leaves its cache
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_roster.pyi").is_file()
    public = {name for name in vars(roster) if not name.startswith("_")}
    assert set(roster.__all__) == public | {"__version__"}


def test_the_stubs_type_check_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(PACKAGE)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
