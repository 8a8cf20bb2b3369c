"""What a submitted notebook's code reaches, found by reading it (it is never run here).

Two readings, both through any import alias (``import grader.api as g; g._record``,
``from autodiff import grad as g``):

``forbidden_uses``
    Does a task that says "implement this yourself" call the reference instead?  What the
    graded function reaches through its free names (the notebook's other functions and
    classes, the values it assigns to names) is searched for the forbidden ``autodiff``
    functions and modules, each name matched by the object it refers to (so a submodule's
    path or a star import finds them too).

``grading_reach``
    Does the student's code reach the hidden tests' channel?  The hidden tests run in the
    student's kernel and write their records there, so code that can get at the hidden
    cases, the reference answers or the record file can forge them.  Every code cell is
    read except the master's test cells (nbgrader restores those from the master).  Plain
    tampering that cannot forge records -- replacing ``grader.grade`` or the kernel's
    judge, reading a check's points -- is not a reach: what the kernel claims is never
    believed.  Code a reading cannot follow (``exec``, ``importlib``, shell commands,
    computed attribute names) is listed separately, for an instructor to look at.

A determined author can hide a call from any reading; this catches the ordinary routes.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from dataclasses import dataclass, field
from types import ModuleType

import nbformat

import grader
from grader.api import RECORD_VARIABLE, SALT_VARIABLE

# Names whose every mention reaches the hidden tests: their cases, seeds and records.
CHANNEL_NAMES = frozenset(
    {"hidden_cases", "seed_for", "_record", "RECORD_VARIABLE", "SALT_VARIABLE", "REGISTRY"}
)
CHANNEL_MODULES = ("grader.checks", "grader.collect", "grader.judge", "grader.plain")
ENVIRONMENT_NAMES = (RECORD_VARIABLE, SALT_VARIABLE)  # the record file, the hidden seeds
# What may be read of these modules: a check's description, the kernel verdict's classes.
CHECK_DESCRIPTION = frozenset({"name", "title", "equation", "points", "outputs"})
VERDICT_CLASSES = ("grader.judge.Verdict", "grader.judge.CaseResult")

DYNAMIC_BUILTINS = frozenset(
    {"exec", "eval", "compile", "__import__", "vars", "globals", "locals", "get_ipython"}
)
ATTRIBUTE_BUILTINS = frozenset({"getattr", "setattr", "delattr", "hasattr"})
DYNAMIC_MODULES = (
    "importlib",
    "sys.modules",
    "subprocess",
    "pty",
    "os.system",
    "os.popen",
    "ctypes",
    "inspect",
    "gc.get_objects",
    "gc.get_referents",
    "gc.get_referrers",
)
# A file name that holds Python code: code written to a module and imported is not read here.
PYTHON_FILE = re.compile(r"\.(py|pyw|pth|pyc)\s*$")
DYNAMIC_PREFIXES = ("os.exec", "os.spawn", "os.posix_spawn")
INTROSPECTION = frozenset(
    {
        "__builtins__",
        "__globals__",
        "__subclasses__",
        "__dict__",
        "__bases__",
        "__base__",
        "__mro__",
        "__code__",
        "__closure__",
        "__getattribute__",
        "__loader__",
        "__spec__",
    }
)
ENVIRONMENT_REMOVALS = frozenset({"clear", "pop", "popitem"})
HARMLESS_MAGICS = frozenset(
    {"matplotlib", "config", "time", "timeit", "capture", "precision", "pprint", "who", "whos"}
)

ENVIRONMENT_READS = ("os.environ", "os.environb", "os.getenv", "os.getenvb")
FILE_MODULES = ("io", "os", "codecs", "shutil", "numpy.save", "numpy.savetxt", "numpy.savez")
NOT_FILE_FUNCTIONS = (*ENVIRONMENT_READS, "os.path", "os.putenv")
FILE_METHODS = frozenset({"open", "write_text", "write_bytes", "tofile", "touch"})

# The same routes, as text: for strings (code handed to exec or a shell) and unreadable cells.
CHANNEL_TEXT = re.compile(
    "|".join(
        [
            *ENVIRONMENT_NAMES,
            r"\.reference\b",
            *(rf"\b{re.escape(module)}\b" for module in CHANNEL_MODULES),
            *(rf"\b{name}\b" for name in sorted(CHANNEL_NAMES)),
        ]
    )
)
SHELL_ASSIGNMENT = re.compile(r"^[ \t]*[\w., \t]+=[ \t]*[!%]", re.MULTILINE)
HELP_LINE = re.compile(r"^\s*(\?{1,2}[\w.]+|[\w.]+\?{1,2})\s*$")


@dataclass
class Reach:
    """How a notebook's code reaches the hidden tests (``channel``: its automatic points
    cannot be trusted) and what in it a reading cannot follow (``dynamic``)."""

    channel: list[str] = field(default_factory=list)
    dynamic: list[str] = field(default_factory=list)


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
    trees = [tree for cell in _code_cells(notebook) if (tree := _parse(cell.source))]
    aliases = _aliases(trees)
    definitions = _definitions(trees)
    targets = {entry: _resolve(entry) for entry in forbidden}
    found, todo, visited = set(), [function], set()
    while todo:
        name = todo.pop()
        if name in visited:
            continue
        visited.add(name)
        for definition in definitions.get(name, ()):
            for node in ast.walk(definition):
                if isinstance(node, (ast.Name, ast.Attribute)):
                    for dotted in _dotted(node, aliases):
                        found.update(e for e, t in targets.items() if _is_use_of(dotted, e, t))
            todo.extend(_free_names(definition) & definitions.keys())
    return sorted(found)


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


def _free_names(node: ast.AST) -> set[str]:
    """The names ``node`` reads but does not bind itself (for a function: less its
    parameters and local variables; a name bound anywhere inside counts as local)."""
    read, bound = set(), set()
    for part in ast.walk(node):
        if isinstance(part, ast.Name):
            (read if isinstance(part.ctx, ast.Load) else bound).add(part.id)
        elif isinstance(part, ast.arg):
            bound.add(part.arg)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
        return read - bound
    return read


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
    if dotted == entry or dotted.startswith(entry + "."):
        return True
    if target is None:
        return False
    found = _resolve(dotted)
    if found is None:
        return False
    if found is target:
        return True
    if isinstance(target, ModuleType):
        home = found.__name__ if isinstance(found, ModuleType) else getattr(found, "__module__", "")
        return isinstance(home, str) and _under(home, (target.__name__,))
    return False


def grading_reach(notebook: nbformat.NotebookNode, master: nbformat.NotebookNode) -> Reach:
    """How the code of ``notebook`` (a repaired submission) outside the test cells of
    ``master`` reaches the hidden tests' cases, references or records, and what in it
    cannot be followed by reading."""
    tests = {
        meta["grade_id"]
        for cell in master.cells
        if cell.cell_type == "code"
        and (meta := cell.metadata.get("nbgrader", {})).get("grade")
        and not meta.get("solution")
        and isinstance(meta.get("grade_id"), str)
    }
    channel: set[str] = set()
    dynamic: set[str] = set()
    read = []  # (source, tree) of every cell that parses
    for cell in _code_cells(notebook):
        if cell.metadata.get("nbgrader", {}).get("grade_id") in tests:
            continue
        python, magics = _split(cell.source)
        for line in magics:
            _read_magic(line, channel, dynamic)
        tree = _parse(cell.source)
        if tree is not None:
            read.append((cell.source, tree))
            continue
        channel.update(_text_routes(cell.source))  # the kernel cannot run it either, unless
        if SHELL_ASSIGNMENT.search(python):  # IPython syntax (``x = !ls``) hides in it
            dynamic.add("shell commands (!)")
    trees = [tree for _, tree in read]
    aliases = _aliases(trees)
    reader = _Reader(aliases, _defined_names(trees), _environment_names(trees, aliases))
    for source, tree in read:
        try:
            reader.visit(tree)
        except RecursionError:
            channel.update(_text_routes(source))
            dynamic.add("code nested too deeply to read")
    return Reach(sorted(channel | reader.channel), sorted(dynamic | reader.dynamic))


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
        return ast.parse(_split(source)[0])
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _read_magic(line: str, channel: set[str], dynamic: set[str]) -> None:
    channel.update(_text_routes(line))
    if line.startswith("!"):
        dynamic.add("shell commands (!)")
    elif line.startswith("%"):
        words = line.lstrip("%").split(maxsplit=1)
        name = words[0] if words else ""
        if name not in HARMLESS_MAGICS:
            dynamic.add(f"the %{name} magic")


def _text_routes(text: str) -> set[str]:
    return {match.group(0) for match in CHANNEL_TEXT.finditer(text)}


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


def _dotted(node: ast.AST, aliases: dict[str, set[str]]) -> set[str]:
    """The dotted names an attribute chain ``a.b.c`` (or a name) can refer to."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return set()
    return {".".join([base, *reversed(parts)]) for base in aliases.get(node.id, {node.id})}


