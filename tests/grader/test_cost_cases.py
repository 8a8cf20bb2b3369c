"""The cases that measure the cost of the method (Section 8.1.4): backpropagation costs O(W)
operations, finite differences O(W) evaluations of O(W) each (for a Jacobian: K backward
passes against D forward passes).

For every check that has such a case: the reference and the master's solution pass every
hidden case; finite differences written in plain NumPy as a student might (central
differences, the complex step) pass the small cases and run out of time on the cost case,
and only there; operation counts, not clocks, show why by how much: the number of
evaluations the finite differences make on the cost case, times the multiply-adds of one,
at a speed no two cores reach, against the budget, and the multiply-adds of
backpropagation at the speed of one core shared with others.  No test here asserts a wall
time: the time-out tests use the case's own budget as the stop (the kernel stops a case
there), and the finite differences need far more than it.

Algorithm 8.1 on a network given unit by unit (``dag_backprop``) is counted in units
visited, not multiply-adds: one evaluation of the error visits every unit in turn (each unit
waits for those before it), so finite differences make 2 W or W such passes of P steps, each
step at least one NumPy call.  An honest implementation may loop over units, over
connections, even over data points in Python, and stays far within the budget.  (Finite
differences that perturb thousands of weights at once, in one array, are not separated by
this budget: they are noted, not tested.)  One task of the course has no cost case, and the
last test says why: ``jacobian_forward_propagation`` costs D passes, as finite differences
do.  The reverse-mode engine of assignment 7 would need a test function of many inputs on
the kernel's side (``grader.sandboxed.inputs``) for one.
"""

from __future__ import annotations

import ast
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import grader.checks.gradients
import grader.checks.hessian
import grader.checks.jacobian
import grader.checks.two_layer  # noqa: F401 - registers the checks below, whatever ran first
from grader.checks import get_check
from grader.judge import answers, judge
from grader.sandboxed import channel
from grader.sandboxed.calls import TIME_LIMIT
from grader.seeds import hidden_cases, visible_cases

ROOT = Path(__file__).resolve().parents[2]
SECRET, STUDENT = "the course secret of these tests", "a student"

FAST = 2e10
"""Multiply-adds per second that no implementation reaches on two cores when one evaluation
is a product of fat matrices (the networks of the gradient tasks): NumPy's best here is
1.8e10, on a 2000 x 2000 matrix product with both cores, and one evaluation of those errors
runs at 1e9-4e9."""

FAST_THIN = 5e9
"""The same for an evaluation that is a product with two rows or one data point (the
Jacobian's passes, the outputs of one data point): NumPy ran those at 1.6e9 (the
Jacobian's passes, batched) and 2e9-3e9 (the outputs, one weight at a time) here at best."""

SLOW = 1e9
"""Multiply-adds per second of one core shared with other processes, on small products."""

STEPS_PER_SECOND = 1e6
"""NumPy calls per second on small arrays, more than any machine makes (one call costs a
microsecond or more): the speed of an evaluation that visits units one after another."""

MARGIN = 10.0
"""Finite differences need at least MARGIN times the budget at ``FAST`` (``FAST_THIN``);
backpropagation at most a MARGIN-th of it at ``SLOW``."""


# -- finite differences, as a student might write them -------------------------------------

STEP = 6e-6  # central differences: h = STEP max(1, |w|), about the cube root of eps
IMAGINARY_STEP = 1e-20  # the complex step: exact to rounding, for any small step
EVALUATIONS = [0]  # calls of the function being differentiated, counted by ``counted``


def counted(f: Callable) -> Callable:
    def call(x):
        EVALUATIONS[0] += 1
        return f(x)

    return call


