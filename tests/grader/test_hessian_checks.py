"""The references of the Hessian checks against independent routes: the ``autodiff``
transforms for the network quantities, a direct matrix inverse for Exercise 8.12."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.hessian import error_function
from autodiff.algorithms.network import TwoLayerNet
from grader.checks import get_check

OUTPUT_CHECKS = {
    "linear": "outer_product_hessian_linear",
    "sigmoid": "outer_product_hessian_sigmoid",
    "softmax": "outer_product_hessian_softmax",
}


def cases(name):
    return get_check(name).cases(np.random.default_rng(7))


def preactivations(w, net, X):
    """a_nk as a function of the flat weights (8.18)-(8.20), written with ``anp``."""
    D, M, K = net.shape
    sizes = np.cumsum([M * D, M, K * M])
    W1, b1 = anp.reshape(w[: sizes[0]], (M, D)), w[sizes[0] : sizes[1]]
    W2, b2 = anp.reshape(w[sizes[1] : sizes[2]], (K, M)), w[sizes[2] :]
    z = anp.tanh(X @ anp.transpose(W1) + b1)
    return z @ anp.transpose(W2) + b2


def output_units(output):
    return {
        "linear": lambda a: a,
        "sigmoid": anp.sigmoid,
        "softmax": lambda a: anp.softmax(a, axis=1),
    }[output]


@pytest.mark.parametrize("output", sorted(OUTPUT_CHECKS))
def test_outer_product_is_the_exact_hessian_without_the_residual_term(output):
    """H_OP = H - sum_n sum_k (y_nk - t_nk) grad grad a_nk: (8.39) with the second sum removed,
    every piece from ``autodiff``."""
    check = get_check(OUTPUT_CHECKS[output])
    for case in cases(check.name)[:3]:
        net, X, T = TwoLayerNet(*case.args[:4]), case.args[4], case.args[5]
        w = net.flatten()
        H = autodiff.hessian(error_function(net, X, T, output))(w)
        y = np.asarray(output_units(output)(preactivations(w, net, X)))
        residuals = y - T  # held fixed: sum_nk r_nk grad grad a_nk is one Hessian
        residual_term = autodiff.hessian(lambda w: anp.sum(residuals * preactivations(w, net, X)))(
            w
        )
        expected = H - residual_term
        np.testing.assert_allclose(check.reference(case), expected, rtol=1e-10, atol=1e-12)


def test_second_layer_block_is_the_W2_block_of_the_full_hessian():
    check = get_check("second_layer_hessian_block")
    for case in cases(check.name):
        net, X, T = TwoLayerNet(*case.args[:4]), case.args[4], case.args[5]
        H = autodiff.hessian(error_function(net, X, T, "softmax"))(net.flatten())
        start = net.W1.size + net.b1.size
        stop = start + net.W2.size
        np.testing.assert_allclose(
            check.reference(case), H[start:stop, start:stop], rtol=1e-10, atol=1e-12
        )


def test_sequential_inverse_reference_is_the_direct_inverse():
    check = get_check("sequential_inverse_hessian")
    for case in cases(check.name):
        B, alpha = case.args
        direct = np.linalg.inv(alpha * np.eye(B.shape[1]) + B.T @ B)
        np.testing.assert_allclose(check.reference(case), direct, rtol=1e-10, atol=1e-12)


def test_hessian_vector_product_reference_matches_forward_over_reverse():
    check = get_check("hessian_vector_product")
    for case in cases(check.name):
        net, X, T, v = TwoLayerNet(*case.args[:4]), case.args[4], case.args[5], case.args[6]
        expected = autodiff.hvp(error_function(net, X, T), net.flatten(), v)
        np.testing.assert_allclose(check.reference(case), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "name",
    [*OUTPUT_CHECKS.values(), "second_layer_hessian_block", "sequential_inverse_hessian"],
)
def test_cases_cover_the_smallest_size_and_several_outputs(name):
    """An edge case with single sizes, and cases where a sum over outputs can go wrong."""
    shapes = [np.shape(case.args[0]) for case in cases(name)]
    if name == "sequential_inverse_hessian":
        assert (1, 1) in shapes and any(s[0] > 1 for s in shapes)
    else:
        assert any(s == (1, 1) for s in shapes)
        assert any(np.shape(case.args[2])[0] > 1 for case in cases(name))
