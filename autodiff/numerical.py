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

``x`` may also be a tuple, list or dict of arrays (a network's parameters, say), as for
``autodiff.grad``: the derivatives then come in the same structure, and ``f`` may return
such a structure too (``numerical_jacobian``, ``directional_derivative``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from autodiff.pytree import describe, flatten, paths, unflatten

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
    of ``x``'s shape (a structure like ``x`` for a tuple, list or dict of arrays).
    ``eps`` defaults to ``sqrt(u) * max(1, |x_i|)`` per component.
    """
    flat = _Flat(x, "x")
    steps = _steps(flat.z, eps, FORWARD_EPS, flat.where)
    g = _partial_derivatives(
        flat.wrap(f), flat.z, steps, "forward", "forward_difference", scalar=True
    )
    return flat.rebuild(g)


def central_difference(
    f: Callable[[np.ndarray], ArrayLike], x: ArrayLike, eps: float | None = None
) -> np.ndarray:
    """Gradient of a scalar function ``f`` at ``x`` by central differences (8.25).

    Costs ``2 * x.size`` evaluations of ``f``; the error is O(eps^2).  Returns an
    array of ``x``'s shape (a structure like ``x`` for a tuple, list or dict of arrays).
    ``eps`` defaults to ``u**(1/3) * max(1, |x_i|)``.
    """
    flat = _Flat(x, "x")
    steps = _steps(flat.z, eps, CENTRAL_EPS, flat.where)
    g = _partial_derivatives(
        flat.wrap(f), flat.z, steps, "central", "central_difference", scalar=True
    )
    return flat.rebuild(g)


def numerical_jacobian(
    f: Callable[[np.ndarray], ArrayLike], x: ArrayLike, eps: float | None = None
) -> np.ndarray:
    """Jacobian of ``f`` at ``x`` by central differences (8.35).

    Entry ``[k..., i...]`` approximates ``d f(x)[k...] / d x[i...]``, so the result has
    shape ``f(x).shape + x.shape``.  Costs ``2 * x.size`` evaluations of ``f`` (plus one
    at ``x`` for the output shape); the error is O(eps^2).  For structures of arrays the
    blocks are laid out as ``autodiff.jacrev`` does: the output's structure, each leaf
    holding the input's structure of blocks ``out_leaf.shape + in_leaf.shape``.
    """
    flat = _Flat(x, "x")
    steps = _steps(flat.z, eps, CENTRAL_EPS, flat.where)
    out = _Outputs()
    J = _partial_derivatives(
        out.wrap(flat.wrap(f)), flat.z, steps, "central", "numerical_jacobian", scalar=False
    )
    if flat.treedef is None and out.treedef is None:
        return J
    return _blocks(J.reshape(-1, flat.z.size), out, flat, J.shape[:-1])


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
    with ``"forward"`` (8.24), error O(eps).  ``f`` may return any shape (or structure of
    arrays); the result has that shape.  ``x`` and ``v`` may be structures of arrays, alike.
    By default the step ``t`` makes the largest component of ``t v`` equal to the default
    relative step times ``max(1, max |x|)``.
    """
    flat_x = _Flat(x, "x")
    flat_v = _Flat(v, "v")
    if flat_v.treedef != flat_x.treedef:
        raise ValueError(
            f"direction v must have the structure of x, {describe(flat_x.treedef)}, "
            f"got {describe(flat_v.treedef)}"
        )
    for name, xs, vs in zip(flat_x.names, flat_x.shapes, flat_v.shapes):
        if xs != vs:
            raise ValueError(
                f"direction {name.replace('x', 'v', 1)} must have the shape of {name}, "
                f"{xs}, got {vs}"
            )
    x, v = flat_x.z, flat_v.z
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
    out = _Outputs()
    g = out.wrap(flat_x.wrap(f))
    plus = _evaluate(g, x + eps * v, name)
    if method == "central":
        minus = _evaluate(g, x - eps * v, name, plus.shape)
        return out.rebuild((plus - minus) / (2.0 * eps))
    return out.rebuild((plus - _evaluate(g, x.copy(), name, plus.shape)) / eps)


class _Flat:
    """An input ``x`` as one float64 array ``z``: ``x`` itself (a copy) for an array, the
    concatenated leaves for a tuple, list or dict of arrays."""

    def __init__(self, x: Any, name: str) -> None:
        leaves, self.treedef = flatten(x)
        self.names = [name + path for path in paths(self.treedef)]
        arrays = [_as_float_array(leaf, n) for leaf, n in zip(leaves, self.names)]
        self.shapes = [a.shape for a in arrays]
        if self.treedef is None:
            self.z = arrays[0]
        else:
            self.z = np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)
        self.starts = np.cumsum([0] + [a.size for a in arrays])

    def tree(self, z: np.ndarray) -> Any:
        """The structure of ``x`` with the values ``z`` (views of ``z``)."""
        if self.treedef is None:
            return z
        parts = [z[a:b].reshape(s) for a, b, s in zip(self.starts, self.starts[1:], self.shapes)]
        return unflatten(self.treedef, parts)

    def wrap(self, f: Callable) -> Callable:
        return f if self.treedef is None else (lambda z: f(self.tree(z)))

    def rebuild(self, g: np.ndarray) -> Any:
        """A derivative with respect to ``z`` in the structure of ``x``."""
        return g if self.treedef is None else self.tree(g)

    def where(self, i: int) -> str:
        """The component ``z[i]``, named as in ``x``."""
        leaf = int(np.searchsorted(self.starts, i, side="right")) - 1
        shape = self.shapes[leaf]
        if not shape:
            return self.names[leaf]
        index = np.unravel_index(i - self.starts[leaf], shape)
        return f"{self.names[leaf]}[{', '.join(map(str, index))}]"


class _Outputs:
    """The values of ``f`` as one array, remembering their structure to rebuild it."""

    def __init__(self) -> None:
        self.treedef = None
        self.shapes: list[tuple[int, ...]] = []

    def wrap(self, f: Callable) -> Callable:
        def flat_f(z: np.ndarray) -> Any:
            leaves, treedef = flatten(f(z))
            if treedef is None:
                return leaves[0]
            self.treedef = treedef
            arrays = [_output_array(leaf) for leaf in leaves]
            self.shapes = [a.shape for a in arrays]
            return np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)

        return flat_f

    def rebuild(self, values: np.ndarray) -> Any:
        if self.treedef is None:
            return values
        starts = np.cumsum([0] + [int(np.prod(s)) for s in self.shapes])
        parts = [values[a:b].reshape(s) for a, b, s in zip(starts, starts[1:], self.shapes)]
        return unflatten(self.treedef, parts)


