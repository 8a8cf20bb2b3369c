"""A small class to try the whole pipeline on: masters, release and scripted submissions.

``build_demo_class(out)`` lays out ``out/course/`` as an nbgrader course holding the chosen
masters, runs nbgrader's ``generate_assignment`` on them, and writes one submission per
scripted student (``grader.demo.submissions``) into
``out/course/submitted/<student>/<assignment>/``.  Every submission is generated from the
masters: the complete one is the student edition with each solution cell holding the
master's solution, the others are edits of it or of the blank student edition.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterable
from pathlib import Path

import nbformat

from grader.demo.submissions import Scripted, demo_submissions
from grader.pipeline.course import Course
from grader.release import COURSE, generate_release
from grader.release import assignments as course_assignments

DEFAULT_ASSIGNMENTS = ("02_two_layer_network", "04_jacobian")
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
STUDENTS = "students.md"  # next to course/: what each scripted student handed in


def build_demo_class(
    out: Path,
    assignments: tuple[str, ...] = DEFAULT_ASSIGNMENTS,
    submissions: Iterable[Scripted] | None = None,
) -> Course:
    """Build the demo class in ``out/course`` (replacing an earlier one) and return it;
    ``out/students.md`` says what each scripted student handed in.

    ``submissions`` defaults to the demo's scripted students for ``assignments``.
    """
    _check_assignments(assignments)
    root = Path(out).resolve() / "course"
    if root.exists():
        if not (root / "nbgrader_config.py").is_file():
            raise ValueError(f"{root} exists and is not a course folder: choose another `out`")
        shutil.rmtree(root)
    (root / "source").mkdir(parents=True)
    shutil.copy(COURSE / "nbgrader_config.py", root)
    for name in assignments:
        shutil.copytree(
            COURSE / "source" / name,
            root / "source" / name,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    generate_release(root)
    course = Course(root)
    specs = demo_submissions(assignments) if submissions is None else list(submissions)
    for spec in specs:
        write_submission(course, spec)
    (root.parent / STUDENTS).write_text(students_table(specs), encoding="utf-8")
    return course


def students_table(specs: Iterable[Scripted]) -> str:
    """What each scripted student handed in, as a Markdown table."""
    rows = [f"| {s.student} | {s.assignment} | {s.story} |" for s in specs]
    header = ["# The demo class", "", "| student | assignment | submission |", "|---|---|---|"]
    return "\n".join(header + rows) + "\n"


def write_submission(course: Course, spec: Scripted) -> Path:
    """Write ``spec``'s submission into ``course``; return its folder."""
    assignment = course.assignment(spec.assignment)
    folder = course.submitted / spec.student / assignment.name
    folder.mkdir(parents=True, exist_ok=True)
    if spec.file == "missing":
        return folder
    release = nbformat.read(str(course.release_path(assignment)), as_version=4)
    notebook = scripted_notebook(spec, assignment.master, release)
    text = nbformat.writes(notebook)
    if spec.file == "malformed":
        text = text[: len(text) // 2]
    (folder / (spec.file_name or assignment.notebook)).write_text(text, encoding="utf-8")
    return folder


def scripted_notebook(
    spec: Scripted, master: nbformat.NotebookNode, release: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    """The notebook ``spec`` describes, built from the student edition ``release`` and the
    solutions of ``master``."""
    solutions = {
        gid: solution_source(cell.source)
        for cell in master.cells
        if (gid := _grade_id(cell)) and cell.metadata["nbgrader"].get("solution")
    }
    named = {*spec.solved, *spec.blank, *spec.answers}
    named |= {gid for gid, _ in spec.extra} | {gid for _, gid in spec.damaged}
    graded = {_grade_id(cell) for cell in master.cells} - {None}
    unknown = sorted(named - graded)
    if unknown:
        raise ValueError(
            f"{spec.student}/{spec.assignment}: no graded cell {', '.join(unknown)} in the "
            f"master (its graded cells: {', '.join(sorted(graded))})"
        )
    notebook = copy.deepcopy(release)
    for cell in notebook.cells:
        gid = _grade_id(cell)
        if gid in spec.answers:
            cell.source = spec.answers[gid]
        elif gid in solutions and _solved(spec, gid):
            cell.source = solutions[gid]
    for after, source in reversed(spec.extra):
        notebook.cells.insert(_position(notebook, after) + 1, _code_cell(notebook, source))
    for damage, gid in spec.damaged:
        _damage(notebook, damage, gid)
    return notebook


def solution_source(source: str) -> str:
    """A master solution cell's source without its ``### BEGIN/END SOLUTION`` lines."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in SOLUTION_MARKERS)


def _solved(spec: Scripted, gid: str) -> bool:
    if spec.start == "complete":
        return gid not in spec.blank
    return gid in spec.solved


def _damage(notebook: nbformat.NotebookNode, damage: str, target: str) -> None:
    """Delete, duplicate, or turn into markdown the graded cell ``target``, as a student
    can by mistake in JupyterLab."""
    i = _position(notebook, target)
    cell = notebook.cells[i]
    if damage == "delete":
        del notebook.cells[i]
    elif damage == "duplicate":
        twin = copy.deepcopy(cell)
        if "id" in twin:
            twin["id"] = _code_cell(notebook, "")["id"]
        notebook.cells.insert(i + 1, twin)
    else:
        retyped = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
        if "id" in cell:
            retyped["id"] = cell["id"]
        else:
            retyped.pop("id", None)
        notebook.cells[i] = retyped


def _code_cell(notebook: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if (notebook.nbformat, notebook.nbformat_minor) < (4, 5):
        cell.pop("id", None)
    return cell


def _position(notebook: nbformat.NotebookNode, gid: str) -> int:
    for i, cell in enumerate(notebook.cells):
        if _grade_id(cell) == gid:
            return i
    raise ValueError(f"graded cell {gid!r} is not in the notebook (deleted by an earlier edit?)")


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _check_assignments(chosen: tuple[str, ...]) -> None:
    known = course_assignments(COURSE)
    unknown = [name for name in chosen if name not in known]
    if unknown or not chosen:
        raise ValueError(
            f"unknown assignment(s) {', '.join(unknown) or '(none chosen)'}: choose among "
            f"{', '.join(known)}"
        )
