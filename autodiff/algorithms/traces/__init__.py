"""Evaluation traces and their primal, tangent and adjoint tables (Sections 8.2.1 and 8.2.2).

A function of scalars is *recorded* by calling it on traced variables: every elementary
operation it performs appends one primal variable ``v_i = op(parents)`` to the trace, the
inputs first, as in (8.50)-(8.56).  From the recorded trace, evaluated at a point, three
tables follow:

- the primal table (8.50)-(8.56): each ``v_i`` with its defining operation and value;
- the tangent table of forward mode (8.57)-(8.64): ``v̇_i = Σ_{j ∈ pa(i)} v̇_j ∂v_i/∂v_j`` for
  a chosen input direction ``ẋ`` (``e_j`` gives column ``j`` of the Jacobian (8.66), any ``r``
  gives ``J r`` in one pass (8.67), Exercise 8.18);
- the adjoint table of reverse mode (8.68)-(8.76): ``v̄_i = Σ_{j ∈ ch(i)} v̄_j ∂v_j/∂v_i`` (8.69),
  in reverse order, for one output (or a weighted combination of outputs).

Each row carries its equation symbolically and its value, and every table renders as plain
text (``str``), LaTeX (``to_latex``) and HTML (``_repr_html_``, for notebooks).

**Numbering.**  A trace records operations in the order Python executes them, and it does
not notice repeated subexpressions.  Written on one line, (8.49) computes ``x1 * x2`` twice
and adds before it subtracts, which gives eight variables instead of seven.  To obtain the
numbering of (8.50)-(8.56), write one statement per primal equation::

    def f(x1, x2):
        v3 = x1 * x2
        v4 = sin(x2)
        v5 = exp(v3)
        v6 = v3 - v4
        return v5 + v6        # v7 = f

This is :func:`book_example`; :func:`book_example_two_outputs` adds ``f2 = v5 v6``
(Figure 8.5, (8.65)).

**Symbols.**  A tangent row writes each partial derivative in terms of the parents (the
value ``v_i`` is being computed alongside, e.g. ``v̇5 = v̇3 exp(v3)`` as in (8.62)); an
adjoint row may name a stored primal value instead (``v̄3 = v̄5 v5 + v̄6`` as in (8.74)).
When a child uses the same parent twice (``v3 = v1 v1``), each use contributes its own term.

**Two slips of the printed text** are corrected here: the children of ``v2`` are ``v3`` and
``v4``, so (8.75) reads ``v̄2 = v̄3 v1 + v̄4 cos(v2)``; and the tangent pass for (8.49) ends at
``v̇7`` (``f = v7``), not at ``v̇5``.

Traced variables are ``autodiff.core.ScalarLike``, so the ``autodiff.numpy`` functions accept
them (``anp.exp(v)`` calls ``v.exp()``): a function written with ``anp`` can be recorded as it
is.  Comparisons (``<``, ``<=``, ``>``, ``>=``) compare primal values, so a branch in ``f``
records the path taken at the recorded point.
"""

from __future__ import annotations

from autodiff.algorithms.traces.operations import Factor, Operation
from autodiff.algorithms.traces.recording import (
    TracedVariable,
    book_example,
    book_example_two_outputs,
    cos,
    exp,
    log,
    record_trace,
    sigmoid,
    sin,
    sqrt,
    tanh,
)
from autodiff.algorithms.traces.tables import EvaluationTrace, TraceStep, TraceTable

__all__ = [
    "EvaluationTrace",
    "Factor",
    "Operation",
    "TraceStep",
    "TraceTable",
    "TracedVariable",
    "book_example",
    "book_example_two_outputs",
    "cos",
    "exp",
    "log",
    "record_trace",
    "sigmoid",
    "sin",
    "sqrt",
    "tanh",
]
