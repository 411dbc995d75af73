"""The examples in the README and the package docstring run."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import roster

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1, "the README should have one Python example"
    exec(compile(blocks[0], str(README), "exec"), {})
    # The example prints the field of the error it provokes.
    assert capsys.readouterr().out == "expert.email\n"


def test_the_package_docstring_example_runs() -> None:
    failed, attempted = doctest.testmod(roster)
    assert attempted > 0
    assert failed == 0
