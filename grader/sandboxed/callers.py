"""How each check calls the student's function on a case's plain inputs.

A case crosses the channel as numbers and names; most functions take them as they are
(``positional``).  Where a function expects something else (a list of activation names, a
network object, a test function), its check names one of the callers below and the kernel
builds the arguments here, from the case alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grader.sandboxed.inputs import (
    DUAL_FUNCTIONS,
    ENGINE_FUNCTIONS,
    HVP_FUNCTIONS,
    JACOBIAN_FUNCTIONS,
    NESTED_HVP_FUNCTIONS,
    SmoothFunction,
    TwoLayerNet,
)


def positional(function: Callable, args: list, kwargs: dict) -> Any:
    """``function(*args, **kwargs)``."""
    return function(*args, **kwargs)


def dag(function: Callable, args: list, kwargs: dict) -> Any:
    """``function(W, activations, ...)`` with the activation names as a list."""
    W, *rest = args
    return function(W, kwargs["activations"].split(), *rest)


def layered(function: Callable, args: list, kwargs: dict) -> Any:
    """``function(weights, biases, activations, X, T)`` from ``X, T, W1, b1, W2, b2, ...``."""
    X, T, *flat = args
    return function(list(flat[0::2]), list(flat[1::2]), kwargs["activations"].split(), X, T)


def layered_jacobian(function: Callable, args: list, kwargs: dict) -> Any:
    """``function(weights, biases, activations, x, output)`` from ``x, W1, b1, W2, b2, ...``."""
    x, *flat = args
    activations = kwargs["activations"].split()
    return function(list(flat[0::2]), list(flat[1::2]), activations, x, kwargs["output"])


def network(function: Callable, args: list, kwargs: dict) -> Any:
    """``function(net, x, **kwargs)`` with ``net`` a ``TwoLayerNet`` of the case's weights."""
    W1, b1, W2, b2, x = args
    return function(TwoLayerNet(W1, b1, W2, b2), x, **kwargs)


def _difference(kind: str) -> Callable:
    def call(function: Callable, args: list, kwargs: dict) -> Any:
        """``function(f, x, eps)`` with ``f`` the case's smooth function; also returns ``x``
        as it stands after the call (a function that perturbs it in place is caught)."""
        outer, B, c, x, eps = args
        result = function(SmoothFunction(kind, outer, B, c), x, eps)
        return [result, x]

    return call


def _floats(values) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def dual(function: Callable, args: list, kwargs: dict) -> Any:
    """``function(f, x, v)`` with ``f`` a named scalar test function, ``x`` and ``v`` tuples."""
    name, x, v = args
    return function(DUAL_FUNCTIONS[name], _floats(x), _floats(v))


def jacobian_vector(function: Callable, args: list, kwargs: dict) -> Any:
    """``function(f, x, r)`` with ``f`` a named test function of several outputs."""
    name, x, r = args
    return function(JACOBIAN_FUNCTIONS[name], _floats(x), _floats(r))


def jacobian_columns(function: Callable, args: list, kwargs: dict) -> Any:
    """``function(f, x)`` with ``f`` a named test function of several outputs."""
    name, x = args
    return function(JACOBIAN_FUNCTIONS[name], _floats(x))


def engine(function: Callable, args: list, kwargs: dict) -> Any:
    """``function(f, *xs)`` with ``f`` a named test function of a reverse-mode engine."""
    return function(ENGINE_FUNCTIONS[kwargs["function"]], *args)


def hessian_vector(function: Callable, args: list, kwargs: dict) -> Any:
    """``function(f, x, v)`` with ``f`` a named scalar function of a vector."""
    return function(HVP_FUNCTIONS[kwargs["function"]], *args)


def nested_hessian_vector(function: Callable, args: list, kwargs: dict) -> Any:
    """``function(f, x, v)`` with ``f`` a named scalar function of several scalars (written
    with operators and methods, for the student's own engines), ``x`` and ``v`` tuples."""
    name, x, v = args
    return function(NESTED_HVP_FUNCTIONS[name], _floats(x), _floats(v))


CALLERS: dict[str, Callable[[Callable, list, dict], Any]] = {
    "positional": positional,
    "dag": dag,
    "layered": layered,
    "layered_jacobian": layered_jacobian,
    "network": network,
    "difference_scalar": _difference("scalar"),
    "difference_vector": _difference("vector"),
    "dual": dual,
    "jacobian_vector": jacobian_vector,
    "jacobian_columns": jacobian_columns,
    "engine": engine,
    "hessian_vector": hessian_vector,
    "nested_hessian_vector": nested_hessian_vector,
}
