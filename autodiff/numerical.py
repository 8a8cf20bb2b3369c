"""Numerical differentiation by finite differences (Section 8.1.4).

Perturbing one input at a time and differencing function values gives derivatives
from forward evaluations alone:

- forward differences (8.24): ``(f(x + eps e_i) - f(x)) / eps``, error O(eps);
- central differences (8.25): ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``, whose
  O(eps) terms cancel (Exercise 8.3), leaving O(eps^2);
- the same along any direction ``v`` instead of a unit vector ``e_i``;
- the Jacobian column by column with central differences (8.35).

A gradient costs W + 1 (forward) or 2W (central) evaluations of f, each of which
costs O(W) for a network, hence the O(W^2) of Section 8.1.4; their use is to check
derivatives computed by backpropagation or automatic differentiation.

Step sizes.  An explicit ``eps`` is the absolute step used for every component.  By
default the step balances truncation against round-off: ``sqrt(u)`` for forward and
``u**(1/3)`` for central differences (``u`` is the float64 machine epsilon), scaled by
``max(1, |x_i|)`` so that large inputs get proportionally larger steps.

Every function evaluates ``f`` on fresh float64 copies, so ``x`` is never modified.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

_MACHINE_EPS = float(np.finfo(np.float64).eps)
FORWARD_EPS = float(np.sqrt(_MACHINE_EPS))
"""Default relative step for forward differences (8.24), about 1.5e-8."""
CENTRAL_EPS = float(np.cbrt(_MACHINE_EPS))
"""Default relative step for central differences (8.25), about 6.1e-6."""

Method = Literal["central", "forward"]


def forward_difference(
    f: Callable[[np.ndarray], ArrayLike], x: ArrayLike, eps: float | None = None
) -> np.ndarray:
    """Gradient of a scalar function ``f`` at ``x`` by forward differences (8.24).

    Costs ``x.size + 1`` evaluations of ``f``; the error is O(eps).  Returns an array
    of ``x``'s shape.  ``eps`` defaults to ``sqrt(u) * max(1, |x_i|)`` per component.
    """
    x = _as_float_array(x, "x")
    steps = _steps(x, eps, FORWARD_EPS)
    return _partial_derivatives(f, x, steps, "forward", "forward_difference", scalar=True)


def central_difference(
    f: Callable[[np.ndarray], ArrayLike], x: ArrayLike, eps: float | None = None
) -> np.ndarray:
    """Gradient of a scalar function ``f`` at ``x`` by central differences (8.25).

    Costs ``2 * x.size`` evaluations of ``f``; the error is O(eps^2).  Returns an
    array of ``x``'s shape.  ``eps`` defaults to ``u**(1/3) * max(1, |x_i|)``.
    """
    x = _as_float_array(x, "x")
    steps = _steps(x, eps, CENTRAL_EPS)
    return _partial_derivatives(f, x, steps, "central", "central_difference", scalar=True)


def numerical_jacobian(
    f: Callable[[np.ndarray], ArrayLike], x: ArrayLike, eps: float | None = None
) -> np.ndarray:
    """Jacobian of ``f`` at ``x`` by central differences (8.35).

    Entry ``[k..., i...]`` approximates ``d f(x)[k...] / d x[i...]``, so the result has
    shape ``f(x).shape + x.shape``.  Costs ``2 * x.size`` evaluations of ``f`` (plus one
    at ``x`` for the output shape); the error is O(eps^2).
    """
    x = _as_float_array(x, "x")
    steps = _steps(x, eps, CENTRAL_EPS)
    return _partial_derivatives(f, x, steps, "central", "numerical_jacobian", scalar=False)


def directional_derivative(
    f: Callable[[np.ndarray], ArrayLike],
    x: ArrayLike,
    v: ArrayLike,
    eps: float | None = None,
    method: Method = "central",
) -> np.ndarray:
    """Derivative of ``f`` at ``x`` along ``v``: ``d/dt f(x + t v)`` at ``t = 0``.

    This is the Jacobian-vector product ``J v`` (compare (8.67)) from one difference
    quotient: two evaluations with ``method="central"`` (8.25), error O(eps^2), or two
    with ``"forward"`` (8.24), error O(eps).  ``f`` may return any shape; the result has
    that shape.  By default the step ``t`` makes the largest component of ``t v`` equal
    to the default relative step times ``max(1, max |x|)``.
    """
    x = _as_float_array(x, "x")
    v = _as_float_array(v, "v")
    if v.shape != x.shape:
        raise ValueError(f"direction v must have the shape of x, {x.shape}, got {v.shape}")
    if method not in ("central", "forward"):
        raise ValueError(f"method must be 'central' or 'forward', got {method!r}")
    if eps is None:
        base = CENTRAL_EPS if method == "central" else FORWARD_EPS
        scale = max(1.0, float(np.max(np.abs(x), initial=0.0)))
        v_size = float(np.max(np.abs(v), initial=0.0))
        eps = base * scale / v_size if v_size > 0 else base * scale
    else:
        eps = _check_eps(eps)
    name = "directional_derivative"
    plus = _evaluate(f, x + eps * v, name)
    if method == "central":
        minus = _evaluate(f, x - eps * v, name, plus.shape)
        return (plus - minus) / (2.0 * eps)
    return (plus - _evaluate(f, x.copy(), name, plus.shape)) / eps


def _partial_derivatives(
    f: Callable[[np.ndarray], ArrayLike],
    x: np.ndarray,
    steps: np.ndarray,
    method: Method,
    name: str,
    *,
    scalar: bool,
) -> np.ndarray:
    """Difference quotients along every coordinate, shaped ``f(x).shape + x.shape``."""
    out_shape = () if scalar else None
    f_at_x = None
    if method == "forward" or not scalar:
        f_at_x = _evaluate(f, x.copy(), name, out_shape, scalar=scalar)
        out_shape = f_at_x.shape
    columns = np.empty(out_shape + (x.size,))
    for i, h in enumerate(steps.ravel()):
        x_plus = x.copy()
        x_plus.flat[i] += h
        f_plus = _evaluate(f, x_plus, name, out_shape, scalar=scalar)
        if method == "forward":
            columns[..., i] = (f_plus - f_at_x) / h
        else:
            x_minus = x.copy()
            x_minus.flat[i] -= h
            f_minus = _evaluate(f, x_minus, name, out_shape, scalar=scalar)
            columns[..., i] = (f_plus - f_minus) / (2.0 * h)
    return columns.reshape(out_shape + x.shape)


def _evaluate(
    f: Callable[[np.ndarray], ArrayLike],
    x: np.ndarray,
    name: str,
    expected_shape: tuple[int, ...] | None = None,
    *,
    scalar: bool = False,
) -> np.ndarray:
    """``f(x)`` as a float64 array, checked to be a scalar or to keep its shape."""
    value = f(x)
    try:
        out = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name}: f must return a real number or array, got {type(value).__name__}"
        ) from err
    if scalar and out.shape != ():
        raise ValueError(
            f"{name} needs f to return a scalar, but f returned an array of shape "
            f"{out.shape}; reduce it to a scalar (e.g. sum it) or use numerical_jacobian"
        )
    if expected_shape is not None and out.shape != expected_shape:
        raise ValueError(
            f"{name}: f returned shape {out.shape} at one point and {expected_shape} at "
            "another; f must return the same shape for every input"
        )
    return out


def _as_float_array(x: ArrayLike, name: str) -> np.ndarray:
    """A float64 copy of ``x``, rejecting non-numeric and non-finite input."""
    try:
        array = np.array(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be a real number or array of real numbers, got {type(x).__name__}"
        ) from err
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array}")
    return array


def _check_eps(eps: float) -> float:
    """``eps`` as a positive finite float, or a ValueError saying what is wrong."""
    if isinstance(eps, (bool, np.bool_)) or not np.isscalar(eps):
        raise TypeError(f"eps must be a positive number, got {eps!r}")
    eps = float(eps)
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps}")
    return eps


def _steps(x: np.ndarray, eps: float | None, relative_eps: float) -> np.ndarray:
    """Per-component steps: ``eps`` everywhere, or ``relative_eps * max(1, |x_i|)``."""
    if eps is None:
        return relative_eps * np.maximum(1.0, np.abs(x))
    steps = np.full(x.shape, _check_eps(eps))
    lost = (x + steps == x) | (x - steps == x)
    if np.any(lost):
        i = np.unravel_index(int(np.argmax(lost)), x.shape)
        where = f"x[{', '.join(map(str, i))}]" if x.ndim else "x"
        raise ValueError(
            f"eps={steps.flat[0]:g} is below the float64 spacing at {where} = {x[i]:g} "
            f"(x + eps or x - eps equals x there); use an eps larger than {np.spacing(x[i]):g}"
        )
    return steps
