"""The network Jacobian (8.26)-(8.35) and Exercise 8.5, against the autodiff transforms."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.jacobian import (
    chain_jacobians,
    layered_jacobian,
    layered_jacobian_forward,
    propagate_input_errors,
    two_layer_jacobian,
    two_layer_jacobian_forward,
    two_layer_outputs,
)
from autodiff.algorithms.layered import LayeredNet
from autodiff.algorithms.network import TwoLayerNet
from autodiff.numerical import numerical_jacobian

OUTPUTS = ["linear", "sigmoid", "softmax"]
ANP_OUTPUTS = {"linear": lambda a: a, "sigmoid": anp.sigmoid, "softmax": anp.softmax}
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


def anp_two_layer(net: TwoLayerNet, output: str):
    """``x -> y`` for one input of shape ``(D,)``, written with ``anp``."""

    def y(x):
        a = anp.matmul(net.W2, anp.tanh(anp.matmul(net.W1, x) + net.b1)) + net.b2
        if net.Ws is not None:
            a = a + anp.matmul(net.Ws, x)
        return ANP_OUTPUTS[output](a)

    return y


def anp_layered(activations, output, net: LayeredNet):
    """``x -> y`` for one input of shape ``(D,)``, written with ``anp``."""

    def y(x):
        z = x
        for l, (W, b) in enumerate(zip(net.weights, net.biases)):
            a = anp.matmul(W, z) + b
            z = ANP_ACTIVATIONS[activations[l]](a) if l < len(activations) else a
        return ANP_OUTPUTS[output](a)

    return y


TWO_LAYER_CASES = [(1, 1, 1, False), (3, 5, 2, False), (4, 3, 6, True), (2, 7, 3, True)]
LAYERED_CASES = [
    ([3, 2], []),
    ([4, 6, 3], ["tanh"]),
    ([2, 5, 4, 5], ["softplus", "sigmoid"]),
    ([5, 3, 3, 3, 2], ["relu", "identity", "tanh"]),
]


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize(("D", "M", "K", "skip"), TWO_LAYER_CASES)
def test_two_layer_jacobian_both_methods_match_the_transforms(D, M, K, skip, output):
    if output == "softmax" and K == 1:
        K = 2
    rng = np.random.default_rng(D * 100 + M * 10 + K)
    net = TwoLayerNet.random(D, M, K, skip=skip, rng=rng)
    x = rng.normal(size=D)
    f = anp_two_layer(net, output)
    backward = two_layer_jacobian(net, x, output)
    forward = two_layer_jacobian_forward(net, x, output)
    assert backward.shape == (K, D)
    assert_close(backward, autodiff.jacrev(f)(x))
    assert_close(forward, autodiff.jacfwd(f)(x))
    assert_close(forward, backward)
    assert_close(two_layer_outputs(net, x, output), f(x))


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize(("sizes", "activations"), LAYERED_CASES)
def test_layered_jacobian_both_methods_match_the_transforms(sizes, activations, output):
    rng = np.random.default_rng(len(sizes))
    net = LayeredNet.random(sizes, activations, output, rng=rng)
    x = rng.normal(size=sizes[0])
    f = anp_layered(activations, output, net)
    backward = layered_jacobian(net, x)
    forward = layered_jacobian_forward(net, x)
    assert backward.shape == (sizes[-1], sizes[0])
    assert_close(backward, autodiff.jacrev(f)(x))
    assert_close(forward, autodiff.jacfwd(f)(x))
    assert_close(forward, backward)


@pytest.mark.parametrize("output", OUTPUTS)
def test_batched_jacobians_are_one_per_data_point(output):
    rng = np.random.default_rng(21)
    net = TwoLayerNet.random(3, 4, 2, skip=True, rng=rng)
    layered = LayeredNet.random([3, 4, 5, 2], ["tanh", "relu"], output, rng=rng)
    X = rng.normal(size=(6, 3))
    f = anp_two_layer(net, output)
    g = anp_layered(["tanh", "relu"], output, layered)
    for method in (two_layer_jacobian, two_layer_jacobian_forward):
        J = method(net, X, output)
        assert J.shape == (6, 2, 3)
        for n in range(6):
            assert_close(J[n], autodiff.jacrev(f)(X[n]))
    for method in (layered_jacobian, layered_jacobian_forward):
        J = method(layered, X)
        assert J.shape == (6, 2, 3)
        for n in range(6):
            assert_close(J[n], autodiff.jacrev(g)(X[n]))


@pytest.mark.parametrize("output", OUTPUTS)
def test_jacobian_matches_central_differences(output):
    rng = np.random.default_rng(22)
    net = TwoLayerNet.random(4, 6, 3, skip=True, rng=rng)
    x = rng.normal(size=4)
    numerical = numerical_jacobian(lambda x_: two_layer_outputs(net, x_, output), x, 1e-5)
    assert_close(two_layer_jacobian(net, x, output), numerical, rtol=1e-7)


def test_softmax_jacobian_columns_sum_to_zero():
    # The softmax outputs always sum to one, so each column of J sums to zero.
    rng = np.random.default_rng(23)
    net = TwoLayerNet.random(3, 4, 5, rng=rng)
    J = two_layer_jacobian(net, rng.normal(size=3), "softmax")
    assert np.max(np.abs(J.sum(axis=0))) < 1e-14


def test_error_propagation_improves_as_the_perturbation_shrinks():
    rng = np.random.default_rng(24)
    net = TwoLayerNet.random(3, 5, 2, skip=True, rng=rng)
    x, direction = rng.normal(size=3), rng.normal(size=3)
    J = two_layer_jacobian(net, x, "sigmoid")
    y0 = two_layer_outputs(net, x, "sigmoid")
    relative_errors = []
    for size in [1e-1, 1e-2, 1e-3, 1e-4]:
        dx = size * direction
        exact = two_layer_outputs(net, x + dx, "sigmoid") - y0
        estimate = propagate_input_errors(J, dx)
        relative_errors.append(np.linalg.norm(exact - estimate) / np.linalg.norm(exact))
    ratios = np.array(relative_errors[1:]) / np.array(relative_errors[:-1])
    # (8.28) leaves a second-order remainder: the relative error falls like |dx|.
    assert np.all(ratios < 0.2) and np.all(ratios > 0.05)
    assert relative_errors[-1] < 1e-3


def test_batched_error_propagation():
    rng = np.random.default_rng(25)
    J, dx = rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 3))
    assert_close(propagate_input_errors(J, dx), np.stack([J[n] @ dx[n] for n in range(4)]))


def test_chained_module_jacobians_give_the_composite_gradient():
    # Figure 8.3, (8.27): a parameter vector w feeds module 1 (z = tanh(C w)), z feeds a
    # two-layer softmax network (y), and y feeds the error E = sum (y - t)^2.
    rng = np.random.default_rng(26)
    C = rng.normal(size=(3, 4))
    net = TwoLayerNet.random(3, 5, 2, skip=True, rng=rng)
    t = np.array([0.3, 0.7])
    w = rng.normal(size=4)

    def module1(w_):
        return anp.tanh(anp.matmul(C, w_))

    def error(y_):
        return anp.sum((y_ - t) ** 2)

    network = anp_two_layer(net, "softmax")
    z = module1(w)
    dz_dw = autodiff.jacrev(module1)(w)
    dy_dz = two_layer_jacobian(net, z, "softmax")
    dE_dy = autodiff.grad(error)(network(z))[None, :]
    chained = chain_jacobians([dz_dw, dy_dz, dE_dy])
    assert chained.shape == (1, 4)
    assert_close(chained[0], autodiff.grad(lambda w_: error(network(module1(w_))))(w))


def test_chain_of_one_module_is_its_jacobian():
    J = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(chain_jacobians([J]), J)


def test_bad_shapes_are_reported():
    net = TwoLayerNet.random(3, 4, 2, rng=0)
    with pytest.raises(ValueError, match=r"shape \(3,\) or a batch \(N, 3\)"):
        two_layer_jacobian(net, np.zeros(4))
    with pytest.raises(ValueError, match="unknown output"):
        two_layer_jacobian(net, np.zeros(3), "tanh")
    with pytest.raises(ValueError, match=r"got J \(2, 3\) and dx \(4,\)"):
        propagate_input_errors(np.zeros((2, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="module 2's Jacobian .* takes 4 inputs but module 1"):
        chain_jacobians([np.zeros((3, 2)), np.zeros((1, 4))])
    with pytest.raises(ValueError, match="must be a matrix"):
        chain_jacobians([np.zeros((3, 2)), np.zeros(3)])
    with pytest.raises(ValueError, match="at least one"):
        chain_jacobians([])
