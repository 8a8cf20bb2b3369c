"""Writing nbgrader master notebooks from Python, with the right cell metadata.

The master notebooks under ``course/source/`` are the one source of truth; these helpers
only save an author from typing nbgrader's metadata by hand:

    from grader.authoring import markdown, code, solution, tests, written, save
    save("course/source/01_gradients/01_gradients.ipynb", [
        markdown("# Evaluating gradients"),
        solution('''def f(x):
        ### BEGIN SOLUTION
        return 2 * x
        ### END SOLUTION''', "f_solution"),
        tests('''from grader import self_check, grade
    self_check("f", f)
    ### BEGIN HIDDEN TESTS
    grade("f", f)
    ### END HIDDEN TESTS''', "f_tests", points=2),
    ])
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat

SCHEMA_VERSION = 3


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points=None) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _clean(source: str) -> str:
    return textwrap.dedent(source).strip("\n")


def markdown(source: str) -> nbformat.NotebookNode:
    """An ordinary Markdown cell (text and maths)."""
    return nbformat.v4.new_markdown_cell(_clean(source))


def code(source: str) -> nbformat.NotebookNode:
    """An ordinary code cell (worked examples, plots)."""
    return nbformat.v4.new_code_cell(_clean(source))


def solution(source: str, grade_id: str) -> nbformat.NotebookNode:
    """A code cell the student completes; its ``### BEGIN/END SOLUTION`` region is replaced
    by a stub in the student edition."""
    source = _clean(source)
    if "### BEGIN SOLUTION" not in source:
        raise ValueError(f"{grade_id}: a solution cell needs a ### BEGIN SOLUTION region")
    return nbformat.v4.new_code_cell(
        source, metadata=_meta(grade_id, grade=False, solution=True, locked=False)
    )


def tests(source: str, grade_id: str, points: float) -> nbformat.NotebookNode:
    """A locked autograder cell: visible self-checks, then ``### BEGIN HIDDEN TESTS``."""
    return nbformat.v4.new_code_cell(
        _clean(source),
        metadata=_meta(grade_id, grade=True, solution=False, locked=True, points=points),
    )


def written(source: str, grade_id: str, points: float) -> nbformat.NotebookNode:
    """A manually graded Markdown answer; ``source`` is the instructor's model answer,
    replaced by a prompt in the student edition."""
    return nbformat.v4.new_markdown_cell(
        _clean(source),
        metadata=_meta(grade_id, grade=True, solution=True, locked=False, points=points),
    )


def save(path: str | Path, cells: list) -> None:
    """Write the notebook (Python 3 kernel, no outputs)."""
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    ids = [c.metadata["nbgrader"]["grade_id"] for c in cells if "nbgrader" in c.metadata]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"grade_ids must be unique, repeated: {duplicates}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
