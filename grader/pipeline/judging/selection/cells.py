"""Reading a cell into its top-level statements as IPython ran it: IPython syntax turned
into Python, the magics that run their body in the namespace replaced by that body,
``%%writefile`` and ``%run`` of a written file kept as steps, other magics and shell
commands left out (noting what they may bind); ``None`` for a cell that does not parse."""

from __future__ import annotations

import ast
import functools
import re
import shlex
from typing import Any

from grader.pipeline import syntax_trees
from grader.pipeline.judging.selection.common import PSEUDO, UNREPLAYABLE, _Raw
from grader.pipeline.judging.selection.imports import _split_imports

REMEMBERED_CELL_CHARACTERS = 20_000  # longer cells are read every time, and not kept


def read_cell(source: str, label: str) -> tuple[_Raw, ...] | None:
    """The top-level statements of a cell as IPython runs it; None if it does not parse.
    Remembered: a class's notebooks share most of their cells (those of the release), and
    a submission is read once for each set of forbidden names its tasks have."""
    if len(source) > REMEMBERED_CELL_CHARACTERS:
        return _read_whole_cell(source, label)
    return _remembered(source, label)


def _read_whole_cell(source: str, label: str) -> tuple[_Raw, ...] | None:
    found = _read_cell(source, label)
    return None if found is None else tuple(found)


_remembered = functools.lru_cache(maxsize=4096)(_read_whole_cell)


def _read_cell(source: str, label: str, depth: int = 0) -> list[_Raw] | None:
    """The top-level statements of a cell as IPython runs it; None if it does not parse."""
    if depth > 20:
        return []
    try:
        python = _as_python(source)
        tree = syntax_trees.parse(python)
    except Exception:  # noqa: BLE001 - IPython's transformer and the parser on any text
        return None
    shared = _shared_lines(tree.body)
    lines = python.splitlines()
    found: list[_Raw] = []
    for node in tree.body:
        call = _ipython_call(node.value) if isinstance(node, ast.Expr) else None
        if call is not None:
            inner = _magic(call, label, depth)
            if inner is None:
                return None
            found.extend(inner)
            continue
        try:
            cleaned = _Cleaner().clean(node)
        except Exception:  # noqa: BLE001 - a magic's text that does not parse
            return None
        if cleaned is None:  # IPython syntax in an expression: `x = !ls`, `y = %who_ls`
            names = _assigned(node)
            if names:
                found.append(_Raw(label, lost="IPython syntax", lost_names=frozenset(names)))
            continue
        for statement, changed in cleaned:
            if changed or _first_line(statement) in shared or statement.end_lineno in shared:
                try:
                    text = ast.unparse(statement)
                except (RecursionError, ValueError):
                    return None
            else:
                text = "\n".join(lines[_first_line(statement) - 1 : statement.end_lineno])
            found.extend(_split_imports(statement, text, label))
    return found


_TRANSFORMER = None


IPYTHON_LINE = re.compile(r"^\s*[!%?]|^[^#'\"\n]*=\s*[!%]|\?\s*$", re.MULTILINE)
"""A line IPython may rewrite: an escape (``!ls``, ``%time``, ``?name``), an assignment of
one (``x = !ls``), a help request (``name?``)."""

TRANSFORM_BUDGET = 2_000_000
"""IPython's transformer reads the whole cell again for each line it rewrites: the lines
that may be rewritten, times the cell's length, at most this (about a second); a cell past
it is not read (honest cells are far below: ten magics in 5,000 characters are 50,000)."""


class TooMuchIPython(ValueError):
    """A cell whose IPython syntax would take too long to read."""


def _as_python(source: str) -> str:
    global _TRANSFORMER
    rewritten = len(IPYTHON_LINE.findall(source))
    if rewritten * len(source) > TRANSFORM_BUDGET:
        raise TooMuchIPython(f"{rewritten} lines of IPython syntax in {len(source)} characters")
    if _TRANSFORMER is None:
        from IPython.core.inputtransformer2 import TransformerManager

        _TRANSFORMER = TransformerManager()
    return _TRANSFORMER.transform_cell(source)