def differences(f: Callable, x: np.ndarray, method: str) -> np.ndarray:
    """The derivatives of ``f`` (a number or an array) at the flat vector ``x`` with respect
    to each of its entries, one entry at a time: shape ``f(x).shape + (x.size,)``."""
    x = np.array(x, dtype=complex if method == "complex step" else float)
    f = counted(f)
    columns = []
    for i in range(x.size):
        old = x[i]
        if method == "central":
            h = STEP * max(1.0, abs(old))
            x[i] = old + h
            up = np.asarray(f(x))
            x[i] = old - h
            columns.append((up - np.asarray(f(x))) / (2.0 * h))
        else:
            x[i] = old + 1j * IMAGINARY_STEP
            columns.append(np.imag(f(x)) / IMAGINARY_STEP)
        x[i] = old
    return np.stack(columns, axis=-1)


def split(x: np.ndarray, shapes: list[tuple]) -> list[np.ndarray]:
    """``x`` cut into arrays of ``shapes`` (views of ``x``, so that perturbing ``x`` in place
    perturbs them)."""
    parts, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        parts.append(x[start : start + size].reshape(shape))
        start += size
    return parts


def gradients(method: str, error: Callable, params: tuple) -> list[np.ndarray]:
    """The gradient of the scalar ``error(*params)`` with respect to each array of
    ``params``, by ``differences``."""
    shapes = [np.shape(p) for p in params]
    x = np.concatenate([np.ravel(p) for p in params])
    g = differences(lambda x: error(*split(x, shapes)), x, method)
    return split(g, shapes)


def linear(method):
    def linear_model_gradient(W, X, T):
        def error(W):
            return 0.5 * np.sum((X @ W.T - T) ** 2)

        (dW,) = gradients(method, error, (W,))
        return dW

    return linear_model_gradient


def canonical(method):
    def canonical_link_gradient(W, X, T, output):
        def error(W):
            A = X @ W.T
            if output == "linear":
                return 0.5 * np.sum((A - T) ** 2)
            if output == "sigmoid":
                return np.sum(np.log(1.0 + np.exp(A)) - T * A)  # takes complex numbers too
            peak = A.real.max(axis=1, keepdims=True)
            logsumexp = np.log(np.sum(np.exp(A - peak), axis=1)) + peak[:, 0]
            return np.sum(T.sum(axis=1) * logsumexp - np.sum(T * A, axis=1))

        (dW,) = gradients(method, error, (W,))
        return dW

    return canonical_link_gradient


def network_outputs(W1, b1, W2, b2, X, Ws=None):
    Y = np.tanh(X @ W1.T + b1) @ W2.T + b2
    return Y if Ws is None else Y + X @ Ws.T


def two_layer(method):
    def backprop(W1, b1, W2, b2, X, T):
        def error(W1, b1, W2, b2):
            return 0.5 * np.sum((network_outputs(W1, b1, W2, b2, X) - T) ** 2)

        return tuple(gradients(method, error, (W1, b1, W2, b2)))

    return backprop


def skip_layer(method):
    def backprop_skip(W1, b1, W2, b2, Ws, X, T):
        def error(W1, b1, W2, b2, Ws):
            return 0.5 * np.sum((network_outputs(W1, b1, W2, b2, X, Ws) - T) ** 2)

        return tuple(gradients(method, error, (W1, b1, W2, b2, Ws)))

    return backprop_skip


H = {  # written so that they also take complex numbers (the complex step)
    "tanh": np.tanh,
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "softplus": lambda a: np.log1p(np.exp(a)),
    "relu": lambda a: np.where(np.real(a) > 0, a, 0.0),
    "identity": lambda a: a,
}


def layered(method):
    def layered_backprop(weights, biases, activations, X, T):
        L = len(weights)

        def error(*params):
            Z = X
            for l in range(L):
                A = Z @ params[2 * l].T + params[2 * l + 1]
                Z = H[activations[l]](A) if l < L - 1 else A
            return 0.5 * np.sum((Z - T) ** 2)

        flat = gradients(method, error, tuple(p for pair in zip(weights, biases) for p in pair))
        return flat[0::2], flat[1::2]

    return layered_backprop


