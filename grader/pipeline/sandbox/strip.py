"""A copy of a package without some of its modules and definitions, and without whatever
needs them: the build of ``autodiff`` that a task to implement oneself is graded with.

Given dotted names (a module, a module-level function, class or assignment, or a method
``Class.method``; a package's re-exports are followed to where the name is defined), the
copy leaves out those modules and definitions, then, until nothing changes, every
definition that uses one of them (a function body, a class, a method, an assignment), every
import of one, and every ``__all__`` entry naming one.  What is left imports and works;
what is gone is not on disk, so no route reaches it.  Removed statements become blank lines
(line numbers in tracebacks stay those of the original source).

Where something went, the copy says so: each module that lost names (or, for a package,
submodules) gets a module-level ``__getattr__`` that raises ``NotAvailableError`` (an
``AttributeError``) for them, saying that the name is not available where the task is
graded and which task asks to work without it (the grading run names its task in
``GRADER_TASK``); a class that lost methods gets an instance ``__getattr__`` that does the
same.  (``NotAvailableError`` goes by the name of its base: graded feedback names only
Python's own errors.)  Both are defined in ``<package>._unavailable``, a module of the copy.
"""

from __future__ import annotations

import ast
import shutil
import symtable
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from grader.pipeline import syntax_trees
from grader.sandboxed.replay import TASK_VARIABLE

UNAVAILABLE = "_unavailable"  # the module of a stripped copy that says what it leaves out
UNAVAILABLE_MODULE = '''"""What this build leaves out, and the error that says so.

This copy of the package is the one a task to implement yourself is graded with: what the
task forbids (and whatever needs it) is not here.  Written by grader.pipeline.sandbox.strip.
"""

import os


class NotAvailableError(AttributeError):
    """A name this build leaves out, because the task graded with it forbids it (named
    after its built-in base, which graded feedback may name)."""

    grader_unavailable = True


NotAvailableError.__name__ = NotAvailableError.__qualname__ = "AttributeError"


def message(path):
    tasks = [t for t in os.environ.get("TASK_VARIABLE_NAME", "").split(",") if t]
    if len(tasks) == 1:
        why = f"Task `{tasks[0]}` asks you to work without it"
    elif tasks:
        why = "Tasks " + ", ".join(f"`{t}`" for t in tasks) + " ask you to work without it"
    else:
        why = "the task graded here asks you to work without it"
    return f"{path} is not available where this task is graded: {why}"


def module_getattr(module, removed):
    removed = frozenset(removed)

    def __getattr__(name):
        if name in removed:
            raise NotAvailableError(message(f"{module}.{name}"), name=name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}", name=name)

    return __getattr__


def instance_getattr(owner, removed):
    removed = frozenset(removed)
    short = owner.rpartition(".")[2]

    def __getattr__(self, name):
        if name in removed:
            raise NotAvailableError(message(f"{owner}.{name}"), name=name, obj=self)
        raise AttributeError(f"{short!r} object has no attribute {name!r}", name=name, obj=self)

    return __getattr__
'''


@dataclass
class _Module:
    name: str
    path: Path
    source: str
    tree: ast.Module
    is_package: bool
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> dotted target
    dead: set[str] = field(default_factory=set)  # module-level names bound to what is gone
    removed_lines: set[int] = field(default_factory=set)
    replaced: dict[int, tuple[int, str]] = field(default_factory=dict)  # start -> (end, text)


@dataclass
class Stripped:
    """What was left out: modules, and definitions as ``module:qualname``."""

    modules: list[str]
    definitions: list[str]


def strip_package(root: Path, package: str, names: Iterable[str], dest: Path) -> Stripped:
    """Copy package ``package`` (the folder ``root``) to ``dest/<package>`` without the
    names of ``names`` that belong to it (others are ignored), nor what needs them."""
    modules = _read(root, package)
    wanted = [n for n in names if n == package or n.startswith(package + ".")]
    gone_modules: set[str] = set()
    gone: set[tuple[str, str]] = set()
    for name in wanted:
        if name in modules:
            gone_modules.add(name)
        else:
            gone.add(_origin(modules, name))
    gone_modules |= {m for m in modules if any(m.startswith(g + ".") for g in gone_modules)}

    changed = True
    while changed:
        changed = False
        for module in modules.values():
            if module.name not in gone_modules:
                changed |= _sweep(module, modules, gone_modules, gone)

    out = dest / package
    if out.exists():
        shutil.rmtree(out)
    for module in modules.values():
        if module.name in gone_modules:
            continue
        target = out / module.path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        said = _said_missing(module, package, gone_modules, gone)
        target.write_text(_render(module) + said, encoding="utf-8")
    if gone_modules or gone:
        (out / f"{UNAVAILABLE}.py").write_text(
            UNAVAILABLE_MODULE.replace("TASK_VARIABLE_NAME", TASK_VARIABLE), encoding="utf-8"
        )
    return Stripped(sorted(gone_modules), sorted(f"{m}:{q}" for m, q in gone))


