"""The grading program of a submission: its cells read in notebook order (the graded
test cells become the graded calls), the statements the graded functions need chosen,
and the steps of the run with the problems of the reading."""

from __future__ import annotations

import builtins
from typing import Any

import nbformat

from grader.pipeline.course import Assignment, GradedItem
from grader.pipeline.judging.selection.cells import read_cell
from grader.pipeline.judging.selection.common import PSEUDO, UNREPLAYABLE, Statement, _Raw
from grader.pipeline.judging.selection.imports import _forbidden
from grader.pipeline.judging.selection.names import _statements

KNOWN = frozenset(dir(builtins)) | {
    "display",
    "get_ipython",
    "In",
    "Out",
    "_",
    "__",
    "___",
    "exit",
    "quit",
    "__name__",
    "__builtins__",
    "__file__",
    "__doc__",
}


def grading_program(
    submission: nbformat.NotebookNode, assignment: Assignment, items: list[GradedItem]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The steps of a grading run of ``items``, and the problems of the reading (cells
    that could not be read, names the run cannot rebuild).

    Steps are ``{"forbidden": [...]}`` first (what the tasks forbid, for the stand-ins'
    messages), then in notebook order ``{"code", "label"[, "fallback"]}`` (``fallback``:
    ``[[name, path, mention], ...]`` to bind when the import fails),
    ``{"module", "source", "append", "label"}`` (a file a cell wrote), ``{"run",
    "label"}`` (``%run`` of such a file) and ``{"grade", "function"}``."""
    wanted = {item.grade_id: item for item in items}
    tests = {item.grade_id for item in assignment.items if not item.written}
    entries: list[_Raw | GradedItem] = []
    problems = []
    for number, cell in enumerate(submission.cells, 1):
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in wanted:
            entries.append(wanted[grade_id])
            continue
        if grade_id in tests:
            continue
        raws = read_cell(str(cell.source), f"cell {number}")
        if raws is None:
            problems.append(
                f"cell {number} could not be read as Python: the grading run left it out"
            )
            continue
        entries.extend(raws)
    entries = _runs_of_written_files(entries)
    last = max((i for i, e in enumerate(entries) if isinstance(e, GradedItem)), default=-1)
    before = entries[: last + 1]
    sequence = _statements(before)
    chosen, unresolved = _choose(sequence)
    problems.extend(_lost(before, unresolved))
    steps: list[dict[str, Any]] = [{"forbidden": _forbidden(items)}]
    for entry in (sequence[i] for i in sorted(chosen)):
        if isinstance(entry, GradedItem):
            steps.append({"grade": entry.check, "function": entry.function})
        elif entry.step:
            steps.append({**entry.step, "label": entry.label})
        else:
            steps.append({"code": entry.source, "label": entry.label})
    return steps, problems


def _runs_of_written_files(entries: list[_Raw | GradedItem]) -> list[_Raw | GradedItem]:
    """``%run name.py`` is replayed when a cell before it wrote ``name.py``, else it is
    IPython syntax the grading run cannot replay."""
    written: set[str] = set()
    found: list[_Raw | GradedItem] = []
    for entry in entries:
        if isinstance(entry, _Raw) and entry.step and "module" in entry.step:
            written.add(entry.step["module"])
        if isinstance(entry, _Raw) and entry.step and "run" in entry.step:
            if entry.step["run"] not in written:
                entry = _Raw(entry.label, lost=UNREPLAYABLE["run"])
        found.append(entry)
    return found


def _choose(sequence: list[Statement | GradedItem]) -> tuple[set[int], set[str]]:
    """The indices of the entries to run, and the needed names nothing binds.

    A function finds its globals when it is called, so any earlier binding of a needed name
    counts.  The needed names grow from the graded functions; each new one chooses the
    statements that bind it (looked up, so a notebook of N statements costs about N steps
    whatever their order), and the statements that change it only through the notebook's
    functions are decided once the names bound so far are all followed.  An assignment
    that makes another name for a needed object (``table = TABLE``) is chosen, with the
    statements that change the object through that name.  Star imports and
    ``globals()[...]`` come in last, for names nothing else binds."""
    statements = {i: e for i, e in enumerate(sequence) if isinstance(e, Statement)}
    chosen = {i for i, e in enumerate(sequence) if isinstance(e, GradedItem)}
    bound = set().union(*(e.binds for e in statements.values()))
    binders: dict[str, list[int]] = {}
    changers: dict[str, list[int]] = {}
    aliases: dict[str, list[tuple[int, str]]] = {}
    changed_by: dict[str, list[int]] = {}
    for i, entry in statements.items():
        for name in entry.binds:
            binders.setdefault(name, []).append(i)
        for name, _ in entry.through:
            changers.setdefault(name, []).append(i)
        for alias, name in entry.aliases:
            aliases.setdefault(name, []).append((i, alias))
        for name in entry.changed:
            changed_by.setdefault(name, []).append(i)
    needed: set[str] = set()
    new = [e.function for e in sequence if isinstance(e, GradedItem)]
    to_decide: set[int] = set()

    def choose(i: int) -> None:
        chosen.add(i)
        new.extend(statements[i].uses)

    followed: set[str] = set()  # other names for needed objects, their changes chosen

    def follow_aliases(name: str) -> None:
        stack = [name]
        while stack:
            for i, alias in aliases.get(stack.pop(), ()):
                if i not in chosen:
                    choose(i)
                if alias not in followed:
                    followed.add(alias)
                    for j in changed_by.get(alias, ()):
                        if j not in chosen:
                            choose(j)
                    stack.append(alias)

    for i, entry in statements.items():
        if entry.always:
            choose(i)

    while True:
        while new:
            name = new.pop()
            if name in needed:
                continue
            needed.add(name)
            for i in binders.get(name, ()):
                if i not in chosen:
                    choose(i)
            follow_aliases(name)
            to_decide.update(i for i in changers.get(name, ()) if i not in chosen)
        if to_decide:
            for i in sorted(to_decide):
                if i not in chosen and statements[i].changes(needed):
                    choose(i)
            to_decide.clear()
            continue
        unresolved = {n for n in needed - bound - KNOWN if not n.startswith(PSEUDO)}
        if unresolved:
            for i, entry in statements.items():
                if i not in chosen and entry.wildcard:
                    choose(i)
        if not new:
            return chosen, unresolved


def _lost(before: list[_Raw | GradedItem], unresolved: set[str]) -> list[str]:
    """Problems for needed names that IPython syntax left out may have bound."""
    if not unresolved:
        return []
    problems = []
    for raw in before:
        if not isinstance(raw, _Raw) or not raw.lost:
            continue
        names = sorted(unresolved if raw.lost_names is None else unresolved & raw.lost_names)
        if names:
            shown = ", ".join(f"`{n}`" for n in names[:3]) + (" ..." if len(names) > 3 else "")
            problems.append(
                f"{raw.label}: the grading run cannot replay {raw.lost}, so {shown}, which "
                f"your graded functions use, may be missing there"
            )
    return problems
