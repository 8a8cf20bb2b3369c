"""The checks of the Jacobian assignment (Section 8.1.5, Exercise 8.5): their references
agree with the chapter's algorithms, the student functions receive a TwoLayerNet, and the
mistakes that need square weight matrices have cases to show up in."""

from __future__ import annotations

import numpy as np
import pytest

from autodiff.algorithms.jacobian import (
    chain_jacobians,
    two_layer_jacobian,
    two_layer_jacobian_forward,
)
from autodiff.algorithms.network import TwoLayerNet
from grader.checks import get_check
from grader.judge import answers, judge
from grader.seeds import seed

NETWORK_CHECKS = ["softmax_network_jacobian", "jacobian_forward_propagation"]
ALL_CHECKS = [*NETWORK_CHECKS, "module_chain_gradient"]


def all_cases(name):
    check = get_check(name)
    hidden = check.cases(np.random.default_rng(seed("hidden", name)))
    visible = check.visible_cases(np.random.default_rng(seed("visible", name)))
    return check, hidden + visible


def network(case):
    return TwoLayerNet(*case.args[:4])


def assert_close(actual, expected, rtol=1e-10):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.max(np.abs(expected)))


def test_softmax_reference_is_the_backpropagated_jacobian():
    check, cases = all_cases("softmax_network_jacobian")
    for case in cases:
        expected = two_layer_jacobian(network(case), case.args[-1], "softmax")
        assert_close(check.reference(case), expected)


def test_forward_reference_is_the_forward_propagated_jacobian():
    check, cases = all_cases("jacobian_forward_propagation")
    assert {c.kwargs["output"] for c in cases} == {"linear", "sigmoid", "softmax"}
    for case in cases:
        output = case.kwargs["output"]
        expected = two_layer_jacobian_forward(network(case), case.args[-1], output)
        assert_close(check.reference(case), expected)


def test_module_chain_reference_is_the_product_of_jacobians():
    check, cases = all_cases("module_chain_gradient")
    for case in cases:
        dE_dy, dy_dz, dz_dw = case.args
        expected = chain_jacobians([dz_dw, dy_dz, dE_dy[None, :]])[0]
        assert_close(check.reference(case), expected)


@pytest.mark.parametrize("name", NETWORK_CHECKS)
def test_student_function_receives_a_network_and_one_input(name):
    check, cases = all_cases(name)
    received = []

    def spy(net, x, **kwargs):
        received.append((type(net), np.shape(x), net.shape, kwargs))
        return np.zeros((net.shape[2], net.shape[0]))

    answers(check, spy, cases)
    for (kind, x_shape, (D, _, _), kwargs), case in zip(received, cases):
        assert kind is TwoLayerNet and x_shape == (D,)
        assert kwargs == case.kwargs


@pytest.mark.parametrize("name", ALL_CHECKS)
def test_square_cases_let_transposes_show_in_hidden_and_visible_sets(name):
    check = get_check(name)
    for purpose in ("hidden", "visible"):
        rng = np.random.default_rng(seed(purpose, name))
        cases = check.cases(rng) if purpose == "hidden" else check.visible_cases(rng)
        shapes = [[np.shape(a) for a in c.args if np.ndim(a) == 2] for c in cases]
        assert any(all(s[0] == s[1] > 1 for s in matrices) for matrices in shapes), purpose


@pytest.mark.parametrize("name", NETWORK_CHECKS)
def test_a_transposed_jacobian_is_named(name):
    check, _ = all_cases(name)
    cases = check.cases(np.random.default_rng(seed("hidden", name)))
    transposed = check.student_function(lambda case: check.reference(case).T)
    verdict = judge(check, cases, answers(check, transposed, cases))
    wide = [r for r, c in zip(verdict.results, cases) if c.args[0].shape[1] > 1]
    assert all("transpose" in r.diagnosis for r in wide if not r.passed)
    assert verdict.points < check.points


@pytest.mark.parametrize("name", ALL_CHECKS)
def test_the_reference_earns_every_point_of_the_hidden_cases(name):
    check, _ = all_cases(name)
    cases = check.cases(np.random.default_rng(seed("hidden", name)))
    verdict = judge(check, cases, answers(check, check.student_function(check.reference), cases))
    assert verdict.points == check.points
