"""The numerical-differentiation study of Section 8.1.4.

Two experiments on the two-layer tanh network of Section 8.1.3
(:class:`~autodiff.algorithms.network.TwoLayerNet`), with the exact gradient from
reverse-mode autodiff (:func:`autodiff.grad`) as the reference:

**Accuracy against step size (Figure 8.2).**  For each ``eps`` on a log grid,
the error of the forward-difference (8.24) and central-difference (8.25) gradients.
For large ``eps`` the truncation error dominates and falls like ``eps`` (forward)
or ``eps^2`` (central, Exercise 8.3): straight lines of slope 1 and 2 on log-log
axes.  For small ``eps`` round-off in ``E(w + eps) - E(w)`` dominates, about
``u |E| / eps`` with ``u`` the machine epsilon, so the error rises again (slope
about -1) and is noisy.  The best step sits where the two meet, near ``u^(1/2)``
(forward) and ``u^(1/3)`` (central).  :func:`step_size_study` measures this for any
function, :func:`figure_8_2_data` for a network error, :func:`plot_figure_8_2`
draws it.

**Cost against the number of weights W.**  One evaluation of the error costs
O(W); a finite-difference gradient perturbs each of the W weights in turn, W + 1
evaluations (8.24) or 2W (8.25), so O(W^2); backpropagation costs a small multiple of
one evaluation, O(W).  :func:`gradient_cost_study` times all of them on networks of
growing width and fits the exponents of ``time ~ W^p``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.network import TwoLayerNet
from autodiff.numerical import central_difference, forward_difference

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DEFAULT_EPS_GRID = np.logspace(-14, -1, 53)
"""Step sizes of :func:`step_size_study`: 1e-14 to 1e-1, four per decade."""


def network_error_function(
    net: TwoLayerNet, X: np.ndarray, T: np.ndarray
) -> Callable[[np.ndarray], float]:
    """``E(w)``: the batch sum-of-squares error (8.17), (8.1) of ``net``'s architecture.

    ``w`` is a flat parameter vector in :meth:`TwoLayerNet.flatten` order.  The
    forward propagation (8.18)-(8.20) is written with ``autodiff.numpy``, so the same
    function is evaluated on plain arrays by finite differences and differentiated
    by :func:`autodiff.grad`.
    """
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    T = np.atleast_2d(np.asarray(T, dtype=np.float64))
    D, _, K = net.shape
    if X.shape[1] != D or T.shape != (X.shape[0], K):
        raise ValueError(
            f"for a network with D={D} inputs and K={K} outputs, X must be (N, {D}) and T "
            f"(N, {K}); got X {X.shape} and T {T.shape}"
        )
    shapes = [p.shape for p in net.parameters()]
    bounds = np.cumsum([0] + [int(np.prod(s)) for s in shapes])

    def error(w: np.ndarray) -> float:
        W1, b1, W2, b2, *skip = (
            anp.reshape(w[start:stop], shape)
            for start, stop, shape in zip(bounds[:-1], bounds[1:], shapes, strict=True)
        )
        Z = anp.tanh(anp.matmul(X, anp.transpose(W1)) + b1)
        Y = anp.matmul(Z, anp.transpose(W2)) + b2
        if skip:
            Y = Y + anp.matmul(X, anp.transpose(skip[0]))
        return 0.5 * anp.sum((Y - T) ** 2)

    return error


# ---------------------------------------------------------------------------
# Accuracy against step size: Figure 8.2
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StepSizeStudy:
    """Errors of finite-difference gradients against ``eps`` (Figure 8.2).

    Errors are relative: ``max_i |g_i - g_i^exact| / max_i |g_i^exact|``.  Slopes are
    least-squares fits of ``log error`` against ``log eps``: in the truncation regime
    (``eps`` at least 100 times the best step) about 1 for forward and 2 for central
    differences, in the round-off regime (at most a hundredth of the best step) about
    -1.  A slope is NaN when the grid has fewer than two points in that regime.
    """

    eps: np.ndarray
    forward_error: np.ndarray
    central_error: np.ndarray
    forward_slope: float
    central_slope: float
    forward_roundoff_slope: float
    central_roundoff_slope: float
    forward_best_eps: float
    central_best_eps: float


def step_size_study(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    exact_gradient: np.ndarray,
    eps: Sequence[float] | np.ndarray = DEFAULT_EPS_GRID,
) -> StepSizeStudy:
    """Error of the (8.24) and (8.25) gradients of ``f`` at ``x`` for every step in ``eps``."""
    x = np.asarray(x, dtype=np.float64)
    exact = np.asarray(exact_gradient, dtype=np.float64)
    if exact.shape != x.shape:
        raise ValueError(f"exact_gradient must have x's shape {x.shape}, got {exact.shape}")
    scale = float(np.max(np.abs(exact), initial=0.0))
    if scale == 0.0:
        raise ValueError("exact_gradient is zero, so relative errors are undefined")
    eps = np.sort(np.asarray(eps, dtype=np.float64).ravel())
    if eps.size < 2 or np.any(eps <= 0):
        raise ValueError(f"eps must hold at least two positive steps, got {eps}")

    def error(method: Callable[..., np.ndarray], h: float) -> float:
        return float(np.max(np.abs(method(f, x, h) - exact))) / scale

    forward = np.array([error(forward_difference, h) for h in eps])
    central = np.array([error(central_difference, h) for h in eps])
    forward_best = float(eps[np.argmin(forward)])
    central_best = float(eps[np.argmin(central)])
    return StepSizeStudy(
        eps=eps,
        forward_error=forward,
        central_error=central,
        forward_slope=_regime_slope(eps, forward, eps >= 100 * forward_best),
        central_slope=_regime_slope(eps, central, eps >= 100 * central_best),
        forward_roundoff_slope=_regime_slope(eps, forward, eps <= forward_best / 100),
        central_roundoff_slope=_regime_slope(eps, central, eps <= central_best / 100),
        forward_best_eps=forward_best,
        central_best_eps=central_best,
    )


def _regime_slope(eps: np.ndarray, error: np.ndarray, in_regime: np.ndarray) -> float:
    """Log-log least-squares slope over the selected (positive-error) points."""
    keep = in_regime & (error > 0)
    if np.count_nonzero(keep) < 2:
        return float("nan")
    return float(np.polyfit(np.log(eps[keep]), np.log(error[keep]), 1)[0])


def figure_8_2_data(
    eps: Sequence[float] | np.ndarray = DEFAULT_EPS_GRID,
    *,
    inputs: int = 3,
    hidden: int = 4,
    outputs: int = 2,
    data_points: int = 5,
    seed: int = 0,
) -> StepSizeStudy:
    """:func:`step_size_study` for the error of a random two-layer network (8.17).

    The network, inputs and targets are drawn from ``seed``; the exact gradient with
    respect to all W weights and biases comes from :func:`autodiff.grad`.
    """
    rng = np.random.default_rng(seed)
    net = TwoLayerNet.random(inputs, hidden, outputs, rng=rng)
    X = rng.normal(size=(data_points, inputs))
    T = rng.normal(size=(data_points, outputs))
    error = network_error_function(net, X, T)
    w = net.flatten()
    return step_size_study(error, w, autodiff.grad(error)(w), eps)


def plot_figure_8_2(study: StepSizeStudy) -> Figure:
    """Figure 8.2: error against ``eps`` on log-log axes, forward in red, central in blue."""
    from matplotlib.figure import Figure  # only when drawing: grading never loads it

    figure = Figure(figsize=(6.0, 4.4))
    ax = figure.add_subplot()
    ax.loglog(
        study.eps,
        study.forward_error,
        "-",
        color="tab:red",
        label=f"forward differences (8.24), slope {study.forward_slope:.2f}",
    )
    ax.loglog(
        study.eps,
        study.central_error,
        "-",
        color="tab:blue",
        label=f"central differences (8.25), slope {study.central_slope:.2f}",
    )
    ax.set_xlabel(r"step size $\epsilon$")
    ax.set_ylabel("relative error of the gradient")
    ax.set_title("Numerical gradient against backpropagation")
    ax.legend(fontsize="small")
    return figure


# ---------------------------------------------------------------------------
# Cost against the number of weights: O(W^2) against O(W)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GradientCostStudy:
    """Best-of-``repeats`` wall-clock seconds per network size, and fitted exponents.

    ``exponents`` maps ``"evaluation"``, ``"forward_difference"``,
    ``"central_difference"`` and ``"backprop"`` to ``p`` in ``seconds ~ W^p`` (Section
    8.1.4 predicts 1, 2, 2 and 1 once W is large enough for arithmetic, not per-call
    overhead, to dominate).  ``max_relative_difference`` compares the central-difference
    gradient with the backprop one at each size, confirming both computed the same thing.
    """

    num_weights: np.ndarray
    evaluation_seconds: np.ndarray
    forward_difference_seconds: np.ndarray
    central_difference_seconds: np.ndarray
    backprop_seconds: np.ndarray
    max_relative_difference: np.ndarray
    exponents: dict[str, float]


_TIMED = ("evaluation", "forward_difference", "central_difference", "backprop")


def gradient_cost_study(
    hidden_sizes: Sequence[int],
    *,
    inputs: int = 10,
    outputs: int = 2,
    data_points: int = 20,
    repeats: int = 3,
    seed: int = 0,
) -> GradientCostStudy:
    """Time the error, its finite-difference gradients and its backprop gradient.

    One two-layer network per entry of ``hidden_sizes`` (so W grows linearly with
    the width), each on ``data_points`` random inputs and targets.  Backpropagation
    is :func:`autodiff.grad` of :func:`network_error_function`; finite differences use
    the same function with :func:`~autodiff.numerical.forward_difference` and
    :func:`~autodiff.numerical.central_difference`.  Needs at least two sizes.
    """
    sizes = [int(m) for m in hidden_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"hidden_sizes needs at least two positive widths, got {hidden_sizes}")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    rng = np.random.default_rng(seed)
    columns: dict[str, list[float]] = {name: [] for name in _TIMED}
    num_weights, differences = [], []
    for hidden in sizes:
        net = TwoLayerNet.random(inputs, hidden, outputs, rng=rng)
        X = rng.normal(size=(data_points, inputs))
        T = rng.normal(size=(data_points, outputs))
        error = network_error_function(net, X, T)
        w = net.flatten()
        num_weights.append(w.size)
        for name, seconds in _time_gradients(error, w, repeats).items():
            columns[name].append(seconds)
        exact = autodiff.grad(error)(w)
        numerical = central_difference(error, w)
        differences.append(float(np.max(np.abs(numerical - exact)) / np.max(np.abs(exact))))
    W = np.array(num_weights)
    seconds = {name: np.array(times) for name, times in columns.items()}
    return GradientCostStudy(
        num_weights=W,
        evaluation_seconds=seconds["evaluation"],
        forward_difference_seconds=seconds["forward_difference"],
        central_difference_seconds=seconds["central_difference"],
        backprop_seconds=seconds["backprop"],
        max_relative_difference=np.array(differences),
        exponents={name: growth_exponent(W, t) for name, t in seconds.items()},
    )


def growth_exponent(sizes: Sequence[float], seconds: Sequence[float]) -> float:
    """``p`` of the least-squares fit ``log seconds = p log size + c``."""
    sizes = np.asarray(sizes, dtype=np.float64)
    seconds = np.asarray(seconds, dtype=np.float64)
    if sizes.shape != seconds.shape or sizes.size < 2:
        raise ValueError(
            f"need matching sizes and times, at least two of each; got {sizes.shape} "
            f"and {seconds.shape}"
        )
    if np.any(sizes <= 0) or np.any(seconds <= 0):
        raise ValueError("sizes and times must be positive to fit on log-log axes")
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def _time_gradients(
    error: Callable[[np.ndarray], float], w: np.ndarray, repeats: int
) -> dict[str, float]:
    """Best times of one evaluation of ``error`` at ``w`` and of its three gradients."""
    backprop = autodiff.grad(error)
    return {
        "evaluation": _best_time(lambda: error(w), repeats),
        "forward_difference": _best_time(lambda: forward_difference(error, w), repeats),
        "central_difference": _best_time(lambda: central_difference(error, w), repeats),
        "backprop": _best_time(lambda: backprop(w), repeats),
    }


def _best_time(run: Callable[[], object], repeats: int) -> float:
    """Smallest wall-clock time of ``repeats`` calls of ``run``."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best
