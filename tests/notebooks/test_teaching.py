"""What the masters may and may not show, and where: no reference implementation of a task
is imported by the notebook that asks for it; no answer comes before its question (the
answers of written exercises, the tables and corrected slips that a task produces); worked
cells that use a student's function wait for it; every notebook ends with the summary; and
no notebook ships code that defines or computes a task of another notebook (all seven ship
together, so a worked cell of one would be a full solution of another).

**What counts as computing another notebook's task.**  The tasks are the functions the
graded test cells of every master pass to ``grade``.  The code a notebook ships is what its
student edition holds: every code cell, with the solution regions stubbed and the hidden
tests removed.  That code leaks a task of another notebook when it

1. *defines a function or class of the task's name* in a cell that is not a solution cell
   (a solution cell's stub is the student's own work);
2. *writes the task's distinctive expressions*: the expressions of the task's solution,
   normalised (names, attributes and subscripts of values become one placeholder, NumPy's
   functional forms and methods one spelling, commutative operands sorted, calls of the
   notebook's own functions opaque), of four nodes or more, minus the idioms that the shipped
   code of three or more notebooks writes (a forward pass, a batch sum): a shipped function or
   cell that contains at least ``COVERAGE`` of them, by weight (node count), computes the task.
   Tasks with fewer than ``MIN_WEIGHT`` nodes of distinctive expressions are held to 1. and
   3. only;
3. *behaves like the task*: a function that a worked cell defines, executed on its own with
   the notebooks' imports, whose signature accepts the task's arguments and whose answers on
   the task's visible cases earn every point of its check.

1. catches a copy under the same name, 2. a copy with another signature or around other
code, 3. a rewrite that computes the same thing under another name.  The detector is
checked on the two leaks it was written for (a backpropagation written out for a cost study,
a central-difference Jacobian in a worked cell), kept verbatim below."""

from __future__ import annotations

import ast
import copy
import inspect
import math
import re
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pytest
from notebook_files import MASTERS, nbgrader_meta, read

from grader.checks import all_checks, get_check
from grader.sandboxed.callers import CALLERS

GRADE_CALL = re.compile(r"""\bgrade\(\s*["']([a-z0-9_]+)["']""")

ANSWERS_AFTER = {
    "01_gradients": [
        # the softmax error signal for targets of any sum, the Question of Part 3
        (r"y_k \\sum_l t_l|\\sum_l t_l - t_k|\* T_soft\.sum\(", "softmax_error_signal_derivation"),
    ],
    "03_numerical_differentiation": [
        # what the check (8.35) costs, part (c) of the cost question
        (r"\\mathcal\{O\}\(DW\)|O\(DW\)", "cost_question_answer"),
    ],
    "04_jacobian": [
        # when the forward method is cheaper, item 4 of Exercise 8.5
        (r"D < K|K < D|cheaper for few", "jacobian_forward_derivation"),
    ],
    "06_symbolic_and_forward_mode": [
        # the value of df/dx1 at (1, 2) (Exercise 8.17, asked in 07) and the tangent table come
        # after the task that computes them
        (r"2 \+ 2 ?e\^2|2\+2e\^2|16\.77", "tangent_trace_tests"),
        (r"TANGENT_EQUATIONS", "tangent_trace_tests"),
        # the logistic map written out, and why it swells, come after Exercise 8.14
        (r"logistic_map\(x, n\)\n", "logistic_map_written"),
        (r"contains\s+\$L_n\$\s+twice|doubles its length", "logistic_map_written"),
    ],
    "07_reverse_mode": [
        (r"2 \+ 2 ?e\^2|16\.77", "ex_8_17_three_routes"),
        (r"ADJOINT_EQUATIONS|v̄3 v1 \+ v̄4 cos|\\bar v_3 v_1 \+ \\bar v_4", "book_adjoints_tests"),
        (
            r"slip in the printed \(8\.75\)|\(8\.75\) corrected|corrected \(8\.75\)",
            "ex_8_16_adjoint_equations",
        ),
    ],
}
"""Per notebook: a pattern, and the graded cell (a written exercise or a task's test cell)
that every cell matching it must follow."""


