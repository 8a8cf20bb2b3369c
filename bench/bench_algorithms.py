"""How the cost of derivatives grows with the number of weights W (Sections 8.1.4-8.1.6).

A two-layer tanh network (:class:`~autodiff.algorithms.network.TwoLayerNet`) with D = 10
inputs, K = 2 outputs and growing hidden width M has W = M (D + K + 1) + K weights, and one
evaluation of its batch error (8.17), (8.1) costs O(W).  Timed at each W, on N = 1000 data
points so that arithmetic rather than per-call overhead dominates at the large end:

- the gradient by backpropagation, O(W): the explicit two-layer version (8.21)-(8.23) and
  ``autodiff.grad`` of the error written with ``autodiff.numpy``;
- the gradient by central differences (8.25): 2W evaluations, so O(W^2);
- the Hessian-vector product, O(W): ``autodiff.hvp`` (forward over reverse) and the
  R-operator written out by hand;
- the dense Hessian, O(W^2): ``autodiff.hessian`` (forward mode over the reverse-mode
  gradient, its columns pushed through in batched sweeps) and the closed-form blocks of
  Exercise 8.6.

The quadratic methods are run only while a call is predicted to stay under a time limit;
nothing is extrapolated.  Growth exponents are least-squares slopes on log-log axes over the
largest decade of W measured for each method.  Times are CPU seconds with a single-threaded
BLAS, the garbage collector stays on (see :func:`best_time`) and the allocator is settled
first (see :func:`settle_allocator`).  Prints a Markdown table,
writes it to bench/results/algorithms.md and the log-log plot to bench/results/algorithms.png.

    python bench/bench_algorithms.py            # full run (a few minutes)
    python bench/bench_algorithms.py --quick    # fewer repetitions, W up to 10^4
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import autodiff  # noqa: E402
from autodiff import transforms  # noqa: E402
from autodiff.algorithms.finite_differences import (  # noqa: E402
    growth_exponent,
    network_error_function,
)
from autodiff.algorithms.hessian import exact_hessian, hessian_vector_product  # noqa: E402
from autodiff.algorithms.network import TwoLayerNet  # noqa: E402
from autodiff.algorithms.two_layer import two_layer_flat_gradient  # noqa: E402
from autodiff.numerical import central_difference  # noqa: E402

RESULTS = Path(__file__).parent / "results"
INPUTS, OUTPUTS, DATA_POINTS = 10, 2, 1000
FULL_SIZES = (100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
QUICK_SIZES = (100, 200, 500, 1_000, 2_000, 5_000, 10_000)
LOOP_SECONDS = 0.01  # fast calls are looped for at least this long per timing
SINGLE_SHOT_SECONDS = 3.0  # calls slower than this are timed once
TIMING_BUDGET_SECONDS = 8.0  # no more timings of one call once this much is spent on it


@dataclass(frozen=True)
class Problem:
    """One network size: the network, its data, its error ``E(w)`` and a direction ``v``."""

    net: TwoLayerNet
    X: np.ndarray
    T: np.ndarray
    error: Callable[[np.ndarray], float]
    w: np.ndarray
    v: np.ndarray


def make_problem(target_weights: int, rng: np.random.Generator) -> Problem:
    """A random network whose W is the nearest reachable to ``target_weights``."""
    hidden = max(1, round((target_weights - OUTPUTS) / (INPUTS + OUTPUTS + 1)))
    net = TwoLayerNet.random(INPUTS, hidden, OUTPUTS, rng=rng)
    X = rng.normal(size=(DATA_POINTS, INPUTS))
    T = rng.normal(size=(DATA_POINTS, OUTPUTS))
    w = net.flatten()
    return Problem(net, X, T, network_error_function(net, X, T), w, rng.normal(size=w.size))


@dataclass(frozen=True)
class Method:
    """A timed computation: ``prepare(problem)`` returns the zero-argument call to time."""

    name: str
    expected_exponent: int
    prepare: Callable[[Problem], Callable[[], object]]


def _autodiff_gradient(p: Problem) -> Callable[[], object]:
    gradient = autodiff.grad(p.error)
    return lambda: gradient(p.w)


BATCHES: dict[int, list[int]] = {}
"""The number of columns in each batched sweep of the last ``autodiff.hessian`` call, by W."""


def _autodiff_hessian(p: Problem) -> Callable[[], object]:
    hessian = autodiff.hessian(p.error)
    unit_batch = transforms._unit_batch
    sizes: list[int] = []

    def recorded(start, stop, shapes, level):
        sizes.append(stop - start)
        return unit_batch(start, stop, shapes, level)

    def call():
        sizes.clear()
        transforms._unit_batch = recorded
        try:
            return hessian(p.w)
        finally:
            transforms._unit_batch = unit_batch
            BATCHES[p.w.size] = list(sizes)

    return call


METHODS = (
    Method("one evaluation of E", 1, lambda p: lambda: p.error(p.w)),
    Method(
        "gradient, explicit backprop", 1, lambda p: lambda: two_layer_flat_gradient(p.net, p.X, p.T)
    ),
    Method("gradient, autodiff.grad", 1, _autodiff_gradient),
    Method("gradient, central differences", 2, lambda p: lambda: central_difference(p.error, p.w)),
    Method("Hv, autodiff.hvp", 1, lambda p: lambda: autodiff.hvp(p.error, p.w, p.v)),
    Method(
        "Hv, explicit R-operator",
        1,
        lambda p: lambda: hessian_vector_product(p.net, p.X, p.T, p.v),
    ),
    Method("dense Hessian, autodiff.hessian", 2, _autodiff_hessian),
    Method("dense Hessian, explicit blocks", 2, lambda p: lambda: exact_hessian(p.net, p.X, p.T)),
)


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """Best CPU seconds per call over up to ``repeat`` timings, each after a full collection.

    CPU time of this process rather than wall-clock time: with a single-threaded BLAS the
    two agree on an idle machine, and CPU time is far less disturbed by other work on it.
    The first call warms up and sets how many calls make one timing (enough for
    ``LOOP_SECONDS``); timing stops early once ``TIMING_BUDGET_SECONDS`` are spent, and a
    first call slower than ``SINGLE_SHOT_SECONDS`` is the only timing.
    Unlike ``timeit`` the garbage collector stays on: every traced pass of ``autodiff`` leaves
    reference cycles, and a dense Hessian (W traced passes) timed with collection paused
    piles up gigabytes of them and runs several times slower than it does in use.
    """
    gc.collect()
    start = time.process_time()
    fn()
    spent = time.process_time() - start
    if spent > SINGLE_SHOT_SECONDS:
        return spent
    number = max(1, int(LOOP_SECONDS / max(spent, 1e-6)))
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        for _ in range(number):
            fn()
        elapsed = time.process_time() - start
        best = min(best, elapsed / number)
        spent += elapsed
        if spent > TIMING_BUDGET_SECONDS:
            break
    return best


def settle_allocator() -> None:
    """Allocate and free one 16 MB array before anything is timed.

    glibc's malloc maps fresh pages from the system for every block above a threshold, and
    raises the threshold to the size of the largest such block freed so far (up to 32 MB).
    Until a large block has been freed, then, each array of a few hundred kilobytes costs
    page faults, and a call's time would depend on which calls ran before it: an
    ``autodiff.hvp`` at W = 496 took 2 ms in a fresh process and 1 ms after one 16 MB array
    had been freed.  Settling the threshold first times every method as it runs in a
    process that has already handled a large array.
    """
    np.ones(2**21).sum()


def measure(
    targets: tuple[int, ...], repeat: int, limit: float
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Seconds per call of every method at every size (NaN where it was not run).

    A method moves on to the next size only while its last time, scaled by the size ratio
    to its expected exponent, stays under ``limit`` seconds.
    """
    rng = np.random.default_rng(0)
    num_weights: list[int] = []
    seconds = {m.name: [] for m in METHODS}
    active = {m.name: True for m in METHODS}
    for i, target in enumerate(targets):
        problem = make_problem(target, rng)
        num_weights.append(problem.w.size)
        for method in METHODS:
            t = best_time(method.prepare(problem), repeat) if active[method.name] else np.nan
            seconds[method.name].append(t)
            if i + 1 < len(targets):
                growth = (targets[i + 1] / target) ** method.expected_exponent
                active[method.name] = active[method.name] and t * growth < limit
        done = ", ".join(_milliseconds(seconds[m.name][-1]) for m in METHODS)
        print(f"W = {problem.w.size}, ms per call: {done}", flush=True)
    return np.array(num_weights), {name: np.array(t) for name, t in seconds.items()}