def _said_missing(
    module: _Module, package: str, gone_modules: set[str], gone: set[tuple[str, str]]
) -> str:
    """The lines that make ``module`` say which of its names are left out, if any."""
    names = {q for m, q in gone if m == module.name and "." not in q} | module.dead
    if module.is_package:
        names |= {g.rpartition(".")[2] for g in gone_modules if g.rpartition(".")[0] == module.name}
    helper = f'__import__("{package}.{UNAVAILABLE}", fromlist=["_"])'
    lines = []
    if names and not _defines(module.tree, "__getattr__"):
        lines.append(
            f"__getattr__ = {helper}.module_getattr(__name__, {sorted(names)!r})  "
            f"# what this build leaves out"
        )
    methods: dict[str, set[str]] = {}
    for m, qualname in gone:
        owner, _, method = qualname.partition(".")
        if m == module.name and method and "." not in method and owner not in names:
            methods.setdefault(owner, set()).add(method)
    for owner, removed in sorted(methods.items()):
        node = next(
            (n for n in module.tree.body if isinstance(n, ast.ClassDef) and n.name == owner), None
        )
        if node is None or _removed(module, node) or _defines(node, "__getattr__"):
            continue
        lines.append(
            f"{owner}.__getattr__ = {helper}.instance_getattr(__name__ + '.{owner}', "
            f"{sorted(removed)!r})  # what this build leaves out"
        )
    return "".join(line + "\n" for line in lines)


def _defines(node: ast.Module | ast.ClassDef, name: str) -> bool:
    return any(
        (isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name)
        or name in _bound(n)
        for n in node.body
    )


def _read(root: Path, package: str) -> dict[str, _Module]:
    modules = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).with_suffix("")
        parts = [package, *relative.parts]
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        source = path.read_text(encoding="utf-8")
        name = ".".join(parts)
        modules[name] = _Module(name, path, source, syntax_trees.parse(source), is_package)
        modules[name].aliases = _aliases(modules[name])
    return modules


