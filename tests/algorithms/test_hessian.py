"""The two-layer Hessian, its approximations and H v, against the autodiff transforms."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.hessian import (
    autodiff_hessian_vector_product,
    error_function,
    exact_hessian,
    hessian_vector_product,
)
from autodiff.algorithms.hessian_approx import (
    diagonal_hessian,
    outer_product_factors,
    outer_product_hessian,
    output_gradients,
    sequential_inverse_hessian,
)
from autodiff.algorithms.network import TwoLayerNet

OUTPUTS = ["linear", "sigmoid", "softmax"]
SHAPES = [(1, 1, 1, 1), (3, 4, 2, 5), (2, 3, 3, 4)]  # (D, M, K, N)


def assert_close(actual, expected, rtol=1e-10):
    """Entrywise agreement relative to the size of ``expected`` as a whole."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    scale = max(np.max(np.abs(expected)), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def make_problem(D, M, K, N, *, skip=False, output="linear", seed=0):
    rng = np.random.default_rng(seed)
    net = TwoLayerNet.random(D, M, K, skip=skip, rng=rng, scale=1.5)
    X = rng.normal(size=(N, D))
    if output == "linear":
        T = rng.normal(size=(N, K))
    elif output == "sigmoid":
        T = rng.uniform(size=(N, K))
    else:
        T = rng.dirichlet(np.ones(K), size=N)
    return net, X, T


def output_pre_activations(net, X):
    """``w -> a(w)`` of shape (N, K), written independently with ``anp`` for the oracles."""
    shapes = [p.shape for p in net.parameters()]

    def a_out(w):
        params, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            params.append(anp.reshape(w[start : start + size], shape))
            start += size
        hidden = anp.tanh(anp.matmul(X, anp.transpose(params[0])) + params[1])
        a = anp.matmul(hidden, anp.transpose(params[2])) + params[3]
        if net.Ws is not None:
            a = a + anp.matmul(X, anp.transpose(params[4]))
        return a

    return a_out


def reference_error(net, X, T, output):
    """The batch error as a function of the flat parameters, for ``autodiff.hessian``."""
    a_out = output_pre_activations(net, X)

    def error(w):
        a = a_out(w)
        if output == "linear":
            return 0.5 * anp.sum((a - T) ** 2)
        if output == "sigmoid":
            y = anp.sigmoid(a)
            return -anp.sum(T * anp.log(y) + (1.0 - T) * anp.log(1.0 - y))
        return -anp.sum(T * (a - anp.logsumexp(a, axis=1, keepdims=True)))

    return error


def reference_hessian(net, X, T, output):
    return np.asarray(autodiff.hessian(reference_error(net, X, T, output))(net.flatten()))


def numpy_outputs(net, X, output):
    a = net.forward(X)[2]
    if output == "linear":
        return a
    if output == "sigmoid":
        return 1.0 / (1.0 + np.exp(-a))
    e = np.exp(a)
    return e / e.sum(axis=1, keepdims=True)


def second_derivative_term(net, X, T, output):
    """``sum_n sum_k (y_nk - t_nk) grad grad a_nk``: the term of (8.39) the approximation drops."""
    residual = numpy_outputs(net, X, output) - T
    a_out = output_pre_activations(net, X)
    return np.asarray(autodiff.hessian(lambda w: anp.sum(residual * a_out(w)))(net.flatten()))


# --- the reference error itself -------------------------------------------------------------


@pytest.mark.parametrize("skip", [False, True])
def test_reference_error_is_the_network_error(skip):
    net, X, T = make_problem(3, 4, 2, 5, skip=skip)
    assert reference_error(net, X, T, "linear")(net.flatten()) == pytest.approx(
        net.error(X, T), rel=1e-12
    )


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("skip", [False, True])
def test_error_function_value(output, skip):
    net, X, T = make_problem(3, 4, 3, 5, skip=skip, output=output)
    y = numpy_outputs(net, X, output)
    if output == "linear":
        expected = 0.5 * np.sum((y - T) ** 2)
    elif output == "sigmoid":
        expected = -np.sum(T * np.log(y) + (1 - T) * np.log(1 - y))
    else:
        expected = -np.sum(T * np.log(y))
    value = error_function(net, X, T, output)(net.flatten())
    assert float(value) == pytest.approx(expected, rel=1e-12)


