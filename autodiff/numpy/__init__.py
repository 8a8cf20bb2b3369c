"""Differentiable NumPy: ``import autodiff.numpy as anp``.

The functions below behave like their NumPy namesakes (broadcasting, ``axis`` and
``keepdims``) on plain arrays, and are differentiable to any order when given values
being traced by a transform (``autodiff.grad``, ``jvp`` ...) or ``Tensor``/``Scalar``
objects.  Constants and array constructors of NumPy are re-exported for convenience.
"""

from numpy import arange, e, eye, float64, full, inf, linspace, nan, newaxis, ones, pi, zeros  # noqa: F401  # noqa: F401

from autodiff.numpy import batchers as _batchers  # noqa: F401  (registers the batchers)
from autodiff.numpy import methods as _methods  # noqa: F401  (operators on tracers)
from autodiff.numpy import rules as _rules  # noqa: F401  (registers the derivative rules)
from autodiff.numpy.functions import (  # noqa: F401
    array,
    asarray,
    concatenate,
    dot,
    equal,
    expand_dims,
    greater,
    greater_equal,
    inner,
    less,
    less_equal,
    log_softmax,
    ndim,
    not_equal,
    ones_like,
    outer,
    ravel,
    shape,
    size,
    softmax,
    squeeze,
    stack,
    std,
    swapaxes,
    trace,
    var,
    zeros_like,
)
from autodiff.numpy.primitives import (  # noqa: F401
    absolute,
    add,
    broadcast_to,
    cos,
    divide,
    exp,
    expm1,
    log,
    log1p,
    logsumexp,
    matmul,
    maximum,
    mean,
    minimum,
    multiply,
    negative,
    power,
    relu,
    reshape,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    transpose,
    true_divide,
    where,
)
from autodiff.numpy.primitives import absolute as abs  # noqa: F401, A004
from autodiff.numpy.primitives import max_ as max  # noqa: F401, A004
from autodiff.numpy.primitives import min_ as min  # noqa: F401, A004
from autodiff.numpy.primitives import sum_ as sum  # noqa: F401, A004
