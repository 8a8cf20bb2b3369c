"""Checks for the assignment on the Hessian matrix (Section 8.1.6, Exercises 8.6-8.12).

Conventions of every network task, those of (8.18)-(8.20) with ``x_0 = z_0 = 1``: a
two-layer network with ``D`` inputs, ``M`` tanh hidden units and ``K`` outputs has the
weights ``W1`` of shape ``(M, D + 1)`` and ``W2`` of shape ``(K, M + 1)``, column 0 of each
holding the biases (the weights from the unit fixed at 1).  The data are ``X`` ``(N, D)`` and
``T`` ``(N, K)``; the error is summed over the batch (8.1): sum-of-squares (8.17) for linear
outputs, cross-entropy for logistic-sigmoid and softmax outputs.  Every matrix over the
weights follows the flat order ``w = [W1.ravel(), W2.ravel()]`` (with skip-layer weights
``Ws`` of shape ``(K, D)``, Exercise 8.7: ``[W1.ravel(), W2.ravel(), Ws.ravel()]``).

The references come from ``autodiff`` (``hessian``, ``grad``, ``jacrev`` of the error written
with ``autodiff.numpy``), except the diagonal approximation, which is defined by its
recursion; the mistake models are written out in NumPy with switches.

The gradients of the output pre-activations by backpropagation end with a case that
measures the cost of the method (Sections 8.1.4-8.1.5): backpropagation costs K backward
passes per data point, finite differences W forward passes; with W = 250,502 weights that is
milliseconds against half a minute or more (``tests/grader/test_cost_cases.py``).

One module per section of the assignment, importing the package registers every check:

- ``network``: the network algebra and the case making that the other modules share;
- ``output_errors``: ``delta`` and ``M`` at the outputs (Exercise 8.6);
- ``blocks``: the exact Hessian (8.37), its blocks (Exercise 8.6), assembled, and with
  skip-layer weights (Exercise 8.7);
- ``diagonal``: the diagonal approximation (Section 8.1.6);
- ``outer_product``: the gradients of the output pre-activations (8.29)-(8.31) and the
  outer-product approximations (8.40), (8.41), Exercises 8.8-8.11;
- ``sequential_inverse``: the inverse of the outer-product Hessian (Exercise 8.12);
- ``vector_product``: ``H v`` by the R-operator, (8.18)-(8.23).
"""

from __future__ import annotations

# the checks register in the order of the assignment
# isort: off
from grader.checks.hessian.output_errors import OutputErrorDerivatives
from grader.checks.hessian.blocks import (
    ExactHessian,
    ExactHessianSkipLayer,
    HessianFirstLayerBlock,
    HessianMixedBlock,
    HessianSecondLayerBlock,
)
from grader.checks.hessian.diagonal import DiagonalHessian
from grader.checks.hessian.outer_product import (
    OuterProductHessianLinear,
    OuterProductHessianSigmoid,
    OuterProductHessianSoftmax,
    OutputGradients,
)
from grader.checks.hessian.sequential_inverse import SequentialInverseHessian
from grader.checks.hessian.vector_product import HessianVectorProduct
# isort: on

# the other names, importable from here as before the split: the private ones are
# helpers that tests/grader/test_hessian_checks.py reads
from grader.checks.hessian.network import NETWORK_INPUTS, OUTPUTS
from grader.checks.hessian.network import _outputs as _outputs
from grader.checks.hessian.network import _sigmoid as _sigmoid
from grader.checks.hessian.network import _softmax as _softmax
from grader.checks.hessian.network import _State as _State
from grader.checks.hessian.outer_product import OUTPUT_GRADIENTS_COST, OUTPUT_GRADIENTS_SECONDS
from grader.checks.hessian.outer_product import _output_gradients as _output_gradients
from grader.checks.hessian.sequential_inverse import _sherman_morrison as _sherman_morrison
from grader.checks.hessian.sequential_inverse import _update_inverse as _update_inverse
from grader.checks.hessian.vector_product import _r_operator as _r_operator

__all__ = [
    "NETWORK_INPUTS",
    "OUTPUTS",
    "OUTPUT_GRADIENTS_COST",
    "OUTPUT_GRADIENTS_SECONDS",
    "DiagonalHessian",
    "ExactHessian",
    "ExactHessianSkipLayer",
    "HessianFirstLayerBlock",
    "HessianMixedBlock",
    "HessianSecondLayerBlock",
    "HessianVectorProduct",
    "OuterProductHessianLinear",
    "OuterProductHessianSigmoid",
    "OuterProductHessianSoftmax",
    "OutputErrorDerivatives",
    "OutputGradients",
    "SequentialInverseHessian",
]
