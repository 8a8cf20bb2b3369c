"""Evaluation traces (8.49)-(8.76): numbering, tables, renderings, graphs and errors.

The tables' values are checked against the autodiff transforms on the same functions
(written with ``autodiff.numpy``, which records into a trace and differentiates alike) and
against hand-derived values at (x1, x2) = (1, 2) (Exercise 8.17).
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import autodiff  # noqa: E402
import autodiff.numpy as anp  # noqa: E402
from autodiff.algorithms import traces  # noqa: E402
from autodiff.algorithms.trace_plot import figure_8_4, figure_8_5, plot_trace  # noqa: E402
from autodiff.algorithms.traces import (  # noqa: E402
    book_example,
    book_example_two_outputs,
    record_trace,
)

E2 = math.exp(2.0)
DF_DX1 = 2.0 + 2.0 * E2  # x2 + x2 e^{x1 x2} at (1, 2)
DF_DX2 = 1.0 + E2 - math.cos(2.0)  # x1 + x1 e^{x1 x2} - cos x2 at (1, 2)


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12)


def on_array(f):
    """``f`` of D scalars as a function of one array, for the autodiff transforms."""
    return lambda x: f(*(x[i] for i in range(x.shape[0])))


# -- functions written with autodiff.numpy, recorded and differentiated alike ---------------
def book_anp(x1, x2):
    v3 = x1 * x2
    v4 = anp.sin(x2)
    v5 = anp.exp(v3)
    v6 = v3 - v4
    return v5 + v6


def book_anp_two_outputs(x1, x2):
    v3 = x1 * x2
    v4 = anp.sin(x2)
    v5 = anp.exp(v3)
    v6 = v3 - v4
    return v5 + v6, v5 * v6


def reuse(a):
    return a * a * a + a


def constants_division_powers(a, b):
    return (a * a + 3 / b) ** 2 - a * anp.exp(b) + anp.sqrt(a) - 2**b + a**b / 4 - (1 - a)


def elementary(a, b):
    return anp.tanh(a * b) + anp.sigmoid(a - b) * anp.log(b) + anp.cos(a) / (1 + b * b) - (-a)


def three_inputs(a, b, c):
    s = a / b - b / c
    return s * s + c**0.5 * a - 2.5 * s + 1.0 / (a + c)


OTHER_FUNCTIONS = [
    (reuse, 1),
    (constants_division_powers, 2),
    (elementary, 2),
    (three_inputs, 3),
    (book_anp, 2),
]


def random_point(rng, n):
    return tuple(float(x) for x in rng.uniform(0.5, 1.5, n))


# -- numbering ------------------------------------------------------------------------------
def test_book_example_is_numbered_as_8_50_to_8_56():
    trace = record_trace(book_example, 1.0, 2.0)
    equations = [(name, rhs) for name, rhs, _ in trace.primal_table().rows()]
    assert equations == [
        ("v1", "x1"),
        ("v2", "x2"),
        ("v3", "v1 v2"),
        ("v4", "sin(v2)"),
        ("v5", "exp(v3)"),
        ("v6", "v3 - v4"),
        ("v7", "v5 + v6"),
    ]
    assert trace.outputs == (7,)
    assert trace.parents(3) == (1, 2)
    assert trace.children(2) == (3, 4)
    assert trace.children(3) == (5, 6)
    assert trace.depths() == (0, 0, 1, 1, 2, 2, 3)


def test_anp_functions_record_the_same_trace_as_the_module_functions():
    by_module = record_trace(book_example, 0.7, -1.3).primal_table().rows()
    by_anp = record_trace(book_anp, 0.7, -1.3).primal_table().rows()
    assert by_anp == by_module


def test_one_line_form_records_the_repeated_product_twice():
    def one_line(x1, x2):
        return x1 * x2 + anp.exp(x1 * x2) - anp.sin(x2)

    trace = record_trace(one_line, 1.0, 2.0)
    equations = [rhs for _, rhs, _ in trace.primal_table().rows()]
    assert equations == ["x1", "x2", "v1 v2", "v1 v2", "exp(v4)", "v3 + v5", "sin(v2)", "v6 - v7"]
    close(trace.adjoint_table().results, [DF_DX1, DF_DX2])


def test_book_example_evaluates_plain_numbers():
    expected = 1.0 * 2.0 + E2 - math.sin(2.0)
    close(book_example(1.0, 2.0), expected)
    close(record_trace(book_example, 1.0, 2.0).primal_table().results, [expected])


# -- forward mode (8.57)-(8.64) ---------------------------------------------------------------
def test_tangent_equations_are_8_58_to_8_64():
    table = record_trace(book_example, 1.0, 2.0).tangent_table((1.0, 0.0))
    equations = [(name, rhs) for name, rhs, _ in table.rows()]
    assert equations == [
        ("v̇1", "1"),
        ("v̇2", "0"),
        ("v̇3", "v̇1 v2 + v̇2 v1"),
        ("v̇4", "v̇2 cos(v2)"),
        ("v̇5", "v̇3 exp(v3)"),
        ("v̇6", "v̇3 - v̇4"),
        ("v̇7", "v̇5 + v̇6"),
    ]


def test_tangent_pass_ends_at_v7_with_hand_derived_values():
    trace = record_trace(book_example, 1.0, 2.0)
    first = trace.tangent_table((1.0, 0.0))
    close(first.value(7), DF_DX1)
    close(first.value(5), 2.0 * E2)  # the printed text stops here; v̇5 is not ∂f/∂x1
    assert first.summary() == (("∂f/∂x1", "v̇7", first.value(7)),)
    second = trace.tangent_table((0.0, 1.0))
    close(second.results, [DF_DX2])


def test_tangent_tables_match_autodiff_jvp_for_the_book_example():
    rng = np.random.default_rng(0)
    point = np.array(random_point(rng, 2))
    trace = record_trace(book_example, *point)
    for direction in (np.array([1.0, 0.0]), np.array([0.0, 1.0]), rng.normal(size=2)):
        _, expected = autodiff.jvp(on_array(book_anp), (point,), (direction,))
        close(trace.tangent_table(direction).results, [expected])


# -- reverse mode (8.68)-(8.76) ---------------------------------------------------------------
def test_adjoint_equations_are_8_70_to_8_76_with_8_75_corrected():
    table = record_trace(book_example, 1.0, 2.0).adjoint_table()
    equations = [(name, rhs) for name, rhs, _ in table.rows()]
    assert equations == [
        ("v̄7", "1"),
        ("v̄6", "v̄7"),
        ("v̄5", "v̄7"),
        ("v̄4", "-v̄6"),
        ("v̄3", "v̄5 v5 + v̄6"),
        ("v̄2", "v̄3 v1 + v̄4 cos(v2)"),
        ("v̄1", "v̄3 v2"),
    ]


def test_adjoint_values_are_the_hand_derived_gradient():
    table = record_trace(book_example, 1.0, 2.0).adjoint_table()
    close(table.results, [DF_DX1, DF_DX2])
    close(table.value(3), E2 + 1.0)  # v̄3 = v̄5 v5 + v̄6 = e^2 + 1
    assert [label for label, _, _ in table.summary()] == ["∂f/∂x1", "∂f/∂x2"]


def test_adjoint_tables_match_autodiff_grad_for_the_book_example():
    point = np.array(random_point(np.random.default_rng(1), 2))
    expected = autodiff.grad(on_array(book_anp))(point)
    close(record_trace(book_example, *point).adjoint_table().results, expected)


# -- two outputs, Figure 8.5 and (8.65)-(8.67) --------------------------------------------------
def test_two_outputs_forward_pass_gives_a_jacobian_column():
    trace = record_trace(book_example_two_outputs, 1.0, 2.0)
    assert trace.outputs == (7, 8)
    assert trace.primal_table().rows()[7][:2] == ("v8", "v5 v6")
    close(trace.primal_table().value(8), (2.0 - math.sin(2.0)) * E2)  # (8.65)
    jacobian = autodiff.jacfwd(on_array(book_anp_two_outputs))(np.array([1.0, 2.0]))
    for j in range(2):
        unit = np.eye(2)[j]
        close(trace.tangent_table(unit).results, [jacobian[0][j], jacobian[1][j]])
    close(jacobian[0], [DF_DX1, DF_DX2])


def test_jacobian_vector_product_in_one_pass_8_67():
    rng = np.random.default_rng(2)
    point = np.array(random_point(rng, 2))
    r = rng.normal(size=2)
    _, expected = autodiff.jvp(on_array(book_anp_two_outputs), (point,), (r,))
    table = record_trace(book_example_two_outputs, *point).tangent_table(r)
    close(table.results, expected)
    assert [label for label, _, _ in table.summary()] == ["f\u03071", "f\u03072"]


def test_two_outputs_need_one_backward_pass_each():
    rng = np.random.default_rng(3)
    point = np.array(random_point(rng, 2))
    trace = record_trace(book_example_two_outputs, *point)
    _, vjp_fn = autodiff.vjp(on_array(book_anp_two_outputs), point)
    for cotangent in ((1.0, 0.0), (0.0, 1.0), tuple(rng.normal(size=2))):
        (expected,) = vjp_fn(cotangent)
        close(trace.adjoint_table(cotangent).results, expected)
    rows = dict((name, rhs) for name, rhs, _ in trace.adjoint_table((0.0, 1.0)).rows())
    assert rows["v̄5"] == "v̄7 + v̄8 v6"
    assert rows["v̄7"] == "0"
    with pytest.raises(ValueError, match="one backward pass per output"):
        trace.adjoint_table()


# -- other functions: reuse, constants, division, powers ---------------------------------------
@pytest.mark.parametrize(("f", "n"), OTHER_FUNCTIONS, ids=[f.__name__ for f, _ in OTHER_FUNCTIONS])
def test_tables_match_autodiff_on_other_functions(f, n):
    rng = np.random.default_rng(4)
    point = np.array(random_point(rng, n))
    trace = record_trace(f, *point)
    value, gradient = autodiff.value_and_grad(on_array(f))(point)
    close(trace.primal_table().results, [value])
    close(trace.adjoint_table().results, gradient)
    direction = rng.normal(size=n)
    _, tangent = autodiff.jvp(on_array(f), (point,), (direction,))
    close(trace.tangent_table(direction).results, [tangent])


def test_a_reused_variable_accumulates_one_term_per_use():
    trace = record_trace(reuse, 1.5)  # v2 = v1 v1, v3 = v2 v1, v4 = v3 + v1
    assert trace.children(1) == (2, 3, 4)
    table = trace.adjoint_table()
    adjoint_of_v1 = table.rows()[-1]
    assert adjoint_of_v1[:2] == ("v̄1", "v̄2 v1 + v̄2 v1 + v̄3 v2 + v̄4")
    close(adjoint_of_v1[2], 3 * 1.5**2 + 1)
    close(trace.tangent_table((1.0,)).results, [3 * 1.5**2 + 1])


def test_constants_appear_in_the_equations():
    def f(a):
        return 3 / a - 2**a + a**3 / 4 - (1 - a) + (-a) * 0.5

    trace = record_trace(f, 2.0)
    primal = [rhs for _, rhs, _ in trace.primal_table().rows()]
    assert primal[1:6] == ["3/v1", "2^v1", "v2 - v3", "v1^3", "v5/4"]
    assert primal[7:11] == ["1 - v1", "v7 - v8", "-v1", "0.5 v10"]
    tangent = [rhs for _, rhs, _ in trace.tangent_table((1.0,)).rows()]
    assert tangent[1:6] == ["-3 v̇1/v1^2", "v̇1 log(2) 2^v1", "v̇2 - v̇3", "3 v̇1 v1^2", "v̇5/4"]
    assert tangent[10] == "0.5 v̇10"
    adjoint = dict((name, rhs) for name, rhs, _ in trace.adjoint_table().rows())
    assert adjoint["v̄3"] == "-v̄4"
    assert adjoint["v̄1"] == "-3 v̄2/v1^2 + v̄3 log(2) v3 + 3 v̄5 v1^2 - v̄8 - v̄10"
    expected = -3 / 4 - math.log(2) * 4 + 3 * 4 / 4 + 1 - 0.5
    close(trace.adjoint_table().results, [expected])


def test_a_branch_records_the_path_taken():
    def f(a):
        return a * a if a > 0 else -a

    assert [rhs for _, rhs, _ in record_trace(f, 2.0).primal_table().rows()] == ["x1", "v1 v1"]
    assert [rhs for _, rhs, _ in record_trace(f, -2.0).primal_table().rows()] == ["x1", "-v1"]


def test_at_evaluates_the_recorded_trace_at_another_point():
    trace = record_trace(book_example, 1.0, 2.0).at(0.3, -0.8)
    assert trace.point == (0.3, -0.8)
    close(trace.primal_table().results, [book_example(0.3, -0.8)])
    gradient = autodiff.grad(on_array(book_anp))(np.array([0.3, -0.8]))
    close(trace.adjoint_table().results, gradient)


# -- renderings ----------------------------------------------------------------------------------
def test_text_rendering_lists_every_row_and_the_result():
    trace = record_trace(book_example, 1.0, 2.0)
    lines = [" ".join(line.split()) for line in trace.adjoint_table().to_text().splitlines()]
    assert lines[0].startswith("Adjoint trace")
    assert "v̄2 = v̄3 v1 + v̄4 cos(v2) = 8.8052" in lines
    assert "∂f/∂x1 = v̄1 = 16.7781" in lines
    assert str(trace) == trace.primal_table().to_text()
    assert "v7 = v5 + v6" in str(trace)


def test_latex_rendering():
    trace = record_trace(book_example, 1.0, 2.0)
    latex = trace.adjoint_table().to_latex()
    assert latex.startswith(r"\begin{aligned}") and latex.endswith(r"\end{aligned}")
    assert r"\bar{v}_{2} &= \bar{v}_{3} \, v_{1} + \bar{v}_{4} \, \cos(v_{2}) &&" in latex
    tangent = trace.tangent_table((1.0, 0.0)).to_latex()
    assert r"\dot{v}_{5} &= \dot{v}_{3} \, \exp(v_{3}) &&" in tangent
    assert r"\frac{\partial f}{\partial x_{1}} &= \dot{v}_{7}" in tangent
    assert tangent.count(r"\\") == 7  # 7 rows and one result, separated by line breaks


@pytest.mark.parametrize("kind", ["primal", "tangent", "adjoint"])
def test_html_rendering_has_one_table_row_per_entry(kind):
    trace = record_trace(book_example_two_outputs, 1.0, 2.0)
    table, symbol = {
        "primal": (trace.primal_table(), "v"),
        "tangent": (trace.tangent_table((1.0, 0.0)), "v\u0307"),
        "adjoint": (trace.adjoint_table((0.0, 1.0)), "v\u0304"),
    }[kind]
    html = table._repr_html_()
    assert html.startswith("<table>") and html.endswith("</table>")
    assert html.count("<tr>") == 1 + len(trace) + len(table.results)
    assert f">{symbol}<sub>8</sub><" in html


# -- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "operation",
    [
        abs,
        lambda v: v // 2,
        lambda v: v % 2,
        float,
        int,
        round,
        bool,
        lambda v: np.exp(v),
        lambda v: v + 1j,
        lambda v: v * "a",
        lambda v: pow(v, 2, 3),
        lambda v: anp.relu(v),
    ],
    ids=[
        "abs",
        "floordiv",
        "mod",
        "float",
        "int",
        "round",
        "bool",
        "np.exp",
        "complex",
        "str",
        "pow-mod",
        "anp.relu",
    ],
)
def test_unsupported_operations_raise_type_error(operation):
    with pytest.raises(TypeError):
        record_trace(lambda v: operation(v), 1.0)


def test_unsupported_operation_messages_say_what_to_do():
    with pytest.raises(TypeError, match="not an elementary operation.*read .value"):
        record_trace(float, 1.0)
    with pytest.raises(TypeError, match="traced variables or real numbers"):
        record_trace(lambda v: v + "a", 1.0)


def test_domain_errors_name_the_operation():
    with pytest.raises(ValueError, match="log"):
        record_trace(lambda v: traces.log(v), -1.0)
    with pytest.raises(ValueError, match="positive base"):
        record_trace(lambda v: (-2) ** v, 1.0)
    with pytest.raises(ValueError, match="base must be positive"):
        record_trace(lambda a, b: a**b, -1.0, 2.0)
    with pytest.raises(ValueError, match="divide"):
        record_trace(lambda v: v / 0, 1.0)


def test_bad_inputs_and_outputs():
    with pytest.raises(ValueError, match="point"):
        record_trace(book_example)
    with pytest.raises(TypeError, match="input x2"):
        record_trace(book_example, 1.0, "2")
    with pytest.raises(ValueError, match="constant"):
        record_trace(lambda v: 3.0, 1.0)
    with pytest.raises(TypeError, match="must return the traced"):
        record_trace(lambda v: "v", 1.0)
    with pytest.raises(ValueError, match="no outputs"):
        record_trace(lambda v: (), 1.0)


def test_variables_of_two_recordings_do_not_mix():
    kept = []
    record_trace(lambda v: kept.append(v) or v, 1.0)
    with pytest.raises(ValueError, match="finished recording"):
        kept[0] * 2
    with pytest.raises(ValueError, match="two different recordings"):
        record_trace(lambda v: v * kept[0], 1.0)


def test_bad_seeds_and_indices():
    trace = record_trace(book_example, 1.0, 2.0)
    with pytest.raises(ValueError, match=r"shape \(3,\).*2 inputs"):
        trace.tangent_table((1.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="1 outputs"):
        trace.adjoint_table((1.0, 0.0))
    with pytest.raises(TypeError, match="real numbers"):
        trace.tangent_table(("a", "b"))
    with pytest.raises(ValueError, match="no variable v9"):
        trace.children(9)
    with pytest.raises(ValueError, match="2 inputs"):
        trace.at(1.0)


# -- graphs, Figures 8.4 and 8.5 ----------------------------------------------------------------
def artists(ax, prefix):
    found = [a.get_gid() for a in ax.patches + ax.texts if (a.get_gid() or "").startswith(prefix)]
    return sorted(gid.removeprefix(prefix) for gid in found)


def test_figure_8_4_has_seven_nodes_and_eight_edges():
    ax = figure_8_4()
    assert artists(ax, "node:") == sorted(f"v{i}" for i in range(1, 8))
    assert artists(ax, "edge:") == sorted(
        ["v1->v3", "v2->v3", "v2->v4", "v3->v5", "v3->v6", "v4->v6", "v5->v7", "v6->v7"]
    )
    assert artists(ax, "output:") == ["f"]
    assert artists(ax, "value:") == []
    plt.close(ax.figure)


def test_figure_8_5_adds_f2_with_two_edges():
    ax = figure_8_5()
    assert len(artists(ax, "node:")) == 8
    edges = artists(ax, "edge:")
    assert len(edges) == 10 and "v5->v8" in edges and "v6->v8" in edges
    assert artists(ax, "output:") == ["f1", "f2"]
    plt.close(ax.figure)


def test_plot_annotates_a_table_and_counts_each_parent_once():
    trace = record_trace(reuse, 1.5)
    table = trace.adjoint_table()
    fig, ax = plt.subplots()
    assert plot_trace(trace, table, ax=ax) is ax
    assert artists(ax, "edge:") == ["v1->v2", "v1->v3", "v1->v4", "v2->v3", "v3->v4"]
    values = {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("v")}
    assert len(values) == 4
    assert values["value:v1"] == rf"$\bar{{v}}_{{1}} = {table.value(1):.4g}$"
    with pytest.raises(ValueError, match="another trace"):
        plot_trace(record_trace(reuse, 2.0), table, ax=ax)
    plt.close(fig)