# --- exact Hessian (Exercises 8.6, 8.7) -----------------------------------------------------


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_exact_hessian_matches_autodiff(shape, skip, output):
    net, X, T = make_problem(*shape, skip=skip, output=output, seed=sum(shape))
    H = exact_hessian(net, X, T, output)
    assert H.shape == (net.num_params, net.num_params)
    assert_close(H, reference_hessian(net, X, T, output))


def test_exact_hessian_of_one_point_given_as_vectors():
    net, X, T = make_problem(3, 4, 2, 1, skip=True)
    assert_close(exact_hessian(net, X[0], T[0]), reference_hessian(net, X, T, "linear"))


def test_exact_hessian_sums_over_the_batch():
    net, X, T = make_problem(2, 3, 2, 4, output="softmax")
    per_point = sum(exact_hessian(net, x, t, "softmax") for x, t in zip(X, T))
    assert_close(exact_hessian(net, X, T, "softmax"), per_point)


# --- Hessian-vector products ----------------------------------------------------------------


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("skip", [False, True])
def test_r_operator_matches_autodiff_hvp_and_exact_hessian(skip, output):
    net, X, T = make_problem(3, 4, 3, 6, skip=skip, output=output, seed=7)
    v = np.random.default_rng(1).normal(size=net.num_params)
    Hv = hessian_vector_product(net, X, T, v, output)
    oracle = np.asarray(autodiff.hvp(reference_error(net, X, T, output), net.flatten(), v))
    assert_close(Hv, oracle)
    assert_close(Hv, exact_hessian(net, X, T, output) @ v)


@pytest.mark.parametrize("output", OUTPUTS)
def test_autodiff_hessian_vector_product(output):
    net, X, T = make_problem(2, 3, 2, 4, skip=True, output=output, seed=3)
    v = np.random.default_rng(2).normal(size=net.num_params)
    Hv = autodiff_hessian_vector_product(net, X, T, v, output)
    assert_close(Hv, reference_hessian(net, X, T, output) @ v)


# --- outer-product approximation (8.39)-(8.41), Exercises 8.8, 8.10, 8.11 ---------------------


@pytest.mark.parametrize("skip", [False, True])
def test_output_gradients_match_autodiff_jacobian(skip):
    net, X, _ = make_problem(3, 4, 2, 5, skip=skip)
    jac = np.asarray(autodiff.jacfwd(output_pre_activations(net, X))(net.flatten()))
    assert_close(output_gradients(net, X), jac)


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("shape", [(1, 2, 1, 3), (3, 4, 3, 5)])
def test_outer_product_is_hessian_without_second_derivative_term(shape, skip, output):
    net, X, T = make_problem(*shape, skip=skip, output=output, seed=11)
    expected = reference_hessian(net, X, T, output) - second_derivative_term(net, X, T, output)
    assert_close(outer_product_hessian(net, X, output), expected)
    B = outer_product_factors(net, X, output)
    assert B.shape == (shape[3] * shape[2], net.num_params)
    assert_close(B.T @ B, expected)


@pytest.mark.parametrize("output", OUTPUTS)
def test_outer_product_is_exact_when_residuals_vanish(output):
    net, X, _ = make_problem(2, 3, 3, 4, skip=True, output=output, seed=5)
    T = numpy_outputs(net, X, output)  # targets equal to the outputs: y_n - t_n = 0
    assert_close(outer_product_hessian(net, X, output), reference_hessian(net, X, T, output))


def test_outer_product_differs_from_hessian_when_residuals_do_not_vanish():
    net, X, T = make_problem(2, 3, 2, 4)
    H = reference_hessian(net, X, T, "linear")
    assert np.max(np.abs(outer_product_hessian(net, X) - H)) > 1e-3 * np.max(np.abs(H))


# --- sequential inverse (Exercise 8.12) -----------------------------------------------------


def test_sequential_inverse_of_random_vectors():
    B = np.random.default_rng(4).normal(size=(9, 6))
    alpha = 0.3
    assert_close(sequential_inverse_hessian(B, alpha), np.linalg.inv(alpha * np.eye(6) + B.T @ B))