def dag_network(method):
    def dag_backprop(W, activations, X, T):
        D, hidden = X.shape[1], len(activations)
        connections = np.flatnonzero(W)

        def error(weights):
            V = np.zeros(W.shape, dtype=weights.dtype)
            V.flat[connections] = weights
            A = np.zeros((X.shape[0], W.shape[0]), dtype=weights.dtype)
            A[:, :D] = X
            Z = A.copy()
            for j in range(D, W.shape[0]):  # (8.5), (8.6) unit by unit
                A[:, j] = Z[:, :j] @ V[j, :j]
                Z[:, j] = H[activations[j - D]](A[:, j]) if j < D + hidden else A[:, j]
            return 0.5 * np.sum((Z[:, D + hidden :] - T) ** 2)

        G = np.zeros_like(W)
        G.flat[connections] = differences(error, W.flat[connections], method)
        return G

    return dag_backprop


def softmax_jacobian(method):
    def softmax_network_jacobian(net, x):
        def outputs(x):
            a = net.W2 @ np.tanh(net.W1 @ x + net.b1) + net.b2
            e = np.exp(a - np.max(np.real(a)))
            return e / np.sum(e)

        return differences(outputs, x, method)

    return softmax_network_jacobian


def output_gradients(method):
    def gradients_of_outputs(W1, W2, X):
        shapes = [W1.shape, W2.shape]
        X1 = np.concatenate([np.ones((X.shape[0], 1)), X], axis=1)

        def preactivations(w):
            V1, V2 = split(w, shapes)
            Z1 = np.tanh(X1 @ V1.T)
            return Z1 @ V2[:, 1:].T + V2[:, 0]

        return differences(preactivations, np.concatenate([W1.ravel(), W2.ravel()]), method)

    return gradients_of_outputs


# -- what each cost case measures ----------------------------------------------------------


def _two_layer_sizes(case):
    W1, b1, W2, b2 = case.args[:4]
    (M, D), K, N = W1.shape, W2.shape[0], case.args[-2].shape[0]
    skip = len(case.args) == 7
    W = sum(np.size(p) for p in case.args[:-2])
    evaluation = N * M * (D + K) + (N * K * D if skip else 0)
    return W, evaluation


def _layered_sizes(case):
    X, _, *flat = case.args
    W = sum(p.size for p in flat)
    return W, X.shape[0] * sum(p.size for p in flat[0::2])


def _linear_sizes(case):
    W, X, _ = case.args
    return W.size, X.shape[0] * W.size


def _dag_sizes(case):
    W, X, _ = case.args
    return int(np.count_nonzero(W)), X.shape[0] * int(np.count_nonzero(W))


def _jacobian_sizes(case):
    W1, _, W2, _, x = case.args
    (M, D), K = W1.shape, W2.shape[0]
    return D, M * D + K * M  # D forward passes of the network


def _output_gradient_sizes(case):
    W1, W2, X = case.args
    W = W1.size + W2.size
    return W, X.shape[0] * W  # W evaluations of the N K outputs, each about N W


@dataclasses.dataclass(frozen=True)
class Cost:
    """A check with a cost case: its assignment, the master's function, finite differences
    for it, and the sizes that set the cost: ``sizes(case)`` is ``(n, evaluation)``, the
    number of entries the finite differences perturb one at a time (W, or D for a
    Jacobian) and the multiply-adds of one evaluation; backpropagation costs
    ``backprop_evaluations`` evaluations (its forward pass, the backward passes and the
    products that give the gradients, all of the size of one evaluation); ``fast`` is a
    speed no implementation of one evaluation reaches (``FAST`` or ``FAST_THIN``)."""

    check: str
    assignment: str
    master: str
    by_differences: Callable[[str], Callable]
    sizes: Callable
    backprop_evaluations: float
    fast: float = FAST
    sequential_steps: Callable | None = None  # steps one evaluation takes one after another


