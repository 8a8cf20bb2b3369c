"""Benchmarks of the core autodiff package against hand-written NumPy and its peers.

Eager transforms and ``autodiff.compile`` (the recorded NumPy program replayed) side by side.

Every figure comes from this one run on this machine.  Method: process CPU time, the
median of interleaved rounds (each round times every implementation once, in turn, so a
change of load affects them all alike), the cyclic garbage collector paused while timing and
run in full between rounds (the Scalar engines are also timed with young-generation
collections only, and with the collector as a notebook runs it), BLAS and every peer on one
thread.  Peers that are not installed (HIPS autograd, micrograd, PyTorch, JAX) are skipped
and named as such.  Prints a Markdown report and writes it to bench/results/core.md.

    python bench/bench_core.py            # full run (several minutes)
    python bench/bench_core.py --quick    # fewer rounds, for a smoke test
"""

from __future__ import annotations

import os

# One BLAS thread, set before NumPy (or any peer) is imported.
for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[_var] = "1"
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import autodiff  # noqa: E402
import autodiff.numpy as anp  # noqa: E402
from autodiff import Scalar  # noqa: E402

RESULTS = Path(__file__).parent / "results"
PEERS = {"autograd": "HIPS autograd", "micrograd": "micrograd", "torch": "PyTorch", "jax": "JAX"}
clock = time.process_time


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _torch():
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass
    torch.set_default_dtype(torch.float64)
    return torch


def medians(fns: dict[str, Callable], rounds: int, number: int | dict[str, int]) -> dict:
    """Median over ``rounds`` interleaved rounds of the CPU seconds per call of each
    function; ``number`` calls per round (per function if a dict).  The collector is paused
    while timing and runs in full before every timing."""
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    enabled = gc.isenabled()
    try:
        for _ in range(rounds):
            for name, fn in fns.items():
                n = number[name] if isinstance(number, dict) else number
                gc.collect()
                gc.disable()
                start = clock()
                for _ in range(n):
                    fn()
                samples[name].append((clock() - start) / n)
                gc.enable()
    finally:
        (gc.enable if enabled else gc.disable)()
    return {name: statistics.median(s) for name, s in samples.items()}


def warm_up(compiled: Callable, *args) -> None:
    """Call a compiled function until it replays: the first call records its program, the
    second records it again and compares; the timings are of the replays that follow."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", autodiff.CompileWarning)  # a fallback is a failure
        for _ in range(3):
            compiled(*args)


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


def bench_mlp(shape, rounds, number):
    """Seconds per value-and-gradient call, and per forward call, of every implementation;
    and the largest difference of each one's gradient from the hand-written one."""
    params, X, T = mlp_data(*shape)
    reference = numpy_value_and_grad(params, X, T)[1]
    ours = autodiff.value_and_grad(mlp_loss(anp))
    compiled = autodiff.compile(autodiff.value_and_grad(mlp_loss(anp)))
    compiled_forward = autodiff.compile(mlp_loss(anp))
    warm_up(compiled, params, X, T)
    warm_up(compiled_forward, params, X, T)
    grads = {"autodiff": ours(params, X, T)[1], "autodiff.compile": compiled(params, X, T)[1]}
    fns = {
        "hand-written NumPy": lambda: numpy_value_and_grad(params, X, T),
        "hand-written NumPy/forward": lambda: numpy_forward(params, X, T),
        "autodiff": lambda: ours(params, X, T),
        "autodiff/forward": lambda: mlp_loss(anp)(params, X, T),
        "autodiff.compile": lambda: compiled(params, X, T),
        "autodiff.compile/forward": lambda: compiled_forward(params, X, T),
    }
    if available("torch"):
        torch = _torch()
        tp = [torch.tensor(p, requires_grad=True) for p in params]
        tX, tT = torch.tensor(X), torch.tensor(T)

        def torch_step():
            for p in tp:
                p.grad = None
            loss = mlp_loss(torch)(tp, tX, tT)
            loss.backward()
            return loss

        torch_step()
        grads["PyTorch eager"] = [p.grad.numpy() for p in tp]
        fns["PyTorch eager"] = torch_step
        with torch.no_grad():
            fns["PyTorch eager/forward"] = lambda: mlp_loss(torch)(tp, tX, tT)
    if available("autograd"):
        import autograd
        import autograd.numpy as agnp

        theirs = autograd.value_and_grad(mlp_loss(agnp))
        grads["HIPS autograd"] = theirs(params, X, T)[1]
        fns["HIPS autograd"] = lambda: theirs(params, X, T)
        fns["HIPS autograd/forward"] = lambda: mlp_loss(agnp)(params, X, T)
    if available("jax"):
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        jitted = jax.jit(jax.value_and_grad(mlp_loss(jnp)))
        jitted_forward = jax.jit(mlp_loss(jnp))
        jp, jX, jT = tuple(jnp.asarray(p) for p in params), jnp.asarray(X), jnp.asarray(T)
        grads["jax.jit"] = [np.asarray(g) for g in jitted(jp, jX, jT)[1]]
        fns["jax.jit"] = lambda: jax.block_until_ready(jitted(jp, jX, jT))
        fns["jax.jit/forward"] = lambda: jax.block_until_ready(jitted_forward(jp, jX, jT))
    t = medians(fns, rounds, number)
    errors = {
        name: max(float(np.max(np.abs(np.asarray(a) - b))) for a, b in zip(g, reference))
        for name, g in grads.items()
    }
    return t, errors