def _milliseconds(seconds: float) -> str:
    return "-" if np.isnan(seconds) else f"{seconds * 1e3:.4g}"


def top_decade_exponent(W: np.ndarray, seconds: np.ndarray) -> tuple[float, int, int]:
    """Log-log slope over the sizes within a factor 10 of the largest measured, and its range.

    NaN when that decade holds fewer than two measurements.
    """
    measured = ~np.isnan(seconds)
    largest = W[measured].max()
    fit = measured & (W >= largest / 10.5)  # a decade, allowing for W not being round
    if np.count_nonzero(fit) < 2:
        return float("nan"), int(largest), int(largest)
    return growth_exponent(W[fit], seconds[fit]), int(W[fit].min()), int(largest)


def hessian_note(W: np.ndarray, seconds: dict[str, np.ndarray]) -> str:
    """What ``autodiff.hessian`` does, and what it cost against ``autodiff.hvp``."""
    hessian, hvp = seconds["dense Hessian, autodiff.hessian"], seconds["Hv, autodiff.hvp"]
    p_hessian, low, high = top_decade_exponent(W, hessian)
    t_hessian, t_hvp = hessian[W == high][0], hvp[W == high][0]
    hidden = (high - OUTPUTS) // (INPUTS + OUTPUTS + 1)
    sizes = BATCHES[high]
    widest = max(sizes)
    note = (
        f"autodiff.hessian is forward mode over the reverse-mode gradient, its W columns "
        f"pushed through in batched sweeps. Every column carries a tangent of each value that E "
        f"and its gradient compute, the largest being the N x M hidden layer, so it records E once "
        f"on a tape, sizes its first batch of columns by that largest value, measures what the "
        f"batch made and sweeps the other columns in as few batches as keep the largest batched "
        f"value near {transforms.BATCH_ELEMENTS} numbers. At "
        f"W = {high} (N x M = {DATA_POINTS} x {hidden}) that made {len(sizes)} sweeps of at "
        f"most {widest} column{'s' if widest > 1 else ''}, in {t_hessian * 1e3:.4g} ms: the "
        f"time of {t_hessian / t_hvp / high:.2f} W Hessian-vector products "
        f"({t_hvp * 1e3:.4g} ms each)."
    )
    if low == high:
        return note
    in_range = (W >= low) & (W <= high)
    p = growth_exponent(W[in_range], hvp[in_range])
    ratios = ", ".join(
        f"{hessian[i] / hvp[i] / W[i]:.2f} W at W = {W[i]}"
        for i in np.flatnonzero(~np.isnan(hessian))
    )
    return (
        f"{note} Over W = {low}-{high} it grew like W^{p_hessian:.2f} and autodiff.hvp like "
        f"W^{p:.2f}, so one Hessian-vector product per column would grow like W^{1 + p:.2f} (an "
        f"hvp exponent below 1 means per-call overhead still dominates at those sizes); in "
        f"Hessian-vector products it cost {ratios}."
    )


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


