"""autodiff: reverse- and forward-mode automatic differentiation on NumPy.

The reference package of a course on Chapter 8 of Bishop & Bishop, *Deep Learning:
Foundations and Concepts*.  Transforms with JAX's names (``grad``, ``vjp``, ``jvp``,
``jacfwd``, ``jacrev``, ``hessian``, ``hvp``), an imperative ``Tensor`` and a scalar
``Scalar`` engine on the same rules, and numerical differentiation to check them.
``adjoint_program`` and ``tangent_program`` write out the programs reverse and forward mode
run (the chapter's (8.70)-(8.76) and (8.58)-(8.64) for (8.49)); ``compile`` records a
function's NumPy program once per input structure and replays it without a tape.
"""

from autodiff import numerical, numpy  # noqa: F401
from autodiff.gradcheck import GradientCheckError, check_grads
from autodiff.programs.adjoint import adjoint_program, tangent_program
from autodiff.programs.compiled import CompileWarning, compile  # noqa: A004
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
    "CompileWarning",
    "GradientCheckError",
    "Scalar",
    "Tensor",
    "adjoint_program",
    "check_grads",
    "compile",
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacrev",
    "jvp",
    "numerical",
    "numpy",
    "tangent_program",
    "value_and_grad",
    "vjp",
]
