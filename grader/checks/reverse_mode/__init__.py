"""Checks for the assignment on reverse-mode automatic differentiation (Section 8.2.2).

Three graded tasks: the adjoint trace (8.70)-(8.76) of the example (8.49), with the slip of
the printed (8.75) corrected (Exercises 8.16 and 8.17); a small reverse-mode engine written
by the student (a ``Var`` class and ``grad_reverse``), graded on several scalar functions;
and the Hessian-vector product from the student's two engines nested, dual numbers and
``Var``s (one way round or the other), checked against ``autodiff.hessian``, with a case
that measures the cost: one nested pass, O(W), fits its budget, one pass per input does not.

The engine and the Hessian-vector product take a *function* as their first argument.  The
functions are named test functions of the sandboxed side (``grader.sandboxed.inputs``), so
that a case stays plain data (the function's name and the point) and the judge can
regenerate everything from the seed.  The typical mistakes of the engine are modelled by a
small engine with switchable flaws, ``_FlawedVar``: what a student's ``Var`` returns when it
overwrites adjoints, visits the nodes in a wrong order, drops the local derivative or flips
a sign; those of the nesting by dual numbers over it, ``_ModelDual``.

One module per task, importing the package registers every check:

- ``model_engine``: the test functions' domains and ``_FlawedVar``, shared by the others;
- ``adjoint_trace``: the adjoint trace (8.70)-(8.76) of (8.49);
- ``engine``: the student's engine, (8.68)-(8.69);
- ``nested_hvp``: the Hessian-vector product from the two engines nested (Section 8.2.2).
"""

from __future__ import annotations

# the checks register in the order of the assignment
# isort: off
from grader.checks.reverse_mode.adjoint_trace import AdjointTrace849
from grader.checks.reverse_mode.engine import ReverseModeEngine
from grader.checks.reverse_mode.nested_hvp import (
    HVP_COST_SECONDS,
    NESTED_FUNCTIONS,
    NestedEnginesHVP,
)
# isort: on

# the other names, importable from here as before the split: the private ones are
# helpers that tests/grader/test_reverse_mode_checks.py reads
from grader.checks.reverse_mode.model_engine import DOMAINS, TEST_FUNCTIONS
from grader.checks.reverse_mode.nested_hvp import _hvp_by_autodiff as _hvp_by_autodiff
from grader.checks.reverse_mode.nested_hvp import _of_vector as _of_vector

__all__ = [
    "DOMAINS",
    "HVP_COST_SECONDS",
    "NESTED_FUNCTIONS",
    "TEST_FUNCTIONS",
    "AdjointTrace849",
    "NestedEnginesHVP",
    "ReverseModeEngine",
]
