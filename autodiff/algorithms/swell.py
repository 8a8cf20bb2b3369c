"""Symbolic differentiation and expression swell (Section 8.2), with sympy.

Two parts.

**The soft-ReLU example (8.44)-(8.48), Exercise 8.13.**  A single input ``x`` goes
through one hidden unit and one output unit, both with the soft ReLU
``h(a) = ln(1 + exp(a))``, so ``y = h(w2 h(w1 x + b1) + b2)`` (8.47).
:func:`soft_relu_network` builds (8.47), :func:`book_dy_dw1` writes out the closed
form (8.48) as printed, and :func:`check_exercise_8_13` confirms that it is the
derivative of (8.47) with respect to ``w1``, both by simplifying the difference to
zero and by evaluating both at random points.  A naming slip in the book: (8.46)
defines the soft ReLU under the name zeta(a) while (8.44)-(8.47) call it h(a); they
are the same function.

**Expression swell.**  Rule-by-rule symbolic differentiation copies sub-expressions:
the product rule (8.43) repeats both factors, and the chain rule repeats the inner
function.  :func:`product_rule_derivative` applies the rules mechanically (only
zeros and unit factors are dropped, nothing is simplified), so the sizes of its
results are what a naive computer-algebra system would produce.  Three families of
depth ``L`` show how the sizes grow (:data:`FAMILIES`):

- ``"product"``: ``f_L = sin(x) sin(2x) ... sin(Lx)``; the function grows linearly,
  its derivative quadratically (L terms of L factors);
- ``"composition"``: ``f_L = sin(sin(... sin(x)))``; again linear against quadratic,
  as every chain-rule factor repeats the inner function;
- ``"logistic"``: the logistic map ``L_{n+1} = 4 L_n (1 - L_n)``, ``L_1 = x``
  (Exercise 8.14); written as a tree the function doubles with each step, and its
  derivative grows like ``n 2^n``.

An evaluation trace (Section 8.2.1) names each distinct sub-expression once, so its
length grows only linearly with depth, and so does the adjoint trace of reverse-mode
autodiff (Section 8.2.2), one adjoint per trace variable.
:func:`evaluation_trace` builds both from an expression, :func:`run_trace` executes
them, and :func:`swell_table` and :func:`plot_swell` set all sizes side by side.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# ---------------------------------------------------------------------------
# The soft-ReLU network (8.44)-(8.48) and Exercise 8.13
# ---------------------------------------------------------------------------


def soft_relu(a: sp.Expr) -> sp.Expr:
    """The soft ReLU ``ln(1 + exp(a))`` (8.46), written h(a) in (8.44)-(8.47)."""
    return sp.log(1 + sp.exp(a))


def soft_relu_network(x: sp.Expr, w1: sp.Expr, b1: sp.Expr, w2: sp.Expr, b2: sp.Expr) -> sp.Expr:
    """Output ``y = h(w2 h(w1 x + b1) + b2)`` (8.47) of the network (8.44)-(8.45)."""
    z = soft_relu(w1 * x + b1)  # hidden unit (8.44)
    return soft_relu(w2 * z + b2)  # output unit (8.45)


def book_dy_dw1(x: sp.Expr, w1: sp.Expr, b1: sp.Expr, w2: sp.Expr, b2: sp.Expr) -> sp.Expr:
    """The book's closed form (8.48) for the derivative of (8.47) with respect to ``w1``."""
    hidden = 1 + sp.exp(w1 * x + b1)
    output_preactivation = b2 + w2 * sp.log(hidden)
    numerator = w2 * x * sp.exp(w1 * x + b1 + output_preactivation)
    return numerator / (hidden * (1 + sp.exp(output_preactivation)))


@dataclass(frozen=True)
class Exercise813Check:
    """Outcome of checking (8.48) against the derivative of (8.47)."""

    derivative: sp.Expr  # sympy's d y / d w1 of (8.47)
    book_form: sp.Expr  # (8.48)
    simplifies_to_zero: bool  # their difference simplifies to exactly 0
    max_relative_error: float  # largest relative difference at the random points
    points: np.ndarray  # (n, 5) random values of (x, w1, b1, w2, b2)


