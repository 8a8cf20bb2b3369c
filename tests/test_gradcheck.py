"""check_grads: silent on correct derivatives, and a message naming mode, argument and
order when a rule is wrong."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from autodiff.numpy import primitives as p


def network(W, x):
    return anp.tanh(W @ x) * anp.sin(x[0])


def test_correct_derivatives_pass_to_third_order():
    rng = np.random.default_rng(0)
    autodiff.check_grads(network, (rng.normal(size=(2, 3)), rng.normal(size=3)), order=3)


@pytest.mark.parametrize(
    ("mode", "table", "wrong"),
    [
        ("reverse", "vjps", lambda g, ans, x: g * ans),  # tanh' taken as tanh
        ("forward", "jvps", lambda t, ans, x: t * ans),
    ],
)
def test_a_wrong_rule_is_named(monkeypatch, mode, table, wrong):
    monkeypatch.setitem(getattr(p.tanh, table), 0, wrong)
    args = (np.full((2, 3), 0.3), np.array([0.5, -0.2, 0.1]))
    modes = ("rev",) if mode == "reverse" else ("fwd",)
    with pytest.raises(autodiff.GradientCheckError, match=rf"{mode} mode .* argument 0, order 1"):
        autodiff.check_grads(network, args, order=1, modes=modes)


def test_a_wrong_second_derivative_is_caught_at_order_two(monkeypatch):
    # the first derivative of sin is right; the rule for its derivative (cos) is wrong
    monkeypatch.setitem(p.cos.vjps, 0, lambda g, ans, x: g * anp.sin(x))
    with pytest.raises(autodiff.GradientCheckError, match="order 2"):
        autodiff.check_grads(lambda x: anp.sin(x), (np.array([0.4, 1.1]),), order=2, modes=("rev",))


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="modes"):
        autodiff.check_grads(anp.sin, (np.ones(2),), modes=("sideways",))
    with pytest.raises(ValueError, match="order"):
        autodiff.check_grads(anp.sin, (np.ones(2),), order=0)
    with pytest.raises(TypeError, match="tuple"):
        autodiff.check_grads(anp.sin, np.ones(2))


# -- structured arguments, as grad takes them ----------------------------------------------------
def layer(params, x):
    return anp.tanh(x @ params["W1"] + params["b1"]) * params["scale"][0]


def params_and_input():
    rng = np.random.default_rng(1)
    params = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2), "scale": [np.array(1.5)]}
    return params, rng.normal(size=(4, 3))


def test_dicts_lists_and_tuples_of_arrays_are_checked():
    params, x = params_and_input()
    autodiff.check_grads(layer, (params, x), order=2)
    autodiff.check_grads(lambda ps: anp.sum(ps[0] * anp.sin(ps[1])), ((np.ones(2), X2),))
    autodiff.check_grads(lambda ps: anp.exp(ps[0]) @ ps[1], ([np.ones((2, 2)), X2],))


def test_a_structured_output_is_checked():
    def f(p):
        return {"sum": anp.sum(p["a"] ** 2), "pair": (anp.sin(p["a"]), p["b"] * p["a"])}

    autodiff.check_grads(f, ({"a": X2, "b": np.array(0.3)},), order=2)


X2 = np.array([0.4, -1.1])


@pytest.mark.parametrize(
    ("mode", "table", "wrong"),
    [
        ("reverse", "vjps", lambda g, ans, x: g * ans),
        ("forward", "jvps", lambda t, ans, x: t * ans),
    ],
)
def test_the_failing_array_of_a_dict_is_named(monkeypatch, mode, table, wrong):
    monkeypatch.setitem(getattr(p.tanh, table), 0, wrong)
    params, x = params_and_input()
    modes = ("rev",) if mode == "reverse" else ("fwd",)
    with pytest.raises(autodiff.GradientCheckError, match=r"argument 0\['W1'\], order 1"):
        autodiff.check_grads(layer, (params, x), order=1, modes=modes)


def test_the_failing_array_of_a_nested_list_is_named(monkeypatch):
    monkeypatch.setitem(p.sin.vjps, 0, lambda g, ans, x: g * anp.sin(x))
    with pytest.raises(autodiff.GradientCheckError, match=r"argument 1\[1\]\[0\], order 1"):
        autodiff.check_grads(
            lambda a, b: a * anp.sum(b[0] * anp.sin(b[1][0])),
            (np.array(2.0), [np.ones(2), [X2]]),
            order=1,
            modes=("rev",),
        )


def test_a_leaf_that_is_not_numeric_is_named():
    with pytest.raises(TypeError, match=r"argument 0\['name'\]"):
        autodiff.check_grads(lambda p: p["x"], ({"x": np.ones(2), "name": "layer"},))
