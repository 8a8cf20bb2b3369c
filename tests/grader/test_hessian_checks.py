"""The references of the Hessian checks against independent routes: the blocks of Exercises
8.6 and 8.7 written out against ``autodiff.hessian``, the diagonal approximation against the
exact diagonal where the two must agree (linear and sigmoid outputs of a two-layer network),
the outer products against the exact Hessian minus its residual term (8.39), the
backpropagated output gradients against ``autodiff.jacrev``, and the sequential inverse
against a direct matrix inverse."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from grader.checks import get_check
from grader.checks import hessian as checks
from grader.judge import answers, judge

OUTER = {
    "linear": "outer_product_hessian_linear",
    "sigmoid": "outer_product_hessian_sigmoid",
    "softmax": "outer_product_hessian_softmax",
}
NETWORK_CHECKS = [
    "hessian_second_layer_block",
    "hessian_first_layer_block",
    "hessian_mixed_block",
    "exact_hessian_assembled",
    "exact_hessian_skip_layer",
    "diagonal_hessian_approximation",
]


def cases(name, seed=7):
    return get_check(name).cases(np.random.default_rng(seed))


def flat_error(case, output):
    """The batch error as a function of the flat weights, written again here with ``anp``
    (x_0 = z_0 = 1 as column 0 of W1 and W2)."""
    W1, W2 = case.args[:2]
    skip = len(case.args) == 5
    X, T = case.args[3:5] if skip else case.args[2:4]
    M, D1 = W1.shape
    K = W2.shape[0]

    def error(w):
        V1 = anp.reshape(w[: M * D1], (M, D1))
        V2 = anp.reshape(w[M * D1 : M * D1 + K * (M + 1)], (K, M + 1))
        ones = np.ones((X.shape[0], 1))
        z = anp.tanh(anp.concatenate([ones, X], axis=1) @ anp.transpose(V1))
        a = anp.concatenate([ones, z], axis=1) @ anp.transpose(V2)
        if skip:
            a = a + X @ anp.transpose(anp.reshape(w[M * D1 + K * (M + 1) :], (K, D1 - 1)))
        if output == "linear":
            return 0.5 * anp.sum((a - T) ** 2)
        if output == "sigmoid":
            return -anp.sum(T * anp.log(anp.sigmoid(a)) + (1 - T) * anp.log(1 - anp.sigmoid(a)))
        return -anp.sum(T * anp.log_softmax(a, axis=1))

    w = np.concatenate([np.ravel(a) for a in case.args[: 3 if skip else 2]])
    return error, w


@pytest.mark.parametrize("name", NETWORK_CHECKS)
def test_network_references_agree_with_an_independent_hessian(name):
    """Blocks and assembled Hessians are the right slices of the Hessian of an error written
    independently; the diagonal approximation is the exact diagonal for linear and sigmoid
    outputs (M is diagonal there) and differs from it for softmax outputs."""
    check = get_check(name)
    outputs_seen = set()
    for case in cases(name):
        output = case.kwargs["output"]
        outputs_seen.add(output)
        error, w = flat_error(case, output)
        H = autodiff.hessian(error)(w)
        n1 = case.args[0].size
        n2 = n1 + case.args[1].size
        expected = {
            "hessian_second_layer_block": H[n1:n2, n1:n2],
            "hessian_first_layer_block": H[:n1, :n1],
            "hessian_mixed_block": H[:n1, n1:n2],
            "exact_hessian_assembled": H,
            "exact_hessian_skip_layer": H,
            "diagonal_hessian_approximation": np.diag(H),
        }[name]
        got = check.reference(case)
        if name == "diagonal_hessian_approximation" and output == "softmax":
            assert not np.allclose(got, expected)
            continue
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)
    assert outputs_seen == set(checks.OUTPUTS)


def test_diagonal_approximation_drops_only_the_couplings_of_the_curvature():
    """For softmax outputs the approximation is the exact diagonal (from ``autodiff``) minus
    the terms with k != k' of sum_kk' w_kj w_k'j M_kk' in the first layer, and the exact
    diagonal in the second layer."""
    check = get_check("diagonal_hessian_approximation")
    for case in cases(check.name):
        if case.kwargs["output"] != "softmax":
            continue
        error, w = flat_error(case, "softmax")
        exact = np.diag(autodiff.hessian(error)(w))
        s = checks._State(case)
        off = s.M - np.einsum("nkk->nk", s.M)[:, :, None] * np.eye(s.K)
        couplings = s.hp**2 * np.einsum("kj,nkm,mj->nj", s.Wh, off, s.Wh)
        dropped = np.einsum("nj,ni->ji", couplings, s.X1**2).ravel()
        dropped = np.concatenate([dropped, np.zeros(case.args[1].size)])
        np.testing.assert_allclose(check.reference(case), exact - dropped, atol=1e-10)


@pytest.mark.parametrize("output", sorted(OUTER))
def test_outer_product_is_the_exact_hessian_without_the_residual_term(output):
    """H_OP = H - sum_n sum_k (y_nk - t_nk) grad grad a_nk: (8.39) with the second sum
    removed, every piece from ``autodiff``."""
    check = get_check(OUTER[output])
    for case in cases(check.name)[:3]:
        W1, W2, X, T = case.args
        error, w = flat_error(Case4(W1, W2, X, T), output)
        H = autodiff.hessian(error)(w)
        M, D1 = W1.shape
        K = W2.shape[0]

        def preactivations(w):
            V1 = anp.reshape(w[: M * D1], (M, D1))
            V2 = anp.reshape(w[M * D1 :], (K, M + 1))
            z = anp.tanh(X @ anp.transpose(V1[:, 1:]) + V1[:, 0])
            return z @ anp.transpose(V2[:, 1:]) + V2[:, 0]

        a = np.asarray(preactivations(w))
        y = {"linear": a, "sigmoid": 1 / (1 + np.exp(-a)), "softmax": checks._softmax(a)}[output]
        residuals = y - T  # held fixed: sum_nk r_nk grad grad a_nk is one Hessian
        residual_term = autodiff.hessian(lambda w: anp.sum(residuals * preactivations(w)))(w)
        np.testing.assert_allclose(check.reference(case), H - residual_term, atol=1e-10)


class Case4:
    """A minimal stand-in with ``args`` for ``flat_error``."""

    def __init__(self, *args):
        self.args = args


def test_output_gradients_reference_is_backpropagation():
    check = get_check("output_gradients_backprop")
    for case in cases(check.name):
        np.testing.assert_allclose(
            check.reference(case), checks._output_gradients(case), rtol=1e-12, atol=1e-14
        )


def test_output_derivatives_are_the_canonical_ones():
    """delta = y - t (8.11) and M = dy/da: I, diag(y (1 - y)) (8.33), diag(y) - y y^T
    (8.34)."""
    check = get_check("output_error_derivatives")
    for case in cases(check.name):
        A, T = case.args
        output = case.kwargs["output"]
        delta, M = check.reference(case)
        np.testing.assert_allclose(delta, checks._outputs(A, output) - T, atol=1e-12)
        jacobian = np.stack(
            [
                autodiff.jacrev(
                    lambda a: {
                        "linear": a,
                        "sigmoid": anp.sigmoid(a),
                        "softmax": anp.softmax(a),
                    }[output]
                )(row)
                for row in A
            ]
        )
        np.testing.assert_allclose(M, jacobian, atol=1e-12)


def test_sequential_inverse_reference_is_the_direct_inverse():
    check = get_check("sequential_inverse_hessian")
    for case in cases(check.name):
        B, alpha = case.args
        updated = checks._update_inverse(B, alpha, True, checks._sherman_morrison)
        np.testing.assert_allclose(check.reference(case), updated, rtol=1e-10, atol=1e-12)


def test_hessian_vector_product_reference_matches_forward_over_reverse():
    check = get_check("hessian_vector_product")
    for case in cases(check.name):
        W1, W2, X, T, v = case.args
        error, w = flat_error(Case4(W1, W2, X, T), "linear")
        expected = autodiff.hvp(error, w, v)
        np.testing.assert_allclose(check.reference(case), expected, rtol=1e-10, atol=1e-12)


def test_the_r_passes_written_out_are_the_reference():
    """The forward and backward R-passes (the model every mistake of the task switches off
    one term of) give the product of the full Hessian."""
    check = get_check("hessian_vector_product")
    for case in cases(check.name) + check.visible_cases(np.random.default_rng(8)):
        np.testing.assert_allclose(
            checks._r_operator(case), check.reference(case), rtol=1e-10, atol=1e-12
        )


def r_operator_point_by_point(W1, W2, X, T, v):
    """The R-operator as a student may write it: one data point at a time, biases apart."""
    V1, V2 = v[: W1.size].reshape(W1.shape), v[W1.size :].reshape(W2.shape)
    out1, out2 = np.zeros_like(W1), np.zeros_like(W2)
    for x, t in zip(X, T):
        a = W1[:, 0] + W1[:, 1:] @ x
        z = np.tanh(a)
        y = W2[:, 0] + W2[:, 1:] @ z
        Ra = V1[:, 0] + V1[:, 1:] @ x
        Rz = (1 - z**2) * Ra
        Ry = W2[:, 1:] @ Rz + V2[:, 0] + V2[:, 1:] @ z
        d_out = y - t
        back = W2[:, 1:].T @ d_out
        Rd_hidden = -2 * z * (1 - z**2) * Ra * back + (1 - z**2) * (
            V2[:, 1:].T @ d_out + W2[:, 1:].T @ Ry
        )
        out1 += np.outer(Rd_hidden, np.r_[1.0, x])
        out2 += np.outer(Ry, np.r_[1.0, z]) + np.outer(d_out, np.r_[0.0, Rz])
    return np.concatenate([out1.ravel(), out2.ravel()])


def test_an_r_operator_written_point_by_point_scores_full_marks():
    check = get_check("hessian_vector_product")
    hidden = cases(check.name)
    verdict = judge(check, hidden, answers(check, r_operator_point_by_point, hidden))
    assert verdict.points == check.points, [r.problem for r in verdict.results]


def test_index_order_and_bias_mistakes_are_what_they_say():
    """ "rows ordered (i, j)": the right entries permuted to W1.T.ravel() order; "bias unit
    dropped": the entries of the bias weights zero, every other entry right; "sigmoid slope
    y": M = diag(y) for sigmoid outputs."""
    for name, model_name in [
        ("hessian_first_layer_block", "rows ordered (i, j)"),
        ("hessian_mixed_block", "rows ordered (i, j)"),
    ]:
        check = get_check(name)
        (model,) = [m.model for m in check.mistakes() if m.name == model_name]
        for case in cases(name):
            M, D1 = case.args[0].shape
            order = np.arange(M * D1).reshape(M, D1).T.ravel()  # (i, j) -> index j D1 + i
            want = check.reference(case)
            if name == "hessian_first_layer_block":  # rows and columns both
                want = want[np.ix_(order, order)]
            else:  # the rows of W1 only: the columns belong to W2
                want = want[order]
            np.testing.assert_allclose(model(case), want, atol=1e-12)
    for name in [
        "hessian_second_layer_block",
        "hessian_first_layer_block",
        "hessian_mixed_block",
        "output_gradients_backprop",
    ]:
        check = get_check(name)
        (model,) = [m.model for m in check.mistakes() if m.name == "bias unit dropped"]
        for case in cases(name):
            W1, W2 = case.args[:2]
            bias1 = (np.arange(W1.size) % W1.shape[1]) == 0  # w_j0
            bias2 = (np.arange(W2.size) % W2.shape[1]) == 0  # w_k0
            rows, cols = {
                "hessian_second_layer_block": (bias2, bias2),
                "hessian_first_layer_block": (bias1, bias1),
                "hessian_mixed_block": (bias1, bias2),
                "output_gradients_backprop": (None, np.r_[bias1, bias2]),
            }[name]
            got, want = model(case), check.reference(case)
            mask = np.zeros(want.shape, dtype=bool)
            if rows is not None:
                mask[rows, :] = True
            mask[..., cols] = True
            assert np.all(got[mask] == 0.0)
            np.testing.assert_allclose(got[~mask], want[~mask], atol=1e-12)
    check = get_check("output_error_derivatives")
    (model,) = [m.model for m in check.mistakes() if m.name.startswith("sigmoid slope y")]
    for case in cases(check.name):
        delta, M = model(case)
        right_delta, right_M = check.reference(case)
        np.testing.assert_allclose(delta, right_delta, atol=1e-12)
        if case.kwargs["output"] == "sigmoid":
            y = checks._sigmoid(case.args[0])
            np.testing.assert_allclose(M, y[:, :, None] * np.eye(y.shape[1]), atol=1e-12)
        else:
            np.testing.assert_allclose(M, right_M, atol=1e-12)


@pytest.mark.parametrize("name", [*OUTER.values(), *NETWORK_CHECKS])
def test_cases_cover_single_sizes_and_several_outputs_and_points(name):
    """A case where a sum over outputs or data points can go wrong, and for the tasks on
    any output type, all three of them."""
    shapes = [(np.shape(c.args[0]), np.shape(c.args[1]), np.shape(c.args[-1])) for c in cases(name)]
    assert any(w2[0] > 1 and t[0] > 1 for _, w2, t in shapes)
    if name in NETWORK_CHECKS:
        assert {c.kwargs["output"] for c in cases(name)} == set(checks.OUTPUTS)