def agreement(target: int) -> tuple[int, dict[str, float]]:
    """W and the max relative differences between two routes to each quantity at one size."""
    p = make_problem(target, np.random.default_rng(1))
    gradient = two_layer_flat_gradient(p.net, p.X, p.T)
    hessian = exact_hessian(p.net, p.X, p.T)
    return p.w.size, {
        "autodiff.grad vs explicit backprop": relative_difference(
            autodiff.grad(p.error)(p.w), gradient
        ),
        "central differences vs explicit backprop": relative_difference(
            central_difference(p.error, p.w), gradient
        ),
        "autodiff.hvp vs R-operator": relative_difference(
            autodiff.hvp(p.error, p.w, p.v), hessian_vector_product(p.net, p.X, p.T, p.v)
        ),
        "R-operator vs explicit Hessian times v": relative_difference(
            hessian_vector_product(p.net, p.X, p.T, p.v), hessian @ p.v
        ),
        "autodiff.hessian vs explicit blocks": relative_difference(
            autodiff.hessian(p.error)(p.w), hessian
        ),
    }


STYLES = {  # colour by quantity, solid for explicit NumPy code, dashed for autodiff
    "one evaluation of E": ("tab:gray", "-", "."),
    "gradient, explicit backprop": ("tab:blue", "-", "o"),
    "gradient, autodiff.grad": ("tab:blue", "--", "s"),
    "gradient, central differences": ("tab:red", "-", "^"),
    "Hv, autodiff.hvp": ("tab:green", "--", "s"),
    "Hv, explicit R-operator": ("tab:green", "-", "o"),
    "dense Hessian, autodiff.hessian": ("tab:purple", "--", "s"),
    "dense Hessian, explicit blocks": ("tab:purple", "-", "o"),
}