def _absolute(module: _Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.name.split(".")
    base = base if module.is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _aliases(module: _Module) -> dict[str, str]:
    """Module-level names bound by imports, to the dotted path they refer to."""
    aliases = {}
    for node in module.tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:
                if alias.name != "*":
                    aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
    return aliases


def _origin(modules: dict[str, _Module], dotted: str) -> tuple[str, str]:
    """``(module, qualname)`` where ``dotted`` is defined, following re-exports."""
    for _ in range(20):
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            if module in modules:
                first, rest = parts[cut], parts[cut + 1 :]
                target = modules[module].aliases.get(first)
                if target is None:
                    return module, ".".join([first, *rest])
                dotted = ".".join([target, *rest])
                break
        else:
            raise KeyError(f"{dotted} is not in the package")
        if dotted in modules:
            raise KeyError(f"{dotted} is a module: name it as one")
    raise KeyError(f"{dotted}: too many re-exports")


def _is_gone(
    dotted: str,
    modules: dict[str, _Module],
    gone_modules: set[str],
    gone: set[tuple[str, str]],
) -> bool:
    """Whether the dotted path refers to something left out (or inside it)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in gone_modules:
            return True
        if prefix in modules:
            rest = parts[cut:]
            if not rest:
                return False
            module = modules[prefix]
            if rest[0] in module.dead:
                return True
            for depth in range(len(rest), 0, -1):
                if (prefix, ".".join(rest[:depth])) in gone:
                    return True
            target = module.aliases.get(rest[0])
            if target is not None and target != dotted:
                return _is_gone(".".join([target, *rest[1:]]), modules, gone_modules, gone)
            return False
    return False


def _sweep(
    module: _Module,
    modules: dict[str, _Module],
    gone_modules: set[str],
    gone: set[tuple[str, str]],
) -> bool:
    """Leave out of ``module`` what uses something gone; True if anything new went."""
    before = (len(module.dead), len(module.removed_lines), len(module.replaced), len(gone))
    table = symtable.symtable(module.source, str(module.path), "exec")
    children = {(t.get_name(), t.get_lineno()): t for t in table.get_children()}

    def dead_name(name: str) -> bool:
        if name in module.dead:
            return True
        target = module.aliases.get(name)
        return target is not None and _is_gone(target, modules, gone_modules, gone)

    def uses_dead(node: ast.AST, scope: symtable.SymbolTable | None) -> bool:
        names = _global_names(scope) if scope is not None else set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and scope is None:
                names.add(sub.id)
            if isinstance(sub, ast.Attribute):
                chain = _chain(sub)
                if chain and chain[0] in module.aliases:
                    target = ".".join([module.aliases[chain[0]], *chain[1:]])
                    if _is_gone(target, modules, gone_modules, gone):
                        return True
        return any(dead_name(n) for n in names)

    for node in module.tree.body:
        if _removed(module, node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            _sweep_import(module, node, modules, gone_modules, gone)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope = children.get((node.name, node.lineno)) or children.get(
                (node.name, _first_line(node))
            )
            header = [*node.decorator_list]
            if isinstance(node, ast.ClassDef):
                header += [*node.bases, *(k.value for k in node.keywords)]
            else:
                header += [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            if (
                (module.name, node.name) in gone
                or any(uses_dead(h, None) for h in header)
                or (not isinstance(node, ast.ClassDef) and uses_dead(node, scope))
            ):
                _remove(module, node)
                module.dead.add(node.name)
                gone.add((module.name, node.name))
            elif isinstance(node, ast.ClassDef):
                _sweep_class(module, node, scope, gone, uses_dead)
        elif _is_all(node):
            _filter_all(module, node, dead_name)
        elif uses_dead(node, None):
            _remove(module, node)
            for target in _bound(node):
                module.dead.add(target)
                gone.add((module.name, target))
    after = (len(module.dead), len(module.removed_lines), len(module.replaced), len(gone))
    return after != before


def _sweep_class(module, node: ast.ClassDef, scope, gone, uses_dead) -> None:
    methods = {}
    if scope is not None:
        methods = {(t.get_name(), t.get_lineno()): t for t in scope.get_children()}
    kept = 0
    for item in node.body:
        if _removed(module, item):
            continue
        qualname = None
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            qualname = f"{node.name}.{item.name}"
            table = methods.get((item.name, item.lineno)) or methods.get(
                (item.name, _first_line(item))
            )
            if (module.name, qualname) in gone or uses_dead(item, table):
                _remove(module, item)
                gone.add((module.name, qualname))
                continue
        elif uses_dead(item, None):
            _remove(module, item)
            continue
        kept += 1
    if kept == 0:
        first = node.body[0]
        indent = " " * first.col_offset
        module.replaced[_first_line(first)] = (_first_line(first), f"{indent}pass")


def _sweep_import(module, node, modules, gone_modules, gone) -> None:
    kept = []
    for alias in node.names:
        if isinstance(node, ast.Import):
            target = alias.name
            bound = alias.asname or alias.name.split(".")[0]
        else:
            source = _absolute(module, node)
            if alias.name == "*":
                if _is_gone(source, modules, gone_modules, gone):
                    continue
                kept.append(alias)
                continue
            target, bound = f"{source}.{alias.name}", alias.asname or alias.name
        if _is_gone(target, modules, gone_modules, gone):
            if alias.asname or isinstance(node, ast.ImportFrom):
                module.dead.add(bound)
            continue
        kept.append(alias)
    if len(kept) == len(node.names):
        return
    if not kept:
        _remove(module, node)
        return
    copy = (
        ast.ImportFrom(node.module, kept, node.level)
        if isinstance(node, ast.ImportFrom)
        else (ast.Import(kept))
    )
    text = " " * node.col_offset + ast.unparse(copy)
    start, end = _first_line(node), node.end_lineno or node.lineno
    module.replaced[start] = (end, text)
    module.removed_lines.update(range(start + 1, end + 1))


def _is_all(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["__all__"]
        and isinstance(node.value, (ast.List, ast.Tuple))
    )


def _filter_all(module: _Module, node: ast.Assign, dead_name) -> None:
    entries = [e for e in node.value.elts if isinstance(e, ast.Constant)]
    keep = [e for e in entries if not dead_name(str(e.value))]
    if len(keep) == len(entries):
        return
    text = "__all__ = [" + ", ".join(repr(e.value) for e in keep) + "]"
    start, end = _first_line(node), node.end_lineno or node.lineno
    module.replaced[start] = (end, text)
    module.removed_lines.update(range(start + 1, end + 1))


def _global_names(scope: symtable.SymbolTable) -> set[str]:
    """Names a function or class body (and everything nested in it) takes from the module."""
    names: set[str] = set()
    stack = [scope]
    while stack:
        table = stack.pop()
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (symbol.is_global() or symbol.is_free()):
                names.add(symbol.get_name())
        stack.extend(table.get_children())
    return names


def _chain(node: ast.Attribute) -> list[str]:
    parts = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return []
    return [current.id, *reversed(parts)]


def _bound(node: ast.stmt) -> list[str]:
    names = []
    targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
    for target in targets:
        for sub in ast.walk(target) if target is not None else ():
            if isinstance(sub, ast.Name):
                names.append(sub.id)
    return names


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _removed(module: _Module, node: ast.stmt) -> bool:
    return _first_line(node) in module.removed_lines


def _remove(module: _Module, node: ast.stmt) -> None:
    start, end = _first_line(node), node.end_lineno or node.lineno
    module.removed_lines.update(range(start, end + 1))
    module.replaced.pop(start, None)


def _render(module: _Module) -> str:
    lines = module.source.splitlines()
    out = []
    for number, line in enumerate(lines, 1):
        if number in module.replaced:
            out.append(module.replaced[number][1])
        elif number in module.removed_lines:
            out.append("")
        else:
            out.append(line)
    return "\n".join(out) + "\n"
