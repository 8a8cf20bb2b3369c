"""The checks of the two-layer assignment against independent routes: plain NumPy solutions
(no ``autodiff``) earn full marks, the cases can reveal a transposed weight matrix, and the
training cases are ones where gradient descent makes progress."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import get_check
from grader.judge import answers, judge
from grader.seeds import seed


def forward(W1, b1, W2, b2, X):
    Z = np.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2


def backprop(W1, b1, W2, b2, X, T):
    """A per-point loop over (8.21)-(8.23), summed as in (8.14): a different route from
    the matrix form and from the autodiff reference."""
    grads = [np.zeros_like(p) for p in (W1, b1, W2, b2)]
    for x, t in zip(X, T):
        z = np.tanh(W1 @ x + b1)
        delta_k = W2 @ z + b2 - t
        delta_j = (1.0 - z**2) * (W2.T @ delta_k)
        for g, part in zip(grads, (np.outer(delta_j, x), delta_j, np.outer(delta_k, z), delta_k)):
            g += part
    return tuple(grads)


def backprop_skip(W1, b1, W2, b2, Ws, X, T):
    """The same loop with skip-layer weights (Exercise 8.4): dE/dw_ki^(s) = delta_k x_i."""
    grads = [np.zeros_like(p) for p in (W1, b1, W2, b2, Ws)]
    for x, t in zip(X, T):
        z = np.tanh(W1 @ x + b1)
        delta_k = W2 @ z + b2 + Ws @ x - t
        delta_j = (1.0 - z**2) * (W2.T @ delta_k)
        parts = (np.outer(delta_j, x), delta_j, np.outer(delta_k, z), delta_k, np.outer(delta_k, x))
        for g, part in zip(grads, parts):
            g += part
    return tuple(grads)


def train(W1, b1, W2, b2, X, T, learning_rate, steps):
    def error(params):
        return 0.5 * np.sum((forward(*params, X)[1] - T) ** 2)

    params, losses = [W1, b1, W2, b2], []
    for _ in range(steps):
        losses.append(error(params))
        params = [p - learning_rate * g for p, g in zip(params, backprop(*params, X, T))]
    losses.append(error(params))
    return (*params, np.array(losses))


SOLUTIONS = {
    "two_layer_forward": forward,
    "two_layer_backprop": backprop,
    "two_layer_gradient_descent": train,
    "skip_layer_backprop": backprop_skip,
}


def hidden(name):
    check = get_check(name)
    return check, check.cases(np.random.default_rng(seed("hidden", name)))


def visible(name):
    check = get_check(name)
    return check.visible_cases(np.random.default_rng(seed("visible", name)))


@pytest.mark.parametrize("name", sorted(SOLUTIONS))
def test_numpy_solution_scores_full_marks(name):
    check, cases = hidden(name)
    verdict = judge(check, cases, answers(check, SOLUTIONS[name], cases))
    assert verdict.points == check.points, [r.problem for r in verdict.results]


@pytest.mark.parametrize("name", ["two_layer_forward", "two_layer_backprop", "skip_layer_backprop"])
def test_a_square_network_is_among_hidden_and_visible_cases(name):
    """Only with D = M = K does a transposed weight matrix give an answer of the right shape,
    so that the mistake can be recognised rather than just failing."""

    def square(case):
        W1, _, W2 = case.args[:3]
        return W1.shape[0] == W1.shape[1] == W2.shape[0]

    assert any(square(c) for c in hidden(name)[1])
    assert any(square(c) for c in visible(name))


def test_training_cases_lower_the_error():
    check, cases = hidden("two_layer_gradient_descent")
    for case in cases + visible("two_layer_gradient_descent"):
        losses = check.reference(case)[4]
        assert losses.shape == (case.args[7] + 1,)
        if case.args[7]:
            assert losses[-1] < losses[0], case.name


def test_training_with_the_mean_gradient_is_diagnosed():
    """A step N times too small (the gradient averaged over the batch) is recognised."""

    def mean_train(W1, b1, W2, b2, X, T, learning_rate, steps):
        return train(W1, b1, W2, b2, X, T, learning_rate / X.shape[0], steps)

    check, cases = hidden("two_layer_gradient_descent")
    verdict = judge(check, cases, answers(check, mean_train, cases))
    assert verdict.points < check.points
    assert any("averaged" in r.diagnosis for r in verdict.results if not r.passed)


def backprop_tanh_twice(W1, b1, W2, b2, X, T):
    """(8.22) with the slope written 1 - tanh(z)^2 at the hidden OUTPUT z = tanh(a)."""
    Z, Y = forward(W1, b1, W2, b2, X)
    delta_out = Y - T
    delta_hidden = (1.0 - np.tanh(Z) ** 2) * (delta_out @ W2)
    return delta_hidden.T @ X, delta_hidden.sum(axis=0), delta_out.T @ Z, delta_out.sum(axis=0)


def skip_tanh_twice(W1, b1, W2, b2, Ws, X, T):
    Z = np.tanh(X @ W1.T + b1)
    delta_out = Z @ W2.T + b2 + X @ Ws.T - T
    delta_hidden = (1.0 - np.tanh(Z) ** 2) * (delta_out @ W2)
    dW1, db1 = delta_hidden.T @ X, delta_hidden.sum(axis=0)
    return dW1, db1, delta_out.T @ Z, delta_out.sum(axis=0), delta_out.T @ X


def skip_from_hidden_deltas_sent_on(W1, b1, W2, b2, Ws, X, T):
    """The skip gradient taken as the first-layer gradient carried on through W2: the
    right shape (K, D), built from the hidden deltas."""
    Z = np.tanh(X @ W1.T + b1)
    delta_out = Z @ W2.T + b2 + X @ Ws.T - T
    delta_hidden = (1.0 - Z**2) * (delta_out @ W2)
    dW1, db1 = delta_hidden.T @ X, delta_hidden.sum(axis=0)
    return dW1, db1, delta_out.T @ Z, delta_out.sum(axis=0), W2 @ dW1


def skip_from_hidden_deltas(W1, b1, W2, b2, Ws, X, T):
    """The skip gradient as the hidden deltas times the inputs: shape (M, D)."""
    grads = skip_from_hidden_deltas_sent_on(W1, b1, W2, b2, Ws, X, T)
    return (*grads[:4], grads[0])


@pytest.mark.parametrize(
    ("name", "function", "cause", "equation"),
    [
        ("two_layer_backprop", backprop_tanh_twice, "tanh applied twice in h'", "(8.16)"),
        ("skip_layer_backprop", skip_tanh_twice, "tanh applied twice in h'", "(8.16)"),
        (
            "skip_layer_backprop",
            skip_from_hidden_deltas_sent_on,
            "skip gradient from hidden deltas sent on",
            "(8.10)",
        ),
        (
            "skip_layer_backprop",
            skip_from_hidden_deltas,
            "skip gradient from hidden deltas",
            "(8.10)",
        ),
    ],
)
@pytest.mark.parametrize("purpose", ["hidden", "visible"])
def test_a_mistake_written_by_hand_is_named_with_its_equation(
    name, function, cause, equation, purpose
):
    """The mistake as a student writes it (not the check's own model) is named in every
    failing case, hidden and visible (the cost case left out: its time is not the point)."""
    check = get_check(name)
    cases = hidden(name)[1] if purpose == "hidden" else visible(name)
    cases = [c for c in cases if not c.seconds]
    verdict = judge(check, cases, answers(check, function, cases))
    failed = [r for r in verdict.results if not r.passed]
    assert failed and verdict.points < check.points
    assert all(r.cause == cause and equation in r.diagnosis for r in failed), [
        (r.cause, r.diagnosis) for r in failed
    ]
