"""The adjoint and tangent programs: the chapter's (8.70)-(8.76) and (8.58)-(8.64) for (8.49),
line by line, and for any function the same numbers as ``grad`` and ``jvp``."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.traces import book_example, record_trace


def f(x1, x2):
    """(8.49) written one statement per primal equation (8.52)-(8.56)."""
    v3 = x1 * x2
    v4 = anp.sin(x2)
    v5 = anp.exp(v3)
    v6 = v3 - v4
    return v5 + v6


E2 = math.exp(2.0)

# The chapter's equations as the program writes them; (8.75) as it should read (the children
# of v2 are v3 and v4, so its first term is v̄3 v1, printed v̄2 v1 in the book).
PRIMAL = [
    ("v1 = x1", "8.50"),
    ("v2 = x2", "8.51"),
    ("v3 = v1 * v2", "8.52"),
    ("v4 = np.sin(v2)", "8.53"),
    ("v5 = np.exp(v3)", "8.54"),
    ("v6 = v3 - v4", "8.55"),
    ("v7 = v5 + v6", "8.56"),
]
ADJOINT = [
    ("v7_bar = 1.0", "8.70"),
    ("v6_bar = v7_bar", "8.71"),
    ("v5_bar = v7_bar", "8.72"),
    ("v4_bar = -v6_bar", "8.73"),
    ("v3_bar = v5_bar * v5 + v6_bar", "8.74"),
    ("v2_bar = v3_bar * v1 + v4_bar * np.cos(v2)", "8.75"),
    ("v1_bar = v3_bar * v2", "8.76"),
]
# (8.60) with its two terms in the order of the parents v1, v2; (8.62) with exp(v3) read
# from v5, as the rule of exp does.
TANGENT = [
    ("v1 = x1", "8.50"),
    ("v1_dot = 1.0", "8.58"),
    ("v2 = x2", "8.51"),
    ("v2_dot = 0.0", "8.59"),
    ("v3 = v1 * v2", "8.52"),
    ("v3_dot = v1_dot * v2 + v1 * v2_dot", "8.60"),
    ("v4 = np.sin(v2)", "8.53"),
    ("v4_dot = v2_dot * np.cos(v2)", "8.61"),
    ("v5 = np.exp(v3)", "8.54"),
    ("v5_dot = v3_dot * v5", "8.62"),
    ("v6 = v3 - v4", "8.55"),
    ("v6_dot = v3_dot - v4_dot", "8.63"),
    ("v7 = v5 + v6", "8.56"),
    ("v7_dot = v5_dot + v6_dot", "8.64"),
]


def lines(program):
    return [(line.code, line.equation) for line in program.lines]


def test_the_adjoint_program_of_8_49_is_8_50_to_8_56_then_8_70_to_8_76():
    program = autodiff.adjoint_program(f, 1.0, 2.0)
    assert lines(program) == PRIMAL + ADJOINT
    text = str(program)
    assert text.splitlines()[0] == "def f_adjoint(x1, x2):"
    assert "v2_bar = v3_bar * v1 + v4_bar * np.cos(v2)  # (8.75)" in text
    assert "v2_bar * v1" not in text  # the printed slip of (8.75)
    assert text.splitlines()[-1] == "    return v7, (v1_bar, v2_bar)"


def test_the_adjoint_program_has_the_chapter_values_at_1_2():
    """Exercise 8.17: at x = (1, 2), each adjoint by the equation it instantiates."""
    v = autodiff.adjoint_program(f, 1.0, 2.0).values
    expected = {
        "v3": 2.0,
        "v4": math.sin(2.0),
        "v5": E2,
        "v6": 2.0 - math.sin(2.0),
        "v7": 2.0 + E2 - math.sin(2.0),
        "v7_bar": 1.0,  # (8.70)
        "v6_bar": 1.0,  # (8.71)
        "v5_bar": 1.0,  # (8.72)
        "v4_bar": -1.0,  # (8.73)
        "v3_bar": E2 + 1.0,  # (8.74): v̄5 v5 + v̄6
        "v2_bar": (E2 + 1.0) * 1.0 - math.cos(2.0),  # (8.75): v̄3 v1 + v̄4 cos(v2)
        "v1_bar": 2.0 + 2.0 * E2,  # (8.76): v̄3 v2, the answer of Exercise 8.17
    }
    for name, value in expected.items():
        assert v[name] == pytest.approx(value, rel=1e-15), name


def test_the_adjoint_values_are_those_of_the_evaluation_trace_tables():
    """An independent implementation: ``autodiff.algorithms.traces`` on the same point."""
    program = autodiff.adjoint_program(f, 0.7, -1.3)
    trace = record_trace(book_example, 0.7, -1.3)
    adjoints = trace.adjoint_table().values
    primals = trace.values
    for i in range(1, 8):
        assert program.values[f"v{i}"] == pytest.approx(primals[i - 1], rel=1e-15)
        assert program.values[f"v{i}_bar"] == pytest.approx(adjoints[i - 1], rel=1e-15)


@pytest.mark.parametrize("point", [(1.0, 2.0), (-0.4, 3.1), (2.5, 0.0)])
def test_the_adjoint_program_runs_and_equals_grad(point):
    program = autodiff.adjoint_program(f, 1.0, 2.0)
    value, (g1, g2) = program(*point)
    assert value == pytest.approx(f(*point), rel=1e-15)
    e1, e2 = autodiff.grad(f, argnums=(0, 1))(*point)
    assert g1 == pytest.approx(e1, rel=1e-15) and g2 == pytest.approx(e2, rel=1e-15)


def test_the_printed_source_runs_on_its_own():
    namespace = {"np": np}
    exec(str(autodiff.adjoint_program(f, 1.0, 2.0)), namespace)
    value, (g1, g2) = namespace["f_adjoint"](1.0, 2.0)
    assert g1 == pytest.approx(2.0 + 2.0 * E2, rel=1e-15)


def test_the_tangent_program_of_8_49_is_8_58_to_8_64():
    program = autodiff.tangent_program(f, (1.0, 2.0), (1.0, 0.0))
    assert lines(program) == TANGENT
    values = program.values
    assert values["v3_dot"] == 2.0  # (8.60): v1 v̇2 + v̇1 v2
    assert values["v5_dot"] == pytest.approx(2.0 * E2, rel=1e-15)  # not df/dx1: (8.62)
    assert values["v7_dot"] == pytest.approx(2.0 + 2.0 * E2, rel=1e-15)  # df/dx1 = v̇7
    value, tangent = program(1.0, 2.0)
    assert tangent == pytest.approx(2.0 + 2.0 * E2, rel=1e-15)


def test_the_tangent_program_along_any_direction_is_jvp():
    """(8.67): one forward pass gives J r for ẋ = r."""
    program = autodiff.tangent_program(f, (0.3, -0.8), (0.6, -1.7))
    assert [line.equation for line in program.lines if line.code.startswith("v3_dot")] == ["8.57"]
    value, tangent = program(0.3, -0.8)
    expected = autodiff.jvp(f, (0.3, -0.8), (0.6, -1.7))
    assert value == pytest.approx(expected[0], rel=1e-15)
    assert tangent == pytest.approx(expected[1], rel=1e-15)


def test_another_function_cites_8_69_and_equals_grad():
    """(8.49) on one line computes x1 x2 twice: eight variables, not the chapter's seven."""

    def g(x1, x2):
        return x1 * x2 + anp.exp(x1 * x2) - anp.sin(x2)

    program = autodiff.adjoint_program(g, 1.0, 2.0)
    assert [code for code, _ in lines(program)][:5] == [
        "v1 = x1",
        "v2 = x2",
        "v3 = v1 * v2",
        "v4 = v1 * v2",
        "v5 = np.exp(v4)",
    ]
    assert {eq for code, eq in lines(program) if "_bar" in code.split("=")[0]} == {"8.68", "8.69"}
    value, grads = program(0.5, -1.5)
    expected = autodiff.value_and_grad(g, argnums=(0, 1))(0.5, -1.5)
    assert value == pytest.approx(expected[0], rel=1e-15)
    np.testing.assert_allclose(grads, expected[1], rtol=1e-15)


