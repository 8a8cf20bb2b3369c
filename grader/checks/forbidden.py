"""What each task forbids: the one table that grading, the self-check and the tests read.

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
)
"""Everything in ``autodiff`` that computes a derivative: the transforms, the reverse and
forward sweeps they run on, the adjoint and tangent programs and compiled replay, the table
of derivative rules itself, gradient checks, finite differences, the ``backward`` of
``Tensor``, and ``Scalar`` whole (each of its operations keeps its local derivatives and
its graph lists the nodes in the order of a backward sweep: a reverse-mode engine less its
last few lines)."""

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

WITHOUT_DENSE_HESSIAN = (
    "autodiff.hessian",
    "autodiff.hvp",
    "autodiff.jacfwd",
    "autodiff.jacrev",
    "autodiff.gradcheck",
    "autodiff.numerical",
    *ALGORITHMS,
    *SYMBOLIC,
)
"""H v from ``jvp`` and ``grad`` (which stay): no Hessian, no ready-made product, no
Jacobian transform to build one from, no finite differences of the gradient."""

FORBIDDEN: dict[str, tuple[str, ...]] = {
    # 01_gradients
    "linear_model_gradient": BY_HAND,
    "canonical_link_gradient": BY_HAND,
    "dag_forward": BY_HAND,
    "dag_backprop": BY_HAND,
    "layered_backprop": BY_HAND,
    # 02_two_layer_network
    "two_layer_forward": TWO_LAYER_BY_HAND,
    "two_layer_backprop": TWO_LAYER_BY_HAND,
    "two_layer_gradient_descent": TWO_LAYER_BY_HAND,
    "skip_layer_backprop": TWO_LAYER_BY_HAND,
    # 03_numerical_differentiation
    "forward_difference_gradient": BY_HAND,
    "central_difference_gradient": BY_HAND,
    "central_difference_jacobian": BY_HAND,
    "finite_difference_truncation_errors": BY_HAND,
    "loglog_slope": BY_HAND,
    # 04_jacobian
    "module_chain_gradient": BY_HAND,
    "softmax_network_jacobian": BY_HAND,
    "jacobian_forward_propagation": BY_HAND,
    # 05_hessian: the output gradients are the student's own backpropagation
    "output_error_derivatives": BY_HAND,
    "hessian_second_layer_block": BY_HAND,
    "hessian_first_layer_block": BY_HAND,
    "hessian_mixed_block": BY_HAND,
    "exact_hessian_assembled": BY_HAND,
    "exact_hessian_skip_layer": BY_HAND,
    "diagonal_hessian_approximation": BY_HAND,
    "output_gradients_backprop": BY_HAND,
    "outer_product_hessian_linear": BY_HAND,
    "outer_product_hessian_sigmoid": BY_HAND,
    "outer_product_hessian_softmax": BY_HAND,
    "sequential_inverse_hessian": WITHOUT_INVERSION,
    "hessian_vector_product": BY_HAND,  # the R-operator, written out in NumPy
    # 06_symbolic_and_forward_mode
    "soft_relu_dy_dw1": BY_HAND,
    "logistic_map_derivative": BY_HAND,
    "tangent_trace_8_49": BY_HAND,
    "dual_number_jvp": BY_HAND,
    "forward_jacobian_vector_product": BY_HAND,
    "forward_jacobian_columns": BY_HAND,
    # 07_reverse_mode
    "adjoint_trace_8_49": BY_HAND,
    "reverse_mode_engine": BY_HAND,
    "hvp_nested_engines": BY_HAND,  # the student's own Dual and Var, nested
}


def forbidden(check: str) -> tuple[str, ...]:
    """What the task graded by ``check`` forbids (a KeyError names a check missing here)."""
    try:
        return FORBIDDEN[check]
    except KeyError:
        raise KeyError(
            f"the check {check!r} has no entry in grader/checks/forbidden.py: say what its "
            f"task forbids (an empty tuple if nothing)"
        ) from None
