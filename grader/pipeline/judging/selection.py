"""What a grading run executes of a submission: the statements its graded functions need,
in notebook order, with the graded calls where the notebook has its test cells.

A grading run does not replay the whole notebook (its figures, timings and training runs
cost seconds and grade nothing): of the statements before the last graded call, it keeps
every top-level one that binds or changes a name the graded functions need, and then what
those statements need in turn, wherever they stand before the call (a function finds its
globals when it is called).  The test cells themselves are never run (they are the
course's).  The submission's code is parsed here, never run.

The notebook is rebuilt the way IPython ran it:

- IPython syntax is turned into Python as IPython does; a cell magic that runs its body in
  the user namespace (``%%time``, ``%%capture``, ``%%prun``) gives the statements of its
  body, ``%time stmt`` gives ``stmt``; ``%%timeit`` (whose body runs in a function), other
  magics and shell commands are left out.  ``%%writefile name.py`` is kept as a module
  that a later ``import name`` (or ``%run name.py``) finds.
- a name is bound by assignments, definitions and imports; a statement also *changes* an
  object when it sets an item or attribute of it, calls one of its methods as a statement
  (``REGISTRY.update(...)``, ``funcs.append(f)``) or a method that mutates
  (``d.setdefault(...)`` anywhere), passes it to ``setattr``, or calls a function of the
  notebook that changes it (a registering decorator, a ``global`` assignment).  Star
  imports, ``globals()[...] = ...`` and ``exec`` bind names nobody spells: they are taken
  when a needed name is bound nowhere else.
  A method called on an imported module (``np.random.seed(0)``, ``plt.plot(...)``) changes
  nothing the selection follows.
- an import of several names becomes one statement per name, each with a ``fallback``:
  where the name cannot be imported (the task forbids it, or the module was a file the
  notebook wrote), the grading run binds a stand-in that fails, when used, saying why.

Names are read with ``symtable``: a function's parameters and locals are its own, a name
it reads from the module (now or when called) is a use, unless the statement binds it
before reading it (a loop variable, a ``with`` target).  A cell that cannot be parsed is a
problem; so is a needed name that only IPython syntax the grading run cannot replay binds.
"""

from __future__ import annotations

import ast
import builtins
import shlex
import symtable
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import nbformat

from grader.checks.forbidden import forbidden
from grader.pipeline.course import Assignment, GradedItem
from grader.pipeline.judging.reading import free_names

BODY_MAGICS = ("time", "capture", "prun")  # cell magics that run their body in the namespace
MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "update",
        "setdefault",
        "add",
        "pop",
        "popitem",
        "remove",
        "discard",
        "clear",
        "sort",
        "reverse",
        "register",
        "__setitem__",
        "__delitem__",
        "__setattr__",
    }
)
NAMESPACE_CALLS = ("globals", "vars", "locals")
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
PSEUDO = "module:"  # the pseudo name a module written by %%writefile binds


@dataclass(frozen=True)
class Statement:
    source: str
    label: str
    binds: frozenset[str]
    uses: frozenset[str]
    wildcard: bool = False  # binds names it does not spell (star import, globals()[...])
    step: dict[str, Any] = field(default_factory=dict, compare=False)  # the step, if not code
    always: bool = False  # kept whatever is needed (``from __future__ import ...``)
    # names it changes only by calling the notebook's functions, with those functions: when
    # the graded functions call them too, replaying the call adds nothing they do not redo
    through: tuple[tuple[str, frozenset[str]], ...] = ()

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
        raws = _read_cell(str(cell.source), f"cell {number}")
        if raws is None:
            problems.append(f"cell {number} is not valid Python: the grading run left it out")
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


def _forbidden(items: list[GradedItem]) -> list[str]:
    names: set[str] = set()
    for item in items:
        try:
            names.update(forbidden(item.check))
        except KeyError:
            pass
    return sorted(names)


