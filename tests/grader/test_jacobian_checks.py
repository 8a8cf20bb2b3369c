"""The checks of the Jacobian assignment (Section 8.1.5, Exercise 8.5): their references
agree with the chapter's algorithms, the backpropagation task receives a TwoLayerNet and the
forward-propagation task the layers of a network of any depth, a NumPy solution of the
general recursion earns every point, the mistakes that need square weight matrices have
cases to show up in, and the sigmoid's slope taken as y is named with its equation."""

from __future__ import annotations

import numpy as np
import pytest

from autodiff.algorithms.jacobian import (
    chain_jacobians,
    layered_jacobian_forward,
    two_layer_jacobian,
)
from autodiff.algorithms.layered import LayeredNet
from autodiff.algorithms.network import TwoLayerNet
from grader.checks import get_check
from grader.judge import answers, judge
from grader.sandboxed import channel
from grader.sandboxed.calls import TIME_LIMIT
from grader.seeds import seed

NETWORK_CHECKS = ["softmax_network_jacobian"]
ALL_CHECKS = [*NETWORK_CHECKS, "jacobian_forward_propagation", "module_chain_gradient"]

ACTIVATIONS = {
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "sigmoid": (lambda a: 0.5 * (1 + np.tanh(a / 2)), lambda a: 0.25 / np.cosh(a / 2) ** 2),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a: (a > 0).astype(float)),
    "softplus": (lambda a: np.logaddexp(0.0, a), lambda a: 0.5 * (1 + np.tanh(a / 2))),
}


def jacobian_forward(weights, biases, activations, x, output):
    """Exercise 8.5 one input column at a time (a route other than the reference's and the
    master's): the tangent of a^(l) along e_i carried through the layers."""
    columns = []
    for i in range(x.size):
        a, da = weights[0] @ x + biases[0], weights[0][:, i]
        for W, b, name in zip(weights[1:], biases[1:], activations):
            h, slope = ACTIVATIONS[name]
            a, da = W @ h(a) + b, W @ (slope(a) * da)
        if output == "sigmoid":
            y = 1.0 / (1.0 + np.exp(-a))
            da = y * (1.0 - y) * da
        elif output == "softmax":
            y = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
            da = y * da - y * (y @ da)
        columns.append(da)
    return np.stack(columns, axis=1)


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


def layered_net(case):
    x, *flat = case.args
    names = case.kwargs["activations"].split()
    return LayeredNet(flat[0::2], flat[1::2], names, case.kwargs["output"]), x