def _canonical(dotted: str) -> str:
    """``dotted`` with the grader's re-exports followed (``grader.api.collect`` is
    ``grader.collect.collect``), looked up on the loaded modules, never imported."""
    parts = dotted.split(".")
    if parts[0] != "grader":
        return dotted
    found: object = grader
    for i, part in enumerate(parts[1:], start=1):
        found = getattr(found, part, None)
        if found is None:
            return dotted
        if isinstance(found, ModuleType):
            continue
        home, name = getattr(found, "__module__", None), getattr(found, "__qualname__", None)
        if isinstance(home, str) and isinstance(name, str) and home.startswith("grader"):
            return ".".join([home, name, *parts[i + 1 :]])
        return dotted
    return found.__name__ if isinstance(found, ModuleType) else dotted


def _under(dotted: str, prefixes: tuple[str, ...]) -> bool:
    return any(dotted == p or dotted.startswith(p + ".") for p in prefixes)


def _defined_names(trees: list[ast.Module]) -> set[str]:
    """Names the notebook defines itself (functions, classes, assignments)."""
    defined = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
    return defined


def _environment_names(trees: list[ast.Module], aliases: dict[str, set[str]]) -> set[str]:
    """Variables that hold something read from the environment, followed through
    assignments and loops (``a = os.environ; b = a[k]``: both)."""
    tainted: set[str] = set()
    feeds: dict[str, set[str]] = {}  # name -> the names assigned from it
    for tree in trees:
        for node in ast.walk(tree):
            for targets, value in _bindings(node):
                bound = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
                if _reads_environment(value, aliases, set()):
                    tainted |= bound
                for source in ast.walk(value):
                    if isinstance(source, ast.Name):
                        feeds.setdefault(source.id, set()).update(bound)
    todo = list(tainted)
    while todo:
        for name in feeds.get(todo.pop(), set()) - tainted:
            tainted.add(name)
            todo.append(name)
    return tainted


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