def _choose(sequence: list[Statement | GradedItem]) -> tuple[set[int], set[str]]:
    """The indices of the entries to run, and the needed names nothing binds."""
    needed = {e.function for e in sequence if isinstance(e, GradedItem)}
    chosen = {i for i, e in enumerate(sequence) if isinstance(e, GradedItem)}
    statements = [(i, e) for i, e in enumerate(sequence) if isinstance(e, Statement)]
    chosen |= {i for i, e in statements if e.always}
    bound = set().union(*(e.binds for _, e in statements))
    while True:  # a function finds its globals when it is called: any earlier binding counts
        grown = False
        for i, entry in statements:
            if i not in chosen and entry.changes(needed):
                chosen.add(i)
                needed |= entry.uses
                grown = True
        unresolved = {n for n in needed - bound - KNOWN if not n.startswith(PSEUDO)}
        if not grown and unresolved:
            for i, entry in statements:
                if i not in chosen and entry.wildcard:
                    chosen.add(i)
                    needed |= entry.uses
                    grown = True
        if not grown:
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


# -- Reading a cell -------------------------------------------------------------------------


def _read_cell(source: str, label: str, depth: int = 0) -> list[_Raw] | None:
    """The top-level statements of a cell as IPython runs it; None if it does not parse."""
    if depth > 20:
        return []
    try:
        python = _as_python(source)
        tree = ast.parse(python)
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


def _as_python(source: str) -> str:
    global _TRANSFORMER
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
            tree = ast.parse(_as_python(statement)) if statement else ast.Module([], [])
            return [s for part in tree.body for s in _as_list(self.visit(part))]
        return None

    def _timed_value(self, node: ast.AST) -> ast.AST:
        value = getattr(node, "value", None)
        call = _ipython_call(value) if value is not None else None
        if call and call[0] == "run_line_magic" and len(call[1]) == 2 and call[1][0] == "time":
            expression = " ".join(_options_removed(call[1][1]))
            node.value = ast.parse(_as_python(expression).strip(), mode="eval").body
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


def _split_imports(node: ast.stmt, text: str, label: str) -> list[_Raw]:
    """One statement per imported name, each with the stand-in to bind if it fails."""
    if isinstance(node, ast.Import):
        found = []
        for alias in node.names:
            single = ast.Import([alias])
            bound = alias.asname or alias.name.split(".")[0]
            path = alias.name if alias.asname else bound
            fallback = [[bound, path, alias.name]]
            code = text if len(node.names) == 1 else ast.unparse(single)
            step = {"code": code, "fallback": fallback}
            found.append(_Raw(label, single, code, step=step))
        return found
    if isinstance(node, ast.ImportFrom) and node.module != "__future__" and not node.level:
        found = []
        for alias in node.names:
            single = ast.ImportFrom(node.module, [alias], 0)
            code = text if len(node.names) == 1 else ast.unparse(single)
            if alias.name == "*":
                step = {"code": code, "fallback": []}
            else:
                path = f"{node.module}.{alias.name}"
                step = {"code": code, "fallback": [[alias.asname or alias.name, path, path]]}
            found.append(_Raw(label, single, code, step=step))
        return found
    return [_Raw(label, node, text)]


# -- Reading the notebook -------------------------------------------------------------------


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
            sequence.append(_statement(entry, imported, mutators))
    return sequence


