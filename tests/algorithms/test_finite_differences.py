"""The numerical-differentiation study of Section 8.1.4: Figure 8.2 and the cost in W."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

import autodiff
from autodiff.algorithms.finite_differences import (
    GradientCostStudy,
    figure_8_2_data,
    gradient_cost_study,
    growth_exponent,
    network_error_function,
    plot_figure_8_2,
    step_size_study,
)
from autodiff.algorithms.network import TwoLayerNet
from autodiff.numerical import central_difference

MACHINE_EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def study():
    return figure_8_2_data(seed=1)


def test_truncation_slopes_are_one_and_two(study):
    assert abs(study.forward_slope - 1.0) < 0.1
    assert abs(study.central_slope - 2.0) < 0.1


def test_round_off_makes_the_error_rise_for_small_eps(study):
    assert study.forward_roundoff_slope < -0.5
    assert study.central_roundoff_slope < -0.5
    assert study.forward_error[0] > 100 * study.forward_error.min()
    assert study.central_error[0] > 100 * study.central_error.min()
    # the best steps sit near sqrt(u) and u^(1/3), and central differences do much better
    assert abs(np.log10(study.forward_best_eps / np.sqrt(MACHINE_EPS))) < 1.5
    assert abs(np.log10(study.central_best_eps / np.cbrt(MACHINE_EPS))) < 1.5
    assert study.central_error.min() < 1e-2 * study.forward_error.min()


def test_step_size_study_of_exp_has_hand_derived_leading_errors():
    # relative to f' = e^x the leading errors are eps f''/2 -> eps/2 and eps^2 f'''/6 -> eps^2/6
    x = np.array([0.3, -0.2])
    eps = np.logspace(-4, -2, 5)
    result = step_size_study(lambda x: np.sum(np.exp(x)), x, np.exp(x), eps)
    np.testing.assert_allclose(result.forward_error, eps / 2, rtol=0.02)
    np.testing.assert_allclose(result.central_error, eps**2 / 6, rtol=0.02)
    assert np.isnan(result.forward_roundoff_slope)  # no step on this grid is round-off bound


def test_step_size_study_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        step_size_study(np.sum, np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="zero"):
        step_size_study(np.sum, np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="two positive"):
        step_size_study(np.sum, np.ones(3), np.ones(3), [1e-3, -1e-3])


def test_plot_figure_8_2(study):
    figure = plot_figure_8_2(study)
    assert isinstance(figure, Figure)
    (ax,) = figure.axes
    assert ax.get_xscale() == ax.get_yscale() == "log"
    forward, central = ax.get_lines()
    np.testing.assert_array_equal(forward.get_ydata(), study.forward_error)
    np.testing.assert_array_equal(central.get_ydata(), study.central_error)


@pytest.mark.parametrize("skip", [False, True])
def test_network_error_function_matches_the_network_and_its_gradient(skip):
    rng = np.random.default_rng(5)
    net = TwoLayerNet.random(3, 4, 2, skip=skip, rng=rng)
    X, T = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    error = network_error_function(net, X, T)
    w = net.flatten()
    assert float(error(w)) == pytest.approx(net.error(X, T), rel=1e-13)
    w2 = rng.normal(size=w.size)
    assert float(error(w2)) == pytest.approx(net.unflatten(w2).error(X, T), rel=1e-13)
    np.testing.assert_allclose(
        autodiff.grad(error)(w), central_difference(error, w), rtol=1e-7, atol=1e-9
    )
    with pytest.raises(ValueError, match=r"X must be \(N, 3\)"):
        network_error_function(net, X[:, :2], T)


def test_gradient_cost_study_structure_at_tiny_sizes():
    result = gradient_cost_study([2, 3], inputs=3, outputs=2, data_points=4, repeats=1)
    assert isinstance(result, GradientCostStudy)
    # W = M (D + 1) + K (M + 1) for a two-layer network without skip weights
    np.testing.assert_array_equal(result.num_weights, [2 * 4 + 2 * 3, 3 * 4 + 2 * 4])
    for seconds in (
        result.evaluation_seconds,
        result.forward_difference_seconds,
        result.central_difference_seconds,
        result.backprop_seconds,
    ):
        assert seconds.shape == (2,) and np.all(seconds > 0)
    assert set(result.exponents) == {
        "evaluation",
        "forward_difference",
        "central_difference",
        "backprop",
    }
    assert all(np.isfinite(p) for p in result.exponents.values())
    assert np.all(result.max_relative_difference < 1e-6)
    with pytest.raises(ValueError, match="two positive widths"):
        gradient_cost_study([4])
    with pytest.raises(ValueError, match="repeats"):
        gradient_cost_study([2, 3], repeats=0)


def test_growth_exponent_recovers_a_power_law():
    sizes = np.array([10.0, 100.0, 1000.0])
    assert growth_exponent(sizes, 3e-6 * sizes**2) == pytest.approx(2.0, abs=1e-12)
    assert growth_exponent(sizes, 5e-4 * sizes) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="positive"):
        growth_exponent(sizes, [1.0, 0.0, 2.0])
    with pytest.raises(ValueError, match="matching"):
        growth_exponent(sizes, [1.0, 2.0])
