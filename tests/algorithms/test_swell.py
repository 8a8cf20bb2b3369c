"""Symbolic differentiation and expression swell: (8.47)-(8.48), Exercises 8.13 and 8.14."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from matplotlib.figure import Figure

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.swell import (
    FAMILIES,
    NETWORK_SYMBOLS,
    book_dy_dw1,
    check_exercise_8_13,
    evaluation_trace,
    format_swell_table,
    logistic_map,
    nested_composition,
    nested_product,
    plot_swell,
    product_rule_derivative,
    run_trace,
    soft_relu_network,
    swell_table,
    tree_size,
)
from autodiff.numerical import central_difference

x = sp.Symbol("x", real=True)


def _relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


# --- the soft-ReLU network (8.44)-(8.48), Exercise 8.13 ---------------------------


def test_exercise_8_13_closed_form_is_the_derivative():
    check = check_exercise_8_13(n_points=10, seed=3)
    assert check.simplifies_to_zero
    assert check.max_relative_error < 1e-12
    assert check.points.shape == (10, 5)


def test_closed_form_8_48_against_autodiff_and_central_differences():
    rng = np.random.default_rng(1)

    def y(w1, x, b1, w2, b2):  # (8.47) with anp's softplus as the soft ReLU (8.46)
        return anp.softplus(w2 * anp.softplus(w1 * x + b1) + b2)

    book = sp.lambdify(NETWORK_SYMBOLS, book_dy_dw1(*NETWORK_SYMBOLS), "numpy")
    output = sp.lambdify(NETWORK_SYMBOLS, soft_relu_network(*NETWORK_SYMBOLS), "numpy")
    for xv, w1, b1, w2, b2 in rng.uniform(-2.0, 2.0, (5, 5)):
        exact = autodiff.grad(y)(w1, xv, b1, w2, b2)
        assert _relative_error(book(xv, w1, b1, w2, b2), exact) < 1e-10
        assert output(xv, w1, b1, w2, b2) == pytest.approx(y(w1, xv, b1, w2, b2), rel=1e-12)
        numerical = central_difference(lambda w: output(xv, w, b1, w2, b2), w1)
        assert _relative_error(book(xv, w1, b1, w2, b2), numerical) < 1e-8


def test_a_wrong_closed_form_is_caught():
    xs, w1, b1, w2, b2 = NETWORK_SYMBOLS
    derivative = sp.diff(soft_relu_network(*NETWORK_SYMBOLS), w1)
    wrong = book_dy_dw1(*NETWORK_SYMBOLS) / w2  # drop the factor w2
    assert sp.simplify(sp.expand_power_exp(derivative - wrong)) != 0


# --- mechanical differentiation -------------------------------------------------


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_product_rule_derivative_matches_diff_and_central_differences(family):
    rng = np.random.default_rng(2)
    points = rng.uniform(0.1, 0.9, 6)
    for f in FAMILIES[family](5, x):
        df = product_rule_derivative(f, x)
        ours = sp.lambdify(x, df, "numpy")(points) * np.ones_like(points)
        sympys = sp.lambdify(x, sp.diff(f, x), "numpy")(points) * np.ones_like(points)
        assert _relative_error(ours, sympys) < 1e-10
        f_num = sp.lambdify(x, f, "numpy")
        numerical = [central_difference(f_num, p) for p in points]
        np.testing.assert_allclose(ours, numerical, rtol=1e-6, atol=1e-8)


def test_logistic_derivatives_equal_diff_exactly():
    for f in logistic_map(5, x):
        assert sp.expand(product_rule_derivative(f, x) - sp.diff(f, x)) == 0


def test_product_rule_derivative_covers_exp_log_cos_and_powers():
    f = sp.log(1 + sp.exp(x)) * sp.cos(x) ** 3 / x
    df = product_rule_derivative(f, x)
    assert sp.simplify(df - sp.diff(f, x)) == 0
    with pytest.raises(TypeError, match="tanh"):
        product_rule_derivative(sp.tanh(x), x)


def test_logistic_map_first_terms_and_unsimplified_derivative():
    L1, L2, L3 = logistic_map(3, x)
    assert L1 == x
    assert sp.expand(L2) == sp.expand(4 * x * (1 - x))
    assert sp.expand(L3) == sp.expand(16 * x * (1 - x) * (1 - 4 * x * (1 - x)))
    # L_2 written out: 4 x (1 - x) keeps both copies of x; its derivative by (8.43) is
    # 4 (1 - x) + 4 x (-1), two terms, with nothing combined
    dL2 = product_rule_derivative(L2, x)
    assert isinstance(dL2, sp.Add) and len(dL2.args) == 2
    assert sp.expand(dL2) == 4 - 8 * x


def test_logistic_tree_sizes_follow_hand_derived_recurrences():
    # L_{n+1} = Mul(4, L_n, Add(1, Mul(-1, L_n))): S_{n+1} = 2 S_n + 6, so S_n = 7 * 2^(n-1) - 6.
    # Its derivative Add(Mul(4, L', A), Mul(4, L, Mul(-1, L'))) has D_{n+1} = 2 D_n + 2 S_n + 11.
    exprs = logistic_map(9, x)
    S = [tree_size(f) for f in exprs]
    D = [tree_size(product_rule_derivative(f, x)) for f in exprs]
    assert S == [7 * 2 ** (n - 1) - 6 for n in range(1, 10)]
    assert D[1] == 12  # 4 (1 - x) + 4 x (-1)
    for n in range(1, 8):
        assert D[n + 1] == 2 * D[n] + 2 * S[n] + 11
    assert tree_size(exprs[3]) == sum(1 for _ in sp.preorder_traversal(exprs[3]))


# --- evaluation traces -----------------------------------------------------------


def test_trace_of_8_49_has_seven_variables_and_gives_exercise_8_17():
    x1, x2 = sp.symbols("x1 x2")
    trace = evaluation_trace(x1 * x2 + sp.exp(x1 * x2) - sp.sin(x2), [x1, x2])
    assert len(trace.primal) == 7  # v1..v7 of Figure 8.4 (x1 x2 is computed once)
    values = run_trace(trace, {x1: 1.0, x2: 2.0})
    assert values[trace.gradient[x1]] == pytest.approx(2 + 2 * np.e**2, rel=1e-14)
    assert values[trace.gradient[x2]] == pytest.approx(1 + np.e**2 - np.cos(2.0), rel=1e-14)
    assert values[trace.output] == pytest.approx(2 + np.e**2 - np.sin(2.0), rel=1e-14)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_traces_compute_function_and_derivative(family):
    rng = np.random.default_rng(3)
    for f in FAMILIES[family](4, x):
        trace = evaluation_trace(f, [x])
        point = float(rng.uniform(0.1, 0.9))
        values = run_trace(trace, {x: point})
        assert values[trace.output] == pytest.approx(float(f.subs(x, point)), rel=1e-12)
        exact = float(sp.diff(f, x).subs(x, point))
        assert values[trace.gradient[x]] == pytest.approx(exact, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize(
    ("family", "length"),
    [
        ("logistic", lambda n: 3 * (n - 1) + 1),  # x, then -L, 1 - L, 4 L (1 - L) per step
        ("composition", lambda n: n + 1),  # x, then one sin per level
        ("product", lambda n: 3 * n - 1),  # x, sin x, then l x, sin(l x), product
    ],
)
def test_trace_length_grows_linearly(family, length):
    lengths = [len(evaluation_trace(f, [x]).primal) for f in FAMILIES[family](8, x)]
    assert lengths == [length(n) for n in range(1, 9)]
    terms = [evaluation_trace(f, [x]).adjoint_terms for f in FAMILIES[family](8, x)]
    assert len(set(np.diff(terms[1:]))) == 1  # constant increments: linear


def test_trace_input_errors():
    with pytest.raises(ValueError, match="not in inputs"):
        evaluation_trace(x * sp.Symbol("y"), [x])
    with pytest.raises(ValueError, match="clash"):
        evaluation_trace(sp.Symbol("v1") ** 2, [sp.Symbol("v1")])
    trace = evaluation_trace(sp.sin(x), [x])
    with pytest.raises(ValueError, match="values for the inputs"):
        run_trace(trace, {})


# --- the swell table -------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "simplify"), [("logistic", True), ("composition", True), ("product", False)]
)
def test_derivatives_swell_faster_than_functions_but_traces_stay_linear(family, simplify):
    rows = swell_table(family, 5 if not simplify else 4, simplify=simplify)
    assert [r.depth for r in rows] == list(range(1, len(rows) + 1))
    ratios = [r.derivative_nodes / r.function_nodes for r in rows[1:]]
    assert all(a < b for a, b in zip(ratios, ratios[1:]))
    op_ratios = [r.derivative_ops / r.function_ops for r in rows[1:]]
    assert all(a < b for a, b in zip(op_ratios, op_ratios[1:]))
    trace = [r.trace_length for r in rows]
    assert len(set(np.diff(trace))) == 1
    assert rows[-1].derivative_nodes > 3 * rows[-1].trace_length
    if simplify:
        assert all(r.simplified_function_ops <= r.function_ops for r in rows)
        assert all(r.simplified_derivative_ops <= r.derivative_ops for r in rows)
    else:
        assert all(r.simplified_function_ops is None for r in rows)


def test_logistic_function_doubles_and_derivative_grows_faster():
    rows = swell_table("logistic", 8, simplify=False)
    growth_f = rows[-1].function_nodes / rows[-2].function_nodes
    growth_df = rows[-1].derivative_nodes / rows[-2].derivative_nodes
    assert 1.9 < growth_f < 2.1 < growth_df


def test_table_text_and_plot():
    rows = swell_table("composition", 3)
    text = format_swell_table(rows)
    lines = text.splitlines()
    assert len(lines) == 4 and "derivative_nodes" in lines[0]
    assert lines[-1].split()[0] == "3"
    figure = plot_swell(rows, title="composition")
    assert isinstance(figure, Figure)
    (ax,) = figure.axes
    assert ax.get_yscale() == "log"
    assert len(ax.get_lines()) == 6
    no_simplify = plot_swell(swell_table("composition", 3, simplify=False))
    assert len(no_simplify.axes[0].get_lines()) == 4


def test_bad_family_and_depth():
    with pytest.raises(ValueError, match="unknown family"):
        swell_table("fibonacci", 3)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="depth"):
            nested_product(bad, x)
    assert nested_composition(3, x)[-1] == sp.sin(sp.sin(sp.sin(x)))
    assert sp.simplify(nested_product(3, x)[-1] - sp.sin(x) * sp.sin(2 * x) * sp.sin(3 * x)) == 0
