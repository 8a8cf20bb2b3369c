"""The checks of the gradients assignment against independent routes: plain NumPy solutions
that loop over data points (no ``autodiff``) earn full marks, the references agree with the
chapter's algorithms in ``autodiff.algorithms``, the cases contain what the mistakes need
(skip connections, units with several receivers, square layers), and a layered answer with
a missing or extra layer is never passed."""

from __future__ import annotations

import numpy as np
import pytest

from autodiff.algorithms.dag_backprop import backprop
from autodiff.algorithms.layered import LayeredNet, layered_backprop
from autodiff.algorithms.outputs import single_layer_gradient
from grader.checks import get_check
from grader.checks.gradients import dag_as_network
from grader.judge import answers, judge
from grader.seeds import seed

H = {
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "sigmoid": (lambda a: 1 / (1 + np.exp(-a)), lambda a: np.exp(-a) / (1 + np.exp(-a)) ** 2),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a: np.where(a > 0, 1.0, 0.0)),
    "softplus": (lambda a: np.log1p(np.exp(a)), lambda a: 1 / (1 + np.exp(-a))),
    "identity": (lambda a: a, lambda a: np.ones_like(a)),
}


def linear_gradient(W, X, T):
    return sum(np.outer(W @ x - t, x) for x, t in zip(X, T))


def canonical_gradient(W, X, T, output):
    grad = np.zeros_like(W)
    for x, t in zip(X, T):
        a = W @ x
        if output == "sigmoid":
            y = 1 / (1 + np.exp(-a))
        elif output == "softmax":
            y = np.exp(a) / np.sum(np.exp(a))
        else:
            y = a
        grad += np.outer(y * np.sum(t) - t if output == "softmax" else y - t, x)
    return grad


def point_forward(W, activations, x):
    """One data point, one unit at a time, with explicit sums over senders (8.5), (8.6)."""
    D, H_ = len(x), len(activations)
    a, z = list(x), list(x)
    for j in range(D, W.shape[0]):
        a_j = sum(W[j, i] * z[i] for i in range(j) if W[j, i] != 0)
        a.append(a_j)
        z.append(H[activations[j - D]][0](a_j) if j < D + H_ else a_j)
    return np.array(a), np.array(z)


def dag_forward(W, activations, X):
    rows = [point_forward(W, activations, x) for x in X]
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])


def dag_backprop(W, activations, X, T):
    """Algorithm 8.1 per data point with explicit sums over receivers, summed (8.14)."""
    P, D, H_ = W.shape[0], X.shape[1], len(activations)
    grad = np.zeros_like(W)
    for x, t in zip(X, T):
        a, z = point_forward(W, activations, x)
        delta = np.zeros(P)
        delta[D + H_ :] = z[D + H_ :] - t
        for j in reversed(range(D, D + H_)):
            total = sum(W[k, j] * delta[k] for k in range(j + 1, P) if W[k, j] != 0)
            delta[j] = H[activations[j - D]][1](a[j]) * total
        for j, i in zip(*np.nonzero(W)):
            grad[j, i] += delta[j] * z[i]
    return grad


def layered(weights, biases, activations, X, T):
    dW = [np.zeros_like(W) for W in weights]
    db = [np.zeros_like(b) for b in biases]
    for x, t in zip(X, T):
        zs, As = [x], []
        for l, (W, b) in enumerate(zip(weights, biases)):
            As.append(W @ zs[-1] + b)
            zs.append(H[activations[l]][0](As[-1]) if l < len(activations) else As[-1])
        delta = zs[-1] - t
        for l in reversed(range(len(weights))):
            dW[l] += np.outer(delta, zs[l])
            db[l] += delta
            if l > 0:
                delta = H[activations[l - 1]][1](As[l - 1]) * (weights[l].T @ delta)
    return dW, db


SOLUTIONS = {
    "linear_model_gradient": linear_gradient,
    "canonical_link_gradient": canonical_gradient,
    "dag_forward": dag_forward,
    "dag_backprop": dag_backprop,
    "layered_backprop": layered,
}


def hidden(name):
    check = get_check(name)
    return check, check.cases(np.random.default_rng(seed("hidden", name)))


def visible(name):
    check = get_check(name)
    return check, check.visible_cases(np.random.default_rng(seed("visible", name)))