COSTS = {
    cost.check: cost
    for cost in (
        Cost(
            "two_layer_backprop", "02_two_layer_network", "backprop", two_layer, _two_layer_sizes, 3
        ),
        Cost(
            "skip_layer_backprop",
            "02_two_layer_network",
            "backprop_skip",
            skip_layer,
            _two_layer_sizes,
            3,
        ),
        Cost("layered_backprop", "01_gradients", "layered_backprop", layered, _layered_sizes, 3),
        # the outputs, and the product of (8.4)
        Cost(
            "linear_model_gradient",
            "01_gradients",
            "linear_model_gradient",
            linear,
            _linear_sizes,
            2,
        ),
        # the outputs through the output function, and the product of (8.4)
        Cost(
            "canonical_link_gradient",
            "01_gradients",
            "canonical_link_gradient",
            canonical,
            _linear_sizes,
            3,
        ),
        # a pass forward and one back over the units, and the outer product of (8.10)
        Cost(
            "dag_backprop",
            "01_gradients",
            "dag_backprop",
            dag_network,
            _dag_sizes,
            3,
            sequential_steps=lambda case: case.args[0].shape[0],
        ),
        # one forward pass and K backward passes, each about M D
        Cost(
            "softmax_network_jacobian",
            "04_jacobian",
            "softmax_network_jacobian",
            softmax_jacobian,
            _jacobian_sizes,
            4,
            FAST_THIN,
        ),
        # the forward pass, and K = 2 backward passes that each write N W numbers
        Cost(
            "output_gradients_backprop",
            "05_hessian",
            "output_gradients",
            output_gradients,
            _output_gradient_sizes,
            3,
            FAST_THIN,
        ),
    )
}
NAMES = sorted(COSTS)
METHODS = ["central", "complex step"]


def hidden(name):
    check = get_check(name)
    return check, hidden_cases(check, SECRET, COSTS[name].assignment, STUDENT)


def cost_case(cases):
    (case,) = [c for c in cases if c.seconds]
    assert case is cases[-1], "the cost case comes last: a time-out stops the later cases"
    return case


def master_function(name: str) -> Callable:
    """The master's solution of ``name``'s task: the imports, functions, classes and
    constants of its notebook's code cells, executed (nothing else of the notebook runs; a
    constant computed from a worked example's variables is left out)."""
    cost = COSTS[name]
    path = ROOT / "course" / "source" / cost.assignment / f"{cost.assignment}.ipynb"
    namespace: dict = {}
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        lines = "".join(cell["source"]).splitlines()
        tree = ast.parse("\n".join(line for line in lines if not line.startswith(("%", "!"))))
        for node in tree.body:
            code = compile(ast.Module([node], type_ignores=[]), str(path), "exec")
            if isinstance(node, ast.Assign) and _constant(node):
                try:
                    exec(code, namespace)
                except NameError:
                    pass
            elif _definition(node):
                exec(code, namespace)
    return namespace[cost.master]


def _constant(node: ast.Assign) -> bool:
    return all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)


def _definition(node: ast.stmt) -> bool:
    """What a solution may need besides constants: imports (but plotting, and the notebook
    helpers of ``grader``), functions and classes."""
    if isinstance(node, ast.ImportFrom) and node.module == "grader":
        return False
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [getattr(node, "module", None) or "", *(a.name for a in node.names)]
        return not any(n.startswith("matplotlib") for n in names)
    return isinstance(node, (ast.FunctionDef, ast.ClassDef))


# -- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_the_cost_case_is_last_budgeted_and_small_enough_to_send(name):
    check, cases = hidden(name)
    case = cost_case(cases)
    assert check.cost_reason and case.name.startswith("cost: ")
    assert 0 < case.seconds <= TIME_LIMIT / 4, "far below the limit of an ordinary case"
    sent = sum(np.asarray(a).nbytes for a in case.args)
    assert sent < 5e6, f"{sent / 1e6:.1f} MB of inputs"
    assert cost_case(visible_cases(check)).seconds == case.seconds, "the self-check shows it"


@pytest.mark.parametrize("name", NAMES)
def test_reference_and_master_pass_every_case(name):
    check, cases = hidden(name)
    for function in (check.student_function(check.reference), master_function(name)):
        verdict = judge(check, cases, answers(check, function, cases))
        assert verdict.points == check.points, [r.problem for r in verdict.results]