PACKAGES = {"autodiff", "autodiff.numpy"}
"""The package itself, whose transforms the worked examples use to check results (the tasks
run where they do not exist): not a reference by being imported."""


def imported_names(source: str) -> set[str]:
    """The dotted names a cell imports: ``module`` for ``import module`` and for
    ``from package import module``, ``module.name`` for ``from module import name``."""
    try:
        tree = ast.parse(re.sub(r"^%.*$", "", source, flags=re.M))
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def checks_of(path) -> set[str]:
    found = set()
    for cell in read(path).cells:
        found |= set(GRADE_CALL.findall(cell.source))
    return found


def test_every_check_declares_what_its_task_takes_forbids_and_asks_for():
    for name, check in all_checks().items():
        assert check.caller in CALLERS, f"{name}: unknown caller {check.caller!r}"
        assert check.forbids is not None, f"{name} declares nothing it forbids"
        assert check.references is not None, f"{name} declares no reference"
        for reference in check.references:
            assert reference.startswith("autodiff."), (name, reference)


@pytest.mark.parametrize("path", MASTERS, ids=[p.stem for p in MASTERS])
def test_no_master_imports_the_reference_of_its_own_tasks(path):
    references = {ref for check in checks_of(path) for ref in get_check(check).references}
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type != "code":
            continue
        for name in imported_names(cell.source) - PACKAGES:
            lowered = name.lower()
            for reference in references:
                ref = reference.lower()
                assert not (ref.startswith(lowered) or lowered.startswith(ref)), (
                    f"{path.stem} cell {i} imports {name}, the reference of a task of its own"
                )


REVEALS = {
    "01_gradients": [
        # the key step of Exercise 8.1: da_k/da_j = w_kj h'(a_j)
        (r"\\partial a_k\s*/\s*\\partial a_j\s*=\s*w_\{kj\}", None),
    ],
    "02_two_layer_network": [
        # the result of Exercise 8.4: dE/dw_ki^(s) = delta_k x_i
        (r"\\delta_k\s*x_i|delta_nk\s*x_ni|delta_k\s*x_i", None),
    ],
    "03_numerical_differentiation": [
        # the constants of the leading truncation errors (Exercise 8.3, Task 3)
        (
            r"\\frac\{\\epsilon\}\{2\}|\\frac\{\\epsilon\^2\}\{6\}|eps\s*/\s*2|eps\s*\*\*\s*2\s*/\s*6",
            None,
        ),
    ],
    "04_jacobian": [
        # Task 1's product, in the order of evaluation
        (r"dE_dy\s*@\s*dy_dz|[Ee]valuate it from the left", "module_chain_gradient"),
    ],
    "06_symbolic_and_forward_mode": [
        # the answer of Exercise 8.17 (a), df/dx1 at (1, 2)
        (r"2 \+ 2 ?e\^2|2\+2e\^2|16\.77|2 \+ 2 \* math\.e", None),
    ],
}
"""Per notebook: a pattern for an answer the student is asked to derive or compute, and the
function of the task whose attempt may reveal it (None: no shipped cell states it).  Only a
solution region may hold it (a stub's signature and docstring are shipped), or a code cell
after that task's test cell that waits for the student's function
(``ready(..., function)``)."""


@pytest.mark.parametrize("stem", sorted(REVEALS))
def test_an_answer_is_revealed_only_after_the_students_attempt(stem):
    (path,) = [p for p in MASTERS if p.stem == stem]
    cells = read(path).cells
    for pattern, function in REVEALS[stem]:
        tested = [
            i
            for i, c in enumerate(cells)
            if nbgrader_meta(c).get("grade") and re.search(rf"grade\([^)]*\b{function}\)", c.source)
        ]
        for i, cell in enumerate(cells):
            solution = nbgrader_meta(cell).get("solution")
            if solution and cell.cell_type == "markdown":
                continue  # a model answer: the student edition holds "YOUR ANSWER HERE"
            text = shipped(cell.source) if solution else cell.source
            if not re.search(pattern, text):
                continue
            waits = re.search(rf"ready\([^)]*\b{function}\b", text) if function else None
            assert cell.cell_type == "code" and waits and tested and i > tested[0], (
                f"{stem} cell {i} states {pattern!r}"
                + (f" without waiting for {function}" if function else "")
            )