def _output_array(value: Any) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"f must return real numbers or arrays in its structure, got {type(value).__name__}"
        ) from err


def _blocks(J: np.ndarray, out: _Outputs, flat: _Flat, flat_out_shape: tuple) -> Any:
    """Cut an (m, n) Jacobian into blocks ``out_leaf.shape + in_leaf.shape``, in the
    output's structure of the input's structure."""
    out_shapes = out.shapes if out.treedef is not None else [flat_out_shape]
    out_starts = np.cumsum([0] + [int(np.prod(s)) for s in out_shapes])
    rows = []
    for (a, b), oshape in zip(zip(out_starts, out_starts[1:]), out_shapes):
        row = [
            J[a:b, c:d].reshape(*oshape, *ishape)
            for c, d, ishape in zip(flat.starts, flat.starts[1:], flat.shapes)
        ]
        rows.append(row[0] if flat.treedef is None else unflatten(flat.treedef, row))
    return rows[0] if out.treedef is None else unflatten(out.treedef, rows)


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
            f"{name} must be a real number or array of real numbers (or a tuple, list or dict "
            f"of them), got {type(x).__name__}"
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


def _steps(
    x: np.ndarray, eps: float | None, relative_eps: float, where: Callable[[int], str]
) -> np.ndarray:
    """Per-component steps: ``eps`` everywhere, or ``relative_eps * max(1, |x_i|)``."""
    if eps is None:
        return relative_eps * np.maximum(1.0, np.abs(x))
    steps = np.full(x.shape, _check_eps(eps))
    lost = (x + steps == x) | (x - steps == x)
    if np.any(lost):
        flat_index = int(np.argmax(lost))
        value = x.flat[flat_index]
        raise ValueError(
            f"eps={steps.flat[0]:g} is below the float64 spacing at {where(flat_index)} = "
            f"{value:g} (x + eps or x - eps equals x there); use an eps larger than "
            f"{np.spacing(value):g}"
        )
    return steps
