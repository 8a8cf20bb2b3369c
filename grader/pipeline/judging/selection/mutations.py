"""Mutations: the objects a statement changes without binding their names (an item or
attribute set, a method called on the object anywhere in the statement unless it only reads,
a class statement whose bases may register it, ``setattr``, an argument a library function
fills in place, ``out=``), the names it binds without spelling them (``globals()[...]``,
``exec``), and the notebook's functions that change module-level objects when called
(``global`` setters, registering decorators)."""

from __future__ import annotations

import ast
import builtins

from grader.pipeline.judging.selection.common import _evaluated

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

READING_METHODS = frozenset(
    {
        # arrays and numbers
        *("all", "any", "argmax", "argmin", "astype", "copy", "cumsum", "dot", "flatten"),
        *("item", "max", "mean", "min", "nonzero", "prod", "ravel", "reshape", "round"),
        *("std", "sum", "tolist", "transpose", "var", "conjugate", "is_integer"),
        # mappings, sequences and strings
        *("get", "keys", "values", "items", "count", "index", "format", "join", "split"),
        *("strip", "lower", "upper", "replace", "startswith", "endswith"),
        # draws of a random generator: they move its state, but no grade depends on which
        # numbers an earlier cell drew (``x = rng.normal(size=3)`` is not replayed for them)
        *("normal", "standard_normal", "uniform", "random", "integers", "choice", "randn"),
        *("rand", "randint", "permutation", "binomial", "poisson", "exponential"),
        *("multivariate_normal", "laplace", "gamma", "beta", "bytes"),
    }
)
"""Methods that only read their object, or draw from a random generator: a call of one in
an expression (``print(W.sum())``, ``T.get("tanh")``, ``rng.normal(size=3)``) does not make
the statement a change of the object.  Any other method called on a notebook object,
anywhere in a statement (``print(cfg.use("tanh"))``, a decorator ``@Rules.rule("tanh")``),
may change it: such a statement is replayed when the object is needed."""

BUILTIN_NAMES = frozenset(dir(builtins))

SETTING_CALLS = frozenset(
    {"setrecursionlimit", "seed", "seterr", "set_printoptions", "filterwarnings", "simplefilter"}
)
"""Functions of a module whose call changes the interpreter's or a library's state
(``sys.setrecursionlimit``, ``np.random.seed``, ``warnings.filterwarnings``, ...): such a
call made as a statement of its own is always replayed, as every later statement ran after
it (one inside a loop or a block is not: the whole block would be replayed, an experiment
with it)."""

IN_PLACE_FUNCTIONS = frozenset(
    {
        # NumPy: np.copyto(T, ...), np.fill_diagonal(M, 0), np.add.at(T, i, 1), ...
        "copyto",
        "fill_diagonal",
        "put",
        "put_along_axis",
        "place",
        "putmask",
        "at",
        # the standard library, and random generators: random.shuffle(x), rng.shuffle(x)
        "shuffle",
        "heapify",
        "heappush",
        "heappop",
        "heappushpop",
        "heapreplace",
        "insort",
        "insort_left",
        "insort_right",
        "setitem",
        "delitem",
    }
)
"""Functions, however reached (``np.copyto``, ``from numpy import copyto``, a generator's
method), that change their first argument in place; any call's ``out=`` changes its value
too."""


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
    node: ast.AST,
    imported: set[str],
    mutators: dict[str, set[str]],
    local: set[str] = frozenset(),
    fillers: dict[str, tuple[int | str, ...]] | None = None,
) -> tuple[set[str], bool, dict[str, set[str]]]:
    """The names whose objects ``node`` changes when it runs itself (with the arguments it
    passes to the notebook's functions that fill them, ``fillers``), whether it binds names
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
        if (
            isinstance(part, ast.AugAssign)
            and isinstance(part.target, ast.Name)
            and part.target.id not in local
        ):  # ``s *= 2`` changes an array or a list in place
            changed.add(part.target.id)
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
                mutating = function.attr not in READING_METHODS or id(part) in statement_calls
                if (
                    mutating
                    and isinstance(root, ast.Name)
                    and _notebook_name(root.id, imported, local)
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
                for argument in _filled_arguments(part, (fillers or {}).get(function.id, ())):
                    root = _plain_root(argument)
                    if root is not None and root not in local | imported:
                        changed.add(root)
            for argument in _filled_in_place(part):
                root = _root(argument)
                if isinstance(root, ast.Name) and root.id not in local | imported:
                    changed.add(root.id)
    for part in parts:  # a base's __init_subclass__ (or a metaclass) may register the class
        if isinstance(part, ast.ClassDef):
            for base in (*part.bases, *(k.value for k in part.keywords)):
                root = _root(base)
                if isinstance(root, ast.Name) and _notebook_name(root.id, imported, local):
                    changed.add(root.id)
    for decorator in decorators:
        root = _root(decorator)
        if isinstance(root, ast.Name):
            for name in mutators.get(root.id, set()):
                through.setdefault(name, set()).add(root.id)
    return changed, wildcard, through


def _notebook_name(name: str, imported: set[str], local: set[str]) -> bool:
    """Whether ``name`` may hold an object of the notebook's own (not a module, a built-in
    or a local variable of the function being read)."""
    return name not in imported and name not in local and name not in BUILTIN_NAMES


def changes_settings(node: ast.AST, imported: set[str]) -> bool:
    """Whether the statement ``node`` is a call of a module's function of
    ``SETTING_CALLS``."""
    call = node.value if isinstance(node, ast.Expr) else None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
        return False
    root = _root(call.func.value)
    return call.func.attr in SETTING_CALLS and isinstance(root, ast.Name) and root.id in imported


def aliases(node: ast.AST) -> list[tuple[str, str]]:
    """``(alias, name)`` for each name an assignment makes another name for an object
    of: ``table = ACTIVATIONS``, ``rules = Rules.table``, ``A = B = {}`` (each of ``A`` and
    ``B`` for the other), a loop's variables that its body changes for what it walks
    (``for i, row in enumerate(TABLE): row[i] = 1``).  A change through the alias changes
    what the name holds."""
    if isinstance(node, (ast.For, ast.AsyncFor)):
        walked = {
            sub.id
            for sub in ast.walk(node.iter)
            if isinstance(sub, ast.Name)
            and isinstance(sub.ctx, ast.Load)
            and sub.id not in BUILTIN_NAMES
        }
        changed, _, _ = _changes(ast.Module(body=node.body, type_ignores=[]), set(), {})
        targets = {
            sub.id
            for sub in ast.walk(node.target)
            if isinstance(sub, ast.Name) and sub.id in changed
        }
        return [(target, name) for target in sorted(targets) for name in sorted(walked)]
    if not isinstance(node, ast.Assign):
        return []
    targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
    found = [(a, b) for a in targets for b in targets if a != b]
    root = _plain_root(node.value)
    if root is not None:
        found += [(target, root) for target in targets if target != root]
    return found


def _filled(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The names whose objects ``function``'s body fills: an item or attribute set or
    deleted on them, a mutating method called on them, ``name += ...``."""
    found = set()
    for sub in ast.walk(function):
        if isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(
            sub.ctx, (ast.Store, ast.Del)
        ):
            found.add(_plain_root(sub.value))
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
            if sub.func.attr in MUTATING_METHODS:
                found.add(_plain_root(sub.func.value))
        elif isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name):
            found.add(sub.target.id)
    return found - {None}


