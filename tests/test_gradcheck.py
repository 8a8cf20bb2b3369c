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