@pytest.mark.parametrize("stem", sorted(ANSWERS_AFTER))
def test_no_answer_comes_before_its_question(stem):
    (path,) = [p for p in MASTERS if p.stem == stem]
    cells = read(path).cells
    position = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(cells)}
    for pattern, question in ANSWERS_AFTER[stem]:
        assert question in position, question
        for i, cell in enumerate(cells):
            if nbgrader_meta(cell).get("solution") and cell.cell_type == "markdown":
                continue  # model answers are hidden in the student edition
            if nbgrader_meta(cell).get("solution"):
                continue  # solution regions are stubbed
            if re.search(pattern, cell.source):
                assert i > position[question], (
                    f"{stem} cell {i} matches {pattern!r} before {question} (cell "
                    f"{position[question]})"
                )


@pytest.mark.parametrize("path", MASTERS, ids=[p.stem for p in MASTERS])
def test_written_exercises_come_before_the_tasks_built_on_them(path):
    """An exercise that a task implements is answered in writing first: each written cell
    of a master comes before the first task whose text cites the same exercise."""
    cells = read(path).cells
    for i, cell in enumerate(cells):
        meta = nbgrader_meta(cell)
        if not (meta.get("grade") and meta.get("solution") and cell.cell_type == "markdown"):
            continue
        prompt = cells[i - 1].source
        exercises = set(re.findall(r"Exercise (8\.\d+)", prompt))
        for j, later in enumerate(cells[:i]):
            if nbgrader_meta(later).get("solution") and later.cell_type == "code":
                text = cells[j - 1].source
                asked = set(re.findall(r"Exercise (8\.\d+)", text)) & exercises
                implements = re.search(r"(?i)task \d+[^\n]*\(exercise", text)
                implements = implements or "your result" in text
                assert not (asked and implements), (
                    f"{path.stem}: the task at cell {j} implements Exercise {asked} before its "
                    f"written cell {i}"
                )


@pytest.mark.parametrize("path", MASTERS, ids=[p.stem for p in MASTERS])
def test_ends_with_the_summary(path):
    cells = read(path).cells
    assert cells[-1].cell_type == "code" and "summary()" in cells[-1].source


# --- No notebook ships another notebook's task ----------------------------------------------

COVERAGE = 0.75
"""The share (by node count) of a task's distinctive expressions that a shipped function or
cell must contain to compute the task."""

MIN_WEIGHT = 12
"""Tasks whose distinctive expressions add up to fewer nodes are checked by name and
behaviour only (their solutions are a line or two of common idioms)."""

COMMON = 3
"""An expression the shipped code of this many notebooks writes is an idiom, not a task."""

TASK_CALL = re.compile(r"""\bgrade\(\s*["']([a-z0-9_]+)["']\s*,\s*([A-Za-z_][\w.]*)""")
REGION = re.compile(
    r"^[ \t]*### BEGIN (SOLUTION|HIDDEN TESTS)[^\n]*\n(.*?)^[ \t]*### END \1[^\n]*\n?",
    re.M | re.S,
)
MODULES = {"np": "np", "numpy": "np", "anp": "np", "math": "np", "autodiff.numpy": "np"}
"""Module aliases that name the same elementary functions."""

PACKAGING = {"asarray", "array", "float", "int", "len", "range", "list", "tuple", "zip"}
"""Calls that convert or count rather than compute: not expressions of a task."""


def shipped(source: str) -> str:
    """A code cell as the student edition ships it: solution regions stubbed, hidden tests
    removed."""

    def stub(match: re.Match) -> str:
        if match.group(1) == "HIDDEN TESTS":
            return ""
        indent = re.match(r"[ \t]*", match.group(0)).group(0)
        return f"{indent}raise NotImplementedError()\n"

    return REGION.sub(stub, source)


def parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(re.sub(r"^[ \t]*[%!].*$", "", source, flags=re.M))
    except SyntaxError:
        return None


def _is_module(node: ast.AST) -> bool:
    return isinstance(node, (ast.Name, ast.Attribute)) and ast.unparse(node) in MODULES


