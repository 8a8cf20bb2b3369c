"""What the sandbox sees of an assignment: the master without its solutions, releasing into
exactly the student edition, so that nbgrader grades the same way."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.checks.forbidden import forbidden
from grader.pipeline.autograde import _template_gradebook
from grader.pipeline.course import Course, without_solutions
from grader.pipeline.judging.reading import forbidden_uses
from grader.release import generate_release

ROOT = Path(__file__).resolve().parents[2]
COURSE = Course(ROOT / "course")


def region(source: str) -> list[str]:
    """The lines between the solution markers of a code cell."""
    lines, inside = [], False
    for line in source.splitlines():
        if "### END SOLUTION" in line:
            inside = False
        if inside and line.strip():
            lines.append(line)
        if "### BEGIN SOLUTION" in line:
            inside = True
    return lines


def by_grade_id(nb) -> dict:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


@pytest.mark.parametrize("name", sorted(COURSE.assignments))
def test_grading_copy_holds_no_solution(name):
    assignment = COURSE.assignment(name)
    stripped = without_solutions(assignment.master)
    copy = by_grade_id(stripped)
    for gid, cell in by_grade_id(assignment.master).items():
        if not cell.metadata["nbgrader"].get("solution"):
            continue
        if cell.cell_type == "markdown":
            assert copy[gid].source == "YOUR ANSWER HERE", gid
        else:
            assert region(cell.source), f"{gid}: the master has an empty solution region"
            assert not region(copy[gid].source), gid
    assert "BEGIN HIDDEN TESTS" in nbformat.writes(stripped)


def test_grading_copies_release_into_the_student_edition(tmp_path):
    (tmp_path / "source").mkdir()
    shutil.copy(COURSE.root / "nbgrader_config.py", tmp_path)
    for assignment in COURSE.assignments.values():
        folder = tmp_path / "source" / assignment.name
        folder.mkdir()
        nbformat.write(without_solutions(assignment.master), str(folder / assignment.notebook))
    generate_release(tmp_path)
    for assignment in COURSE.assignments.values():
        released = tmp_path / "release" / assignment.name / assignment.notebook
        student = ROOT / "notebooks" / assignment.notebook
        assert nbformat.read(str(released), 4) == nbformat.read(str(student), 4), assignment.name


def test_template_gradebook_holds_no_student_and_no_solution(tmp_path):
    course_root = tmp_path / "course"
    shutil.copytree(COURSE.root, course_root, ignore=shutil.ignore_patterns("gradebook.db"))
    generate_release(course_root)  # the course's gradebook, made from the masters
    secret = "student-with-a-secret-id"
    with Gradebook("sqlite:///" + str(course_root / "gradebook.db")) as gb:
        gb.add_student(secret, first_name="Confidential")
    template = _template_gradebook(Course(course_root), tmp_path)
    with Gradebook("sqlite:///" + str(template)) as gb:
        assert gb.students == []
        assert sorted(a.name for a in gb.assignments) == sorted(COURSE.assignments)
    stored = template.read_bytes()
    assert secret.encode() not in stored and b"Confidential" not in stored
    for assignment in COURSE.assignments.values():
        released = (ROOT / "notebooks" / assignment.notebook).read_text()
        for cell in assignment.master.cells:
            for line in region(cell.source) if cell.cell_type == "code" else []:
                if len(line.strip()) > 30 and line.strip() not in released:
                    assert line.strip().encode() not in stored, (assignment.name, line)


@pytest.mark.parametrize("name", sorted(COURSE.assignments))
def test_model_solutions_use_nothing_their_task_forbids(name):
    """The reading that explains a failing task to implement oneself must not find a
    forbidden name in the masters' own solutions, whatever the demonstrations around them
    use."""
    assignment = COURSE.assignment(name)
    for item in assignment.items:
        if item.check:
            assert forbidden_uses(assignment.master, item.function, forbidden(item.check)) == []