@pytest.mark.parametrize("output", OUTPUTS)
def test_sequential_inverse_of_outer_product_approximation(output):
    net, X, _ = make_problem(2, 3, 2, 6, skip=True, output=output, seed=9)
    alpha = 0.1
    H_inv = sequential_inverse_hessian(outer_product_factors(net, X, output), alpha)
    H = alpha * np.eye(net.num_params) + outer_product_hessian(net, X, output)
    assert_close(H_inv, np.linalg.inv(H), rtol=1e-9)  # cond(H) ~ 1e2 costs a digit


def test_sequential_inverse_without_data_is_the_prior():
    assert_close(sequential_inverse_hessian(np.zeros((0, 4)), 2.0), np.eye(4) / 2.0)


# --- diagonal approximation -----------------------------------------------------------------


@pytest.mark.parametrize("output", ["linear", "sigmoid"])
@pytest.mark.parametrize("skip", [False, True])
def test_diagonal_is_exact_when_output_curvature_is_diagonal(skip, output):
    net, X, T = make_problem(3, 4, 3, 5, skip=skip, output=output, seed=13)
    assert_close(diagonal_hessian(net, X, T, output), np.diag(reference_hessian(net, X, T, output)))


@pytest.mark.parametrize("skip", [False, True])
def test_softmax_diagonal_drops_cross_output_curvature(skip):
    """diag(H) minus the k != k' terms of M, with G and M both taken from autodiff."""
    net, X, T = make_problem(3, 4, 3, 5, skip=skip, output="softmax", seed=17)
    G = np.asarray(autodiff.jacfwd(output_pre_activations(net, X))(net.flatten()))  # (N, K, W)
    dropped = np.zeros(net.num_params)
    for a_n, t_n, G_n in zip(net.forward(X)[2], T, G):
        M_n = np.asarray(autodiff.hessian(lambda a: -anp.sum(t_n * anp.log_softmax(a)))(a_n))
        off_diagonal = M_n - np.diag(np.diag(M_n))
        dropped += np.einsum("kw,kl,lw->w", G_n, off_diagonal, G_n)
    exact_diagonal = np.diag(reference_hessian(net, X, T, "softmax"))
    approx = diagonal_hessian(net, X, T, "softmax")
    assert_close(approx, exact_diagonal - dropped)
    assert np.max(np.abs(approx - exact_diagonal)) > 1e-6


# --- argument errors ------------------------------------------------------------------------


@pytest.fixture
def problem():
    return make_problem(3, 4, 2, 5)


def test_unknown_output_is_rejected(problem):
    net, X, T = problem
    with pytest.raises(ValueError, match="unknown output"):
        exact_hessian(net, X, T, "tanh")


def test_wrong_input_shape_is_rejected(problem):
    net, X, T = problem
    with pytest.raises(ValueError, match=r"X must have shape \(N, 3\)"):
        exact_hessian(net, X[:, :2], T)


def test_wrong_target_shape_is_rejected(problem):
    net, X, T = problem
    with pytest.raises(ValueError, match=r"T must have shape \(5, 2\)"):
        hessian_vector_product(net, X, T.T, np.zeros(net.num_params))


def test_softmax_targets_must_sum_to_one(problem):
    net, X, T = problem
    with pytest.raises(ValueError, match="sum to one"):
        exact_hessian(net, X, np.abs(T), "softmax")


def test_direction_of_wrong_length_is_rejected(problem):
    net, X, T = problem
    with pytest.raises(
        ValueError, match=f"v must be a flat vector of shape \\({net.num_params},\\)"
    ):
        hessian_vector_product(net, X, T, np.zeros(net.num_params + 1))


def test_net_must_be_a_two_layer_net(problem):
    _, X, T = problem
    with pytest.raises(TypeError, match="TwoLayerNet"):
        outer_product_hessian({"W1": None}, X)


def test_sequential_inverse_arguments_are_checked():
    with pytest.raises(ValueError, match="2-D array"):
        sequential_inverse_hessian(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="alpha must be a finite positive number"):
        sequential_inverse_hessian(np.ones((2, 3)), 0.0)