class Normalise(ast.NodeTransformer):
    """One spelling per computation: values (names, their attributes and subscripts, calls
    of the notebook's own functions) become ``v``; module aliases become ``np``; methods
    become NumPy functions (``x.sum(axis=0)`` is ``np.sum(x, axis=0)``); ``np.transpose``,
    ``np.matmul``, ``np.dot`` and ``np.multiply`` become operators; numbers become floats and
    strings one constant; the operands of ``+`` and ``*`` are sorted."""

    def visit_Name(self, node):
        return ast.Name(MODULES.get(node.id, "v"), ast.Load())

    def visit_Attribute(self, node):
        value = self.visit(node.value)
        if (isinstance(value, ast.Name) and value.id == "np") or node.attr == "T":
            return ast.Attribute(value, node.attr, ast.Load())
        return ast.Name("v", ast.Load())

    def visit_Subscript(self, node):
        value = self.visit(node.value)
        if isinstance(value, ast.Name) and value.id == "v":
            return value
        return ast.Subscript(value, self.visit(node.slice), ast.Load())

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Attribute) and not _is_module(func.value):
            np_func = ast.Attribute(ast.Name("np", ast.Load()), func.attr, ast.Load())
            node = ast.Call(np_func, [func.value, *node.args], node.keywords)
            func = node.func
        if not (isinstance(func, ast.Attribute) and _is_module(func.value)):
            return ast.Name("v", ast.Load())
        node = self.generic_visit(node)
        operators = {"matmul": ast.MatMult(), "dot": ast.MatMult(), "multiply": ast.Mult()}
        if func.attr == "transpose" and len(node.args) == 1:
            return ast.Attribute(node.args[0], "T", ast.Load())
        if func.attr in operators and len(node.args) == 2:
            return self.visit_BinOp(ast.BinOp(node.args[0], operators[func.attr], node.args[1]))
        return node

    def visit_Constant(self, node):
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return ast.Constant(float(node.value))
        return ast.Constant("s")

    def visit_JoinedStr(self, node):
        return ast.Constant("s")

    def visit_BinOp(self, node):
        node = self.generic_visit(node)
        if isinstance(node.op, (ast.Add, ast.Mult)):
            node.left, node.right = sorted([node.left, node.right], key=ast.dump)
        return node


def expressions(roots: list[ast.AST]) -> dict[str, int]:
    """The normalised expressions of four nodes or more under ``roots``, each with its size
    (packaging, literals and containers left out)."""
    found = {}
    for root in roots:
        for node in ast.walk(root):
            if not isinstance(node, ast.expr) or isinstance(
                node, (ast.Constant, ast.JoinedStr, ast.Tuple, ast.List, ast.Dict, ast.Set)
            ):
                continue
            called = getattr(node, "func", None)
            if called is not None and getattr(called, "id", getattr(called, "attr", "")) in (
                PACKAGING
            ):
                continue
            normal = Normalise().visit(copy.deepcopy(node))
            size = sum(isinstance(n, ast.expr) for n in ast.walk(normal))
            if size >= 4:
                found[ast.dump(normal)] = size
    return found


@dataclass
class Task:
    notebook: str
    check: str
    name: str
    expressions: dict[str, int] = field(default_factory=dict)
    solved: bool = False  # its solution region was found


@dataclass
class Unit:
    """A piece of shipped code: a whole code cell (``name`` empty) or a function or class
    defined in it."""

    notebook: str
    cell: int
    name: str
    solution_cell: bool
    expressions: dict[str, int]


def _solution_lines(source: str) -> set[int]:
    lines, inside = set(), False
    for number, line in enumerate(source.splitlines(), start=1):
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside:
            lines.add(number)
    return lines


@cache
def tasks() -> tuple[Task, ...]:
    """Every task of every master, with the expressions of its solution region."""
    found = []
    for path in MASTERS:
        cells = read(path).cells
        for cell in cells:
            if cell.cell_type == "code" and nbgrader_meta(cell).get("grade"):
                for check, name in TASK_CALL.findall(cell.source):
                    found.append(Task(path.stem, check, name.split(".")[0]))
        for task in (t for t in found if t.notebook == path.stem):
            for cell in cells:
                if cell.cell_type != "code" or not nbgrader_meta(cell).get("solution"):
                    continue
                tree, inside = parse(cell.source), _solution_lines(cell.source)
                for node in ast.walk(tree) if tree else ():
                    if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == task.name:
                        body = [n for n in ast.walk(node) if getattr(n, "lineno", 0) in inside]
                        task.solved = bool(body)
                        task.expressions = expressions([n for n in body if isinstance(n, ast.stmt)])
    return tuple(found)