def plot(
    W: np.ndarray, seconds: dict[str, np.ndarray], exponents: dict[str, float], path: Path
) -> None:
    """Time against W on log-log axes, with dotted reference lines of slope 1 and 2."""
    figure = Figure(figsize=(10.5, 5.6), layout="constrained")
    ax = figure.add_subplot()
    for name, t in seconds.items():
        colour, line, marker = STYLES[name]
        label = f"{name} (p = {exponents[name]:.2f})"
        ax.loglog(W, t, line, marker=marker, color=colour, markersize=4, label=label)
    finite = np.concatenate([t[~np.isnan(t)] for t in seconds.values()])
    bottom, top = finite.min() / 3, finite.max() * 3
    # slope 1 just below the cheapest curve, slope 2 just below the central differences
    anchors = {1: ("one evaluation of E", 0.3), 2: ("gradient, central differences", 0.3)}
    for slope, (anchor, factor) in anchors.items():
        t = seconds[anchor]
        last = np.flatnonzero(~np.isnan(t))[-1]
        start_w = float(W.min())
        start_t = factor * t[last] * (start_w / W[last]) ** slope
        end_w = min(float(W.max()), start_w * (top / start_t) ** (1 / slope))
        end_t = start_t * (end_w / start_w) ** slope
        ax.loglog([start_w, end_w], [start_t, end_t], ":", color="black", linewidth=1)
        ax.annotate(
            f"slope {slope}",
            (end_w, end_t),
            textcoords="offset points",
            xytext=(-40, -14) if slope == 1 else (4, -10),
            fontsize="small",
        )
    ax.set_ylim(bottom, top)
    ax.set_xlabel("number of weights W")
    ax.set_ylabel("CPU seconds per call")
    ax.set_title(f"Cost of derivatives of a two-layer tanh network, N = {DATA_POINTS}")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(
        fontsize="small",
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        title="p: slope over the largest decade",
    )
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller sizes")
    args = parser.parse_args()
    repeat, limit, sizes = (3, 1.0, QUICK_SIZES) if args.quick else (5, 8.0, FULL_SIZES)
    lines = ["# Cost of derivatives against the number of weights"]

    def emit(text=""):
        print(text, flush=True)
        lines.append(text)

    settle_allocator()
    W, seconds = measure(sizes, repeat, limit)
    fits = {name: top_decade_exponent(W, t) for name, t in seconds.items()}
    emit()
    emit(
        f"Two-layer tanh network, D = {INPUTS}, K = {OUTPUTS}, N = {DATA_POINTS} data points; "
        f"CPU time, single-threaded BLAS, best of up to {repeat}; a method is not run at a size "
        f"where its call is predicted to exceed {limit:g} s."
    )
    emit()
    emit("## Growth exponents p of time ~ W^p, fitted over the largest decade measured")
    emit()
    emit("| method | expected p | fitted p | fit over W | time at largest W |")
    emit("|---|---|---|---|---|")
    for method in METHODS:
        t = seconds[method.name]
        p, low, high = fits[method.name]
        largest = t[W == high][0]
        emit(
            f"| {method.name} | {method.expected_exponent} | {p:.2f} | {low}-{high} "
            f"| {largest * 1e3:.4g} ms |"
        )
    emit()
    emit("## CPU milliseconds per call (-: not run, as the call was predicted to exceed the limit)")
    emit()
    emit("| method | " + " | ".join(f"W = {w}" for w in W) + " |")
    emit("|---|" + "---|" * len(W))
    for name, t in seconds.items():
        emit(f"| {name} | " + " | ".join(_milliseconds(x) for x in t) + " |")
    emit()
    emit(hessian_note(W, seconds))
    emit()
    checked, differences = agreement(sizes[1])
    emit(f"Max relative difference between two routes to the same quantity, at W = {checked}:")
    emit()
    for name, difference in differences.items():
        emit(f"- {name}: {difference:.1e}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "algorithms.md").write_text("\n".join(lines) + "\n")
    plot(W, seconds, {name: fit[0] for name, fit in fits.items()}, RESULTS / "algorithms.png")
    print(f"\nwritten to {RESULTS / 'algorithms.md'} and {RESULTS / 'algorithms.png'}")


if __name__ == "__main__":
    main()
