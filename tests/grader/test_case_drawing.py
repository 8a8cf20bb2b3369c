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


def _nbgrader_layout(root, notebooks=("two_layer.ipynb",)):
    """A course folder as nbgrader's autograde leaves it while a kernel runs: the submitted
    notebooks and the autograded folder the kernel runs in."""
    submitted = root / "submitted" / "ada" / "02_two_layer_network"
    submitted.mkdir(parents=True)
    for name in notebooks:
        (submitted / name).write_bytes(b'{"cells": []} ' + name.encode())
    kernel_folder = root / "autograded" / "ada" / "02_two_layer_network"
    kernel_folder.mkdir(parents=True)
    return submitted, kernel_folder


def test_nbgrader_alone_draws_each_submissions_own_cases(tmp_path, monkeypatch):
    from grader.pipeline.intake.discover import fingerprint
    from grader.seeds import local_submission

    submitted, folder = _nbgrader_layout(tmp_path)
    assert local_submission(folder) == ("", "", "")  # not under nbgrader's autograde
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    key = fingerprint(submitted / "two_layer.ipynb")
    assert local_submission(folder) == ("02_two_layer_network", "ada", key)
    assert local_submission(submitted) == ("", "", "")  # not an autograded folder
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert local_submission(folder) == ("", "", "")


def test_nbgrader_alone_with_several_notebooks_draws_course_wide_cases(tmp_path, monkeypatch):
    from grader.seeds import local_submission

    _, folder = _nbgrader_layout(tmp_path, ("a.ipynb", "b.ipynb"))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert local_submission(folder) == ("", "", "")
