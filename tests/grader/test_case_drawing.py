"""Hidden cases are drawn per submission (course secret, assignment, student, file), so a
check's case maker meets a new random stream for every student: it must never fail to draw,
or that student's grading becomes a grader error."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import grader.checks
from grader.checks import REGISTRY
from grader.seeds import hidden_cases

SUBMISSIONS = 60

for module in pkgutil.iter_modules(grader.checks.__path__):
    importlib.import_module(f"grader.checks.{module.name}")
NAMES = sorted(REGISTRY)


@pytest.mark.parametrize("name", NAMES)
def test_every_submission_gets_its_hidden_cases(name):
    check = REGISTRY[name]
    for i in range(SUBMISSIONS):
        cases = hidden_cases(check, "a course secret", "assignment", f"student{i}", f"file{i}")
        assert cases, f"{name} drew no case for student{i}"