# -- per-operation overhead -----------------------------------------------------------------
def chain(m, length):
    ops = (m.sin, m.cos, m.tanh, m.exp)

    def f(x):
        for i in range(length):
            x = ops[i % 4](x)
        return m.sum(x)

    return f


def numpy_chain_value_and_grad(x, length):
    """The chain and its gradient by hand: the forward values kept, then the chain rule."""
    ops = (np.sin, np.cos, np.tanh, np.exp)
    values = [x]
    for i in range(length):
        values.append(ops[i % 4](values[-1]))
    g = np.ones_like(x)
    for i in reversed(range(length)):
        v, out = values[i], values[i + 1]
        kind = i % 4
        if kind == 0:
            g = g * np.cos(v)
        elif kind == 1:
            g = -g * np.sin(v)
        elif kind == 2:
            g = g * (1.0 - out * out)
        else:
            g = g * out
    return np.sum(values[-1]), g


def bench_chain(length, rounds, number):
    """Microseconds per operation of the chain's value and gradient."""
    x = np.array([0.1, 0.2, 0.3])
    ours = autodiff.value_and_grad(chain(anp, length))
    compiled = autodiff.compile(autodiff.value_and_grad(chain(anp, length)))
    warm_up(compiled, x)
    reference = numpy_chain_value_and_grad(x, length)[1]
    errors = {
        "autodiff": float(np.max(np.abs(ours(x)[1] - reference))),
        "autodiff.compile": float(np.max(np.abs(compiled(x)[1] - reference))),
    }
    fns = {
        "hand-written NumPy": lambda: numpy_chain_value_and_grad(x, length),
        "NumPy, value only": lambda: chain(np, length)(x),
        "autodiff": lambda: ours(x),
        "autodiff.compile": lambda: compiled(x),
    }
    if available("torch"):
        torch = _torch()
        tx = torch.tensor(x, requires_grad=True)

        def torch_step():
            tx.grad = None
            chain(torch, length)(tx).backward()

        fns["PyTorch eager"] = torch_step
    if available("autograd"):
        import autograd
        import autograd.numpy as agnp

        theirs = autograd.value_and_grad(chain(agnp, length))
        fns["HIPS autograd"] = lambda: theirs(x)
    if available("jax"):
        import jax
        import jax.numpy as jnp

        jitted = jax.jit(jax.value_and_grad(chain(jnp, length)))
        jx = jnp.asarray(x)
        fns["jax.jit"] = lambda: jax.block_until_ready(jitted(jx))
    t = medians(fns, rounds, number)
    return {name: seconds / length * 1e6 for name, seconds in t.items()}, errors


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


