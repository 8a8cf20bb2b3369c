"""Canonical output/error pairs (Section 8.1.1) against the autodiff transforms."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.outputs import (
    OUTPUT_PAIRS,
    binary_cross_entropy,
    get_output_pair,
    multiclass_cross_entropy,
    output_deltas,
    sigmoid,
    single_layer_gradient,
    softmax,
    softplus,
    sum_of_squares,
)

OUTPUTS = ["linear", "sigmoid", "softmax"]


def assert_close(actual, expected, rtol=1e-10):
    """Agreement to ``rtol`` relative to the largest entry of ``expected``."""
    expected = np.asarray(expected, dtype=float)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.max(np.abs(expected)))


def anp_error(output: str):
    """The pair's error written from its definition with ``anp``, as a function of ``a``."""
    if output == "linear":
        return lambda a, t: 0.5 * anp.sum((a - t) ** 2)
    if output == "sigmoid":
        return lambda a, t: (
            -anp.sum(t * anp.log(anp.sigmoid(a)) + (1.0 - t) * anp.log(1.0 - anp.sigmoid(a)))
        )
    return lambda a, t: -anp.sum(t * anp.log(anp.softmax(a, axis=-1)))


def random_targets(output: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    if output == "linear":
        return rng.normal(size=shape)
    if output == "sigmoid":
        return rng.uniform(size=shape)
    return np.eye(shape[1])[rng.integers(shape[1], size=shape[0])]


@pytest.mark.parametrize("output", OUTPUTS)
def test_error_matches_its_definition(output):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 4))
    t = random_targets(output, a.shape, rng)
    assert_close(get_output_pair(output).error(a, t), anp_error(output)(a, t))


@pytest.mark.parametrize("output", OUTPUTS)
def test_delta_is_the_derivative_of_the_error(output):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5, 3))
    t = random_targets(output, a.shape, rng)
    pair = get_output_pair(output)
    expected = autodiff.grad(lambda a_: anp_error(output)(a_, t))(a)
    assert_close(output_deltas(pair.function(a), t, output), expected)


@pytest.mark.parametrize("output", OUTPUTS)
def test_output_jacobian_matches_jacrev(output):
    a = np.random.default_rng(2).normal(size=4)
    f = {"linear": lambda a_: a_ * 1.0, "sigmoid": anp.sigmoid, "softmax": anp.softmax}[output]
    assert_close(get_output_pair(output).jacobian(a), autodiff.jacrev(f)(a))


def test_output_jacobian_is_batched():
    a = np.random.default_rng(3).normal(size=(3, 4))
    batched = get_output_pair("softmax").jacobian(a)
    assert batched.shape == (3, 4, 4)
    for n in range(3):
        assert_close(batched[n], autodiff.jacrev(anp.softmax)(a[n]))


@pytest.mark.parametrize("output", OUTPUTS)
def test_single_layer_gradient_matches_grad(output):
    rng = np.random.default_rng(4)
    W = rng.normal(size=(3, 5))
    X = rng.normal(size=(8, 5))
    T = random_targets(output, (8, 3), rng)
    expected = autodiff.grad(lambda W_: anp_error(output)(X @ anp.transpose(W_), T))(W)
    assert_close(single_layer_gradient(W, X, T, output), expected)


def test_errors_are_stable_for_large_pre_activations():
    # softplus(1000) = 1000 and logsumexp([1000, 0]) = 1000 up to exp(-1000).
    assert binary_cross_entropy(np.array([1000.0]), np.array([0.0])) == 1000.0
    assert binary_cross_entropy(np.array([-1000.0]), np.array([1.0])) == 1000.0
    assert multiclass_cross_entropy(np.array([1000.0, 0.0]), np.array([0.0, 1.0])) == 1000.0
    assert sigmoid(np.array([-1000.0]))[0] == 0.0
    assert np.array_equal(softmax(np.array([1000.0, 1000.0])), [0.5, 0.5])
    assert softplus(np.array([-1000.0]))[0] == 0.0


def test_sum_of_squares_by_hand():
    assert sum_of_squares(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])) == 2.5


def test_softmax_targets_must_sum_to_one():
    with pytest.raises(ValueError, match="sum to one"):
        output_deltas(np.array([[0.5, 0.5]]), np.array([[1.0, 1.0]]), "softmax")


def test_shape_mismatches_are_reported():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(3, 2\)"):
        sum_of_squares(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="expected W"):
        single_layer_gradient(np.zeros((2, 3)), np.zeros((4, 2)), np.zeros((4, 2)))


def test_unknown_output_is_reported():
    with pytest.raises(ValueError, match="unknown output 'tanh'"):
        get_output_pair("tanh")
    assert set(OUTPUT_PAIRS) == set(OUTPUTS)
