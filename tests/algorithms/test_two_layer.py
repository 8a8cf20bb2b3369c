"""Backpropagation for the two-layer tanh network (8.18)-(8.23) and Exercise 8.4."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.network import TwoLayerNet
from autodiff.algorithms.two_layer import two_layer_backprop, two_layer_flat_gradient
from autodiff.numerical import central_difference


def assert_close(actual, expected, rtol=1e-10):
    """Agreement to ``rtol`` relative to the largest entry of ``expected``."""
    expected = np.asarray(expected, dtype=float)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.max(np.abs(expected)))


def anp_error(X, T):
    """Sum-of-squares batch error of the parameter tuple ``(W1, b1, W2, b2[, Ws])``."""

    def E(params):
        W1, b1, W2, b2, *skip = params
        Y = anp.tanh(X @ anp.transpose(W1) + b1) @ anp.transpose(W2) + b2
        if skip:
            Y = Y + X @ anp.transpose(skip[0])
        return 0.5 * anp.sum((Y - T) ** 2)

    return E


SHAPES = [(1, 1, 1, 1), (3, 4, 2, 1), (2, 5, 3, 8), (6, 3, 4, 20)]


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize(("D", "M", "K", "N"), SHAPES)
def test_gradients_match_grad(D, M, K, N, skip):
    rng = np.random.default_rng(D * 100 + M * 10 + K)
    net = TwoLayerNet.random(D, M, K, skip=skip, rng=rng)
    X, T = rng.normal(size=(N, D)), rng.normal(size=(N, K))
    grads = two_layer_backprop(net, X, T)
    expected = autodiff.grad(anp_error(X, T))(net.parameters())
    assert (grads.Ws is None) == (not skip)
    assert len(grads.parameters()) == len(expected)
    for got, want in zip(grads.parameters(), expected):
        assert got.shape == np.shape(want)
        assert_close(got, want)


@pytest.mark.parametrize("skip", [False, True])
def test_flat_gradient_matches_central_differences(skip):
    rng = np.random.default_rng(11)
    net = TwoLayerNet.random(3, 4, 2, skip=skip, rng=rng)
    X, T = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    expected = central_difference(lambda w: net.unflatten(w).error(X, T), net.flatten(), 1e-5)
    assert_close(two_layer_flat_gradient(net, X, T), expected, rtol=1e-7)


def test_single_data_point():
    rng = np.random.default_rng(12)
    net = TwoLayerNet.random(3, 4, 2, rng=rng)
    x, t = rng.normal(size=3), rng.normal(size=2)
    expected = autodiff.grad(anp_error(x[None], t[None]))(net.parameters())
    for got, want in zip(two_layer_backprop(net, x, t).parameters(), expected):
        assert_close(got, want)


def test_hand_computed_gradient():
    # One hidden unit with zero weights: z = tanh(0) = 0, y = b2 = 1, t = 0, delta_k = 1,
    # delta_j = (1 - 0) * w2 * 1 = 2, so dE/dW1 = 2 x = 6, dE/db1 = 2, dE/dW2 = 0, dE/db2 = 1.
    net = TwoLayerNet(W1=np.zeros((1, 1)), b1=np.zeros(1), W2=np.full((1, 1), 2.0), b2=np.ones(1))
    assert np.array_equal(two_layer_flat_gradient(net, [[3.0]], [[0.0]]), [6.0, 2.0, 0.0, 1.0])


def test_shape_mismatches_are_reported():
    net = TwoLayerNet.random(3, 4, 2, rng=0)
    with pytest.raises(ValueError, match=r"X of shape \(N, 3\) and T of shape \(N, 2\)"):
        two_layer_backprop(net, np.zeros((5, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"got X \(5, 3\) and T \(4, 2\)"):
        two_layer_backprop(net, np.zeros((5, 3)), np.zeros((4, 2)))
