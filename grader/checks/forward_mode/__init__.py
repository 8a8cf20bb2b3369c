"""Checks for the assignment on symbolic and forward-mode differentiation (Sections 8.2, 8.2.1).

Six tasks: the derivative (8.48) of the soft-ReLU network (8.47) (Exercise 8.13); the
logistic map and its derivative, unsimplified (Exercise 8.14); the primal and tangent traces
(8.50)-(8.56) and (8.58)-(8.64) of (8.49) for any input direction (Exercises 8.15, 8.17); a
dual-number class pushed through scalar functions (forward mode, (8.57)); the
Jacobian-vector product in one pass (8.67) and the Jacobian column by column (8.66)
(Exercise 8.18).

The functions that the dual-number tasks differentiate are written with operators and the
methods ``exp sin cos log tanh``, so the same code runs on the student's dual numbers and on
the traced values of ``autodiff.jvp`` and ``autodiff.jacfwd``, which give the reference.

One module per section of the assignment, importing the package registers every check:

- ``functions``: the functions of the dual-number and Jacobian tasks, shared by the others;
- ``symbolic``: the soft-ReLU network (Exercise 8.13) and the logistic map (Exercise 8.14);
- ``tangent_trace``: the primal and tangent traces of (8.49) (Exercises 8.15, 8.17);
- ``dual_numbers``: forward mode with dual numbers (8.57);
- ``jacobians``: ``J r`` (8.67) and ``J`` column by column (8.66) (Exercise 8.18).
"""

from __future__ import annotations

# the checks register in the order of the assignment
# isort: off
from grader.checks.forward_mode.symbolic import LogisticMapDerivative, SoftReluDyDw1
from grader.checks.forward_mode.tangent_trace import TangentTrace849
from grader.checks.forward_mode.dual_numbers import DualNumberJvp
from grader.checks.forward_mode.jacobians import (
    ForwardJacobianColumns,
    ForwardJacobianVectorProduct,
)
# isort: on

# the other names, importable from here as before the split: the private ones are
# helpers that tests/grader/test_forward_mode_checks.py reads
from grader.checks.forward_mode.functions import SCALAR_FUNCTIONS, VECTOR_FUNCTIONS
from grader.checks.forward_mode.jacobians import _vector_jacobian as _vector_jacobian
from grader.checks.forward_mode.symbolic import _logistic_map as _logistic_map

__all__ = [
    "SCALAR_FUNCTIONS",
    "VECTOR_FUNCTIONS",
    "DualNumberJvp",
    "ForwardJacobianColumns",
    "ForwardJacobianVectorProduct",
    "LogisticMapDerivative",
    "SoftReluDyDw1",
    "TangentTrace849",
]
