"""What a grading run executes of a submission: the statements its graded functions need,
in notebook order, with the graded calls where the notebook has its test cells.

A grading run does not replay the whole notebook (its figures, timings and training runs
cost seconds and grade nothing): of the statements before the last graded call, it keeps
every top-level one that binds or changes a name the graded functions need (a definition,
an import, an assignment, an item or attribute set on it), and then what those statements
need in turn, wherever they stand before the call (a function finds its globals when it
is called).  The test cells themselves are never run (they are the course's).  The
submission's code is parsed here, never run; IPython syntax is turned into Python first,
and magics and shell commands are left out.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import nbformat

from grader.pipeline.course import Assignment, GradedItem
from grader.pipeline.judging.reading import free_names


@dataclass(frozen=True)
class Statement:
    source: str
    label: str
    binds: frozenset[str]
    uses: frozenset[str]


def grading_program(
    submission: nbformat.NotebookNode, assignment: Assignment, items: list[GradedItem]
) -> tuple[list[dict[str, str]], list[str]]:
    """The steps of a grading run of ``items`` (``{"code", "label"}`` and
    ``{"grade", "function"}``), and the cells that could not be read (as problems)."""
    wanted = {item.grade_id: item for item in items}
    tests = {item.grade_id for item in assignment.items if not item.written}
    sequence: list[Statement | GradedItem] = []
    problems = []
    for number, cell in enumerate(submission.cells, 1):
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in wanted:
            sequence.append(wanted[grade_id])
            continue
        if grade_id in tests:
            continue
        statements = _statements(cell.source, f"cell {number}")
        if statements is None:
            problems.append(f"cell {number} is not valid Python: the grading run left it out")
            continue
        sequence.extend(statements)
    last = max((i for i, e in enumerate(sequence) if isinstance(e, GradedItem)), default=-1)
    before = sequence[: last + 1]
    needed = {e.function for e in before if isinstance(e, GradedItem)}
    chosen = {i for i, e in enumerate(before) if isinstance(e, GradedItem)}
    grown = True
    while grown:  # a function finds its globals when it is called: any earlier binding counts
        grown = False
        for i, entry in enumerate(before):
            if i not in chosen and isinstance(entry, Statement) and entry.binds & needed:
                chosen.add(i)
                needed |= entry.uses
                grown = True
    steps = []
    for entry in (before[i] for i in sorted(chosen)):
        if isinstance(entry, GradedItem):
            steps.append({"grade": entry.check, "function": entry.function})
        else:
            steps.append({"code": entry.source, "label": entry.label})
    return steps, problems


def _statements(source: str, label: str) -> list[Statement] | None:
    """The top-level statements of a cell, as plain Python; None if it does not parse."""
    try:
        python = _as_python(source)
        tree = ast.parse(python)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = python.splitlines()
    found = []
    for node in tree.body:
        if _calls_ipython(node):
            continue
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        text = "\n".join(lines[start - 1 : node.end_lineno])
        try:
            binds, uses = _binds(node), free_names(node)
        except RecursionError:
            return None
        found.append(Statement(text, label, frozenset(binds), frozenset(uses)))
    return found


def _as_python(source: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _calls_ipython(node: ast.stmt) -> bool:
    return any(isinstance(sub, ast.Name) and sub.id == "get_ipython" for sub in ast.walk(node))


def _binds(node: ast.stmt) -> set[str]:
    """Module-level names the statement binds or changes in place (``x[i] = ...``,
    ``x.a = ...``, ``x += ...``), wherever it nests them (an ``if``, a ``for``)."""
    names = set()
    for sub in ast.walk(node):
        if sub is not node and isinstance(
            sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
        ):
            if not isinstance(sub, ast.Lambda):
                names.add(sub.name)
            continue
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            for alias in sub.names:
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.add(sub.id)
        elif isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(sub.ctx, ast.Store):
            root = sub
            while isinstance(root, (ast.Attribute, ast.Subscript)):
                root = root.value
            if isinstance(root, ast.Name):
                names.add(root.id)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    return names
