"""The adjoint and tangent programs of a function: reverse and forward mode written out.

``adjoint_program(f, *args)`` records one call of ``f`` (``autodiff.programs.staging``) and
writes the program reverse mode runs for it, as straight-line Python: the primal pass, one
line per primitive, ``v1, v2, ...`` in the order of the evaluation trace (8.50)-(8.56), then
the adjoint pass, one line per variable from the output back, ``v7_bar = ...`` for v̄7,
each line the sum (8.69) over the variable's children of the child's adjoint times the
local derivative.  ``tangent_program(f, primals, tangents)`` writes forward mode's program:
each primal line followed by its tangent line ``v3_dot = ...``, the sum (8.57) over the
variable's parents, the tuples (v_i, v̇_i) evaluated in sequence.

The local derivatives are not written here: the sweeps apply the VJP and JVP rules of the
one rule table (``autodiff.numpy.rules``) to the recorded variables, as reverse and forward
mode apply them (``autodiff.reverse``, ``autodiff.forward``: the same rule look-up, the same
sum over broadcast axes), and what the rules compute is what the lines say.  The terms of a
sum are in the order of the children (or parents) they come from, and ``a + -b`` is written
``a - b`` (the same number).

For the chapter's example (8.49), written one statement per primal equation::

    def f(x1, x2):
        v3 = x1 * x2
        v4 = anp.sin(x2)
        v5 = anp.exp(v3)
        v6 = v3 - v4
        return v5 + v6

the adjoint program is (8.50)-(8.56) and (8.70)-(8.76) line for line, with (8.75) as it
should read, ``v2_bar = v3_bar * v1 + v4_bar * np.cos(v2)`` (the printed text has v̄2 for
v̄3), and the tangent program for ẋ = (1, 0) is (8.58)-(8.64), with two differences of
writing only: (8.60) comes out as ``v1_dot * v2 + v1 * v2_dot`` (the terms in the order of
the parents v1, v2), and (8.62) as ``v3_dot * v5``, since the rule of exp reuses its output
v5 = exp(v3).  Each line of a program carries the number of the equation it instantiates:
these for (8.49), and (8.69) or (8.57) for any other function.

A function with branches (``if x > 0:``) gives the program of the path it took at the
point it was called on, as its evaluation trace does (Section 8.2): the program says where
``f`` read a value, and is ``f``'s only where the branches go the same way.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autodiff import forward, reverse
from autodiff.broadcasting import broadcast_like, unbroadcast_like
from autodiff.core import shape_of
from autodiff.numpy import primitives as p
from autodiff.programs.source import Source
from autodiff.programs.staging import (
    Var,
    arguments,
    identity,
    input_var,
    needed,
    reading_values,
    record,
)
from autodiff.pytree import flatten, paths, unflatten

# (8.49) as the chapter writes it: the primal equations (8.50)-(8.56), the adjoint equations
# (8.70)-(8.76) with (8.75) corrected, the tangent equations (8.58)-(8.64) for ẋ = e_1.
_PRIMAL = (
    ("v1 = x1", "8.50"),
    ("v2 = x2", "8.51"),
    ("v3 = v1 * v2", "8.52"),
    ("v4 = np.sin(v2)", "8.53"),
    ("v5 = np.exp(v3)", "8.54"),
    ("v6 = v3 - v4", "8.55"),
    ("v7 = v5 + v6", "8.56"),
)
BOOK_ADJOINT = _PRIMAL + (
    ("v7_bar = 1.0", "8.70"),
    ("v6_bar = v7_bar", "8.71"),
    ("v5_bar = v7_bar", "8.72"),
    ("v4_bar = -v6_bar", "8.73"),
    ("v3_bar = v5_bar * v5 + v6_bar", "8.74"),
    ("v2_bar = v3_bar * v1 + v4_bar * np.cos(v2)", "8.75"),
    ("v1_bar = v3_bar * v2", "8.76"),
)
_TANGENTS = (
    ("v1_dot = 1.0", "8.58"),
    ("v2_dot = 0.0", "8.59"),
    ("v3_dot = v1_dot * v2 + v1 * v2_dot", "8.60"),
    ("v4_dot = v2_dot * np.cos(v2)", "8.61"),
    ("v5_dot = v3_dot * v5", "8.62"),
    ("v6_dot = v3_dot - v4_dot", "8.63"),
    ("v7_dot = v5_dot + v6_dot", "8.64"),
)
BOOK_TANGENT = tuple(line for pair in zip(_PRIMAL, _TANGENTS) for line in pair)


@dataclass(frozen=True)
class Line:
    """One statement of a program and the equation of the chapter it instantiates."""

    code: str
    equation: str | None = None


class Program:
    """A generated program: ``str(program)`` is its Python source, ``program(*args)`` runs
    it, ``lines`` are its statements with their equations, and ``values`` the value of each
    variable at the point it was generated from."""

    def __init__(
        self,
        name: str,
        params: list[str],
        sections: list[tuple[str, list[Line]]],
        returns: str,
        namespace: dict[str, Any],
        values: dict[str, Any],
    ) -> None:
        self.name = name
        self.lines = [line for _, lines in sections for line in lines]
        self.values = values
        width = max(len(line.code) for line in self.lines)
        body = []
        for title, lines in sections:
            body.append(f"    # {title}")
            for line in lines:
                comment = f"  # ({line.equation})" if line.equation else ""
                body.append(f"    {line.code.ljust(width) if comment else line.code}{comment}")
        self.source = "\n".join(
            [f"def {name}({', '.join(params)}):", *body, f"    return {returns}"]
        )
        self.namespace = dict(namespace)
        exec(compile(self.source + "\n", f"<autodiff {name}>", "exec"), self.namespace)
        self._fn = self.namespace[name]

    def __call__(self, *args: Any) -> Any:
        return self._fn(*args)

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<Program {self.name}: {len(self.lines)} lines>\n{self.source}"


# Names a program binds: NumPy, its variables and constants, the functions of its own.
_RESERVED = re.compile(r"^(np|[vtc]\d+(_bar|_dot)?|sigmoid|softplus|relu|logsumexp|untake)$")


def _parameters(f: Callable, count: int) -> list[str]:
    """Names for ``f``'s arguments in the program: its own, or x1, x2, ..."""
    try:
        names = [
            q.name
            for q in inspect.signature(f).parameters.values()
            if q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        names = []
    if len(names) < count:
        names = [f"x{i + 1}" for i in range(count)]
    return [f"{n}_" if _RESERVED.match(n) else n for n in names[:count]]


class _Builder:
    """A recording of ``f`` being written out: its inputs (named ``x1``, ``params[0]``, ...
    until ``inputs()`` names them ``v1, v2, ...``), and statements whose unnamed parts are
    written out in place."""

    def __init__(self, f: Callable, args: tuple) -> None:
        self.src = Source()
        self.values: dict[str, Any] = {}
        self.params = _parameters(f, len(args))
        self.groups: list[list[Var]] = []
        self.treedefs = []
        self.count = 0
        for param, arg in zip(self.params, args):
            leaves, treedef = flatten(arg)
            self.treedefs.append(treedef)
            self.groups.append([input_var(_as_float(leaf)) for leaf in leaves])
            for var, path in zip(self.groups[-1], paths(treedef)):
                self.src.name(var, param + path)
        self.ids = {id(v) for group in self.groups for v in group}

    def call(self, f: Callable) -> tuple[Any, list[str]]:
        """``f`` on the inputs, recording the path it takes, and where it read values."""
        with reading_values() as reads:
            out = f(*[unflatten(t, group) for t, group in zip(self.treedefs, self.groups)])
        return out, reads

    def new_name(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def inputs(self) -> list[tuple[Var, Line]]:
        """Each input with its line ``v1 = x1`` (named ``v1, v2, ...`` from here on)."""
        lines = []
        for group in self.groups:
            for var in group:
                access, name = self.src.names[id(var)], self.new_name()
                lines.append((var, Line(f"{name} = {access}")))
                self.src.name(var, name)
                self.values[name] = var.value
        return lines

    def statement(self, name: str, value: Any, equation: str | None = None) -> list[Line]:
        """``name = value`` (preceded by the temporaries it shares with other statements),
        after which ``value`` is written as ``name``; a value that already has a name (or a
        constant) is copied into a new variable."""
        if type(value) is not Var or id(value) in self.src.names:
            value = record(identity, (value,))
        lines = self._temporaries(value)
        lines.append(Line(f"{name} = {self.src.expression(value)}", equation))
        self.src.name(value, name)
        self.values[name] = value.value
        return lines

    def named(self, name: str) -> Var:
        """A variable standing for the statement ``name``, as the rules' argument."""
        var = input_var(self.values[name])
        self.src.name(var, name)
        return var

    def summed(self, terms: list[Any]) -> Any:
        """The sum of the terms of (8.57) or (8.69), in order, ``a + -b`` written ``a - b``
        (unless the negation has a name of its own)."""
        total = terms[0]
        for term in terms[1:]:
            if type(term) is Var and term.fn is np.negative and id(term) not in self.src.names:
                total = p.subtract(total, term.args[0])
            else:
                total = p.add(total, term)
        return total

    def _temporaries(self, root: Var) -> list[Line]:
        """Parts of ``root`` used more than once, as statements ``t1 = ...`` of their own."""
        lines: list[Line] = []
        order = [v for v in needed([root]) if v is not root and id(v) not in self.src.names]
        uses: dict[int, int] = {}
        for var in [root, *order]:
            for arg in arguments(var):
                uses[id(arg)] = uses.get(id(arg), 0) + 1
        for var in order:
            if uses.get(id(var), 0) > 1:
                name = f"t{sum(n.startswith('t') for n in self.values) + 1}"
                lines.append(Line(f"{name} = {self.src.expression(var)}"))
                self.src.name(var, name)
                self.values[name] = var.value
        return lines


def _as_float(x: Any) -> np.ndarray:
    x = np.asarray(x)
    return x.astype(np.float64) if x.dtype.kind in "biu" else x


def _primal_ops(out_leaves: list[Any], inputs: set[int]) -> list[Var]:
    return [v for v in needed(out_leaves) if id(v) not in inputs]


def _book(lines: list[Line], book: tuple[tuple[str, str], ...]) -> list[Line]:
    """The lines with the chapter's equation numbers if they are the chapter's program."""
    if [line.code for line in lines] == [code for code, _ in book]:
        return [Line(code, equation) for code, equation in book]
    return lines


def adjoint_program(f: Callable, *args: Any, argnums: int | Sequence[int] | None = None) -> Program:
    """The program reverse mode runs for the scalar function ``f`` at ``args``, as Python:
    the primal pass (8.50)-(8.56) and the adjoint pass (8.69)-(8.76), one line per primitive
    and per adjoint.  Calling it returns ``(value, gradient)``: the gradient with respect
    to the arguments ``argnums`` (default: every argument; a tuple of gradients if there are
    several, as ``grad(f, argnums)`` gives them)."""
    b = _Builder(f, args)
    chosen = tuple(range(len(args))) if argnums is None else argnums
    nums = (chosen,) if isinstance(chosen, int) else tuple(chosen)
    out, reads = b.call(f)
    if type(out) is not Var or out.shape != ():
        raise TypeError(
            f"adjoint_program needs f to return a scalar, got {type(out).__name__} of shape "
            f"{shape_of(out)}"
        )
    primal = [line for _, line in b.inputs()]
    ops = _primal_ops([out], b.ids)
    for var in ops:
        primal += b.statement(b.new_name(), var)
    active = _depends_on(ops, {id(v) for n in nums for v in b.groups[n]})
    adjoint: list[Line] = []
    terms: dict[int, list[tuple[int, Any]]] = {}  # (8.69): (child's index, its term) per node
    for var in reversed(ops):
        if var is out:
            g, equation = np.float64(1.0), "8.68"
        elif id(var) in terms:
            g, equation = b.summed([t for _, t in sorted(terms.pop(id(var)), key=_first)]), "8.69"
        else:
            continue
        name = f"{b.src.names[id(var)]}_bar"
        adjoint += b.statement(name, g, equation)
        g = b.named(name)
        for argnum, parent in enumerate(var.args):
            if type(parent) is not Var or id(parent) not in active or var.prim is None:
                continue
            rule = reverse.vjp_rule(var.prim, argnum)
            c = rule(g, var, *var.args, **var.kwargs)
            if var.prim.broadcasts:  # summed back to the parent's shape, as the sweep does
                c = unbroadcast_like(c, parent)
            terms.setdefault(id(parent), []).append((var.index, c))
    bars: dict[int, Var] = {}
    for var in reversed([v for n in nums for v in b.groups[n]]):  # from the last input back
        name = f"{b.src.names[id(var)]}_bar"
        if id(var) in terms:
            total = b.summed([t for _, t in sorted(terms.pop(id(var)), key=_first)])
        else:  # f does not depend on it: (8.69) has no terms
            total = record(np.zeros, (var.shape,))
        adjoint += b.statement(name, total, "8.69")
        bars[id(var)] = b.named(name)
    grads = [
        b.src.tree(b.treedefs[n], [b.src.expression(bars[id(v)]) for v in b.groups[n]])
        for n in nums
    ]
    if isinstance(chosen, int) or (argnums is None and len(grads) == 1):
        gradient = grads[0]
    else:
        gradient = f"({grads[0]},)" if len(grads) == 1 else f"({', '.join(grads)})"
    lines = _book(primal + adjoint, BOOK_ADJOINT)
    book = lines[-1].equation == "8.76"
    sections = [
        ("primal pass: the evaluation trace, as (8.50)-(8.56)", lines[: len(primal)]),
        (
            "adjoint pass (8.70)-(8.76)" if book else "adjoint pass: v_bar = df/dv, (8.68)-(8.69)",
            lines[len(primal) :],
        ),
    ]
    name = f"{_name(f)}_adjoint"
    returns = f"{b.src.expression(out)}, {gradient}"
    return Program(name, b.params, _noted(sections, reads), returns, b.src.namespace, b.values)


def tangent_program(f: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> Program:
    """The program forward mode runs for ``f`` at ``primals`` along ``tangents`` (ẋ), as
    Python: each primal line (8.50)-(8.56) followed by its tangent line (8.57)-(8.64), the
    seeds ẋ written as constants.  Calling it (with the primals) returns ``(value,
    tangent)``: ``f`` and its directional derivative J ẋ (8.67)."""
    b = _Builder(f, tuple(primals))
    seeds = [seed for t in tangents for seed in flatten(t)[0]]
    lines: list[Line] = []
    dots: dict[int, Var] = {}
    for (var, line), seed in zip(b.inputs(), seeds):
        name = f"{b.src.names[id(var)]}_dot"
        lines += [line, *b.statement(name, _as_float(seed)[()] if np.ndim(seed) == 0 else seed)]
        dots[id(var)] = b.named(name)
    out, reads = b.call(f)
    out_leaves, out_def = flatten(out)
    for var in _primal_ops(out_leaves, b.ids):
        name = b.new_name()
        lines += b.statement(name, var)
        contributions = []
        for argnum, arg in enumerate(var.args):
            if type(arg) is not Var or id(arg) not in dots or var.prim is None:
                continue
            c = forward.jvp_rule(var.prim, argnum)(dots[id(arg)], var, *var.args, **var.kwargs)
            if var.prim.broadcasts:  # broadcast to the output's shape, as forward mode does
                c = broadcast_like(c, var)
            contributions.append(c)
        if contributions:
            lines += b.statement(f"{name}_dot", b.summed(contributions), "8.57")
            dots[id(var)] = b.named(f"{name}_dot")
    t_out = [dots.get(id(x), record(np.zeros, (shape_of(x),))) for x in out_leaves]
    lines = _book(lines, BOOK_TANGENT)
    book = lines[-1].equation == "8.64"
    title = "(8.50)-(8.56) with (8.58)-(8.64)" if book else "(8.57)"
    sections = [(f"primal and tangent pass, the pairs (v_i, v_i_dot) in sequence: {title}", lines)]
    values = b.src.tree(out_def, [b.src.expression(x) for x in out_leaves])
    returns = f"{values}, {b.src.tree(out_def, [b.src.expression(t) for t in t_out])}"
    name = f"{_name(f)}_tangent"
    return Program(name, b.params, _noted(sections, reads), returns, b.src.namespace, b.values)


def _noted(sections: list[tuple[str, list[Line]]], reads: list[str]):
    """The sections, the first headed by where ``f`` read a value (a branch), if it did."""
    if not reads:
        return sections
    where = "; ".join(dict.fromkeys(reads))
    title, lines = sections[0]
    note = f"the path f took where it read values, at {where}; elsewhere f may differ"
    return [(f"{note}\n    # {title}", lines), *sections[1:]]


def _first(term: tuple[int, Any]) -> int:
    return term[0]


def _name(f: Callable) -> str:
    name = getattr(f, "__name__", "f")
    return name if name.isidentifier() else "f"


def _depends_on(ops: list[Var], wrt: set[int]) -> set[int]:
    """The variables among ``ops`` (and the inputs ``wrt``) that depend on ``wrt``."""
    active = set(wrt)
    for var in ops:
        if any(id(arg) in active for arg in arguments(var)):
            active.add(id(var))
    return active
