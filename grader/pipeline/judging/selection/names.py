"""The dependency analysis: the module-level names each statement binds and those it
uses (at once, or when the functions and classes it defines run), read with ``symtable``
(with the syntax tree where ``symtable`` cannot read it), across the notebook."""

from __future__ import annotations

import ast
import symtable
from collections.abc import Iterator

from grader.pipeline.course import GradedItem
from grader.pipeline.judging.reading import free_names
from grader.pipeline.judging.selection.common import PSEUDO, Statement, _evaluated, _Raw
from grader.pipeline.judging.selection.mutations import (
    CHANGES_UNKNOWN,
    _changes,
    _mutators,
    aliases,
    changes_settings,
    fillers,
)


def _statements(before: list[_Raw | GradedItem]) -> list[Statement | GradedItem]:
    """The entries with what each statement binds, changes and uses, read across the
    notebook (a function defined in one cell may change an object when called in another)."""
    nodes = [e.node for e in before if isinstance(e, _Raw) and e.node is not None]
    imported = {
        alias.asname or alias.name.split(".")[0]
        for node in nodes
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    mutators = _mutators(nodes, imported)
    filling = fillers(nodes, imported)
    sequence: list[Statement | GradedItem] = []
    for entry in before:
        if isinstance(entry, GradedItem):
            sequence.append(entry)
        elif entry.node is None:
            if entry.step is not None:
                sequence.append(
                    Statement("", entry.label, entry.binds, entry.uses, entry.wildcard, entry.step)
                )
        else:
            sequence.append(_statement(entry, imported, mutators, filling))
    return sequence


def _statement(
    raw: _Raw,
    imported: set[str],
    mutators: dict[str, set[str]],
    filling: dict[str, tuple[int | str, ...]],
) -> Statement:
    node = raw.node
    binds, uses = _names(raw.text, node)
    changed, wildcard, through = _changes(node, imported, mutators, fillers=filling)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        top = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name) or ""
        uses = uses | {PSEUDO + top.split(".")[0]}
        wildcard = wildcard or any(alias.name == "*" for alias in node.names)
    step = raw.step if raw.step and "fallback" in raw.step else {}
    future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
    always = future or CHANGES_UNKNOWN in through or changes_settings(node, imported)
    return Statement(
        raw.text,
        raw.label,
        frozenset(binds | changed),
        frozenset(uses),
        wildcard,
        step,
        always,
        tuple((name, frozenset(functions)) for name, functions in through.items()),
        tuple(aliases(node)),
        frozenset(changed),
    )


def _names(text: str, node: ast.stmt) -> tuple[set[str], set[str]]:
    """The module-level names a statement binds, and those it reads: at once, or when the
    functions and classes it defines run."""
    try:
        table = symtable.symtable(text, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _binds_by_ast(node), free_names(node)
    binds = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    uses = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    uses -= _bound_before_read(node)
    stack = list(table.get_children())
    while stack:
        child = stack.pop()
        uses |= {s.get_name() for s in child.get_symbols() if s.is_referenced() and s.is_global()}
        stack.extend(child.get_children())
    return binds, uses


def _bound_before_read(node: ast.stmt) -> set[str]:
    """Module-level names the statement binds before it reads them (a loop's variable, a
    ``with`` target, a name assigned earlier in its block): not what it needs."""
    first: dict[str, bool] = {}
    try:
        for name, stored in _in_order(node):
            first.setdefault(name, stored)
    except RecursionError:  # an expression nested too deeply to follow: all are uses
        return set()
    return {name for name, stored in first.items() if stored}


def _in_order(node: ast.AST) -> Iterator[tuple[str, bool]]:
    """The module-level names of ``node``, in the order it evaluates them: ``(name,
    stored)``.  Function, lambda, class and comprehension bodies are other scopes."""
    if isinstance(node, ast.Name):
        yield node.id, not isinstance(node.ctx, ast.Load)
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        header = [*node.decorator_list]
        if isinstance(node, ast.ClassDef):
            header += [*node.bases, *(k.value for k in node.keywords)]
        else:
            header += [d for d in (*node.args.defaults, *node.args.kw_defaults) if d]
        for part in header:
            yield from _in_order(part)
        yield node.name, True
    elif isinstance(node, ast.Lambda):
        for part in (*node.args.defaults, *node.args.kw_defaults):
            if part is not None:
                yield from _in_order(part)
    elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        yield from _in_order(node.generators[0].iter)
    elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
        if node.value is not None:
            yield from _in_order(node.value)
        for target in getattr(node, "targets", None) or [node.target]:
            yield from _in_order(target)
    elif isinstance(node, ast.AugAssign):
        if isinstance(node.target, ast.Name):
            yield node.target.id, False
        yield from _in_order(node.value)
        yield from _in_order(node.target)
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        for part in (node.iter, node.target, *node.body, *node.orelse):
            yield from _in_order(part)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            if alias.name != "*":
                yield alias.asname or alias.name.split(".")[0], True
    elif isinstance(node, ast.ExceptHandler):
        if node.type is not None:
            yield from _in_order(node.type)
        if node.name:
            yield node.name, True
        for part in node.body:
            yield from _in_order(part)
    else:
        for child in ast.iter_child_nodes(node):
            yield from _in_order(child)


def _binds_by_ast(node: ast.stmt) -> set[str]:
    names = set()
    for sub in _evaluated(node):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            names.update(a.asname or a.name.split(".")[0] for a in sub.names)
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.add(sub.id)
    return names