def scalar_forward(layers, x, relu):
    for W, B, nonlinear in layers:
        x = [sum((w * xi for w, xi in zip(row, x)), b) for row, b in zip(W, B)]
        if nonlinear:
            x = [relu(v) for v in x]
    return x[0]


def scalar_loss(layers, X, Y, zero, relu):
    return sum(((scalar_forward(layers, x, relu) - y) ** 2 for x, y in zip(X, Y)), zero)


def float_relu(x: float) -> float:
    return x if x > 0 else 0.0


GC_MODES = {
    "paused": "collector paused",
    "young": "young-generation collections only",
    "full": "collector as in a notebook (full collections may run while timing)",
}


def _set_gc(mode: str, defaults: tuple[int, int, int]) -> None:
    if mode == "paused":
        gc.disable()
        return
    if mode == "young":  # generation 1 (and so 2) is never due: only young collections run
        gc.set_threshold(defaults[0], 2**30, 2**30)
    else:
        gc.set_threshold(*defaults)
    gc.enable()


def bench_scalar(rounds):
    """Milliseconds to build the loss graph of a small MLP on 50 points and run backward(),
    in each engine and collector mode.  The graph is kept until the clock has stopped, so
    no engine is charged for freeing it (micrograd's graphs are reference cycles, ours are
    not); and each timed run follows an untimed one of the same engine, as in a training
    loop, so that no engine pays for the memory the previous engine gave back."""
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

    def run(make):
        """The loss graph, and its backward sweep; with plain floats (the benchmark's own
        Python, its loops, generators and sums, which every engine pays on top of its own
        work), the same code without a graph."""
        layers = scalar_layers(weights, make)
        loss = scalar_loss(layers, X, Y, make(0.0), make.relu if make is not float else float_relu)
        if make is not float:
            loss.backward()
        return layers, loss

    engines = {"autodiff.Scalar": Scalar, "plain floats (the benchmark's own Python)": float}
    layers, loss = run(Scalar)
    result: dict = {"nodes": len(loss.graph())}
    if available("micrograd"):
        from micrograd.engine import Value

        engines["micrograd"] = Value
        mg_layers, _ = run(Value)
        ours = [v.grad for W, _, _ in layers for row in W for v in row]
        theirs = [v.grad for W, _, _ in mg_layers for row in W for v in row]
        result["max_grad_diff"] = max(abs(a - b) for a, b in zip(ours, theirs))
    defaults = gc.get_threshold()
    enabled = gc.isenabled()
    times: dict[str, dict[str, list[float]]] = {m: {e: [] for e in engines} for m in GC_MODES}
    try:
        for _ in range(rounds):
            for mode in GC_MODES:
                for name, make in engines.items():
                    run(make)  # untimed: the allocator warm for this engine, whichever ran before
                    gc.collect()
                    _set_gc(mode, defaults)
                    start = clock()
                    out = run(make)
                    elapsed = clock() - start
                    gc.disable()
                    del out
                    times[mode][name].append(elapsed)
    finally:
        gc.set_threshold(*defaults)
        (gc.enable if enabled else gc.disable)()
    result["ms"] = {
        m: {e: statistics.median(v) * 1e3 for e, v in t.items()} for m, t in times.items()
    }
    return result


# -- Hessian-vector products and dense Hessians ---------------------------------------------
def hessian_problem(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n)) / np.sqrt(n), rng.normal(size=n), rng.normal(size=n)


def tanh_loss(m, A):
    """f(w) = sum(tanh(A w)^2)."""
    return lambda w: m.sum(m.tanh(A @ w) ** 2)


def numpy_hvp(A, w, v):
    """H v by hand: H = A^T diag(2 (1 - t^2)(1 - 3 t^2)) A with t = tanh(A w)."""
    t = np.tanh(A @ w)
    return A.T @ (2.0 * (1.0 - t * t) * (1.0 - 3.0 * t * t) * (A @ v))


def numpy_hessian(A, w):
    t = np.tanh(A @ w)
    return A.T @ ((2.0 * (1.0 - t * t) * (1.0 - 3.0 * t * t))[:, None] * A)


