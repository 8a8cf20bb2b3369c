"""The student edition: generated from the masters by nbgrader, blank where it should be."""

from __future__ import annotations

import ast
import re
import shutil

import nbformat
from nbclient import NotebookClient
from nbgrader.validator import Validator
from notebook_files import MASTERS, ROOT, STUDENT_EDITION, nbgrader_meta, read

from grader.checks import get_check
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


def self_check_calls(cell) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(ast.parse(cell.source))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "self_check"
    ]


def task_label(call: ast.Call) -> str:
    """What the summary calls the task of a ``self_check`` call: its ``task``, else the
    check's title."""
    for keyword in call.keywords:
        if keyword.arg == "task":
            return ast.literal_eval(keyword.value)
    return get_check(ast.literal_eval(call.args[0])).title


def test_run_all_goes_through_a_fresh_notebook():
    """Every cell of a fresh student notebook runs: a task not attempted says so, once, on
    standard error, with no Out box (so that nbgrader's Validate quotes that line instead of
    "Partial credit"), a worked cell that needs a student's function says which task it
    waits for, and the only error is the closing summary's, which names every task as the
    notebook does and shows no traceback; and, as `nbgrader validate --invert` asks, no graded
    cell passes."""
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
        validator = Validator()
        for cell in tasks:
            (output,) = cell.outputs
            assert output.output_type == "stream" and output.name == "stderr", (path.name, cell)
            said = " ".join(output.text.split())
            assert re.fullmatch(
                r".+ is not attempted yet: implement `\w+` above, then run this cell again\.",
                said,
            ), (path.name, said)
            complaint = validator._extract_error(cell)
            assert "not attempted yet" in complaint and "Partial credit" not in complaint
            listed = " ".join(error.evalue.split())
            for call in self_check_calls(cell):
                assert f"- {task_label(call)}: not attempted yet" in listed, (path.name, call)
        assert len(validator._get_failed_cells(nb)) >= len(tasks)
        # what `nbgrader validate --invert` asks of a blank notebook: no graded cell passes
        assert not validator._get_passed_cells(nb), path.name
        for cell in body:
            if "ready(" in cell.source and not nbgrader_meta(cell):
                text = "".join(o.get("text", "") for o in cell.outputs)
                assert "This example waits for" in text, (path.name, cell.source[:80])


def test_a_solution_cell_that_failed_to_run_is_named(tmp_path):
    """The student ran the fresh notebook, then typed a solution with a syntax error and ran
    it: the self-check says that the solution cell failed to run, not that the task is not
    attempted."""
    student = read(STUDENT_EDITION / "02_two_layer_network.ipynb")
    cells = {nbgrader_meta(c).get("grade_id"): c for c in student.cells}
    broken = nbformat.v4.new_code_cell(
        "def forward(W1, b1, W2, b2, X):\n    Z = np.tanh(X @ W1.T + b1\n    return Z, Z"
    )
    check = nbformat.v4.new_code_cell(cells["forward_tests"].source)
    setup = [c for c in student.cells if c.cell_type == "code"][0]
    student.cells = [setup, cells["forward_solution"], broken, check]
    resources = {"metadata": {"path": str(tmp_path)}}
    NotebookClient(student, timeout=300, allow_errors=True, resources=resources).execute()
    assert [o.ename for o in broken.outputs if o.output_type == "error"] == ["SyntaxError"]
    said = " ".join("".join(o.get("text", "") for o in check.outputs).split())
    assert re.search(r"[Tt]he cell that defines `forward` failed to run \(SyntaxError:", said)
    assert "not attempted" not in said


MISTAKES_02 = {
    "forward_solution": None,  # the master's solution
    "backprop_solution": """
def backprop(W1, b1, W2, b2, X, T):
    Z, Y = forward(W1, b1, W2, b2, X)
    delta_out = Y - T
    delta_hidden = delta_out @ W2  # the factor 1 - Z**2 of (8.22) is forgotten
    return delta_hidden.T @ X, delta_hidden.sum(axis=0), delta_out.T @ Z, delta_out.sum(axis=0)
""",
    "backprop_skip_solution": """
def backprop_skip(W1, b1, W2, b2, Ws, X, T):
    Z = np.tanh(X @ W1.T + b1)
    Y = Z @ W2.T + b2 + X @ Ws  # Ws not transposed: a shape error
    return Y
""",
}


def test_wrong_answers_show_their_diagnosis_and_no_traceback(tmp_path):
    """A student's session with one task right, one with a typical mistake and one that
    raises a shape error in NumPy: each self-check prints its verdict (the mistake named
    with its equation, the shapes of the failing product), and no traceback goes into the
    grader's code."""
    student = read(STUDENT_EDITION / "02_two_layer_network.ipynb")
    master = {nbgrader_meta(c).get("grade_id"): c for c in read(MASTERS[1]).cells}
    for cell in student.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in MISTAKES_02:
            answer = MISTAKES_02[grade_id] or master[grade_id].source
            cell.source = "\n".join(
                line for line in answer.strip().splitlines() if "SOLUTION" not in line
            )
    resources = {"metadata": {"path": str(tmp_path)}}
    NotebookClient(student, timeout=300, allow_errors=True, resources=resources).execute()
    texts = {}
    for cell in student.cells:
        if cell.cell_type != "code":
            continue
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        texts[nbgrader_meta(cell).get("grade_id")] = text
        assert "Traceback" not in text
        for error in (o for o in cell.outputs if o.output_type == "error"):
            # a graded cell never raises; a worked example that calls the student's broken
            # function may, with a traceback into the student's code, never the grader's
            assert not nbgrader_meta(cell), cell.source[:80]
            assert "grader/" not in "".join(error.traceback), cell.source[:80]
    assert "3 cases pass." in texts["forward_tests"]
    backprop = " ".join(texts["backprop_tests"].split())
    assert "likely cause, in every failing case: The hidden deltas lack" in backprop
    assert "Reread (8.16) and (8.22)." in backprop
    assert re.search(r"is not passed yet: 0 of \d+ cases pass\.$", backprop), backprop
    skip = " ".join(texts["backprop_skip_tests"].split())
    assert "A matrix product (@ or np.matmul)" in skip and "Ws (" in skip
