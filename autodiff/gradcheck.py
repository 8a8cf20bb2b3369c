"""Checking derivatives against central differences, as Section 8.1.4 recommends.

``check_grads`` compares forward mode (a JVP) and reverse mode (a VJP) with a central
difference (8.25) along a random direction, for each argument in turn (each array of an
argument that is a tuple, list or dict of arrays), and then repeats the check on the
derivative functions themselves up to ``order``.  A random direction tests
every input at once for two function evaluations, instead of 2W for a full numerical
gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autodiff import numpy as anp
from autodiff.numerical import directional_derivative
from autodiff.pytree import flatten, paths, unflatten
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

    ``f`` takes the arguments ``args`` and returns an array; as with ``autodiff.grad``, an
    argument (and the result) may be a tuple, list or dict of arrays, whose arrays are then
    checked one by one.  The message names the mode, the array (``argument 0['W1']``), the
    order, and the two values with their absolute and relative difference.
    """
    unknown = set(modes) - set(MODES)
    if unknown:
        raise ValueError(f"modes must be among {MODES}, got {sorted(unknown)}")
    if order < 1:
        raise ValueError(f"order must be at least 1, got {order}")
    if not isinstance(args, (tuple, list)):
        raise TypeError("check_grads takes the arguments as a tuple, e.g. check_grads(f, (x,))")
    leaves, treedef = flatten(tuple(args))
    names = [_argument_name(path) for path in paths(treedef)]
    for leaf, name in zip(leaves, names):
        try:
            np.asarray(leaf, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"check_grads: {name} must be an array of real numbers, got {type(leaf).__name__}"
            ) from None
    args = unflatten(treedef, [np.array(leaf, dtype=np.float64) for leaf in leaves])
    rng = np.random.default_rng(seed)
    _check(f, args, names, order, tuple(modes), eps, rtol, atol, rng, 1)


def _argument_name(path: str) -> str:
    """``"[0]['W1']"`` (the path of a leaf in the tuple of arguments) as
    ``"argument 0['W1']"``."""
    first, _, rest = path[1:].partition("]")
    return f"argument {first}{rest}"


def _check(f, args, names, order, modes, eps, rtol, atol, rng, current):
    leaves, treedef = flatten(args)
    out_leaves, out_def = flatten(f(*args))
    out_leaves = [np.asarray(o) for o in out_leaves]
    directions = [rng.standard_normal(np.shape(x)) for x in leaves]
    cotangents = [rng.standard_normal(o.shape) for o in out_leaves]
    cotangent = unflatten(out_def, cotangents)
    for i, (x, v, name) in enumerate(zip(leaves, directions, names)):

        def along_i(xi, _i=i):
            return f(*_replace(leaves, treedef, _i, xi))

        numeric = flatten(directional_derivative(along_i, x, v, eps=eps))[0]
        if "fwd" in modes:
            tangents = unflatten(
                treedef, [v if j == i else np.zeros_like(a) for j, a in enumerate(leaves)]
            )
            forward = flatten(jvp(f, args, tangents)[1])[0]
            _compare(
                _concat_np(forward),
                _concat_np(numeric),
                "forward mode (jvp)",
                name,
                current,
                rtol,
                atol,
            )
        if "rev" in modes:
            _, vjp_fn = vjp(f, *args)
            grad_i = flatten(vjp_fn(cotangent))[0][i]
            projected = np.sum(grad_i * v)
            expected = sum(np.sum(ct * n) for ct, n in zip(cotangents, numeric))
            _compare(projected, expected, "reverse mode (vjp)", name, current, rtol, atol)
    if order == 1:
        return
    tangents = unflatten(treedef, directions)
    derivatives = {
        "fwd": lambda *a: jvp(f, a, tangents)[1],
        "rev": lambda *a: _concat(flatten(vjp(f, *a)[1](cotangent))[0]),
    }
    for mode in MODES:
        if mode in modes:
            _check(
                derivatives[mode], args, names, order - 1, modes, eps, rtol, atol, rng, current + 1
            )


def _replace(leaves: list, treedef: Any, i: int, value: Any) -> tuple:
    """The arguments with leaf ``i`` replaced by ``value``."""
    return unflatten(treedef, [value if j == i else x for j, x in enumerate(leaves)])


def _concat(arrays):
    return anp.concatenate([anp.ravel(a) for a in arrays])


def _concat_np(arrays) -> np.ndarray:
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    return arrays[0] if len(arrays) == 1 else np.concatenate([a.ravel() for a in arrays])


def _compare(got, expected, mode, name, order, rtol, atol):
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        raise GradientCheckError(
            f"{mode}, {name}, order {order}: derivative has shape {got.shape}, "
            f"central differences give shape {expected.shape}"
        )
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return
    abs_err = float(np.max(np.abs(got - expected)))
    rel_err = abs_err / max(float(np.max(np.abs(expected))), 1e-300)
    raise GradientCheckError(
        f"{mode}, {name}, order {order}: along a random direction autodiff gives "
        f"{_short(got)}, central differences give {_short(expected)} (max abs error "
        f"{abs_err:.3g}, relative {rel_err:.3g}; tolerance rtol={rtol:g}, atol={atol:g})"
    )


def _short(a: np.ndarray) -> str:
    return np.array2string(a, precision=6, threshold=6, edgeitems=2)