@pytest.mark.parametrize("name", sorted(SOLUTIONS))
@pytest.mark.parametrize("cases_of", [hidden, visible])
def test_numpy_solution_scores_full_marks(name, cases_of):
    check, cases = cases_of(name)
    verdict = judge(check, cases, answers(check, SOLUTIONS[name], cases))
    assert verdict.points == check.points, [r.problem for r in verdict.results]


def test_dag_reference_agrees_with_algorithm_8_1():
    check, cases = hidden("dag_backprop")
    for case in cases:
        W, X, T = case.args
        network, w = dag_as_network(W, case.kwargs["activations"].split(), X.shape[1])
        by_algorithm = network.weight_dict(backprop(network, w, X, T))
        reference = check.reference(case)
        index = {f"x{i}": i for i in range(X.shape[1])}
        index.update({f"u{j}": j for j in range(X.shape[1], W.shape[0])})
        for (j, i), value in by_algorithm.items():
            assert reference[index[j], index[i]] == pytest.approx(value, rel=1e-10, abs=1e-12)
        assert np.all(reference[W == 0] == 0)


def test_dag_forward_reference_agrees_with_a_loop():
    check, cases = hidden("dag_forward")
    for case in cases:
        W, X = case.args
        A, Z = check.reference(case)
        A_loop, Z_loop = dag_forward(W, case.kwargs["activations"].split(), X)
        np.testing.assert_allclose(A, A_loop, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(Z, Z_loop, rtol=1e-12, atol=1e-14)


def test_layered_reference_agrees_with_the_package():
    check, cases = hidden("layered_backprop")
    for case in cases:
        X, T, *flat = case.args
        net = LayeredNet(list(flat[0::2]), list(flat[1::2]), case.kwargs["activations"].split())
        expected = layered_backprop(net, X, T)
        for mine, theirs in zip(check.reference(case), expected):
            for a, b in zip(mine, theirs, strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_canonical_reference_agrees_with_the_package():
    check, cases = hidden("canonical_link_gradient")
    for case in cases:
        if "do not sum to one" in case.name:
            continue  # the package's canonical pairs take 1-of-K or soft targets only
        expected = single_layer_gradient(*case.args, output=case.kwargs["output"])
        np.testing.assert_allclose(check.reference(case), expected, rtol=1e-10, atol=1e-12)


def test_dag_cases_have_skips_shared_senders_and_mixed_activations():
    for name in ("dag_forward", "dag_backprop"):
        _, cases = hidden(name)
        skips = shared = mixed = 0
        for case in cases:
            W, X = case.args[:2]
            names = case.kwargs["activations"].split()
            D, H_ = X.shape[1], len(names)
            receivers = [np.flatnonzero(W[:, j]) for j in range(D, D + H_)]
            shared += any(len(r) > 1 for r in receivers)
            mixed += len(set(names)) > 1
            # a skip: input -> output, or a hidden unit -> a unit that is not its successor
            skips += bool(np.any(W[D + H_ :, :D])) or any(
                np.any(r > j + D + 1) for j, r in enumerate(receivers)
            )
        assert skips == len(cases) and shared >= len(cases) - 1 and mixed >= len(cases) - 1


def test_layered_cases_cover_depths_and_square_layers():
    _, cases = hidden("layered_backprop")
    depths = {(len(c.args) - 2) // 2 for c in cases}
    assert depths == {1, 2, 3, 4}
    square = [
        c for c in cases if len(c.args) > 4 and all(W.shape[0] == W.shape[1] for W in c.args[2::2])
    ]
    assert square, "a missing transpose is only visible on a network of square layers"


@pytest.mark.parametrize("change", ["drop last layer", "add a layer", "not a pair"])
def test_layered_answer_with_wrong_layer_count_fails(change):
    check, cases = hidden("layered_backprop")

    def student(weights, biases, activations, X, T):
        dW, db = layered(weights, biases, activations, X, T)
        if change == "drop last layer":
            return dW[:-1], db[:-1]
        if change == "add a layer":
            return dW + [np.zeros(1)], db + [np.zeros(1)]
        return dW

    verdict = judge(check, cases, answers(check, student, cases))
    assert verdict.passed == 0, [r.problem for r in verdict.results]


def test_students_receive_activation_names_as_a_list():
    check, cases = visible("dag_backprop")
    received = []

    def student(W, activations, X, T):
        received.append(activations)
        return dag_backprop(W, activations, X, T)

    answers(check, student, cases)
    assert all(isinstance(a, list) and all(n in H for n in a) for a in received)
