"""The two Hessian-vector tasks (05: the R-operator written by hand; 07: the student's own
engines nested) as the course ships them: no worked cell computes what either task asks
before the student has, the adjoint table and the corrected (8.75) show only once the
student's attempt exists, the answers to Exercises 8.10 and 8.11 are not in 05's summary;
and a grading run (``grader.sandboxed.grading_run`` without the sandbox, on the build of
``autodiff`` those tasks are graded with) of each master, and of a 07 that nests the engines
the other way round, gives full points on the hidden cases."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebook_files import SOURCE, STUDENT_EDITION, nbgrader_meta, read

from grader.checks import get_check
from grader.checks.forbidden import forbidden
from grader.judge import judge, plain_case
from grader.pipeline.course import Assignment
from grader.pipeline.judging.selection import grading_program
from grader.pipeline.sandbox.builds import Builds
from grader.pipeline.sandbox.limits import Limits
from grader.sandboxed import channel
from grader.seeds import hidden_cases

HESSIAN = SOURCE / "05_hessian" / "05_hessian.ipynb"
REVERSE = SOURCE / "07_reverse_mode" / "07_reverse_mode.ipynb"
TASKS = {  # notebook -> (check, the function the task asks for)
    HESSIAN: ("hessian_vector_product", "hessian_vector_product"),
    REVERSE: ("hvp_nested_engines", "hessian_vector_product"),
}
SECRET = "hessian-vector-tasks"


def code_cells(path: Path) -> list[tuple[int, str]]:
    """(index, source) of the code cells that are neither a solution nor a test cell."""
    return [
        (i, cell.source)
        for i, cell in enumerate(read(path).cells)
        if cell.cell_type == "code" and not nbgrader_meta(cell)
    ]


def _tree(source: str) -> ast.AST:
    return ast.parse(re.sub(r"^%.*$", "", source, flags=re.M))


def calls(source: str | ast.AST, name: str) -> list[ast.Call]:
    """The calls of ``name`` (a bare name or an attribute) in ``source``."""
    tree = _tree(source) if isinstance(source, str) else source
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called == name:
                found.append(node)
    return found


def guarded(source: str, name: str) -> bool:
    """Every call of ``name`` in ``source`` sits under an ``if ready(...)``."""
    tree = _tree(source)
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and calls(node.test, "ready"):
            for child in node.body:
                inside |= {id(n) for n in ast.walk(child)}
    return all(id(call) in inside for call in calls(tree, name))


# -- what the notebooks show, and when --------------------------------------------------------


@pytest.mark.parametrize("path", list(TASKS), ids=lambda p: p.stem)
def test_no_worked_cell_computes_a_hessian_vector_product_of_its_own(path):
    """Outside the solutions and the test cells, nothing calls autodiff's product or nests
    autodiff's transforms into one, and the student's function runs only once it exists."""
    _, function = TASKS[path]
    for i, source in code_cells(path):
        assert not calls(source, "hvp"), f"{path.stem} cell {i} calls autodiff.hvp"
        for jvp in calls(source, "jvp"):
            assert "grad" not in ast.unparse(jvp), f"{path.stem} cell {i}: jvp of a gradient"
        for grad in calls(source, "grad"):
            assert "jvp" not in ast.unparse(grad), f"{path.stem} cell {i}: grad of a jvp"
        assert guarded(source, function), f"{path.stem} cell {i} runs {function} unguarded"


def test_the_adjoint_table_and_program_show_only_after_the_attempt():
    """The cells that print adjoint equations (the program autodiff generates, the printed
    (8.75) beside the generated line) run under ``ready("Task 1", ...)``, after its test
    cell; no text a student can read says which printed equation is wrong or how it
    should read."""
    cells = read(REVERSE).cells
    test_cell = next(
        i for i, c in enumerate(cells) if nbgrader_meta(c).get("grade_id") == "book_adjoints_tests"
    )
    for i, source in code_cells(REVERSE):
        for name in ("adjoint_program",):
            if calls(source, name):
                assert i > test_cell and guarded(source, name), f"07 cell {i}"
    student = read(STUDENT_EDITION / REVERSE.name).cells
    corrected = re.compile(
        r"v̄3 v1 \+ v̄4 cos|v3_bar \* v1|\\bar v_3\s*v_1|corrected|slip in the printed \(8\.75\)"
        r"|\(8\.75\) (?:is|has) (?:wrong|a slip)"
    )
    for i, cell in enumerate(student):
        assert not corrected.search(cell.source), (
            f"07 student edition cell {i}: {cell.source[:80]!r}"
        )
    stub = next(c for c in student if "def book_adjoints" in c.source)
    assert "(8.75)" not in stub.source


def test_the_summary_of_05_does_not_answer_exercises_8_10_and_8_11():
    summary = next(
        c.source
        for c in read(STUDENT_EDITION / HESSIAN.name).cells
        if c.source.startswith("## Summary")
    )
    for answer in (
        r"y\s*\(1\s*-\s*y\)",
        r"y_n\s*\(1",
        r"\\mathrm\{diag\}",
        r"y y\^",
        r"\\mathbf\{y\}\^",
    ):
        assert not re.search(answer, summary), answer


def test_the_measurements_count_beside_the_clock():
    """07's study counts the objects the student's engines create beside its times; 05's
    prints its times in passes through the network (N W multiply-adds each)."""
    sources = {path: "\n".join(s for _, s in code_cells(path)) for path in TASKS}
    assert "objects_created" in sources[REVERSE] and "perf_counter" in sources[REVERSE]
    assert "passes" in sources[HESSIAN] and "t_pass" in sources[HESSIAN]


# -- a grading run of each task -----------------------------------------------------------


def grading_run(path: Path, submission: nbformat.NotebookNode, tmp_path: Path) -> dict:
    """The verdict of the Hessian-vector task of ``submission`` (a notebook of the master
    at ``path``), from a grading run on the build of autodiff its task is graded with."""
    check_name, _ = TASKS[path]
    assignment = Assignment(path.parent.name, path)
    items = [i for i in assignment.items if i.check == check_name]
    steps, problems = grading_program(submission, assignment, items)
    assert problems == []
    check = get_check(check_name)
    cases = hidden_cases(check, SECRET, assignment.name, "a student")
    plain = [channel.encode(plain_case(c)) for c in cases]
    message = channel.program_message(
        steps, {check_name: {"caller": check.caller, "cases": plain}}, 20, Limits().as_dict()
    )
    library = Builds(tmp_path / "builds").library(tuple(sorted(set(forbidden(check_name)))))
    read_end, write_end = os.pipe()
    env = {"PYTHONPATH": str(library), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-s", "-m", "grader.sandboxed.grading_run", str(write_end)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(write_end,),
        env={**env, "MPLBACKEND": "agg", "OPENBLAS_NUM_THREADS": "1"},
        cwd=tmp_path,
    )
    os.close(write_end)
    process.stdin.write(message)
    process.stdin.close()
    with os.fdopen(read_end, "rb") as stream:
        data = stream.read()
    assert process.wait(timeout=300) == 0
    records, failed = channel.read_messages(data, problems)
    assert failed == []
    return judge(check, cases, records[check_name][-1], hidden=True)


@pytest.mark.parametrize("path", list(TASKS), ids=lambda p: p.stem)
def test_the_master_earns_full_points_in_a_grading_run(path, tmp_path):
    verdict = grading_run(path, read(path), tmp_path)
    assert verdict.points == verdict.max_points, [r.problem for r in verdict.results]


FORWARD_OVER_REVERSE = '''
class Var:
    """Reverse mode whose values may be dual numbers."""

    def __init__(self, value, parents=()):
        self.value, self.grad, self.parents = value, 0.0, tuple(parents)

    @staticmethod
    def lift(x):
        return x if isinstance(x, Var) else Var(x)

    def __radd__(self, other):
        return Var.lift(other) + self

    def __rsub__(self, other):
        return Var.lift(other) - self

    def __rmul__(self, other):
        return Var.lift(other) * self

    def __rtruediv__(self, other):
        return Var.lift(other) / self

    def __add__(self, other):
        other = Var.lift(other)
        return Var(self.value + other.value, ((self, 1.0), (other, 1.0)))

    def __neg__(self):
        return Var(-self.value, ((self, -1.0),))

    def __sub__(self, other):
        other = Var.lift(other)
        return Var(self.value - other.value, ((self, 1.0), (other, -1.0)))

    def __mul__(self, other):
        other = Var.lift(other)
        return Var(self.value * other.value, ((self, other.value), (other, self.value)))

    def __truediv__(self, other):
        other = Var.lift(other)
        q = self.value / other.value
        return Var(q, ((self, 1.0 / other.value), (other, -q / other.value)))

    def __pow__(self, c):
        return Var(self.value**c, ((self, c * self.value ** (c - 1)),))

    def exp(self):
        y = exp(self.value)
        return Var(y, ((self, y),))

    def log(self):
        return Var(log(self.value), ((self, 1.0 / self.value),))

    def sin(self):
        return Var(sin(self.value), ((self, cos(self.value)),))

    def cos(self):
        return Var(cos(self.value), ((self, -sin(self.value)),))

    def tanh(self):
        y = tanh(self.value)
        return Var(y, ((self, 1.0 - y * y),))

    def topological_order(self):
        order, expanded, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in expanded:
                expanded.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p, _ in node.parents if id(p) not in expanded)
        return order

    def backward(self):
        order = self.topological_order()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            for parent, local in node.parents:
                parent.grad = parent.grad + node.grad * local
'''

FORWARD_OVER_REVERSE_HVP = """
def hessian_vector_product(f, x, v):
    inputs = [Var(Dual(xi, vi)) for xi, vi in zip(x, v)]
    f(*inputs).backward()
    return np.array([Dual.lift(xi.grad).tangent for xi in inputs])
"""


def test_nesting_the_engines_the_other_way_earns_full_points(tmp_path):
    """A student whose Var carries dual numbers (forward over reverse): the Var of Task 2
    made generic, the same Dual, the product read from the adjoints' tangents."""
    submission = read(REVERSE)
    for cell in submission.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id == "var_solution":
            cell.source = FORWARD_OVER_REVERSE
        elif grade_id == "hvp_solution":
            cell.source = FORWARD_OVER_REVERSE_HVP
    helpers = next(i for i, c in enumerate(submission.cells) if c.source.startswith("def exp(u)"))
    var_cell = next(
        i
        for i, c in enumerate(submission.cells)
        if nbgrader_meta(c).get("grade_id") == "var_solution"
    )
    # the generic Var needs the helpers: the student defines them before it
    submission.cells.insert(var_cell, nbformat.v4.new_code_cell(submission.cells[helpers].source))
    verdict = grading_run(REVERSE, submission, tmp_path)
    assert verdict.points == verdict.max_points, [r.problem for r in verdict.results]