def units(stem: str, cells: list | None = None) -> list[Unit]:
    """The shipped code of the master ``stem`` (or of ``cells``), as units."""
    if cells is None:
        (path,) = [p for p in MASTERS if p.stem == stem]
        cells = read(path).cells
    found = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        solution = bool(nbgrader_meta(cell).get("solution"))
        tree = parse(shipped(cell.source))
        if tree is None:
            continue
        found.append(Unit(stem, i, "", solution, expressions(tree.body)))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                found.append(Unit(stem, i, node.name, solution, expressions([node])))
    return found


@cache
def idioms() -> frozenset[str]:
    """Expressions the shipped code of ``COMMON`` or more notebooks writes."""
    where: dict[str, set[str]] = {}
    for path in MASTERS:
        for unit in units(path.stem):
            for expression in unit.expressions:
                where.setdefault(expression, set()).add(path.stem)
    return frozenset(e for e, stems in where.items() if len(stems) >= COMMON)


def distinctive(task: Task) -> dict[str, int]:
    return {e: n for e, n in task.expressions.items() if e not in idioms()}


def coverage(task: Task, unit: Unit) -> float:
    """The share of the task's distinctive expressions (by size) that ``unit`` writes."""
    own = distinctive(task)
    total = sum(own.values())
    if total < MIN_WEIGHT:
        return 0.0
    return sum(n for e, n in own.items() if e in unit.expressions) / total


def leaks_by_name_or_expressions(stem: str, cells: list | None = None) -> list[str]:
    found = []
    for unit in units(stem, cells):
        for task in tasks():
            if task.notebook == stem:
                continue
            where = f"{stem} cell {unit.cell}" + (f" ({unit.name})" if unit.name else "")
            if unit.name == task.name and not unit.solution_cell:
                found.append(f"{where} defines {task.name}, the task of {task.notebook}")
            share = coverage(task, unit)
            if share >= COVERAGE:
                found.append(
                    f"{where} writes {share:.0%} of the distinctive expressions of "
                    f"{task.name}, the task of {task.notebook} (check {task.check})"
                )
    return found


def worked_functions(cells: list, name: str) -> dict[str, object]:
    """The functions and classes the worked cells define, each executed on its own (in
    order, so that one may use another) with the imports the notebooks use."""
    import autodiff
    import autodiff.numpy as anp

    namespace = {"np": np, "anp": anp, "math": math, "autodiff": autodiff}
    defined = {}
    for cell in cells:
        if cell.cell_type != "code" or nbgrader_meta(cell).get("solution"):
            continue
        tree = parse(shipped(cell.source))
        for node in tree.body if tree else ():
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                try:
                    exec(compile(ast.Module([node], []), name, "exec"), namespace)
                except Exception:  # noqa: BLE001 - a definition that needs the notebook
                    continue
                defined[node.name] = namespace[node.name]
    return defined


@cache
def visible_cases(check_name: str):
    from grader.checks import get_check
    from grader.judge import answers
    from grader.seeds import seed

    check = get_check(check_name)
    rng = np.random.default_rng(seed("visible", check_name))
    cases = [c for c in check.visible_cases(rng) if not c.seconds]
    seen = []

    def spy(*args, **kwargs):
        seen.append((args, kwargs))
        return 0.0

    answers(check, spy, cases[:1])
    return check, cases, seen[0] if seen else None


def behaves_like(task: Task, function) -> bool:
    """Whether ``function`` earns every point of ``task``'s visible cases."""
    from grader.judge import answers, judge

    check, cases, called = visible_cases(task.check)
    if called is None or not callable(function):
        return False
    try:
        inspect.signature(function).bind(*called[0], **called[1])
    except (TypeError, ValueError):
        return False
    verdict = judge(check, cases, answers(check, function, cases, time_limit=2.0))
    return verdict.points == check.points


