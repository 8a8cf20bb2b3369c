"""What tasks may forbid: the named sets each ``Check`` declares as its ``forbids``, read by
grading, the self-check and the tests.

A task that asks the student to implement something is graded in a separate run whose
environment does not contain what the task forbids: the modules and definitions named here
are removed from the build of ``autodiff`` that run sees, and the external packages are not
mounted at all (``grader.pipeline.sandbox.builds``).  Then no route reaches them, whatever
the notebook does.  The student's own self-check warns when a function reaches one of them
(``grader.notebook``).

Names are dotted paths: a package or module (everything in it), a function or class, or a
method (``autodiff.Tensor.backward``); public aliases are resolved to where they are
defined.  ``numpy.linalg`` and ``sympy`` are the external ones.
"""

from __future__ import annotations

from grader.checks import all_checks, get_check

TRANSFORMS = (
    "autodiff.grad",
    "autodiff.value_and_grad",
    "autodiff.vjp",
    "autodiff.jvp",
    "autodiff.jacfwd",
    "autodiff.jacrev",
    "autodiff.hessian",
    "autodiff.hvp",
)
"""The derivative transforms."""

DERIVATIVE_MACHINERY = (
    "autodiff.transforms",
    "autodiff.reverse",
    "autodiff.forward",
    "autodiff.programs",
    "autodiff.numpy.rules",
    "autodiff.gradcheck",
    "autodiff.numerical",
    "autodiff.Tensor.backward",
    "autodiff.Scalar",
    "autodiff.readable_scalar",
)
"""Everything in ``autodiff`` that computes a derivative: the transforms, the reverse and
forward sweeps they run on, the adjoint and tangent programs and compiled replay, the table
of derivative rules itself, gradient checks, finite differences, the ``backward`` of
``Tensor``, and ``Scalar`` whole, with its readable twin (each of its operations keeps its
local derivatives and its graph lists the nodes in the order of a backward sweep: a
reverse-mode engine less its last few lines)."""

ALGORITHMS = (
    "autodiff.algorithms.dag_backprop",
    "autodiff.algorithms.layered",
    "autodiff.algorithms.two_layer",
    "autodiff.algorithms.outputs",
    "autodiff.algorithms.jacobian",
    "autodiff.algorithms.hessian",
    "autodiff.algorithms.hessian_approx",
    "autodiff.algorithms.finite_differences",
    "autodiff.algorithms.traces",
    "autodiff.algorithms.trace_plot",
    "autodiff.algorithms.swell",
)
"""The chapter's algorithms: the reference of almost every task.  (``network``, the
container of a two-layer network's weights, stays: the Jacobian tasks receive one.)"""

SYMBOLIC = ("sympy",)
LINEAR_ALGEBRA = ("numpy.linalg",)

BY_HAND = (*DERIVATIVE_MACHINERY, *ALGORITHMS, *SYMBOLIC)
"""Implement it with NumPy: no derivative from ``autodiff``, no chapter algorithm, no
computer algebra."""

TWO_LAYER_BY_HAND = (
    *BY_HAND,
    "autodiff.algorithms.network.TwoLayerNet.forward",
    "autodiff.algorithms.network.TwoLayerNet.error",
)
"""Assignment 2 asks for the network's forward pass itself."""

WITHOUT_INVERSION = (*BY_HAND, *LINEAR_ALGEBRA)
"""Exercise 8.12: the inverse by rank-one updates, with no matrix inversion or solver."""


def forbidden(check: str) -> tuple[str, ...]:
    """What the task graded by ``check`` forbids: the ``forbids`` its class declares (a
    ``LookupError`` names a check that declares nothing)."""
    found = get_check(check).forbids
    if found is None:
        raise LookupError(
            f"the check {check!r} declares nothing it forbids: give its class ``forbids``, "
            f"one of the tuples of grader/checks/forbidden.py (an empty tuple if nothing)"
        )
    return found


def forbidden_by_check() -> dict[str, tuple[str, ...]]:
    """What each registered check's task forbids, by check name."""
    return {name: forbidden(name) for name in all_checks()}
