"""autodiff: reverse- and forward-mode automatic differentiation on NumPy.

The reference package of a course on Chapter 8 of Bishop & Bishop, *Deep Learning:
Foundations and Concepts*.  Transforms with JAX's names (``grad``, ``vjp``, ``jvp``,
``jacfwd``, ``jacrev``, ``hessian``, ``hvp``), an imperative ``Tensor`` and a scalar
``Scalar`` engine on the same rules, and numerical differentiation to check them.
"""

from autodiff import numerical, numpy  # noqa: F401
from autodiff.gradcheck import GradientCheckError, check_grads
from autodiff.scalar import Scalar
from autodiff.tensor import Tensor
from autodiff.transforms import (
    grad,
    hessian,
    hvp,
    jacfwd,
    jacrev,
    jvp,
    value_and_grad,
    vjp,
)

__all__ = [
    "GradientCheckError",
    "Scalar",
    "Tensor",
    "check_grads",
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacrev",
    "jvp",
    "numerical",
    "numpy",
    "value_and_grad",
    "vjp",
]
