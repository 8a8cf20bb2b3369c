"""A failure of the grader itself while it handles one submission costs that submission alone:
it is recorded as a grader error (flagged, exit status 3), its earlier grade stays, the rest of
the batch is graded, and the next run tries it again."""

from __future__ import annotations

import json

import pytest

from grader import cli
from grader.demo.classroom import build_demo_class
from grader.demo.submissions import JACOBIAN, blank, complete
from grader.pipeline import autograde as pipeline
from grader.pipeline.autograde import GRADER_ERROR, GRADER_ERROR_FILE, autograde
from grader.pipeline.sandbox.limits import Limits

LIMITS = Limits(cell_seconds=20, job_seconds=240)


@pytest.fixture
def course(tmp_path):
    return build_demo_class(tmp_path, (JACOBIAN,), [complete(JACOBIAN), blank(JACOBIAN)])


def test_a_judging_failure_costs_one_submission_and_is_retried(course, monkeypatch):
    decide = pipeline.decide

    def failing(assignment, execution, submitted, secret, submission=""):
        if execution.student == "complete":
            raise FloatingPointError("a verdict on NaN")
        return decide(assignment, execution, submitted, secret, submission)

    monkeypatch.setattr(pipeline, "decide", failing)
    summary = autograde(course, jobs=1, limits=LIMITS, sandboxed=False)
    by_student = {r.student: r for r in summary.graded}
    assert by_student["blank"].status == "graded"
    failed = by_student["complete"]
    assert failed.status == GRADER_ERROR and failed in summary.troubled
    assert "FloatingPointError: a verdict on NaN" in failed.flags[0]
    assert "at test_grader_errors.py:" in failed.flags[0]  # where, for the instructor
    folder = course.result_path("complete", JACOBIAN).parent
    assert json.loads((folder / GRADER_ERROR_FILE).read_text())["student"] == "complete"
    assert not course.result_path("complete", JACOBIAN).exists()

    monkeypatch.setattr(pipeline, "decide", decide)
    again = autograde(course, jobs=1, limits=LIMITS, sandboxed=False)
    assert [r.student for r in again.graded] == ["complete"] and again.reused == 1
    assert again.graded[0].status == "graded"
    assert not (folder / GRADER_ERROR_FILE).exists()


def test_a_preparation_failure_is_a_grader_error_and_the_command_says_so(
    course, monkeypatch, capsys
):
    def failing(self, job):
        raise RecursionError("a notebook nested too deeply for the reader")

    monkeypatch.setattr(pipeline.Batch, "_prepare", failing)
    code = cli.main(["autograde", "--course", str(course.root), "--jobs", "1", "--no-sandbox"])
    assert code == cli.EXIT_TROUBLE
    err = capsys.readouterr().err
    assert err.count("grader error while preparing the submission: RecursionError") == 2