def _reads_environment(node: ast.AST, aliases: dict[str, set[str]], tainted: set[str]) -> bool:
    for part in ast.walk(node):
        if isinstance(part, ast.Name) and part.id in tainted:
            return True
        if isinstance(part, (ast.Name, ast.Attribute)) and any(
            _under(name, ENVIRONMENT_READS) for name in _dotted(part, aliases)
        ):
            return True
    return False


# -- The reader ---------------------------------------------------------------------------


class _Reader(ast.NodeVisitor):
    """Collects the grading-channel routes and the dynamic code of the trees it visits."""

    def __init__(self, aliases: dict[str, set[str]], defined: set[str], environment: set[str]):
        self.aliases = aliases
        self.defined = defined
        self.environment = environment
        self.channel: set[str] = set()
        self.dynamic: set[str] = set()

    # Imports: what is imported counts, not the act (``import grader.judge`` does nothing).
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._imported(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self._imported(f"{node.module}.{alias.name}" if node.module else alias.name)

    def _imported(self, dotted: str) -> None:
        self.channel.update(part for part in dotted.split(".") if part in CHANNEL_NAMES)
        self._dynamic_name(dotted)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in CHANNEL_NAMES:
            self.channel.add(node.id)
        if node.id in INTROSPECTION:
            self.dynamic.add(node.id)
        if node.id not in self.aliases and node.id not in self.defined:
            if node.id in DYNAMIC_BUILTINS:
                self.dynamic.add(f"{node.id}()")
            elif node.id in ATTRIBUTE_BUILTINS - {"hasattr"}:
                self.dynamic.add(f"{node.id}() with a computed name")
        for dotted in _dotted(node, self.aliases):
            self._referred(dotted, node.ctx)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain, base = [], node
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        self.channel.update(a for a in chain if a in CHANNEL_NAMES)
        if "reference" in chain:
            self.channel.add(".reference")
        self.dynamic.update(a for a in chain if a in INTROSPECTION)
        if node.attr in CHECK_DESCRIPTION and self._is_get_check_call(node.value):
            self._visit_arguments(node.value)  # get_check(name).points: a description
            return
        if not isinstance(base, ast.Name):
            self.visit(base)
            return
        if base.id in CHANNEL_NAMES:
            self.channel.add(base.id)
        for dotted in _dotted(node, self.aliases):
            self._referred(dotted, node.ctx)

    def visit_Call(self, node: ast.Call) -> None:
        builtin = self._builtin(node.func)
        if builtin in ATTRIBUTE_BUILTINS:
            if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                name = node.args[1].value
                if isinstance(name, str) and name.isidentifier():
                    ctx = ast.Load() if builtin in ("getattr", "hasattr") else ast.Store()
                    self.visit(ast.Attribute(value=node.args[0], attr=name, ctx=ctx))
                    for value in [*node.args[2:], *(k.value for k in node.keywords)]:
                        self.visit(value)
                    return
            if builtin == "hasattr":
                self._visit_arguments(node)
                return
        if self._opens_environment_file(node):
            self.channel.add("a file named by an environment variable")
        if self._removes_environment(node.func):
            self.dynamic.add("removes environment variables")
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Subscript) and _reads_environment(
                target.value, self.aliases, set()
            ):
                self.dynamic.add("removes environment variables")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self.channel.update(_text_routes(node.value))
            if PYTHON_FILE.search(node.value):
                self.dynamic.add(f"a Python file named in the code ({node.value.strip()[-60:]})")

    # -- helpers --

    def _referred(self, dotted: str, ctx: ast.expr_context) -> None:
        name = _canonical(dotted)
        self._dynamic_name(name)
        if not _under(name, CHANNEL_MODULES):
            return
        replaced = isinstance(ctx, (ast.Store, ast.Del))
        if _under(name, ("grader.judge",)) and (replaced or _under(name, VERDICT_CLASSES)):
            return  # the kernel's own verdict: never believed, so replacing it forges nothing
        self.channel.add(name)

    def _dynamic_name(self, dotted: str) -> None:
        if _under(dotted, DYNAMIC_MODULES) or dotted.startswith(DYNAMIC_PREFIXES):
            self.dynamic.add(dotted)
        elif dotted.startswith("builtins.") and dotted[9:] in DYNAMIC_BUILTINS | ATTRIBUTE_BUILTINS:
            self.dynamic.add(dotted)

    def _builtin(self, func: ast.AST) -> str | None:
        """The builtin a call's function names, if it names one."""
        if isinstance(func, ast.Name) and func.id not in self.aliases:
            return None if func.id in self.defined else func.id
        for name in _dotted(func, self.aliases):
            if name.startswith("builtins."):
                return name.removeprefix("builtins.")
        return None

    def _is_get_check_call(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Call) and any(
            _canonical(name) == "grader.checks.get_check"
            for name in _dotted(node.func, self.aliases)
        )

    def _visit_arguments(self, call: ast.Call) -> None:
        for value in [*call.args, *(k.value for k in call.keywords)]:
            self.visit(value)

    def _opens_environment_file(self, node: ast.Call) -> bool:
        """A file function or method given something read from the environment."""
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if isinstance(node.func, ast.Attribute) and node.func.attr in FILE_METHODS:
            arguments.append(node.func.value)
        elif not self._is_file_function(node.func):
            return False
        return any(_reads_environment(a, self.aliases, self.environment) for a in arguments)

    def _is_file_function(self, func: ast.AST) -> bool:
        if self._builtin(func) == "open":
            return True
        return any(
            _under(name, FILE_MODULES) and not _under(name, NOT_FILE_FUNCTIONS)
            for name in map(_canonical, _dotted(func, self.aliases))
        )

    def _removes_environment(self, func: ast.AST) -> bool:
        if isinstance(func, ast.Attribute) and func.attr in ENVIRONMENT_REMOVALS:
            return _reads_environment(func.value, self.aliases, set())
        return any(name == "os.unsetenv" for name in _dotted(func, self.aliases))