def _statement(raw: _Raw, imported: set[str], mutators: dict[str, set[str]]) -> Statement:
    node = raw.node
    binds, uses = _names(raw.text, node)
    changed, wildcard, through = _changes(node, imported, mutators)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        top = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name) or ""
        uses = uses | {PSEUDO + top.split(".")[0]}
        wildcard = wildcard or any(alias.name == "*" for alias in node.names)
    step = raw.step if raw.step and "fallback" in raw.step else {}
    future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
    return Statement(
        raw.text,
        raw.label,
        frozenset(binds | changed),
        frozenset(uses),
        wildcard,
        step,
        future,
        tuple((name, frozenset(functions)) for name, functions in through.items()),
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


def _root(node: ast.AST) -> ast.AST:
    """The object at the bottom of ``a.b[c].d(...)`` (or the ``globals()`` call)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call, ast.Starred)):
        if _namespace_call(node):
            return node
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _namespace_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in NAMESPACE_CALLS
        and not node.args
    )


def _changes(
    node: ast.AST, imported: set[str], mutators: dict[str, set[str]], local: set[str] = frozenset()
) -> tuple[set[str], bool, dict[str, set[str]]]:
    """The names whose objects ``node`` changes when it runs itself, whether it binds names
    it does not spell (``globals()[name] = ...``, ``exec``), and the names it changes by
    calling the notebook's functions (``mutators``), with those functions."""
    changed: set[str] = set()
    through: dict[str, set[str]] = {}
    wildcard = False
    parts = list(_evaluated(node))
    statement_calls = {id(p.value) for p in parts if isinstance(p, ast.Expr)}
    decorators = [
        d
        for p in parts
        if isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        for d in p.decorator_list
    ]
    for part in parts:
        if isinstance(part, (ast.Attribute, ast.Subscript)) and isinstance(
            part.ctx, (ast.Store, ast.Del)
        ):
            root = _root(part.value)
            if isinstance(root, ast.Name) and root.id not in local:
                changed.add(root.id)
            elif _namespace_call(root):
                key = part.slice if isinstance(part, ast.Subscript) else None
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    changed.add(key.value)
                else:
                    wildcard = True
        elif isinstance(part, ast.Call):
            function = part.func
            if isinstance(function, ast.Attribute):
                root = _root(function.value)
                mutating = function.attr in MUTATING_METHODS or id(part) in statement_calls
                if (
                    mutating
                    and isinstance(root, ast.Name)
                    and root.id not in imported
                    and root.id not in local
                ):
                    changed.add(root.id)
                elif _namespace_call(root) and function.attr in MUTATING_METHODS:
                    wildcard = True
            elif isinstance(function, ast.Name):
                if function.id in ("setattr", "delattr") and part.args:
                    target = _root(part.args[0])
                    if isinstance(target, ast.Name) and target.id not in local:
                        changed.add(target.id)
                elif function.id == "exec":
                    wildcard = True
                for name in mutators.get(function.id, set()):
                    through.setdefault(name, set()).add(function.id)
    for decorator in decorators:
        root = _root(decorator)
        if isinstance(root, ast.Name):
            for name in mutators.get(root.id, set()):
                through.setdefault(name, set()).add(root.id)
    return changed, wildcard, through


def _mutators(nodes: list[ast.stmt], imported: set[str]) -> dict[str, set[str]]:
    """The notebook's functions that change module-level objects when called (through a
    ``global`` assignment, an item or attribute set, a method call), and those objects."""
    functions = [
        sub
        for node in nodes
        for sub in _evaluated(node)
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    direct: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for function in functions:
        declared = {
            name
            for sub in ast.walk(function)
            if isinstance(sub, (ast.Global, ast.Nonlocal))
            for name in sub.names
        }
        local = {a.arg for a in ast.walk(function) if isinstance(a, ast.arg)}
        for sub in ast.walk(function):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                local.add(sub.id)
            elif sub is not function and isinstance(
                sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            ):
                local.add(sub.name)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                local.update(a.asname or a.name.split(".")[0] for a in sub.names)
        local -= declared
        changed = set(declared)
        body_calls: set[str] = set()
        for statement in function.body:
            more, _, _ = _changes(statement, imported, {}, local)
            changed |= more
            body_calls |= {
                sub.func.id
                for sub in ast.walk(statement)
                if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name)
            }
        # a decorator factory's inner function changes what the factory's caller changes
        for sub in ast.walk(function):
            if sub is not function and isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for statement in sub.body:
                    more, _, _ = _changes(statement, imported, {}, local)
                    changed |= more
        direct.setdefault(function.name, set()).update(changed)
        calls.setdefault(function.name, set()).update(body_calls)
    grown = True
    while grown:
        grown = False
        for name, called in calls.items():
            for other in called:
                extra = direct.get(other, set()) - direct[name]
                if extra:
                    direct[name] |= extra
                    grown = True
    return {name: changed for name, changed in direct.items() if changed}