def bench_hessian(n, rounds):
    """Milliseconds per Hessian-vector product and per dense Hessian, at W = n, of every
    implementation, with the largest difference from the hand-written result."""
    A, w, v = hessian_problem(n)
    f = tanh_loss(anp, A)
    hvps = {
        "hand-written NumPy": lambda: numpy_hvp(A, w, v),
        "autodiff": lambda: autodiff.hvp(f, w, v),
    }
    hessians = {
        "hand-written NumPy": lambda: numpy_hessian(A, w),
        "autodiff": lambda: autodiff.hessian(f)(w),
    }
    if available("torch"):
        torch = _torch()
        tA, tw, tv = torch.tensor(A), torch.tensor(w), torch.tensor(v)
        tf = tanh_loss(torch, tA)

        def torch_double_backward():
            x = tw.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(tf(x), x, create_graph=True)
            (hv,) = torch.autograd.grad(g, x, tv)
            return hv

        hvps["PyTorch eager, torch.func.jvp of grad"] = lambda: torch.func.jvp(
            torch.func.grad(tf), (tw,), (tv,)
        )[1]
        hvps["PyTorch eager, double backward"] = torch_double_backward
        hessians["PyTorch eager, torch.func.hessian"] = lambda: torch.func.hessian(tf)(tw)
    if available("autograd"):
        import autograd
        import autograd.numpy as agnp

        ag_f = tanh_loss(agnp, A)
        ag_hvp = autograd.hessian_vector_product(ag_f)
        hvps["HIPS autograd"] = lambda: ag_hvp(w, v)
        hessians["HIPS autograd"] = lambda: autograd.hessian(ag_f)(w)
    if available("jax"):
        import jax
        import jax.numpy as jnp

        jf = tanh_loss(jnp, jnp.asarray(A))
        jw, jv = jnp.asarray(w), jnp.asarray(v)
        j_hvp = jax.jit(lambda w, v: jax.jvp(jax.grad(jf), (w,), (v,))[1])
        j_hess = jax.jit(jax.hessian(jf))
        hvps["jax.jit"] = lambda: jax.block_until_ready(j_hvp(jw, jv))
        hessians["jax.jit"] = lambda: jax.block_until_ready(j_hess(jw))
    reference_hv, reference_h = numpy_hvp(A, w, v), numpy_hessian(A, w)
    errors = {
        "hvp": {
            k: float(np.max(np.abs(np.asarray(fn()) - reference_hv))) for k, fn in hvps.items()
        },
        "hessian": {
            k: float(np.max(np.abs(np.asarray(fn()) - reference_h))) for k, fn in hessians.items()
        },
    }
    t_hvp = medians(hvps, rounds, 20)
    t_hess = medians(hessians, rounds, {k: 1 if "autograd" in k else 3 for k in hessians})
    return (
        {k: s * 1e3 for k, s in t_hvp.items()},
        {k: s * 1e3 for k, s in t_hess.items()},
        errors,
    )


def bench_growth(sizes, rounds):
    """hvp and dense Hessian of autodiff against W: O(W^2) against O(W^3) work."""
    rows = []
    for n in sizes:
        A, w, v = hessian_problem(n)
        f = tanh_loss(anp, A)
        t = medians(
            {"hvp": lambda: autodiff.hvp(f, w, v), "hessian": lambda: autodiff.hessian(f)(w)},
            rounds,
            {"hvp": 20, "hessian": 2},
        )
        rows.append((n, t["hvp"] * 1e3, t["hessian"] * 1e3))
    return rows