def leaks_by_behaviour(stem: str, cells: list | None = None) -> list[str]:
    if cells is None:
        (path,) = [p for p in MASTERS if p.stem == stem]
        cells = read(path).cells
    found = []
    for name, function in worked_functions(cells, stem).items():
        for task in tasks():
            if task.notebook != stem and behaves_like(task, function):
                found.append(
                    f"{stem}: {name} earns every point of {task.check}, the task "
                    f"{task.name} of {task.notebook}"
                )
    return found


STEMS = [p.stem for p in MASTERS]


@pytest.mark.parametrize("stem", STEMS)
def test_no_notebook_defines_or_writes_out_another_notebooks_task(stem):
    assert not leaks_by_name_or_expressions(stem)


@pytest.mark.parametrize("stem", STEMS)
def test_no_worked_function_computes_another_notebooks_task(stem):
    assert not leaks_by_behaviour(stem)


def test_every_task_is_found_with_its_solution():
    found = tasks()
    assert len({t.check for t in found}) == len(found) > 30
    for task in found:
        assert task.solved, f"{task.notebook}: no solution found for {task.name}"


# The two leaks the detector was written for, as they stood in the worked cells of 03
# (backpropagation written out for the cost study) and 04 (a central-difference Jacobian).
BACKPROP_IN_A_COST_STUDY = """
def unpack(w, D, M, K):
    n1 = M * (D + 1)
    return w[:n1].reshape(M, D + 1), w[n1:].reshape(K, M + 1)


def batch_gradient(w, X, T, M):
    W1, W2 = unpack(w, X.shape[1], M, T.shape[1])
    Z = np.tanh(X @ W1[:, 1:].T + W1[:, 0])
    delta_out = Z @ W2[:, 1:].T + W2[:, 0] - T
    delta_hidden = (1.0 - Z**2) * (delta_out @ W2[:, 1:])
    g1 = np.column_stack([delta_hidden.sum(axis=0), delta_hidden.T @ X])
    g2 = np.column_stack([delta_out.sum(axis=0), delta_out.T @ Z])
    return np.concatenate([g1.ravel(), g2.ravel()])
"""

JACOBIAN_IN_A_WORKED_CELL = """
def central_difference_jacobian(f, x, eps):
    columns = []
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = eps
        columns.append((f(x + step) - f(x - step)) / (2 * eps))
    return np.stack(columns, axis=1)
"""


def as_cells(*sources: str) -> list:
    import nbformat

    return [nbformat.v4.new_code_cell(s) for s in sources]


def test_the_detector_finds_the_backpropagation_of_the_old_cost_study():
    """Another signature and a flat weight vector: found by its expressions, as 02's task."""
    found = leaks_by_name_or_expressions(
        "03_numerical_differentiation", as_cells(BACKPROP_IN_A_COST_STUDY)
    )
    assert any("backprop," in f and "02_two_layer_network" in f for f in found), found


def test_the_detector_finds_the_central_difference_jacobian_of_a_worked_cell():
    """The same signature as 03's task under another name: found by its behaviour."""
    stem = "04_jacobian"
    cells = as_cells(JACOBIAN_IN_A_WORKED_CELL)
    found = leaks_by_behaviour(stem, cells) + leaks_by_name_or_expressions(stem, cells)
    assert any("central_difference_jacobian" in f and "03_numerical" in f for f in found), found


@pytest.mark.parametrize("path", MASTERS, ids=[p.stem for p in MASTERS])
def test_no_worked_cell_makes_a_solution_read_as_using_what_its_task_forbids(path):
    """The reading behind the forbidden-use flag follows every binding of a free name
    through the notebook, so a worked cell that rebinds a name a solution reads (``a``,
    ``name`` ...) to something computed by ``autodiff`` would flag a correct submission."""
    from grader.checks.forbidden import forbidden
    from grader.pipeline.judging.reading import forbidden_uses

    notebook = read(path)
    for task in (t for t in tasks() if t.notebook == path.stem):
        assert not forbidden_uses(notebook, task.name, forbidden(task.check)), task.name