def _plain_root(node: ast.AST) -> str | None:
    """The name at the bottom of ``a.b[c]`` (not through a call's result: a new object)."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _filled_arguments(call: ast.Call, filled: tuple[int | str, ...]) -> list[ast.AST]:
    """The arguments of ``call`` given for the parameters ``filled`` (positions, names)."""
    found = [call.args[i] for i in filled if isinstance(i, int) and i < len(call.args)]
    found += [k.value for k in call.keywords if k.arg in filled]
    return found


def fillers(nodes: list[ast.stmt], imported: set[str]) -> dict[str, tuple[int | str, ...]]:
    """The notebook's functions that change an object passed to them (``def register(table,
    name, f): table[name] = f``): each with the positions and names of those parameters."""
    found: dict[str, tuple[int | str, ...]] = {}
    for node in nodes:
        for function in _evaluated(node):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            parameters = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
            every = {*parameters, *(a.arg for a in function.args.kwonlyargs)}
            changed = _filled(function) & every
            if changed:
                positions = tuple(i for i, name in enumerate(parameters) if name in changed)
                found[function.name] = positions + tuple(sorted(changed))
    return found


def _filled_in_place(call: ast.Call) -> list[ast.AST]:
    """The arguments ``call`` may change in place: the first of a function of
    ``IN_PLACE_FUNCTIONS``, and whatever is passed as ``out=`` (one array or a tuple)."""
    function = call.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    found = [call.args[0]] if name in IN_PLACE_FUNCTIONS and call.args else []
    for keyword in call.keywords:
        if keyword.arg == "out":
            value = keyword.value
            found.extend(value.elts if isinstance(value, (ast.Tuple, ast.List)) else [value])
    return found


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
    _follow_calls(direct, calls)
    return {name: changed for name, changed in direct.items() if changed}


FOLLOW_BUDGET = 2_000_000
"""Names compared while following calls between the notebook's functions: far more than a
notebook of hundreds of functions needs, and about a second.  (What a function changes
through the functions it calls can grow as the square of their number: a chain of N
functions each changing its own global.)"""

CHANGES_UNKNOWN = "*unknown*"
"""The pseudo name of what a function changes when its calls were not all followed: a
statement calling it is always replayed."""


def _follow_calls(direct: dict[str, set[str]], calls: dict[str, set[str]]) -> int:
    """Add to each function what the functions it calls change, to the fixed point: a
    worklist of callers whose callees grew, with a budget; past the budget every function
    that calls another one changes ``CHANGES_UNKNOWN``.  The names compared."""
    callers: dict[str, set[str]] = {}
    for name, called in calls.items():
        for other in called:
            if other in direct and other != name:
                callers.setdefault(other, set()).add(name)
    work, queued, spent = list(direct), set(direct), 0
    while work:
        other = work.pop()
        queued.discard(other)
        for name in callers.get(other, ()):
            spent += len(direct[other])
            if spent > FOLLOW_BUDGET:
                for caller in {c for called in callers.values() for c in called}:
                    direct[caller].add(CHANGES_UNKNOWN)
                return spent
            extra = direct[other] - direct[name]
            if extra:
                direct[name] |= extra
                if name not in queued:
                    work.append(name)
                    queued.add(name)
    return spent
