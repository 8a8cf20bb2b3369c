"""Every dotted name a docstring or comment of the packages cites in double backquotes
(``grader.pipeline.course`` or, in the pipeline's autograde, a name relative to it such as
``judging.verdicts.decide``) names something that exists: a renamed or deleted module is
caught where its old name is still cited."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from grader.notebook import _lookup

ROOT = Path(__file__).resolve().parents[1]
ABSOLUTE = re.compile(r"``((?:grader|autodiff)(?:\.\w+)+)``")
RELATIVE = re.compile(r"``([A-Za-z_]\w*(?:\.\w+)*)``")
AUTOGRADE = ROOT / "grader" / "pipeline" / "autograde.py"


def exists(dotted: str) -> bool:
    """Whether ``dotted`` is a module, or an attribute reached from the longest module
    prefix of it (the self-check's own lookup of a dotted name)."""
    return _lookup(dotted) is not None


def sources() -> list[Path]:
    return sorted(p for package in ("grader", "autodiff") for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cited_module_and_name_exists(path):
    cited = sorted(set(ABSOLUTE.findall(path.read_text(encoding="utf-8"))))
    assert [name for name in cited if not exists(name)] == []


def test_the_steps_of_autograde_name_what_does_them():
    docstring = importlib.import_module("grader.pipeline.autograde").__doc__
    steps = docstring.split("For each submission")[1].split("Steps 2 and 3")[0]
    cited = set(RELATIVE.findall(steps))
    missing = [
        name
        for name in sorted(cited)
        if not exists(f"grader.pipeline.{name}") and not exists(f"grader.pipeline.autograde.{name}")
    ]
    assert len(cited) >= 10
    assert missing == []