def test_forward_reference_is_the_forward_propagated_jacobian():
    check, cases = all_cases("jacobian_forward_propagation")
    assert {c.kwargs["output"] for c in cases} == {"linear", "sigmoid", "softmax"}
    assert {(len(c.args) - 1) // 2 for c in cases} == {1, 2, 3, 4}  # depths L
    for case in cases:
        net, x = layered_net(case)
        reference = check.reference(case)
        assert np.max(np.abs(reference)) > 0.05, case.name  # not washed out by saturation
        assert_close(reference, layered_jacobian_forward(net, x))


def test_forward_task_receives_the_layers_names_input_and_output():
    check, cases = all_cases("jacobian_forward_propagation")
    received = []

    def spy(weights, biases, activations, x, output):
        received.append((weights, biases, activations, x, output))
        return np.zeros((weights[-1].shape[0], x.size))

    answers(check, spy, cases)
    for (weights, biases, activations, x, output), case in zip(received, cases):
        net, x_case = layered_net(case)
        assert isinstance(weights, list) and isinstance(biases, list)
        assert [W.shape for W in weights] == [W.shape for W in net.weights]
        assert [b.shape for b in biases] == [b.shape for b in net.biases]
        assert activations == case.kwargs["activations"].split() and isinstance(activations, list)
        assert len(activations) == len(weights) - 1
        assert np.array_equal(x, x_case) and output == case.kwargs["output"]


@pytest.mark.parametrize("purpose", ["hidden", "visible"])
def test_a_numpy_forward_propagation_earns_every_point(purpose):
    check = get_check("jacobian_forward_propagation")
    rng = np.random.default_rng(seed(purpose, check.name))
    cases = check.cases(rng) if purpose == "hidden" else check.visible_cases(rng)
    verdict = judge(check, cases, answers(check, jacobian_forward, cases))
    assert verdict.points == check.points, [r.problem for r in verdict.results]


@pytest.mark.parametrize("purpose", ["hidden", "visible"])
def test_the_sigmoid_slope_taken_as_y_is_named(purpose):
    """y in place of y (1 - y) for sigmoid outputs: right for the other outputs, wrong for
    the sigmoid ones, and named with (8.33)."""
    check = get_check("jacobian_forward_propagation")

    def slope_y(weights, biases, activations, x, output):
        if output != "sigmoid":
            return jacobian_forward(weights, biases, activations, x, output)
        J_linear = jacobian_forward(weights, biases, activations, x, "linear")
        z = x
        for W, b, name in zip(weights[:-1], biases[:-1], activations):
            z = ACTIVATIONS[name][0](W @ z + b)
        y = 1.0 / (1.0 + np.exp(-(weights[-1] @ z + biases[-1])))
        return y[:, None] * J_linear

    rng = np.random.default_rng(seed(purpose, check.name))
    cases = check.cases(rng) if purpose == "hidden" else check.visible_cases(rng)
    verdict = judge(check, cases, answers(check, slope_y, cases))
    failed = [r for r in verdict.results if not r.passed]
    assert failed and all(r.cause == "sigmoid slope taken as y" for r in failed)
    assert all("(8.33)" in r.diagnosis for r in failed)


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
    """(The layered task's transposed weights are a mistake model of its own.)"""
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


# -- the cost case of (8.27): the order of the sums -------------------------------------------


def chain_cost():
    check = get_check("module_chain_gradient")
    cases = check.cases(np.random.default_rng(seed("hidden", check.name)))
    return check, cases, cases[-1]


def from_the_left(dE_dy, dy_dz, dz_dw):
    return (dE_dy @ dy_dz) @ dz_dw


def from_the_right(dE_dy, dy_dz, dz_dw):
    return dE_dy @ (dy_dz @ dz_dw)  # the K x P Jacobian dy/dw first


def test_the_chain_cost_case_is_last_budgeted_small_to_send_and_in_the_self_check():
    check, cases, cost = chain_cost()
    assert [c for c in cases if c.seconds] == [cost]
    assert cost.name.startswith("cost: ") and 0 < cost.seconds <= TIME_LIMIT / 4
    assert sum(np.asarray(a).nbytes for a in cost.args) < 5e6
    visible = check.visible_cases(np.random.default_rng(seed("visible", check.name)))
    assert visible[-1].seconds == cost.seconds
    assert "K L + L P" in check.cost_reason and "K L P" in check.cost_reason
    assert "order" in check.cost_reason


def test_the_orders_of_the_sums_differ_by_a_factor_of_thousands_in_multiplications():
    """Counts, not clocks: from the left K L + L P multiplications, from the right K L P
    (and K P for the last product); the cheap order at the speed of one busy core takes a
    hundredth of the budget."""
    _, _, cost = chain_cost()
    K, L = cost.args[1].shape
    P = cost.args[2].shape[1]
    cheap, dear = K * L + L * P, K * L * P + K * P
    assert dear / cheap > 1000
    assert cheap / 1e9 <= cost.seconds / 100


def test_both_orders_pass_the_small_cases_and_only_the_cheap_one_the_cost_case():
    check, cases, _ = chain_cost()
    cheap = judge(check, cases, answers(check, from_the_left, cases))
    assert cheap.points == check.points, [r.problem for r in cheap.results]
    records = answers(check, from_the_right, cases)
    dear = judge(check, cases, records)
    *small, costly = dear.results
    assert all(r.passed for r in small) and not costly.passed
    assert records[-1]["error"]["kind"] == channel.TIMEOUT
    assert costly.problem.endswith(f"which allows a method {check.cost_reason}")
    assert dear.points == round(check.points * len(small) / len(cases), 2)


def test_every_chain_mistake_model_gives_up_at_once_on_the_cost_case():
    """The mistake models need K = L (or give an answer of another shape): on the cost case
    they raise before any work, so the diagnosis costs nothing."""
    check, _, cost = chain_cost()
    for mistake in check.mistakes():
        (record,) = answers(check, check.student_function(mistake.model), [cost])
        assert record["error"]["kind"] == channel.RAISED, mistake.name
