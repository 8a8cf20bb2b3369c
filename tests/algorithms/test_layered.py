"""Backpropagation in layered matrix form (Exercise 8.2), against ``autodiff.grad``."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.layered import LayeredNet, layered_backprop

ANP_ACTIVATIONS = {
    "tanh": anp.tanh,
    "sigmoid": anp.sigmoid,
    "relu": anp.relu,
    "identity": lambda a: a,
    "softplus": anp.softplus,
}


def assert_close(actual, expected, rtol=1e-10):
    """Agreement to ``rtol`` relative to the largest entry of ``expected``."""
    expected = np.asarray(expected, dtype=float)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.max(np.abs(expected)))


def anp_error(activations, output, X, T):
    """The batch error as a function of ``(weights, biases)``, written with ``anp``."""

    def E(params):
        weights, biases = params
        Z = X
        for l, (W, b) in enumerate(zip(weights, biases)):
            A = Z @ anp.transpose(W) + b
            Z = ANP_ACTIVATIONS[activations[l]](A) if l < len(activations) else A
        if output == "linear":
            return 0.5 * anp.sum((A - T) ** 2)
        if output == "sigmoid":
            return -anp.sum(T * anp.log(anp.sigmoid(A)) + (1.0 - T) * anp.log(1.0 - anp.sigmoid(A)))
        return -anp.sum(T * anp.log_softmax(A, axis=1))

    return E


def random_targets(output, N, K, rng):
    if output == "linear":
        return rng.normal(size=(N, K))
    if output == "sigmoid":
        return rng.uniform(size=(N, K))
    return np.eye(K)[rng.integers(K, size=N)]


@pytest.mark.parametrize("output", ["linear", "sigmoid", "softmax"])
@pytest.mark.parametrize(
    ("sizes", "activations", "N"),
    [
        ([4, 3], [], 5),
        ([3, 5, 2], ["tanh"], 1),
        ([2, 6, 4, 3], ["relu", "softplus"], 10),
        ([5, 4, 4, 4, 2], ["sigmoid", "identity", "tanh"], 7),
    ],
)
def test_gradients_match_grad(output, sizes, activations, N):
    rng = np.random.default_rng(len(sizes) * 10 + N)
    net = LayeredNet.random(sizes, activations, output, rng=rng)
    X = rng.normal(size=(N, sizes[0]))
    T = random_targets(output, N, sizes[-1], rng)
    weight_grads, bias_grads = layered_backprop(net, X, T)
    expected_w, expected_b = autodiff.grad(anp_error(activations, output, X, T))(
        (net.weights, net.biases)
    )
    assert len(weight_grads) == len(bias_grads) == len(sizes) - 1
    for got, want in zip(weight_grads + bias_grads, list(expected_w) + list(expected_b)):
        assert got.shape == np.shape(want)
        assert_close(got, want)


def test_forward_and_error_match_the_anp_network():
    rng = np.random.default_rng(3)
    net = LayeredNet.random([3, 4, 2], ["tanh"], "softmax", rng=rng)
    X, T = rng.normal(size=(6, 3)), np.eye(2)[rng.integers(2, size=6)]
    expected = anp_error(["tanh"], "softmax", X, T)((net.weights, net.biases))
    assert_close(net.error(X, T), expected)
    _, Z = net.forward(X)
    assert_close(Z[-1].sum(axis=1), np.ones(6))


def test_malformed_networks_are_rejected():
    W1, b1, W2, b2 = np.zeros((4, 3)), np.zeros(4), np.zeros((2, 4)), np.zeros(2)
    with pytest.raises(ValueError, match="L - 1"):
        LayeredNet([W1, W2], [b1, b2], [])
    with pytest.raises(ValueError, match="layer 2: W has 3 columns but layer 1 has 4 units"):
        LayeredNet([W1, np.zeros((2, 3))], [b1, b2], ["tanh"])
    with pytest.raises(ValueError, match=r"layer 1: .* got W \(4, 3\) and b \(3,\)"):
        LayeredNet([W1, W2], [np.zeros(3), b2], ["tanh"])
    with pytest.raises(ValueError, match="unknown activation"):
        LayeredNet([W1, W2], [b1, b2], ["cosh"])
    with pytest.raises(ValueError, match="unknown output"):
        LayeredNet([W1, W2], [b1, b2], ["tanh"], output="relu")


def test_shape_mismatches_are_reported():
    net = LayeredNet.random([3, 4, 2], ["tanh"], rng=0)
    with pytest.raises(ValueError, match=r"expected inputs of shape \(N, 3\)"):
        layered_backprop(net, np.zeros((5, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"expected targets of shape \(5, 2\)"):
        layered_backprop(net, np.zeros((5, 3)), np.zeros((5, 3)))
