"""Checking derivatives against central differences, as Section 8.1.4 recommends.

``check_grads`` compares forward mode (a JVP) and reverse mode (a VJP) with a central
difference (8.25) along a random direction, for each argument in turn, and then repeats the
check on the derivative functions themselves up to ``order``.  A random direction tests
every input at once for two function evaluations, instead of 2W for a full numerical
gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from autodiff import numpy as anp
from autodiff.numerical import directional_derivative
from autodiff.transforms import jvp, vjp

MODES = ("fwd", "rev")


class GradientCheckError(AssertionError):
    """A derivative disagrees with central differences."""


def check_grads(
    f: Callable,
    args: Sequence,
    order: int = 2,
    modes: Sequence[str] = MODES,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    seed: int = 0,
) -> None:
    """Raise ``GradientCheckError`` unless the derivatives of ``f`` match central
    differences along random directions, for every argument, in every mode of ``modes``
    (``"fwd"``, ``"rev"``), for derivatives of order 1 up to ``order``.

    ``f`` takes the arrays ``args`` and returns an array.  The message names the mode, the
    argument, the order, and the two values with their absolute and relative difference.
    """
    unknown = set(modes) - set(MODES)
    if unknown:
        raise ValueError(f"modes must be among {MODES}, got {sorted(unknown)}")
    if order < 1:
        raise ValueError(f"order must be at least 1, got {order}")
    if not isinstance(args, (tuple, list)):
        raise TypeError("check_grads takes the arguments as a tuple, e.g. check_grads(f, (x,))")
    args = tuple(np.array(a, dtype=np.float64) for a in args)
    _check(f, args, order, tuple(modes), eps, rtol, atol, np.random.default_rng(seed), 1)


def _check(f, args, order, modes, eps, rtol, atol, rng, current):
    out = np.asarray(f(*args))
    directions = [rng.standard_normal(np.shape(a)) for a in args]
    cotangent = rng.standard_normal(out.shape)
    for i, (x, v) in enumerate(zip(args, directions)):

        def along_i(xi, _i=i):
            return f(*args[:_i], xi, *args[_i + 1 :])

        numeric = directional_derivative(along_i, x, v, eps=eps)
        tangents = tuple(v if j == i else np.zeros_like(a) for j, a in enumerate(args))
        if "fwd" in modes:
            _, forward = jvp(f, args, tangents)
            _compare(forward, numeric, "forward mode (jvp)", i, current, rtol, atol)
        if "rev" in modes:
            _, vjp_fn = vjp(f, *args)
            projected = np.sum(vjp_fn(cotangent)[i] * v)
            _compare(
                projected, np.sum(cotangent * numeric), "reverse mode (vjp)", i, current, rtol, atol
            )
    if order == 1:
        return
    tangents = tuple(directions)
    derivatives = {
        "fwd": lambda *a: jvp(f, a, tangents)[1],
        "rev": lambda *a: _concat(vjp(f, *a)[1](cotangent)),
    }
    for mode in MODES:
        if mode in modes:
            _check(derivatives[mode], args, order - 1, modes, eps, rtol, atol, rng, current + 1)


def _concat(arrays):
    return anp.concatenate([anp.ravel(a) for a in arrays])


def _compare(got, expected, mode, argnum, order, rtol, atol):
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        raise GradientCheckError(
            f"{mode}, argument {argnum}, order {order}: derivative has shape {got.shape}, "
            f"central differences give shape {expected.shape}"
        )
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return
    abs_err = float(np.max(np.abs(got - expected)))
    rel_err = abs_err / max(float(np.max(np.abs(expected))), 1e-300)
    raise GradientCheckError(
        f"{mode}, argument {argnum}, order {order}: along a random direction autodiff gives "
        f"{_short(got)}, central differences give {_short(expected)} (max abs error "
        f"{abs_err:.3g}, relative {rel_err:.3g}; tolerance rtol={rtol:g}, atol={atol:g})"
    )


def _short(a: np.ndarray) -> str:
    return np.array2string(a, precision=6, threshold=6, edgeitems=2)
