"""The student edition: generated from the masters by nbgrader, blank where it should be."""

from __future__ import annotations

import shutil
import subprocess
import sys

from conftest import MASTERS, ROOT, STUDENT_EDITION, nbgrader_meta, read
from nbclient import NotebookClient

from grader.release import build_student_edition


def test_student_edition_is_what_the_command_generates(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(
        ROOT / "course",
        course,
        ignore=shutil.ignore_patterns(
            "release", "submitted", "autograded", "feedback", "gradebook.db"
        ),
    )
    generated = build_student_edition(course, tmp_path / "notebooks")
    names = sorted(p.name for p in generated)
    assert names == sorted(p.name for p in STUDENT_EDITION.glob("*.ipynb"))
    for path in generated:
        assert read(path) == read(STUDENT_EDITION / path.name), (
            f"notebooks/{path.name} is out of date: run `python -m grader.release`"
        )


def test_one_student_notebook_per_master():
    assert sorted(p.name for p in STUDENT_EDITION.glob("*.ipynb")) == sorted(
        p.name for p in MASTERS
    )


def test_no_solutions_or_hidden_tests_leak():
    for path in STUDENT_EDITION.glob("*.ipynb"):
        for cell in read(path).cells:
            for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "grade("):
                assert marker not in cell.source, f"{path.name}: {marker!r} in {cell.source[:60]!r}"


def test_every_graded_cell_fails_on_the_blank_notebook():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "validate",
            "--invert",
            *sorted(str(p) for p in STUDENT_EDITION.glob("*.ipynb")),
        ],
        cwd=ROOT / "course",
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    notebooks = len(list(STUDENT_EDITION.glob("*.ipynb")))
    assert output.count("Success! The notebook does not pass any tests.") == notebooks, output


def test_run_all_goes_through_a_fresh_notebook():
    """Every cell of a fresh student notebook runs: a task not attempted says so in one line,
    a worked cell that needs a student's function says which task it waits for, and the
    only error is the closing summary's, which names every task and shows no traceback."""
    for path in sorted(STUDENT_EDITION.glob("*.ipynb")):
        nb = read(path)
        resources = {"metadata": {"path": str(path.parent)}}
        NotebookClient(nb, timeout=300, allow_errors=True, resources=resources).execute()
        code = [c for c in nb.cells if c.cell_type == "code"]
        *body, last = code
        for cell in body:
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert not errors, f"{path.name}: {cell.source[:60]!r} raised {errors[0].ename}"
        assert "summary()" in last.source, f"{path.name} does not end with the summary"
        (error,) = [o for o in last.outputs if o.output_type == "error"]
        assert error.ename == "TasksNotDone"
        assert error.traceback == error.evalue.splitlines(), "the summary shows a traceback"
        tasks = [c for c in nb.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"]
        assert f"{len(tasks)} of {len(tasks)} tasks are not done yet" in error.evalue
        for cell in tasks:
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert "not attempted yet" in text and text.count("\n") == 1, (path.name, text)
        for cell in body:
            if "ready(" in cell.source and not nbgrader_meta(cell):
                text = "".join(o.get("text", "") for o in cell.outputs)
                assert "This example waits for" in text, (path.name, cell.source[:80])