@pytest.mark.parametrize("name", NAMES)
def test_every_mistake_model_answers_the_cost_case(name):
    """The diagnosis runs the mistake models on every answered case, the cost case too: each
    gives its answer within the budget (or raises at once, where it does not apply to a
    network that is not square)."""
    check, cases = hidden(name)
    case = cost_case(cases)
    for mistake in check.mistakes():
        (record,) = answers(check, check.student_function(mistake.model), [case])
        error = record.get("error", {})
        assert "answer" in record or error["kind"] == channel.RAISED, (mistake.name, error)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", NAMES)
def test_finite_differences_pass_the_small_cases_and_run_out_of_time_on_the_cost_case(name, method):
    check, cases = hidden(name)
    records = answers(check, COSTS[name].by_differences(method), cases)
    verdict = judge(check, cases, records)
    *small, cost = verdict.results
    assert all(r.passed for r in small), [r.problem for r in small if not r.passed]
    assert not cost.passed and records[-1]["error"]["kind"] == channel.TIMEOUT, cost.problem
    assert verdict.points == round(check.points * len(small) / len(cases), 2)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", NAMES)
def test_finite_differences_evaluate_once_or_twice_per_weight(name, method):
    """Counted on the small cases, with the real function: 2 n evaluations (central) or n
    (complex step), n the number of weights (inputs, for a Jacobian)."""
    check, cases = hidden(name)
    per_entry = 2 if method == "central" else 1
    for case in cases[:-1]:
        EVALUATIONS[0] = 0
        answers(check, COSTS[name].by_differences(method), [case])
        n, _ = COSTS[name].sizes(case)
        assert EVALUATIONS[0] == per_entry * n, case.name


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", NAMES)
def test_on_the_cost_case_finite_differences_need_far_more_than_the_budget(name, method):
    """The evaluations the finite differences make on the cost case, counted with a stand-in
    that computes nothing, times the multiply-adds of one evaluation (four for each of a
    complex product), at a speed no implementation reaches: at least ``MARGIN`` budgets."""
    check, cases = hidden(name)
    case = cost_case(cases)
    n, evaluation = COSTS[name].sizes(case)
    EVALUATIONS[0] = 0
    differences(lambda x: 0.0, np.zeros(n), method)
    assert EVALUATIONS[0] == (2 if method == "central" else 1) * n
    if COSTS[name].sequential_steps is not None:  # at most STEPS_PER_SECOND calls of NumPy
        seconds = EVALUATIONS[0] * COSTS[name].sequential_steps(case) / STEPS_PER_SECOND
    else:
        multiply_adds = EVALUATIONS[0] * evaluation * (4 if method == "complex step" else 1)
        seconds = multiply_adds / COSTS[name].fast
    assert seconds >= MARGIN * case.seconds, (n, evaluation, seconds, case.seconds)


@pytest.mark.parametrize("name", NAMES)
def test_on_the_cost_case_backpropagation_needs_far_less_than_the_budget(name):
    check, cases = hidden(name)
    case = cost_case(cases)
    _, evaluation = COSTS[name].sizes(case)
    multiply_adds = COSTS[name].backprop_evaluations * evaluation
    assert multiply_adds / SLOW <= case.seconds / MARGIN, (evaluation, case.seconds)


def test_the_cost_reason_is_what_the_budget_allows():
    """The feedback says "... which allows a method <cost_reason>"."""
    for name in NAMES:
        reason = get_check(name).cost_reason
        assert reason.startswith("as costly as ") and "finite differences" in reason


def test_tasks_without_a_cost_case_say_why():
    """A check of a task that implements derivatives but has no cost case: the Jacobian by
    forward propagation (D passes, like finite differences)."""
    for name in ("jacobian_forward_propagation",):
        check = get_check(name)
        assert not any(c.seconds for c in hidden_cases(check, SECRET, "", STUDENT)), name
        assert not check.cost_reason
