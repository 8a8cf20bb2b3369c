"""A submission whose files are not what they should be costs that submission alone.

nbgrader's own collect copies a student's folder as it is, so ``submitted/`` may hold a
folder, a FIFO, a link or a file of gigabytes where a notebook should be, and a FIFO where
``timestamp.txt`` should be.  The batch still finishes (nothing waits on a FIFO, follows a
link or reads a huge file whole), the honest student is graded in full, each broken
submission is recorded as unreadable with a message saying what is there and what to do,
and a rerun reuses those results.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import nbformat
import pytest

from grader import cli
from grader.demo.classroom import build_demo_class
from grader.demo.submissions import JACOBIAN, complete
from grader.pipeline import autograde as pipeline
from grader.pipeline.autograde import GRADER_ERROR, autograde
from grader.pipeline.intake import inbound
from grader.pipeline.intake.discover import fingerprint, up_to_date
from grader.pipeline.intake.files import (
    MAX_BYTES,
    UnreadableSubmission,
    read_submitted,
    submitted_at,
)
from grader.pipeline.intake.lms import take_in
from grader.pipeline.intake.repair import MAX_CELLS, MAX_SOURCE_CHARACTERS, read_submission
from grader.pipeline.results import Job
from grader.pipeline.sandbox.limits import Limits

LIMITS = Limits(cell_seconds=20, job_seconds=240)
DEADLINE = 600  # seconds: far more than the batch takes, far less than forever
HUGE = 3 * 1024**3  # a sparse file: its size on disk is nothing

BROKEN = {  # student -> what their notebook is, as the message says it
    "folder": "is a folder, not a notebook file",
    "fifo": "is a named pipe (FIFO), not a notebook file",
    "link": "is a symbolic link (to ",
    "dangling": "is a symbolic link (to ",
    "huge": "MB, over the limit of 50 MB",
}
GRADED = ("honest", "odd_timestamp")  # a good notebook (the second, with a FIFO timestamp.txt)


def within(seconds: float, work, fifos=()):
    """``work()``'s value, or a failure if it has not returned within ``seconds`` (then the
    ``fifos`` are opened for writing, which lets a reader stuck on one go on)."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        for fifo in fifos:
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        pytest.fail(f"still running after {seconds} s: blocked on a FIFO?")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _replace(path: Path, how: str, elsewhere: Path) -> None:
    good = path.read_bytes()
    path.unlink()
    if how == "folder":
        path.mkdir()
        (path / "inside.txt").write_text("a folder named like the notebook")
    elif how == "fifo":
        os.mkfifo(path)
    elif how == "link":
        elsewhere.write_bytes(good)  # a valid notebook, but not the submitted file
        path.symlink_to(elsewhere)
    elif how == "dangling":
        path.symlink_to(elsewhere.with_name("gone.ipynb"))
    elif how == "huge":
        with open(path, "wb") as stream:
            stream.truncate(HUGE)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    out = tmp_path_factory.mktemp("intake")
    students = [*GRADED, *BROKEN, "pipe_folder"]
    course = build_demo_class(out, (JACOBIAN,), [complete(JACOBIAN, s) for s in students])
    notebook = course.assignment(JACOBIAN).notebook
    for student in BROKEN:
        _replace(course.submitted / student / JACOBIAN / notebook, student, out / "other.ipynb")
    os.mkfifo(course.submitted / "odd_timestamp" / JACOBIAN / "timestamp.txt")
    folder = course.submitted / "pipe_folder" / JACOBIAN
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    os.mkfifo(folder)  # where the assignment's folder should be
    return course


def _fifos(course) -> list[Path]:
    return [p for p in course.submitted.rglob("*") if p.is_fifo()]


@pytest.fixture(scope="module")
def summary(course):
    run = lambda: autograde(course, jobs=1, limits=LIMITS, sandboxed=False)  # noqa: E731
    return within(DEADLINE, run, _fifos(course))


def _automatic(result) -> float:
    return sum(i.max_points for i in result.items if i.check)


def test_the_batch_finishes_and_every_submission_has_a_result(summary):
    assert sorted(r.student for r in summary.graded) == sorted([*GRADED, *BROKEN, "pipe_folder"])
    assert summary.reused == 0


