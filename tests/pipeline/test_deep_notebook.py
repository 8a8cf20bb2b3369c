"""A notebook whose JSON is nested too deeply is malformed, like any other unreadable file:
recorded as unreadable with what was wrong and what to do, not as a grader error that every
run tries again.  Reading it used to raise RecursionError (the parser recurses once per
level), and the pipeline recorded "grader error while preparing the submission".  A notebook
nested as deeply as the grader reads is graded as usual."""

from __future__ import annotations

import json

import pytest

from grader.demo.classroom import build_demo_class
from grader.demo.submissions import JACOBIAN, complete
from grader.pipeline.autograde import GRADER_ERROR, autograde
from grader.pipeline.intake.repair import (
    MAX_DEPTH,
    TOO_DEEP,
    UnreadableSubmission,
    parse_submission,
)
from grader.pipeline.sandbox.limits import Limits

LIMITS = Limits(cell_seconds=20, job_seconds=240)
PLACE = '"the deep value goes here"'


def with_deep_metadata(notebook: bytes, levels: int) -> bytes:
    """``notebook`` with the value of its metadata's key "deep" nested ``levels`` objects
    deep, written as text (building it as objects, or reading it, would recurse)."""
    raw = json.loads(notebook)
    raw["metadata"]["deep"] = json.loads(PLACE)
    text = json.dumps(raw)
    assert text.count(PLACE) == 1
    deep = '{"a":' * levels + "1" + "}" * levels
    return text.replace(PLACE, deep).encode()


EMPTY = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def test_a_notebook_nested_200000_levels_deep_is_unreadable_and_says_why():
    with pytest.raises(UnreadableSubmission) as caught:
        parse_submission(with_deep_metadata(EMPTY, 200_000))
    assert str(caught.value) == TOO_DEEP
    assert "nested too deeply" in TOO_DEEP and "submit the notebook as Jupyter saved it" in TOO_DEEP


def test_nesting_is_read_to_the_bound_and_no_further():
    """The notebook is one level, its metadata a second: ``MAX_DEPTH - 2`` objects more
    reach the bound."""
    assert parse_submission(with_deep_metadata(EMPTY, MAX_DEPTH - 2)).metadata["deep"]["a"]
    with pytest.raises(UnreadableSubmission, match="nested too deeply"):
        parse_submission(with_deep_metadata(EMPTY, MAX_DEPTH - 1))
    deep_list = EMPTY.replace(b'"cells": []', b'"cells": [], "x": ' + b"[" * 999 + b"]" * 999)
    with pytest.raises(UnreadableSubmission, match="nested too deeply"):
        parse_submission(deep_list)


STUDENTS = {"deep": 200_000, "at_the_bound": MAX_DEPTH - 2, "shallow": 0}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The demo class with a complete notebook for each of ``STUDENTS``, each with its
    metadata nested as deep as the student's number says, graded twice."""
    out = tmp_path_factory.mktemp("deep")
    course = build_demo_class(out, (JACOBIAN,), [complete(JACOBIAN, s) for s in STUDENTS])
    notebook = course.assignment(JACOBIAN).notebook
    for student, levels in STUDENTS.items():
        path = course.submitted / student / JACOBIAN / notebook
        path.write_bytes(with_deep_metadata(path.read_bytes(), levels))
    first = autograde(course, jobs=1, limits=LIMITS, sandboxed=False)
    again = autograde(course, jobs=1, limits=LIMITS, sandboxed=False)
    return course, {r.student: r for r in first.graded}, again


def test_a_deeply_nested_notebook_is_unreadable_not_a_grader_error(graded):
    course, results, _ = graded
    deep = results["deep"]
    assert deep.status == "unreadable" and deep.status != GRADER_ERROR
    assert not deep.flags and deep.auto_points == 0
    notebook = course.assignment(JACOBIAN).notebook
    assert deep.problems == [f"{notebook} could not be read: {TOO_DEEP}"]
    assert course.result_path("deep", JACOBIAN).is_file()
    assert not (course.result_path("deep", JACOBIAN).parent / "grader_error.json").exists()


def test_notebooks_nested_within_the_bound_are_graded(graded):
    _, results, _ = graded
    for student in ("at_the_bound", "shallow"):
        result = results[student]
        assert result.status == "graded", result.problems + result.flags
        assert result.auto_points == sum(i.max_points for i in result.items if i.check) > 0


def test_the_next_run_does_not_try_again(graded):
    _, _, again = graded
    assert again.graded == [] and again.reused == len(STUDENTS)