NETWORK_SYMBOLS = sp.symbols("x w1 b1 w2 b2", real=True)
"""The real symbols ``(x, w1, b1, w2, b2)`` of (8.47)."""


def check_exercise_8_13(n_points: int = 20, seed: int = 0, scale: float = 2.0) -> Exercise813Check:
    """Verify Exercise 8.13: (8.48) is the derivative of (8.47) with respect to ``w1``.

    Differentiates (8.47) with sympy, simplifies the difference from (8.48) (after
    splitting ``exp(a + b)`` into ``exp(a) exp(b)``), and evaluates both forms at
    ``n_points`` points drawn uniformly from ``[-scale, scale]^5``.
    """
    if n_points < 1:
        raise ValueError(f"n_points must be at least 1, got {n_points}")
    y = soft_relu_network(*NETWORK_SYMBOLS)
    derivative = sp.diff(y, NETWORK_SYMBOLS[1])
    book_form = book_dy_dw1(*NETWORK_SYMBOLS)
    difference = sp.simplify(sp.expand_power_exp(derivative - book_form))
    points = np.random.default_rng(seed).uniform(-scale, scale, (n_points, 5))
    ours = sp.lambdify(NETWORK_SYMBOLS, derivative, "numpy")(*points.T)
    theirs = sp.lambdify(NETWORK_SYMBOLS, book_form, "numpy")(*points.T)
    relative = np.abs(ours - theirs) / np.maximum(np.abs(ours), np.finfo(float).tiny)
    return Exercise813Check(
        derivative=derivative,
        book_form=book_form,
        simplifies_to_zero=difference == 0,
        max_relative_error=float(np.max(relative)),
        points=points,
    )


# ---------------------------------------------------------------------------
# Mechanical differentiation: the product rule (8.43) and the chain rule, unsimplified
# ---------------------------------------------------------------------------


