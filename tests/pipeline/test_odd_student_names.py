"""Student names are folder names, which ``nbgrader collect`` or a hand-made ``submitted/``
tree may fill with anything the file system holds: bytes that are not UTF-8 (Python gives
them as surrogate escapes), a newline, a leading ``=`` or ``+``.  Every report writes such a
name without crashing, on one line, and never as a spreadsheet formula; an ordinary name is
written as it is."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

from grader.checks import get_check
from grader.cli import EXIT_OK, main
from grader.judge import answers, judge
from grader.pipeline.course import Course
from grader.pipeline.outputs.export import csv_text, export_grades, shown_name
from grader.pipeline.outputs.report import print_grade_table, write_class_report
from grader.seeds import hidden_cases

CHECK = "linear_model_gradient"
NOT_UTF8 = os.fsdecode(b"bad\xff")  # "bad\udcff", as os.listdir gives it
FORMULA = "=1+2*cmd|x!A0"
STUDENTS = ("alice", "zoë", NOT_UTF8, "new\nline", FORMULA, "+plus")
SHOWN = {
    "alice": "alice",
    "zoë": "zoë",
    NOT_UTF8: "bad\\xff",
    "new\nline": "new\\nline",
    FORMULA: FORMULA,
    "+plus": "+plus",
}
IN_CSV = {**SHOWN, FORMULA: "'" + FORMULA, "+plus": "'+plus"}
BROKEN = os.fsdecode(b"broken\xfe")  # a student whose grading met a grader error


def first_point_only(W, X, T):
    return (X[:1] @ W.T - T[:1]).T @ X[:1]


def result(student: str) -> dict:
    check = get_check(CHECK)
    cases = hidden_cases(check, "")
    verdict = judge(check, cases, answers(check, first_point_only, cases), hidden=True)
    item = {
        "grade_id": "a1_tests",
        "check": CHECK,
        "max_points": 2.0,
        "points": verdict.points,
        "verdict": verdict.to_dict(),
        "note": "",
    }
    return {
        "student": student,
        "assignment": "a1",
        "notebook": "a1.ipynb",
        "status": "graded",
        "problems": ["a problem"],
        "flags": ["a flag"],
        "items": [item],
        "auto_points": verdict.points,
        "max_points": 2.0,
        "seconds": 1.0,
        "version": 2,
        "submission_sha256": "0" * 64,
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    """A course of graded results (no gradebook): one per student of ``STUDENTS``, and a
    grader error for ``BROKEN``."""
    root = tmp_path_factory.mktemp("course")
    (root / "source").mkdir()
    for student in STUDENTS:
        path = root / "grading" / student / "a1" / "result.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(result(student)), encoding="utf-8")
    error = root / "grading" / BROKEN / "a1" / "grader_error.json"
    error.parent.mkdir(parents=True)
    error.write_text(json.dumps({"student": BROKEN, "assignment": "a1", "error": "boom"}))
    return Course(root)


def test_shown_names_are_one_line_utf8_and_leave_ordinary_names_alone():
    for student, shown in SHOWN.items():
        assert shown_name(student) == shown
        shown.encode("utf-8")
    assert shown_name("tab\there\r") == "tab\\there\\r"
    assert shown_name("Anne-Marie O'Neil") == "Anne-Marie O'Neil"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_csv_field_that_starts_as_a_formula_is_read_as_text(start):
    assert csv_text(f"{start}SUM(A1:A9)") == f"'{start}SUM(A1:A9)"


def test_other_csv_fields_are_written_as_they_are():
    for text in ("alice", "a1", "graded", "Anne-Marie", "x=1", "", "'quoted"):
        assert csv_text(text) == text
    assert csv_text(NOT_UTF8) == "bad\\xff"


def test_the_grades_csv_names_every_student_safely(course, tmp_path):
    path = export_grades(course, tmp_path / "grades.csv")
    with path.open(encoding="utf-8", newline="") as stream:
        students = [row["student"] for row in csv.DictReader(stream)]
    assert sorted(students) == sorted(IN_CSV[s] for s in STUDENTS)
    assert len(path.read_text(encoding="utf-8").splitlines()) == 1 + len(STUDENTS)


def test_the_class_report_names_every_student_safely(course, tmp_path):
    paths = write_class_report(course, tmp_path / "reports")
    with paths["flagged_csv"].open(encoding="utf-8", newline="") as stream:
        flagged = {row["student"] for row in csv.DictReader(stream)}
    assert flagged == {IN_CSV[s] for s in STUDENTS} | {"broken\\xfe"}
    markdown = paths["flagged_md"].read_text(encoding="utf-8")
    assert "## bad\\\\xff / a1" in markdown and "## broken\\\\xfe / a1" in markdown
    assert "## new\\\\nline / a1" in markdown
    with paths["mistakes_csv"].open(encoding="utf-8", newline="") as stream:
        (listed,) = [row["students"] for row in csv.DictReader(stream)]  # one outcome
    assert listed.startswith("'+plus ")  # the names sorted, the first one a formula's
    assert set(listed.removeprefix("'").split(" ")) == set(SHOWN.values())
    page = paths["page"].read_text(encoding="utf-8")
    assert "<td>bad\\xff</td>" in page and "<td>new\\nline</td>" in page


def test_the_grade_table_names_every_student_on_one_line(course):
    stream = io.StringIO()
    print_grade_table(course, stream)
    text = stream.getvalue()
    text.encode("utf-8")
    rows = {line.split()[0] for line in text.splitlines()[1 : 1 + len(STUDENTS)]}
    assert rows == {SHOWN[s].split()[0] for s in STUDENTS}


def test_the_report_and_the_export_commands_succeed(course, tmp_path, capsys):
    """They exited 2 for the whole class ("'utf-8' codec can't encode character")."""
    root = str(course.root)
    assert main(["report", "--course", root, "--out", str(tmp_path / "reports")]) == EXIT_OK
    assert main(["export", "--course", root, "--out", str(tmp_path / "grades.csv")]) == EXIT_OK
    capsys.readouterr().out.encode("utf-8")


def test_the_feedback_command_writes_and_names_every_page(course, capsys):
    """Its list of the pages written stopped at the first name that is not UTF-8 (exit 2),
    on a standard output that does not write surrogates (capsys's does not either)."""
    assert main(["feedback", "--course", str(course.root), "--no-exchange"]) == EXIT_OK
    said = capsys.readouterr().out
    index = course.root / "feedback" / NOT_UTF8 / "index.html"
    assert f"wrote {course.root}/feedback/bad\\xff/index.html" in said
    assert "bad\\" in index.read_text(encoding="utf-8")
    assert len(list((course.root / "feedback").glob("*/index.html"))) == len(STUDENTS)