def _ipython_call(node: ast.AST) -> tuple[str, list[str]] | None:
    """``(method, constant args)`` of ``get_ipython().method("...", ...)``, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner = node.func.value
    if not (
        isinstance(owner, ast.Call)
        and isinstance(owner.func, ast.Name)
        and owner.func.id == "get_ipython"
    ):
        return None
    args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
    if not all(isinstance(a, str) for a in args):
        return node.func.attr, []
    return node.func.attr, args


def _magic(call: tuple[str, list[str]], label: str, depth: int) -> list[_Raw] | None:
    """What a magic or shell command that stands as a statement leaves in the namespace."""
    method, args = call
    if method == "run_cell_magic" and len(args) == 3:
        name, line, body = args
        if name in ("time", "capture") and not _statement_on(line, name):
            return _read_cell(body, label, depth + 1)
        if name == "prun":
            return _read_cell(_prun_code(line, body), label, depth + 1)
        if name == "writefile":
            return _writefile(line, body, label)
        return []
    if method == "run_line_magic" and len(args) == 2:
        name, line = args
        if name == "time":
            statement = " ".join(_options_removed(line))
            return _read_cell(statement, label, depth + 1) if statement else []
        if name == "run":
            return _run(line, label)
        if name in UNREPLAYABLE:
            return [_Raw(label, lost=UNREPLAYABLE[name])]
    return []


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def _options_removed(line: str) -> list[str]:
    words = line.split()
    while words and words[0].startswith("-"):
        words.pop(0)
    return words


def _statement_on(line: str, magic: str) -> bool:
    """Whether a cell magic's line holds more than options (``%%time`` then refuses to run;
    ``%%capture`` takes one name)."""
    words = _options_removed(line)
    return len(words) > (1 if magic == "capture" else 0)


def _prun_code(line: str, body: str) -> str:
    """``%%prun``'s statement: its line without the options, then its body."""
    words = line.split()
    rest = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif not rest and word.startswith("-"):
            skip = len(word) == 2 and word[1] in "DlsT"
        else:
            rest.append(word)
    return " ".join(rest) + "\n" + body


def _module_name(path: str) -> str | None:
    path = path.removeprefix("./")
    if "/" in path or not path.endswith(".py"):
        return None
    name = path[:-3]
    return name if name.isidentifier() else None


def _writefile(line: str, body: str, label: str) -> list[_Raw]:
    words = _words(line)
    append = any(w in ("-a", "--append") for w in words)
    paths = [w for w in words if not w.startswith("-")]
    name = _module_name(paths[0]) if len(paths) == 1 else None
    if name is None:
        return []
    step = {"module": name, "source": body, "append": append}
    return [_Raw(label, step=step, binds=frozenset({PSEUDO + name}))]


def _run(line: str, label: str) -> list[_Raw]:
    words = [w for w in _words(line) if not w.startswith("-")]
    name = _module_name(words[0]) if words else None
    if name is None:
        return [_Raw(label, lost=UNREPLAYABLE["run"])]
    step = {"run": name}
    return [_Raw(label, step=step, uses=frozenset({PSEUDO + name}), wildcard=True)]


class _Cleaner(ast.NodeTransformer):
    """A statement without the IPython calls inside it: ``%time stmt`` becomes ``stmt``,
    ``x = %time expr`` becomes ``x = expr``, other magics and shell commands go."""

    def __init__(self) -> None:
        self.changed = False

    def clean(self, node: ast.stmt) -> list[tuple[ast.stmt, bool]] | None:
        if not any(_is_get_ipython(sub) for sub in ast.walk(node)):
            return [(node, False)]
        result = self.visit(node)
        found = result if isinstance(result, list) else [] if result is None else [result]
        if any(_is_get_ipython(sub) for s in found for sub in ast.walk(s)):
            return None
        for statement in found:
            _fill_empty_bodies(statement)
        return [(s, True) for s in found]

    def visit_Expr(self, node: ast.Expr) -> Any:
        call = _ipython_call(node.value)
        if call is None:
            return self.generic_visit(node)
        method, args = call
        if method == "run_line_magic" and len(args) == 2 and args[0] == "time":
            statement = " ".join(_options_removed(args[1]))
            tree = syntax_trees.parse(_as_python(statement)) if statement else ast.Module([], [])
            return [s for part in tree.body for s in _as_list(self.visit(part))]
        return None

    def _timed_value(self, node: ast.AST) -> ast.AST:
        value = getattr(node, "value", None)
        call = _ipython_call(value) if value is not None else None
        if call and call[0] == "run_line_magic" and len(call[1]) == 2 and call[1][0] == "time":
            expression = " ".join(_options_removed(call[1][1]))
            node.value = syntax_trees.parse(_as_python(expression).strip(), mode="eval").body
        return self.generic_visit(node)

    visit_Assign = visit_AnnAssign = visit_AugAssign = _timed_value


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _is_get_ipython(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "get_ipython"


def _fill_empty_bodies(node: ast.AST) -> None:
    for sub in ast.walk(node):
        body = getattr(sub, "body", None)
        if isinstance(body, list) and not body and not isinstance(sub, ast.Module):
            sub.body = [ast.Pass()]
        if isinstance(sub, ast.Try) and not sub.handlers and not sub.finalbody:
            sub.finalbody = [ast.Pass()]


def _shared_lines(body: list[ast.stmt]) -> set[int]:
    """Lines that hold more than one top-level statement (``a = 1; b = 2``)."""
    seen: dict[int, int] = {}
    for node in body:
        for line in {_first_line(node), node.end_lineno or node.lineno}:
            seen[line] = seen.get(line, 0) + 1
    return {line for line, count in seen.items() if count > 1}


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _assigned(node: ast.stmt) -> set[str]:
    names = set()
    for target in getattr(node, "targets", None) or [getattr(node, "target", None)]:
        for sub in ast.walk(target) if target is not None else ():
            if isinstance(sub, ast.Name):
                names.add(sub.id)
    return names