def product_rule_derivative(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """``d expr / d x`` by applying the differentiation rules without simplifying.

    Sums go term by term, products by the product rule (8.43) (one term per factor,
    the other factors copied), ``u**c`` and ``sin, cos, exp, log`` by the chain rule.
    Terms that are zero and factors equal to one are dropped; nothing else is
    combined, so repeated sub-expressions stay repeated.  The result is built with
    ``evaluate=False``.  Raises TypeError for any other kind of expression.
    """
    memo: dict[sp.Expr, sp.Expr] = {}

    def d(e: sp.Expr) -> sp.Expr:
        if e not in memo:
            memo[e] = _rule(e, x, d)
        return memo[e]

    return d(sp.sympify(expr))


_CHAIN_RULES: dict[type, Callable[[sp.Expr], sp.Expr]] = {
    sp.sin: lambda u: sp.cos(u, evaluate=False),
    sp.cos: lambda u: sp.Mul(-1, sp.sin(u, evaluate=False), evaluate=False),
    sp.exp: lambda u: sp.exp(u, evaluate=False),
    sp.log: lambda u: sp.Pow(u, -1, evaluate=False),
}


def _rule(e: sp.Expr, x: sp.Symbol, d: Callable[[sp.Expr], sp.Expr]) -> sp.Expr:
    """One differentiation rule applied at the root of ``e``; ``d`` recurses."""
    if e == x:
        return sp.S.One
    if not e.has(x):
        return sp.S.Zero
    if isinstance(e, sp.Add):
        return _sum([d(term) for term in e.args])
    if isinstance(e, sp.Mul):
        factors = e.args
        return _sum(
            [
                _product([*factors[:i], d(factor), *factors[i + 1 :]])
                for i, factor in enumerate(factors)
            ]
        )
    if isinstance(e, sp.Pow) and not e.exp.has(x):
        base, power = e.args
        return _product([power, sp.Pow(base, power - 1, evaluate=False), d(base)])
    if type(e) in _CHAIN_RULES:
        (u,) = e.args
        return _product([_CHAIN_RULES[type(e)](u), d(u)])
    raise TypeError(
        f"product_rule_derivative knows sums, products, constant powers and sin, cos, exp, "
        f"log; it cannot differentiate {type(e).__name__}: {e}"
    )


def _sum(terms: Sequence[sp.Expr]) -> sp.Expr:
    """Unevaluated sum of the non-zero terms."""
    kept = [t for t in terms if t != 0]
    if not kept:
        return sp.S.Zero
    return kept[0] if len(kept) == 1 else sp.Add(*kept, evaluate=False)


def _product(factors: Sequence[sp.Expr]) -> sp.Expr:
    """Unevaluated product of the factors other than one (zero if any factor is zero)."""
    if any(f == 0 for f in factors):
        return sp.S.Zero
    kept = [f for f in factors if f != 1]
    if not kept:
        return sp.S.One
    return kept[0] if len(kept) == 1 else sp.Mul(*kept, evaluate=False)


# ---------------------------------------------------------------------------
# Families of nested expressions
# ---------------------------------------------------------------------------


def logistic_map(depth: int, x: sp.Symbol) -> list[sp.Expr]:
    """``[L_1, ..., L_depth]`` of ``L_{n+1} = 4 L_n (1 - L_n)``, ``L_1 = x`` (Exercise 8.14).

    Built unevaluated, so ``L_n`` appears twice in ``L_{n+1}`` exactly as written.
    """
    return _unroll(depth, x, lambda prev, n: _logistic_step(prev))


def _logistic_step(prev: sp.Expr) -> sp.Expr:
    one_minus = sp.Add(1, sp.Mul(-1, prev, evaluate=False), evaluate=False)
    return sp.Mul(4, prev, one_minus, evaluate=False)


def nested_product(depth: int, x: sp.Symbol) -> list[sp.Expr]:
    """``[f_1, ..., f_depth]`` with ``f_l = f_{l-1} sin(l x)``, ``f_1 = sin(x)``: (8.42) nested."""
    return _unroll(depth, sp.sin(x), lambda prev, n: sp.Mul(prev, sp.sin(n * x), evaluate=False))


def nested_composition(depth: int, x: sp.Symbol) -> list[sp.Expr]:
    """``[f_1, ..., f_depth]`` with ``f_l = sin(f_{l-1})``, ``f_0 = x``."""
    return _unroll(depth, sp.sin(x), lambda prev, n: sp.sin(prev, evaluate=False))


def _unroll(depth: int, first: sp.Expr, step: Callable[[sp.Expr, int], sp.Expr]) -> list[sp.Expr]:
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    exprs = [first]
    for n in range(2, int(depth) + 1):
        exprs.append(step(exprs[-1], n))
    return exprs


FAMILIES: dict[str, Callable[[int, sp.Symbol], list[sp.Expr]]] = {
    "product": nested_product,
    "composition": nested_composition,
    "logistic": logistic_map,
}
"""The nested-expression families of the swell study, by name."""


# ---------------------------------------------------------------------------
# Sizes and evaluation traces
# ---------------------------------------------------------------------------


def tree_size(expr: sp.Expr) -> int:
    """Nodes of the expression tree, each repeated sub-expression counted every time."""
    memo: dict[sp.Expr, int] = {}

    def size(e: sp.Expr) -> int:
        if e not in memo:
            memo[e] = 1 + sum(size(a) for a in e.args)
        return memo[e]

    return size(expr)


@dataclass(frozen=True)
class Trace:
    """An evaluation trace (Section 8.2.1) and its adjoint trace (Section 8.2.2).

    ``primal`` assigns the inputs and then one elementary operation per distinct
    sub-expression, in evaluation order: ``v_k = op(v_i, ...)``.  ``adjoint`` runs
    backwards from ``vbar_out = 1``: each ``vbar_i`` sums ``vbar_j * d v_j / d v_i``
    over the trace variables ``v_j`` that use ``v_i``, as in (8.69)-(8.76).  ``gradient``
    maps each input to the adjoint variable that holds its derivative.
    """

    primal: tuple[tuple[sp.Symbol, sp.Expr], ...]
    adjoint: tuple[tuple[sp.Symbol, sp.Expr], ...]
    output: sp.Symbol
    gradient: dict[sp.Symbol, sp.Symbol]

    @property
    def adjoint_terms(self) -> int:
        """Number of ``vbar_j * d v_j / d v_i`` terms: one per edge of the graph."""
        return sum(len(sp.Add.make_args(rhs)) for _, rhs in self.adjoint[1:] if rhs != 0)


def evaluation_trace(expr: sp.Expr, inputs: Sequence[sp.Symbol]) -> Trace:
    """The evaluation trace of ``expr`` and its adjoint trace, for the given ``inputs``.

    Every distinct non-atomic sub-expression becomes one trace variable, however often
    it occurs in the tree, so the trace length is the size of the expression graph.
    """
    inputs = tuple(inputs)
    clashing = [s for s in inputs if re.fullmatch(r"v\d+(bar)?", s.name)]
    if clashing:
        raise ValueError(f"inputs {clashing} clash with the trace's names v1, v2, ...; rename them")
    missing = expr.free_symbols - set(inputs)
    if missing:
        raise ValueError(f"expression depends on {sorted(map(str, missing))}, not in inputs")
    names: dict[sp.Expr, sp.Symbol] = {}
    primal: list[tuple[sp.Symbol, sp.Expr]] = []

    def new_variable(rhs: sp.Expr, node: sp.Expr) -> sp.Symbol:
        v = sp.Symbol(f"v{len(primal) + 1}")
        names[node] = v
        primal.append((v, rhs))
        return v

    for symbol in inputs:
        new_variable(symbol, symbol)
    for node in _postorder(expr):
        if node not in names and not node.is_Atom:
            operands = [names.get(a, a) for a in node.args]
            new_variable(node.func(*operands, evaluate=False), node)
    output = names[expr] if expr in names else new_variable(expr, expr)

    contributions: dict[sp.Symbol, list[sp.Expr]] = {v: [] for v, _ in primal}
    bar = {v: sp.Symbol(f"{v}bar") for v, _ in primal}
    for v, rhs in primal[len(inputs) :]:
        for operand in set(rhs.args) & set(contributions):
            contributions[operand].append(bar[v] * sp.diff(rhs, operand))
    adjoint = [(bar[output], sp.S.One)]
    for v, _ in reversed(primal):
        if v != output:
            adjoint.append((bar[v], sp.Add(*contributions[v], evaluate=False)))
    gradient = {symbol: bar[names[symbol]] for symbol in inputs}
    return Trace(tuple(primal), tuple(adjoint), output, gradient)


def _postorder(expr: sp.Expr) -> list[sp.Expr]:
    """Distinct sub-expressions of ``expr``, each after its arguments (no recursion)."""
    order: list[sp.Expr] = []
    seen: set[sp.Expr] = set()
    stack: list[tuple[sp.Expr, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((a, False) for a in reversed(node.args))
    return order


def run_trace(trace: Trace, values: dict[sp.Symbol, float]) -> dict[sp.Symbol, float]:
    """Execute the primal and then the adjoint statements of ``trace`` numerically.

    ``values`` gives a number for every input; the result holds every trace
    variable and adjoint, so ``result[trace.output]`` is the function value and
    ``result[trace.gradient[x]]`` its derivative with respect to ``x``.
    """
    missing = set(trace.gradient) - set(values)
    if missing:
        raise ValueError(f"run_trace needs values for the inputs {sorted(map(str, missing))}")
    env = {symbol: float(values[symbol]) for symbol in trace.gradient}
    for target, rhs in trace.primal + trace.adjoint:
        env[target] = float(rhs.xreplace({s: sp.Float(env[s]) for s in rhs.free_symbols}))
    return env


@dataclass(frozen=True)
class SwellRow:
    """Sizes at one depth of a family: expressions, their derivatives and traces.

    ``*_nodes`` count expression-tree nodes (:func:`tree_size`), ``*_ops`` the
    operations of ``sympy.count_ops``; derivatives are from
    :func:`product_rule_derivative`; the ``simplified_*`` counts are of
    ``sympy.simplify`` results (None when simplification was skipped).
    """

    depth: int
    function_nodes: int
    derivative_nodes: int
    function_ops: int
    derivative_ops: int
    simplified_function_ops: int | None
    simplified_derivative_ops: int | None
    trace_length: int
    adjoint_terms: int


def swell_table(family: str, max_depth: int, simplify: bool = True) -> list[SwellRow]:
    """Sizes of ``f_L`` and ``f_L'`` and of their traces for ``L = 1..max_depth``.

    ``family`` is a key of :data:`FAMILIES`.  ``sympy.simplify`` gets slow past depth 6
    of the logistic map; pass ``simplify=False`` to go deeper.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {sorted(FAMILIES)}")
    x = sp.Symbol("x", real=True)
    rows = []
    for depth, f in enumerate(FAMILIES[family](max_depth, x), start=1):
        df = product_rule_derivative(f, x)
        trace = evaluation_trace(f, [x])
        rows.append(
            SwellRow(
                depth=depth,
                function_nodes=tree_size(f),
                derivative_nodes=tree_size(df),
                function_ops=int(sp.count_ops(f)),
                derivative_ops=int(sp.count_ops(df)),
                simplified_function_ops=int(sp.count_ops(sp.simplify(f))) if simplify else None,
                simplified_derivative_ops=int(sp.count_ops(sp.simplify(df))) if simplify else None,
                trace_length=len(trace.primal),
                adjoint_terms=trace.adjoint_terms,
            )
        )
    return rows


def format_swell_table(rows: Sequence[SwellRow]) -> str:
    """The rows of :func:`swell_table` as an aligned plain-text table."""
    names = [f.name for f in fields(SwellRow)]
    cells = [names]
    for row in rows:
        cells.append(["-" if getattr(row, n) is None else str(getattr(row, n)) for n in names])
    widths = [max(len(line[i]) for line in cells) for i in range(len(names))]
    return "\n".join(
        "  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in cells
    )


def plot_swell(rows: Sequence[SwellRow], title: str = "") -> Figure:
    """Sizes against depth on a log scale: expressions and derivatives versus traces."""
    depth = [r.depth for r in rows]
    from matplotlib.figure import Figure  # only when drawing: grading never loads it

    figure = Figure(figsize=(6.4, 4.4))
    ax = figure.add_subplot()
    series = {
        "f, tree nodes": ([r.function_nodes for r in rows], "C0", "-o"),
        "f', tree nodes (product/chain rule)": ([r.derivative_nodes for r in rows], "C3", "-o"),
        "f, simplified (count_ops)": ([r.simplified_function_ops for r in rows], "C0", "--s"),
        "f', simplified (count_ops)": ([r.simplified_derivative_ops for r in rows], "C3", "--s"),
        "evaluation trace": ([r.trace_length for r in rows], "C2", ":^"),
        "adjoint trace, terms": ([r.adjoint_terms for r in rows], "C1", ":v"),
    }
    for label, (sizes, color, style) in series.items():
        if None not in sizes:  # simplified sizes are absent when simplification was skipped
            positive = np.where(np.array(sizes) > 0, sizes, np.nan)  # log axis: skip zeros
            ax.plot(depth, positive, style, color=color, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("depth")
    ax.set_ylabel("size")
    ax.set_title(title or "Expression swell")
    ax.legend(fontsize="small")
    return figure
