"""What the modules of the selection share: the records of a statement (``_Raw`` as a
cell gives it, ``Statement`` as the notebook-wide reading makes it), the pseudo name a
written module binds, the magics the grading run cannot replay, and the walk over what a
statement runs when it runs."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# magics that may bind names the grading run cannot rebuild (``%load`` binds nothing in
# an executed notebook: it only fills the next cell of a front end)
UNREPLAYABLE = {
    "run": "`%run` of a file the notebook did not write",
    "pylab": "`%pylab`",
    "store": "`%store`",
    "macro": "`%macro`",
    "rerun": "`%rerun`",
    "recall": "`%recall`",
}
PSEUDO = "module:"  # the pseudo name a module written by %%writefile binds


@dataclass(frozen=True)
class Statement:
    source: str
    label: str
    binds: frozenset[str]
    uses: frozenset[str]
    wildcard: bool = False  # binds names it does not spell (star import, globals()[...])
    step: dict[str, Any] = field(default_factory=dict, compare=False)  # the step, if not code
    # kept whatever is needed (``from __future__ import ...``, a call whose changes are unknown)
    always: bool = False
    # names it changes only by calling the notebook's functions, with those functions: when
    # the graded functions call them too, replaying the call adds nothing they do not redo
    through: tuple[tuple[str, frozenset[str]], ...] = ()
    # names it makes another name for an object of: ``(alias, name)`` (``table = TABLE``)
    aliases: tuple[tuple[str, str], ...] = ()
    changed: frozenset[str] = frozenset()  # the names whose objects it changes in place

    def changes(self, needed: set[str]) -> bool:
        """Whether it binds or changes a name of ``needed`` in a way the graded functions
        would not redo themselves."""
        return bool(self.binds & needed) or any(
            name in needed and not functions <= needed for name, functions in self.through
        )


@dataclass(frozen=True)
class _Raw:
    """A top-level statement of a cell, before the notebook-wide reading."""

    label: str
    node: ast.stmt | None = None  # a Python statement
    text: str = ""
    step: dict[str, Any] | None = None  # a step that is not code (%%writefile, %run)
    binds: frozenset[str] = frozenset()
    uses: frozenset[str] = frozenset()
    wildcard: bool = False
    lost: str = ""  # IPython syntax left out that binds names: what it was
    lost_names: frozenset[str] | None = None  # what it binds (None: unknown names)


def _evaluated(node: ast.AST) -> Iterator[ast.AST]:
    """``node`` and what in it runs when it runs: not the bodies of the functions and
    lambdas it defines (their decorators, defaults and annotations do run)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stack.extend(current.decorator_list)
            stack.extend(d for d in current.args.defaults + current.args.kw_defaults if d)
        elif isinstance(current, ast.Lambda):
            stack.extend(d for d in current.args.defaults + current.args.kw_defaults if d)
        else:
            stack.extend(ast.iter_child_nodes(current))