@pytest.mark.parametrize("student", GRADED)
def test_good_notebooks_earn_every_automatic_point(summary, student):
    (result,) = [r for r in summary.graded if r.student == student]
    assert result.status == "graded", result.problems + result.flags
    assert result.auto_points == _automatic(result) > 0
    assert not result.problems and not result.flags


@pytest.mark.parametrize("student", BROKEN)
def test_a_notebook_that_is_not_a_regular_file_is_unreadable_and_says_why(course, summary, student):
    (result,) = [r for r in summary.graded if r.student == student]
    assert result.status == "unreadable" and not result.flags
    assert result.auto_points == 0
    (problem,) = result.problems
    notebook = course.assignment(JACOBIAN).notebook
    assert problem.startswith(f"{notebook} could not be read: ")
    assert BROKEN[student] in problem
    assert "Traceback" not in problem and "Error" not in problem
    assert problem.endswith("replace it with the student's notebook (the .ipynb file)")
    assert course.result_path(student, JACOBIAN).is_file()


def test_a_file_where_the_assignment_folder_should_be_is_reported(summary):
    (result,) = [r for r in summary.graded if r.student == "pipe_folder"]
    assert result.status == "unreadable" and result.auto_points == 0
    (problem,) = result.problems
    assert "is a named pipe (FIFO), not a folder" in problem


def test_a_link_is_not_followed_even_to_a_valid_notebook(course, summary):
    (result,) = [r for r in summary.graded if r.student == "link"]
    assert str(course.root.parent / "other.ipynb") in result.problems[0]
    assert result.submission_sha256.startswith("unreadable: ")


def test_a_rerun_reuses_every_result_and_the_command_exits_cleanly(course, summary, capsys):
    argv = ["autograde", "--course", str(course.root), "--jobs", "1", "--no-sandbox"]
    code = within(DEADLINE, lambda: cli.main(argv), _fifos(course))
    err = capsys.readouterr().err
    assert code == cli.EXIT_OK, err
    assert "graded 0 submissions, 8 already up to date" in err
    assert "Traceback" not in err


def test_a_replaced_notebook_is_graded_again(course, summary):
    job_path = course.submitted / "folder" / JACOBIAN / course.assignment(JACOBIAN).notebook
    assert fingerprint(job_path).startswith("unreadable: it is a folder")
    honest = course.submitted / "honest" / JACOBIAN / job_path.name
    job = Job("folder", JACOBIAN, job_path.name, job_path)
    assert up_to_date(course, job)
    job.path = honest  # what the instructor puts there instead
    assert not up_to_date(course, job)


def test_a_failure_to_find_one_submission_is_a_grader_error_for_it_alone(tmp_path, monkeypatch):
    students = ["first", "second"]
    course = build_demo_class(tmp_path, (JACOBIAN,), [complete(JACOBIAN, s) for s in students])
    for student in students:
        path = course.submitted / student / JACOBIAN / course.assignment(JACOBIAN).notebook
        _replace(path, "folder", tmp_path / "unused.ipynb")
    find = pipeline.find

    def failing(course, student, assignment):
        if student == "first":
            raise UnicodeError("a name the grader cannot handle")
        return find(course, student, assignment)

    monkeypatch.setattr(pipeline, "find", failing)
    summary = autograde(course, jobs=1, limits=LIMITS, sandboxed=False)
    by_student = {r.student: r for r in summary.graded}
    assert by_student["first"].status == GRADER_ERROR
    assert "while finding the submission: UnicodeError" in by_student["first"].flags[0]
    assert by_student["second"].status == "unreadable"


# -- The reader itself ---------------------------------------------------------------------


def _kinds(tmp_path: Path) -> dict[str, Path]:
    regular = tmp_path / "regular.ipynb"
    regular.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    folder = tmp_path / "folder.ipynb"
    folder.mkdir()
    fifo = tmp_path / "fifo.ipynb"
    os.mkfifo(fifo)
    link = tmp_path / "link.ipynb"
    link.symlink_to(regular)
    dangling = tmp_path / "dangling.ipynb"
    dangling.symlink_to(tmp_path / "nowhere")
    huge = tmp_path / "huge.ipynb"
    with open(huge, "wb") as stream:
        stream.truncate(MAX_BYTES + 1)
    device = tmp_path / "device.ipynb"
    device.symlink_to("/dev/zero")
    return {
        "folder": folder,
        "fifo": fifo,
        "link": link,
        "dangling": dangling,
        "huge": huge,
        "device": device,
        "regular": regular,
    }


