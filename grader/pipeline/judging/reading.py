"""Reading a submission for the hint in its feedback: does a graded function use what its
task forbids?  (It is never run here.)

Grading does not rely on this: a task to implement oneself is graded where what it forbids
does not exist (``grader.pipeline.sandbox.builds``), so such a function fails there however
it reaches the reference.  The reading only explains that failure to the student: what the
graded function reaches through its free names (the notebook's other functions and classes,
the values it assigns to names) is searched for the forbidden names, each matched by the
object it refers to (so a submodule's path or a star import finds them too).  A determined
author can hide a use from any reading; then the feedback shows the failure without the
explanation.  The reading of one graded function stops after ``READING_BUDGET`` names
looked up (a notebook can bind one name to thousands of imports and use it thousands of
times): what it found by then is the hint.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import re
import sys
from types import ModuleType

import nbformat

from grader.pipeline import syntax_trees

HELP_LINE = re.compile(r"^\s*(\?{1,2}[\w.]+|[\w.]+\?{1,2})\s*$")

READING_BUDGET = 5_000
"""Dotted names looked up for one graded function, each once: the masters need 57 at most;
each costs at most an attempt to find a module of ``autodiff`` (about a hundred
microseconds), so the reading stays under a second."""


def forbidden_uses(
    notebook: nbformat.NotebookNode, function: str, forbidden: tuple[str, ...]
) -> list[str]:
    """The entries of ``forbidden`` (``autodiff`` functions, classes or whole modules) that
    ``function`` uses, directly or through what it reaches of the notebook: its other
    functions and classes, and the values it assigns to names.  A name is matched by what
    it refers to, so ``from autodiff.transforms import jacfwd`` and ``from autodiff import
    *`` are found like ``autodiff.jacfwd``; only the free names of a function are followed
    (its parameters and local variables are its own)."""
    if not forbidden:
        return []
    aliases, definitions = _read(tuple(cell.source for cell in _code_cells(notebook)))
    targets = {entry: _target(entry) for entry in forbidden}
    found, todo, visited = set(), [function], set()
    chains: set[tuple[str, ...]] = set()  # each ``a.b.c`` read once, however often it is used
    looked_up: set[str] = set()
    while todo:
        name = todo.pop()
        if name in visited:
            continue
        visited.add(name)
        for definition in definitions.get(name, ()):
            local = _bound_inside(definition)
            for node in ast.walk(definition):
                chain = _chain(node)
                if chain and chain[0] not in local and chain not in chains:
                    chains.add(chain)
                    for dotted in _dotted(chain, aliases) - looked_up:
                        if len(looked_up) >= READING_BUDGET:
                            return sorted(found)
                        looked_up.add(dotted)
                        found.update(e for e, t in targets.items() if _is_use_of(dotted, e, t))
            todo.extend(free_names(definition) & definitions.keys())
    return sorted(found)


@functools.lru_cache(maxsize=16)
def _read(sources: tuple[str, ...]) -> tuple[dict[str, set[str]], dict[str, list[ast.AST]]]:
    """The imports and the bindings of the notebook whose code cells hold ``sources``, read
    once for all the graded functions of a submission (never changed by the reading)."""
    trees = [tree for source in sources if (tree := _parse(source))]
    return _aliases(trees), _definitions(trees)


def _bound_inside(node: ast.AST) -> set[str]:
    """The names ``node`` binds for itself (parameters, local variables, comprehension and
    loop targets), less those it declares ``global``: a local named like an import of the
    notebook (``grad = ...`` in a function) is the function's own, not the import."""
    bound, declared = set(), set()
    for part in ast.walk(node):
        if isinstance(part, ast.arg):
            bound.add(part.arg)
        elif isinstance(part, ast.Name) and isinstance(part.ctx, (ast.Store, ast.Del)):
            bound.add(part.id)
        elif isinstance(part, (ast.Global, ast.Nonlocal)):
            declared.update(part.names)
        elif part is not node and isinstance(part, _DEFINITIONS):
            bound.add(part.name)
    return bound - declared


