"""Benchmarks of the core autodiff package against hand-written NumPy and its peers.

Every figure is a ratio of times measured in this one run on this machine, with a
single-threaded BLAS, so that runs on different machines compare.  Peers that are not
installed (HIPS autograd, micrograd, PyTorch) are skipped.  Prints a Markdown table and
writes it to bench/results/core.md.

    python bench/bench_core.py            # full run (a few minutes)
    python bench/bench_core.py --quick    # fewer repetitions, smaller sizes
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import autodiff  # noqa: E402
import autodiff.numpy as anp  # noqa: E402
from autodiff import Scalar  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def best_times(fns: dict, repeat: int, number: int) -> dict[str, float]:
    """Best of ``repeat`` rounds of ``number`` calls of each function, in CPU seconds per
    call.  Rounds interleave the functions, so a change of load on the machine affects
    them all alike, and CPU time leaves out time the process spent descheduled."""
    for fn in fns.values():
        fn()
    enabled = gc.isenabled()
    gc.disable()
    best = dict.fromkeys(fns, float("inf"))
    try:
        for _ in range(repeat):
            for name, fn in fns.items():
                gc.collect()  # peers that leave reference cycles must not slow the next one
                start = time.process_time()
                for _ in range(number):
                    fn()
                best[name] = min(best[name], (time.process_time() - start) / number)
    finally:
        if enabled:
            gc.enable()
    return best


# -- MLP value and gradient -----------------------------------------------------------------
def mlp_data(d_in, d_hidden, d_out, batch, seed=0):
    rng = np.random.default_rng(seed)
    params = (
        rng.normal(0, 1 / np.sqrt(d_in), (d_in, d_hidden)),
        np.zeros(d_hidden),
        rng.normal(0, 1 / np.sqrt(d_hidden), (d_hidden, d_out)),
        np.zeros(d_out),
    )
    return params, rng.normal(size=(batch, d_in)), rng.normal(size=(batch, d_out))


def mlp_loss(m):
    """The sum-of-squares loss of a tanh MLP, written against the NumPy-like module ``m``."""

    def loss(params, X, T):
        W1, b1, W2, b2 = params
        Y = m.tanh(X @ W1 + b1) @ W2 + b2
        return 0.5 * m.sum((Y - T) ** 2)

    return loss


def numpy_value_and_grad(params, X, T):
    """Forward and backward propagation by hand, (8.18)-(8.23) in matrix form."""
    W1, b1, W2, b2 = params
    Z = np.tanh(X @ W1 + b1)
    Y = Z @ W2 + b2
    D = Y - T
    loss = 0.5 * np.sum(D * D)
    dZ = (D @ W2.T) * (1.0 - Z * Z)
    return loss, (X.T @ dZ, dZ.sum(0), Z.T @ D, D.sum(0))


def numpy_forward(params, X, T):
    W1, b1, W2, b2 = params
    D = np.tanh(X @ W1 + b1) @ W2 + b2 - T
    return 0.5 * np.sum(D * D)


def bench_mlp(shape, repeat, number):
    params, X, T = mlp_data(*shape)
    ours = autodiff.value_and_grad(mlp_loss(anp))
    reference = numpy_value_and_grad(params, X, T)[1]
    err = max(float(np.max(np.abs(a - b))) for a, b in zip(ours(params, X, T)[1], reference))
    fns = {
        "hand-written NumPy": lambda: numpy_value_and_grad(params, X, T),
        "hand-written NumPy/forward": lambda: numpy_forward(params, X, T),
        "autodiff": lambda: ours(params, X, T),
        "autodiff/forward": lambda: mlp_loss(anp)(params, X, T),
    }
    if available("autograd"):
        import autograd
        import autograd.numpy as agnp

        theirs = autograd.value_and_grad(mlp_loss(agnp))
        fns["HIPS autograd"] = lambda: theirs(params, X, T)
    if available("torch"):
        import torch

        torch.set_num_threads(1)
        tp = [torch.tensor(p, requires_grad=True) for p in params]
        tX, tT = torch.tensor(X), torch.tensor(T)

        def torch_step():
            for p in tp:
                p.grad = None
            loss = mlp_loss(torch)(tp, tX, tT)
            loss.backward()
            return loss

        fns["PyTorch (CPU)"] = torch_step
    t = best_times(fns, repeat, number)
    base, base_fwd = t["hand-written NumPy"], t["hand-written NumPy/forward"]
    rows = {}
    for name, seconds in t.items():
        if name.endswith("/forward"):
            continue
        forward = t.get(f"{name}/forward", base_fwd)
        rows[name] = (seconds / base, seconds / forward)
    return rows, err


# -- per-operation overhead -----------------------------------------------------------------
def chain(m, length):
    ops = (m.sin, m.cos, m.tanh, m.exp)

    def f(x):
        for i in range(length):
            x = ops[i % 4](x)
        return m.sum(x)

    return f


def bench_chain(length, repeat, number):
    x = np.array([0.1, 0.2, 0.3])
    ours = autodiff.value_and_grad(chain(anp, length))
    fns = {"NumPy (no derivative)": lambda: chain(np, length)(x), "autodiff": lambda: ours(x)}
    if available("autograd"):
        import autograd
        import autograd.numpy as agnp

        theirs = autograd.value_and_grad(chain(agnp, length))
        fns["HIPS autograd"] = lambda: theirs(x)
    if available("torch"):
        import torch

        tx = torch.tensor(x, requires_grad=True)

        def torch_step():
            tx.grad = None
            chain(torch, length)(tx).backward()

        fns["PyTorch (CPU)"] = torch_step
    return {k: v / (length + 1) * 1e6 for k, v in best_times(fns, repeat, number).items()}


# -- scalar engine against micrograd ------------------------------------------------------
def scalar_mlp_data(seed=0):
    rng = random.Random(seed)
    X = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(50)]
    Y = [rng.choice([-1.0, 1.0]) for _ in range(50)]
    return X, Y


def scalar_layers(weights, make):
    """[(rows of weights, biases, relu?)] as ``make`` objects, from nested float lists."""
    return [
        ([[make(w) for w in row] for row in W], [make(b) for b in B], nl) for W, B, nl in weights
    ]


def scalar_forward(layers, x):
    for W, B, nonlinear in layers:
        x = [sum((w * xi for w, xi in zip(row, x)), b) for row, b in zip(W, B)]
        if nonlinear:
            x = [v.relu() for v in x]
    return x[0]


def scalar_loss(layers, X, Y, zero):
    return sum(((scalar_forward(layers, x) - y) ** 2 for x, y in zip(X, Y)), zero)


def bench_scalar(repeat):
    X, Y = scalar_mlp_data()
    rng = random.Random(1)
    sizes = [2, 16, 16, 1]
    weights = [
        (
            [[rng.uniform(-1, 1) for _ in range(n_in)] for _ in range(n_out)],
            [0.0] * n_out,
            i < len(sizes) - 2,
        )
        for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]))
    ]

    def run(make, zero):
        layers = scalar_layers(weights, make)
        loss = scalar_loss(layers, X, Y, zero())
        loss.backward()
        return layers, loss

    layers, loss = run(Scalar, lambda: Scalar(0.0))
    nodes = len(loss.graph())
    ours = _best(lambda: run(Scalar, lambda: Scalar(0.0)), repeat, gc_on=False)
    ours_gc = _best(lambda: run(Scalar, lambda: Scalar(0.0)), repeat, gc_on=True)
    result = {"nodes": nodes, "ours": ours / nodes * 1e6, "ours_gc": ours_gc / nodes * 1e6}
    if available("micrograd"):
        from micrograd.engine import Value

        mg_layers, mg_loss = run(Value, lambda: Value(0.0))
        ours_grads = [v.grad for W, B, _ in layers for row in W for v in row]
        mg_grads = [v.grad for W, B, _ in mg_layers for row in W for v in row]
        result["max_grad_diff"] = max(abs(a - b) for a, b in zip(ours_grads, mg_grads))
        mg = _best(lambda: run(Value, lambda: Value(0.0)), repeat, gc_on=False)
        mg_gc = _best(lambda: run(Value, lambda: Value(0.0)), repeat, gc_on=True)
        result.update(micrograd=mg / nodes * 1e6, micrograd_gc=mg_gc / nodes * 1e6)
    return result


def _best(fn, repeat, gc_on):
    """Best single-call CPU time of ``fn`` with the cyclic garbage collector on or paused."""
    enabled = gc.isenabled()
    best = float("inf")
    try:
        for _ in range(repeat):
            gc.collect()
            (gc.enable if gc_on else gc.disable)()
            start = time.process_time()
            fn()
            best = min(best, time.process_time() - start)
    finally:
        (gc.enable if enabled else gc.disable)()
    return best


# -- Hessian-vector products against dense Hessians ---------------------------------------
def bench_hvp(sizes, repeat):
    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        A = rng.normal(size=(n, n)) / np.sqrt(n)
        x, v = rng.normal(size=n), rng.normal(size=n)

        def f(x, m=anp):
            return m.sum(m.tanh(A @ x) ** 2) + 0.1 * m.sum(x**4)

        fns = {"hvp": lambda: autodiff.hvp(f, x, v)}
        if available("autograd"):
            import autograd
            import autograd.numpy as agnp

            ag_hvp = autograd.hessian_vector_product(lambda x: f(x, agnp))
            fns["autograd_hvp"] = lambda: ag_hvp(x, v)
        t = best_times(fns, repeat, 3)
        hessian = best_times({"h": lambda: autodiff.hessian(f)(x)}, 1, 1)["h"] if n <= 400 else None
        row = {"W": n, "hvp_ms": t["hvp"] * 1e3, "hessian_ms": float("nan")}
        if hessian is not None:
            row["hessian_ms"] = hessian * 1e3
        if "autograd_hvp" in t:
            row["autograd_hvp_ms"] = t["autograd_hvp"] * 1e3
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller sizes")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    lines = ["# Core benchmarks", ""]

    def emit(text=""):
        print(text, flush=True)
        lines.append(text)

    for shape, number, title in (
        ((784, 256, 10, 128), 5, "MLP 784-256-10, tanh, batch 128"),
        ((10, 32, 1, 8), 200, "MLP 10-32-1, tanh, batch 8"),
    ):
        rows, err = bench_mlp(shape, repeat, number)
        emit(f"## {title}: value and gradient of the sum-of-squares loss")
        emit()
        emit("| implementation | time / hand-written NumPy | gradient time / forward time |")
        emit("|---|---|---|")
        for name, (ratio, over_forward) in rows.items():
            emit(f"| {name} | {ratio:.2f}x | {over_forward:.2f} |")
        emit()
        emit(f"max abs difference of autodiff's gradient from the hand-written one: {err:.1e}")
        emit()

    per_op = bench_chain(200, repeat, 20)
    emit("## Chain of 200 elementwise ops on a 3-element array, value and gradient")
    emit()
    emit("| implementation | microseconds per op |")
    emit("|---|---|")
    for name, us in per_op.items():
        emit(f"| {name} | {us:.2f} |")
    emit()

    s = bench_scalar(repeat)
    emit(f"## Scalar engine: MLP(2, [16, 16, 1]) on 50 points, {s['nodes']} nodes")
    emit()
    emit("| engine | us/node, GC paused | us/node, GC on |")
    emit("|---|---|---|")
    emit(f"| autodiff.Scalar | {s['ours']:.2f} | {s['ours_gc']:.2f} |")
    if "micrograd" in s:
        emit(f"| micrograd | {s['micrograd']:.2f} | {s['micrograd_gc']:.2f} |")
        emit(
            f"| speed-up | {s['micrograd'] / s['ours']:.2f}x | "
            f"{s['micrograd_gc'] / s['ours_gc']:.2f}x |"
        )
        emit()
        emit(f"max abs difference of weight gradients from micrograd: {s['max_grad_diff']:.1e}")
    emit()

    sizes = [25, 50, 100, 200, 400] if args.quick else [25, 50, 100, 200, 400, 800]
    rows = bench_hvp(sizes, repeat)
    emit("## Hessian-vector product (forward over reverse) against the dense Hessian")
    emit()
    emit("| W | hvp (ms) | HIPS autograd hvp (ms) | dense hessian (ms) | hessian / hvp |")
    emit("|---|---|---|---|---|")
    for r in rows:
        ag = f"{r['autograd_hvp_ms']:.3f}" if "autograd_hvp_ms" in r else "-"
        measured = not np.isnan(r["hessian_ms"])
        hess = f"{r['hessian_ms']:.1f}" if measured else "-"
        ratio = f"{r['hessian_ms'] / r['hvp_ms']:.0f}" if measured else "-"
        emit(f"| {r['W']} | {r['hvp_ms']:.3f} | {ag} | {hess} | {ratio} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "core.md").write_text("\n".join(lines) + "\n")
    print(f"\nwritten to {RESULTS / 'core.md'}")


if __name__ == "__main__":
    main()