def test_only_a_regular_file_within_the_cap_is_read(tmp_path):
    kinds = _kinds(tmp_path)
    regular = kinds.pop("regular")
    assert read_submitted(regular) == regular.read_bytes()
    assert read_submission(regular).cells == []
    for kind, path in kinds.items():
        with pytest.raises(UnreadableSubmission) as caught:
            within(30, lambda p=path: read_submitted(p), [kinds["fifo"]])
        assert str(caught.value).startswith(("it is ", "the file is ")), kind
        assert fingerprint(path) == f"unreadable: {caught.value}"
        with pytest.raises(UnreadableSubmission):
            read_submission(path)
    with pytest.raises(UnreadableSubmission, match="over the limit of 10 bytes"):
        read_submitted(regular, limit=10)


def test_a_notebook_whose_cells_hold_more_than_the_grader_reads_is_unreadable(tmp_path):
    """The grading process reads every statement and shows every cell of a submission:
    cells past ``MAX_SOURCE_CHARACTERS`` (a few megabytes of code fit the file's cap), or
    more than ``MAX_CELLS`` of them (a million empty cells fit it), make it unreadable, with
    the reason, before any of that."""
    line = "a = 1  # a line of code\n"
    cells = [nbformat.v4.new_code_cell(line * 1000) for _ in range(10)]
    path = tmp_path / "a.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    assert len(read_submission(path).cells) == 10
    count = MAX_SOURCE_CHARACTERS // (len(line) * 1000) + 1
    cells = [nbformat.v4.new_markdown_cell(line * 1000) for _ in range(count)]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    with pytest.raises(UnreadableSubmission, match="more than the grader reads"):
        read_submission(path)
    cells = [nbformat.v4.new_raw_cell("") for _ in range(MAX_CELLS + 1)]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    with pytest.raises(UnreadableSubmission, match="2,001 cells, more than the grader reads"):
        read_submission(path)


@pytest.mark.parametrize("kind", ["folder", "fifo", "link", "dangling", "huge", "device"])
def test_a_timestamp_that_is_not_a_small_regular_file_is_no_time(tmp_path, kind):
    source = _kinds(tmp_path)[kind]
    folder = tmp_path / "submission"
    folder.mkdir()
    os.rename(source, folder / "timestamp.txt")
    assert within(30, lambda: submitted_at(folder), [folder / "timestamp.txt"]) is None
    assert within(30, lambda: inbound._taken_at(folder), [folder / "timestamp.txt"]) is None


def test_a_timestamp_file_is_read(tmp_path):
    (tmp_path / "timestamp.txt").write_text("2024-03-01 12:00:00.000000 UTC\n")
    assert submitted_at(tmp_path).year == 2024


def test_an_export_with_a_fifo_a_link_and_a_folder_takes_the_rest(tmp_path):
    course = build_demo_class(tmp_path / "class", (JACOBIAN,), [])
    assignment = course.assignment(JACOBIAN)
    export = tmp_path / "export"
    export.mkdir()
    (export / "alice.ipynb").write_text('{"cells": []}')
    os.mkfifo(export / "bob.ipynb")
    (export / "carol.ipynb").symlink_to(export / "alice.ipynb")
    os.mkfifo(export / "dave.zip")
    (export / "erin").mkdir()
    os.mkfifo(export / "erin" / "x.ipynb")
    intake = within(60, lambda: take_in(course, export, assignment), _fifos_in(export))
    assert [student for student, _ in intake.taken] == ["alice"]
    skipped = "\n".join(intake.skipped)
    for name in ("bob.ipynb", "carol.ipynb", "dave.zip", "erin/x.ipynb"):
        assert name in skipped, skipped


def _fifos_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_fifo()]