def _definitions(trees: list[ast.Module]) -> dict[str, list[ast.AST]]:
    """Every binding of a name in the notebook: its function and class definitions, and the
    values assigned to it (a lambda, an alias ``J = autodiff.jacfwd``)."""
    found: dict[str, list[ast.AST]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.setdefault(node.name, []).append(node)
            for targets, value in _bindings(node):
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            found.setdefault(name.id, []).append(value)
    return found


def free_names(node: ast.AST) -> set[str]:
    """The names ``node`` reads but does not bind itself (for a function: less its
    parameters and local variables; a name bound anywhere inside counts as local)."""
    read, bound = set(), set()
    for part in ast.walk(node):
        if isinstance(part, ast.Name):
            (read if isinstance(part.ctx, ast.Load) else bound).add(part.id)
        elif isinstance(part, ast.arg):
            bound.add(part.arg)
        elif part is not node and isinstance(part, _DEFINITIONS):
            bound.add(part.name)  # a helper defined inside: not the notebook's of that name
        elif isinstance(part, (ast.Import, ast.ImportFrom)):
            bound.update(_imported_as(alias) for alias in part.names)
    if isinstance(node, (*_DEFINITIONS, ast.Lambda)):
        return read - bound
    return read


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _imported_as(alias: ast.alias) -> str:
    """The name an import binds: ``import a.b`` binds ``a``."""
    return alias.asname or alias.name.split(".")[0]


class ModulePath(str):
    """A forbidden module, known by its dotted path and not imported for the reading: some
    of the chapter's modules load matplotlib or sympy, seconds of the grading process."""


@functools.lru_cache(maxsize=256)
def _target(entry: str) -> object | None:
    """What a forbidden ``entry`` refers to: a module by its path, anything else (a function,
    a class, a method) by its object."""
    try:
        is_module = importlib.util.find_spec(entry) is not None
    except (ImportError, ValueError):  # a parent is not a package: ``autodiff.Tensor.backward``
        is_module = False
    return ModulePath(entry) if is_module else _resolve(entry)


@functools.lru_cache(maxsize=4096)
def _resolve(dotted: str) -> object | None:
    """The object an ``autodiff`` dotted name refers to (our own package: importing its
    modules is safe), or None."""
    parts = dotted.split(".")
    if parts[0] != "autodiff":
        return None
    try:
        found: object = importlib.import_module("autodiff")
        for i, part in enumerate(parts[1:], start=2):
            attribute = getattr(found, part, None)
            if attribute is None and isinstance(found, ModuleType):
                attribute = importlib.import_module(".".join(parts[:i]))
            if attribute is None:
                return None
            found = attribute
    except ImportError:
        return None
    return found


def _is_use_of(dotted: str, entry: str, target: object | None) -> bool:
    """Does ``dotted`` name the forbidden ``entry`` (whose object is ``target``): the same
    object, or, for a forbidden module, the module itself or anything defined in it."""
    if _under(dotted, (entry,)):
        return True
    if target is None:
        return False
    found = _resolve(dotted)
    if found is None:
        return False
    if isinstance(target, ModulePath):
        home = found.__name__ if isinstance(found, ModuleType) else getattr(found, "__module__", "")
        return isinstance(home, str) and _under(home, (target,))
    return found is target


# -- Reading cells ------------------------------------------------------------------------


def _code_cells(notebook: nbformat.NotebookNode) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _split(source: str) -> tuple[str, list[str]]:
    """The Python of a cell, and its IPython lines (magics, shell escapes, help)."""
    python, magics = [], []
    for line in source.splitlines():
        if line.lstrip().startswith(("%", "!")) or HELP_LINE.match(line):
            magics.append(line.strip())
            python.append("")  # keep line numbers
        else:
            python.append(line)
    return "\n".join(python), magics


def _parse(source: str) -> ast.Module | None:
    """The cell's Python without its IPython lines, or None when it cannot be parsed."""
    try:
        return syntax_trees.parse(_split(source)[0])
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _aliases(trees: list[ast.Module]) -> dict[str, set[str]]:
    """Local name -> dotted names of what it was bound to, for every import of the
    notebook (a name imported twice keeps both meanings)."""
    names: dict[str, set[str]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    target = alias.name if alias.asname else alias.name.split(".")[0]
                    names.setdefault(local, set()).add(target)
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if alias.name == "*":
                        for name in _public_names(node.module):
                            names.setdefault(name, set()).add(f"{node.module}.{name}")
                        continue
                    local = alias.asname or alias.name
                    names.setdefault(local, set()).add(f"{node.module}.{alias.name}")
    return names


def _public_names(module: str) -> list[str]:
    """What ``from module import *`` binds, for this project's packages (whose modules are
    safe to import here); nothing for any other module."""
    if module.split(".")[0] not in ("autodiff", "grader"):
        return []
    try:
        found = sys.modules.get(module) or importlib.import_module(module)
    except Exception:  # noqa: BLE001 - a name from a submission: any import error
        return []
    names = getattr(found, "__all__", None)
    if names is None:
        names = [name for name in vars(found) if not name.startswith("_")]
    return [name for name in names if isinstance(name, str)]


def _chain(node: ast.AST) -> tuple[str, ...]:
    """``("a", "b", "c")`` for the attribute chain ``a.b.c`` or ``("a",)`` for a name; empty
    for anything else (a call's result, a subscript)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return (node.id, *reversed(parts)) if isinstance(node, ast.Name) else ()


def _dotted(chain: tuple[str, ...], aliases: dict[str, set[str]]) -> set[str]:
    """The dotted names an attribute chain ``a.b.c`` (or a name) can refer to."""
    root, *parts = chain
    return {".".join([base, *parts]) for base in aliases.get(root, {root})}


def _under(dotted: str, prefixes: tuple[str, ...]) -> bool:
    return any(dotted == p or dotted.startswith(p + ".") for p in prefixes)


def _bindings(node: ast.AST) -> list[tuple[list[ast.AST], ast.AST]]:
    if isinstance(node, ast.Assign):
        return [(node.targets, node.value)]
    if isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and node.value:
        return [([node.target], node.value)]
    if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
        return [([node.target], node.iter)]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return [
            ([item.optional_vars], item.context_expr) for item in node.items if item.optional_vars
        ]
    return []
