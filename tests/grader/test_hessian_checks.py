"""The references of the Hessian checks against independent routes: the blocks of Exercises
8.6 and 8.7 written out against ``autodiff.hessian``, the diagonal approximation against the
exact diagonal where the two must agree (linear and sigmoid outputs of a two-layer network),
the outer products against the exact Hessian minus its residual term (8.39), the
backpropagated output gradients against ``autodiff.jacrev``, the sequential inverse
against a direct matrix inverse; and the cost case of the R-operator, which the master's
R-operator passes and the Hessian formed (by the master's blocks under a grading run's
memory limit, or column by column) does not."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from grader.checks import get_check
from grader.checks import hessian as checks
from grader.framework import Case
from grader.judge import answers, judge
from grader.pipeline.sandbox.limits import Limits
from grader.sandboxed import channel
from grader.sandboxed.calls import TIME_LIMIT
from grader.seeds import hidden_cases

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


# -- the cost case of the R-operator -----------------------------------------------------------
# H v by the R-operator costs a few passes, O(N W); forming H (by the blocks of Exercise 8.6,
# as the task's own exact_hessian does, or row by row) costs N W^2 and W^2 numbers.  Counted,
# not timed, like tests/grader/test_cost_cases.py; the runs below stop at the case's budget
# or at the memory limit of a grading run, never at a wall time of their own.

HVP_SECRET, HVP_STUDENT = "the course secret of these tests", "a student"
FAST = 2e10  # multiply-adds per second no implementation reaches on two cores
SLOW = 1e9  # multiply-adds per second of one core shared with other processes
MARGIN = 10.0
R_PASSES = 10  # the R-operator's products, each about N W multiply-adds: 10 is generous


def hvp_cost_case():
    check = get_check("hessian_vector_product")
    hidden = hidden_cases(check, HVP_SECRET, "05_hessian", HVP_STUDENT)
    (case,) = [c for c in hidden if c.seconds]
    assert case is hidden[-1], "the cost case comes last: a time-out stops the later cases"
    return check, hidden, case


def hvp_sizes(case):
    """``(N, W)`` of a case of ``hessian_vector_product``."""
    return case.args[2].shape[0], case.args[4].size


def master_05(name):
    """A function of the 05 master: its imports, functions, classes and constants, executed."""
    path = Path(__file__).resolve().parents[2] / "course/source/05_hessian/05_hessian.ipynb"
    namespace: dict = {}
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        lines = "".join(cell["source"]).splitlines()
        tree = ast.parse("\n".join(line for line in lines if not line.startswith(("%", "!"))))
        for node in tree.body:
            code = compile(ast.Module([node], type_ignores=[]), str(path), "exec")
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                exec(code, namespace)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [getattr(node, "module", None) or "", *(a.name for a in node.names)]
                if not any(n.startswith(("matplotlib", "grader")) for n in names):
                    exec(code, namespace)
    return namespace[name]


def test_the_r_operator_has_a_cost_case_that_no_dense_hessian_fits():
    """Last, with a budget far below an ordinary case's limit, shown in the self-check too,
    inputs of a few MB, and a Hessian (its first-layer block alone) of more than a hundred
    times the memory a grading run may use; the cost reason says what the budget allows and
    why."""
    check, _, case = hvp_cost_case()
    N, W = hvp_sizes(case)
    assert case.name.startswith("cost: ") and 0 < case.seconds <= TIME_LIMIT / 4
    assert sum(np.asarray(a).nbytes for a in case.args) < 5e6
    assert 8 * case.args[0].size ** 2 >= 100 * Limits().memory_bytes
    *small, shown = check.visible_cases(np.random.default_rng(3))
    assert not any(c.seconds for c in small), "the self-check shows the cost case last"
    assert shown.seconds == case.seconds and hvp_sizes(shown) == (N, W)
    reason = check.cost_reason
    assert reason.startswith("as costly as ") and "O(N W)" in reason and "N W^2" in reason


def test_on_the_cost_case_forming_h_needs_far_more_than_the_budget_and_hv_far_less():
    _, _, case = hvp_cost_case()
    N, W = hvp_sizes(case)
    assert N * W * W / FAST >= MARGIN * case.seconds, "N W^2 at a speed no one reaches"
    assert R_PASSES * N * W / SLOW <= case.seconds / MARGIN, "a few passes on a busy core"


def test_the_reference_the_master_and_a_loop_over_points_pass_the_cost_case():
    check, hidden, _ = hvp_cost_case()
    for function in (
        check.student_function(check.reference),
        master_05("hessian_vector_product"),
        r_operator_point_by_point,
    ):
        verdict = judge(check, hidden, answers(check, function, hidden))
        assert verdict.points == check.points, [r.problem for r in verdict.results]


def test_every_mistake_model_answers_the_cost_case_and_is_named_there():
    """The diagnosis runs every mistake model on the cost case too: each answers it (within
    the budget), and an R-operator with a term dropped is named on every case."""
    check, hidden, case = hvp_cost_case()
    for mistake in check.mistakes():
        (record,) = answers(check, check.student_function(mistake.model), [case])
        assert "answer" in record, (mistake.name, record.get("error"))
    (dropped,) = [m for m in check.mistakes() if m.name == "h'' term missing"]
    verdict = judge(check, hidden, answers(check, check.student_function(dropped.model), hidden))
    assert {r.cause for r in verdict.results} == {dropped.name}


def hessian_column_by_column(W1, W2, X, T, v):
    """H formed one column at a time, H e_r by the R-operator (W products, never stored
    whole), each column times v_r: W R-passes, O(N W^2)."""
    out = np.zeros(v.size)
    for r in range(v.size):
        e = np.zeros(v.size)
        e[r] = 1.0
        out += v[r] * checks._r_operator(Case("", (W1, W2, X, T, e)))
    return out


def test_h_column_by_column_is_stopped_at_the_budget_of_the_cost_case():
    """An autodiff-free dense route: the small cases pass, the cost case is stopped at its
    budget, and the feedback says what the budget allows."""
    check, hidden, _ = hvp_cost_case()
    records = answers(check, hessian_column_by_column, hidden)
    verdict = judge(check, hidden, records)
    *small, cost = verdict.results
    assert all(r.passed for r in small), [r.problem for r in small if not r.passed]
    assert records[-1]["error"]["kind"] == channel.TIMEOUT and not cost.passed
    assert cost.problem.endswith(check.cost_reason)


DENSE_BY_BLOCKS = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
sys.path.insert(0, {tests!r})
from test_hessian_checks import hvp_cost_case, master_05
from grader.judge import answers
check, _, case = hvp_cost_case()
exact_hessian = master_05("exact_hessian")
(record,) = answers(check, lambda W1, W2, X, T, v: exact_hessian(W1, W2, X, T) @ v, [case])
print(json.dumps(record["error"]))
"""


def test_the_masters_exact_hessian_times_v_fails_the_cost_case_in_a_grading_runs_memory():
    """The task's own exact_hessian (Task 5), times v, under the memory limit of a grading
    run (in a process of its own): out of memory at the first-layer block, or past the
    budget on the mixed block before it; either way the case fails."""
    program = DENSE_BY_BLOCKS.format(
        limit=Limits().memory_bytes, tests=str(Path(__file__).resolve().parent)
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    error = json.loads(done.stdout.strip().splitlines()[-1])
    assert error["kind"] == channel.TIMEOUT or error["type"] == "MemoryError", error