def mlp(params, X, T):
    W1, b1, W2, b2 = params
    Y = anp.tanh(X @ W1 + b1) @ W2 + b2
    return 0.5 * anp.sum((Y - T) ** 2)


RNG = np.random.default_rng(8)
PARAMS = (RNG.normal(size=(3, 4)), RNG.normal(size=4), RNG.normal(size=(4, 2)), RNG.normal(size=2))
X, T = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 2))


def test_a_network_over_a_parameter_tuple_with_broadcasting():
    program = autodiff.adjoint_program(mlp, PARAMS, X, T, argnums=0)
    text = str(program)
    assert "v1 = params[0]" in text and "v5 = X" in text
    assert "v4_bar = np.sum(v11_bar, axis=(0,), keepdims=True).reshape((2,))" in text
    value, grads = program(PARAMS, X, T)
    expected = autodiff.value_and_grad(mlp)(PARAMS, X, T)
    assert value == pytest.approx(expected[0], rel=1e-14)
    assert isinstance(grads, tuple) and len(grads) == 4
    for g, e in zip(grads, expected[1]):
        np.testing.assert_allclose(g, e, rtol=1e-14)
    other = tuple(RNG.normal(size=p.shape) for p in PARAMS)  # the program at another point
    for g, e in zip(program(other, X, T)[1], autodiff.grad(mlp)(other, X, T)):
        np.testing.assert_allclose(g, e, rtol=1e-13)