# -- the report -----------------------------------------------------------------------------
# The targets the project set itself, eager and compiled, for the MLP sections (the README).
TARGETS = {(784, 256, 10, 128): ("<= 1.05x", "<= 1.0x"), (10, 32, 1, 8): ("<= 3x", "<= 1.5x")}


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke test")
    args = parser.parse_args()
    rounds = 5 if args.quick else 21
    start_load = _load()
    lines: list[str] = []

    def emit(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    emit("# Core benchmarks")
    emit()
    emit(
        f"One run on {platform.machine()} ({os.cpu_count()} cores), Python "
        f"{platform.python_version()}, NumPy {np.__version__}; peers: HIPS autograd "
        f"{version('autograd')}, micrograd {version('micrograd')}, PyTorch {version('torch')}, "
        f"JAX {version('jax')}."
    )
    emit()
    emit(
        f"Method: process CPU time; the median of {rounds} interleaved rounds (each round "
        "times every implementation once, in turn); the cyclic garbage collector paused while "
        "timing and run in full before each timing (the Scalar engines are also timed with "
        "young-generation collections only, and as a notebook runs them, before any other "
        "section runs); BLAS on one thread "
        "(OMP_NUM_THREADS=1 and the like, set before NumPy is imported), PyTorch on one thread "
        "(intra- and inter-op); float64 everywhere. autodiff.compile is timed on replays: "
        "each compiled function is called three times before the timing starts (the first "
        "call records its program, the second records it again and compares the two), and "
        "a fall-back to eager execution would stop the run."
    )
    emit()

    summary: list[tuple[str, str, str, str]] = []
    # The Scalar engines are timed first, before the array benchmarks and their peers have
    # allocated and freed memory: the heap those leave behind slows object allocation.
    s = bench_scalar(rounds)

    for shape, number, title in (
        ((784, 256, 10, 128), 10, "MLP 784-256-10, tanh, batch 128"),
        ((10, 32, 1, 8), 300, "MLP 10-32-1, tanh, batch 8"),
    ):
        t, errors = bench_mlp(shape, rounds, number)
        base = t["hand-written NumPy"]
        emit(f"## {title}: value and gradient of the sum-of-squares loss")
        emit()
        emit("| implementation | time | / hand-written NumPy | gradient time / own forward time |")
        emit("|---|---|---|---|")
        for name, seconds in t.items():
            if name.endswith("/forward"):
                continue
            forward = t.get(f"{name}/forward", t["hand-written NumPy/forward"])
            emit(
                f"| {name} | {seconds * 1e6:.1f} us | {seconds / base:.2f}x | "
                f"{seconds / forward:.2f} |"
            )
        emit()
        emit(
            "max abs difference of each gradient from the hand-written one: "
            + ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
        )
        emit()
        peers = ", ".join(
            f"{k} {v / base:.2f}x"
            for k, v in t.items()
            if "/" not in k and not k.startswith("autodiff") and k != "hand-written NumPy"
        )
        eager_target, compiled_target = TARGETS[shape]
        measure = f"{title}, value and grad / hand NumPy"
        summary.append((measure, f"{t['autodiff'] / base:.2f}x", peers, eager_target))
        summary.append(
            (
                f"{measure}, compiled",
                f"{t['autodiff.compile'] / base:.2f}x",
                ", ".join(f"{k} {t[k] / base:.2f}x" for k in ("jax.jit",) if k in t),
                compiled_target,
            )
        )

    per_op, errors = bench_chain(200, rounds, 20)
    emit("## Chain of 200 elementwise ops (sin, cos, tanh, exp) on 3 numbers, value and gradient")
    emit()
    emit("| implementation | microseconds per op |")
    emit("|---|---|")
    for name, us in per_op.items():
        emit(f"| {name} | {us:.2f} |")
    emit()
    emit(
        "max abs difference of each gradient from the hand-written one: "
        + ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
    )
    emit()
    hand = per_op["hand-written NumPy"]
    summary.append(
        (
            "chain of 200 elementwise ops, value and grad, us per op",
            _fmt(per_op["autodiff"]),
            ", ".join(f"{k} {v:.2f}" for k, v in per_op.items() if not k.startswith("autodiff")),
            "<= 2",
        )
    )
    summary.append(
        (
            "same, compiled, / hand NumPy",
            f"{per_op['autodiff.compile'] / hand:.2f}x",
            ", ".join(f"{k} {per_op[k] / hand:.2f}x" for k in ("jax.jit",) if k in per_op),
            "<= 0.5x",
        )
    )

    ms = s["ms"]
    floats = "plain floats (the benchmark's own Python)"
    nodes = s["nodes"]
    emit(f"## Scalar engine: MLP(2, [16, 16, 1]) on 50 points, loss and backward(), {nodes} nodes")
    emit()
    emit(
        "Milliseconds to build the graph and run backward(); each timed run follows an untimed "
        "run of the same engine, and its graph is freed after the clock stops, in every "
        "engine. 'Engine only' subtracts the time of the same code on plain floats (its loops, "
        "generators and sums, paid by every engine alike)."
    )
    emit()
    emit(
        "| collector while timing | autodiff.Scalar | micrograd | plain floats | speed-up "
        "| speed-up, engine only |"
    )
    emit("|---|---|---|---|---|---|")
    for mode, label in GC_MODES.items():
        row = ms[mode]
        ours, fl = row["autodiff.Scalar"], row[floats]
        if "micrograd" in row:
            mg = row["micrograd"]
            emit(
                f"| {label} | {ours:.2f} | {mg:.2f} | {fl:.2f} | {mg / ours:.2f}x | "
                f"{(mg - fl) / (ours - fl):.2f}x |"
            )
            summary.append(
                (
                    f"Scalar MLP vs micrograd, {label}",
                    f"{mg / ours:.2f}x ({(mg - fl) / (ours - fl):.2f}x engine only)",
                    "",
                    "reported" if mode == "full" else ">= 3x",
                )
            )
        else:
            emit(f"| {label} | {ours:.2f} | not installed | {fl:.2f} | - | - |")
    emit()
    if "max_grad_diff" in s:
        emit(f"max abs difference of weight gradients from micrograd: {s['max_grad_diff']:.1e}")
        emit()

    hvp, hess, errors = bench_hessian(300, rounds)
    emit("## f(w) = sum(tanh(A w)^2), W = 300: Hessian-vector product and dense Hessian")
    emit()
    emit("| implementation | hvp (ms) | max abs error |")
    emit("|---|---|---|")
    for name, value in hvp.items():
        emit(f"| {name} | {value:.3f} | {errors['hvp'][name]:.1e} |")
    emit()
    emit("| implementation | dense Hessian (ms) | max abs error |")
    emit("|---|---|---|")
    for name, value in hess.items():
        emit(f"| {name} | {value:.2f} | {errors['hessian'][name]:.1e} |")
    emit()
    summary.append(
        (
            "hvp, W = 300, ms",
            _fmt(hvp["autodiff"], 3),
            ", ".join(f"{k} {v:.3f}" for k, v in hvp.items() if k != "autodiff"),
            "faster than every eager peer",
        )
    )
    summary.append(
        (
            "dense Hessian, W = 300, ms",
            _fmt(hess["autodiff"]),
            ", ".join(f"{k} {v:.2f}" for k, v in hess.items() if k != "autodiff"),
            "<= torch.func.hessian",
        )
    )

    sizes = [25, 100, 300] if args.quick else [25, 50, 100, 200, 300, 400, 800]
    emit("## autodiff's hvp and dense Hessian against W (same f)")
    emit()
    emit("| W | hvp (ms) | dense Hessian (ms) | Hessian / hvp |")
    emit("|---|---|---|---|")
    for n, t_hvp, t_hess in bench_growth(sizes, max(3, rounds // 3)):
        emit(f"| {n} | {t_hvp:.3f} | {t_hess:.2f} | {t_hess / t_hvp:.0f} |")
    emit()

    emit("## Summary")
    emit()
    emit("| measure | autodiff | peers | target |")
    emit("|---|---|---|---|")
    for measure, ours, peers, target in summary:
        emit(f"| {measure} | {ours} | {peers} | {target} |")
    emit()
    emit(f"Load average (1, 5, 15 min) at the start: {start_load}; at the end: {_load()}.")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "core.md").write_text("\n".join(lines) + "\n")
    print(f"\nwritten to {RESULTS / 'core.md'}")


if __name__ == "__main__":
    main()