def test_a_part_used_twice_is_a_temporary():
    """The rule of max divides a mask by its sum: the mask gets a line of its own."""

    def h(x):
        return anp.max(x * x)

    x = np.array([0.5, -2.0, 2.0])
    program = autodiff.adjoint_program(h, x)
    assert any(line.code.startswith("t1 = ") for line in program.lines)
    value, g = program(x)
    np.testing.assert_allclose(g, autodiff.grad(h)(x), rtol=1e-15)


def test_argnums_and_inputs_the_output_does_not_depend_on():
    def h(x1, x2, x3):
        return anp.sin(x1) * x3

    program = autodiff.adjoint_program(h, 1.0, 2.0, 3.0, argnums=(1, 0))
    value, (g2, g1) = program(1.0, 2.0, 3.0)
    assert g2 == 0.0 and g1 == pytest.approx(3.0 * math.cos(1.0), rel=1e-15)
    assert "v2_bar = np.zeros(())" in str(program)
    single = autodiff.adjoint_program(h, 1.0, 2.0, 3.0, argnums=2)
    assert single(1.0, 2.0, 3.0)[1] == pytest.approx(math.sin(1.0), rel=1e-15)


def test_the_tangent_program_of_a_tree_of_outputs():
    def h(x):
        return {"sum": anp.sum(x**2), "scaled": anp.exp(x) * x[0]}

    x, r = np.array([0.2, -0.5, 0.9]), np.array([1.0, 2.0, -1.0])
    program = autodiff.tangent_program(h, (x,), (r,))
    value, tangent = program(x)
    expected_value, expected_tangent = autodiff.jvp(h, (x,), (r,))
    for key in ("sum", "scaled"):
        np.testing.assert_allclose(value[key], expected_value[key], rtol=1e-15)
        np.testing.assert_allclose(tangent[key], expected_tangent[key], rtol=1e-15)


def test_a_branch_gives_the_program_of_the_path_taken():
    """As the evaluation trace does (Section 8.2): the branch taken at the point is built in,
    and the program says where f read a value."""

    def h(x):
        if x > 0:
            return anp.sin(x) * x
        return -x

    program = autodiff.adjoint_program(h, 1.0)
    assert "the path f took where it read values, at" in str(program)
    assert "(if x > 0:)" in str(program)
    for x in (0.5, 2.0):  # the same path
        value, g = program(x)
        assert g == pytest.approx(autodiff.grad(h)(x), rel=1e-15)
    assert program(-1.0)[0] != h(-1.0)  # the other path is not in it
    tangent = autodiff.tangent_program(h, (1.0,), (1.0,))
    assert tangent(2.0)[1] == pytest.approx(autodiff.grad(h)(2.0), rel=1e-15)


def test_a_vector_output_is_refused():
    with pytest.raises(TypeError, match="scalar"):
        autodiff.adjoint_program(lambda x: anp.sin(x), np.ones(3))
