"""``autodiff.compile``: the replayed program gives what the eager transforms give, is
recorded again for a new structure, replays without a tape, and falls back (with a warning
that names the line) where a function's control flow depends on values.

No test here measures time: the benchmarks do (bench/bench_core.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff
import autodiff.numpy as anp
from autodiff import programs
from autodiff.programs import staging, unrolled
from autodiff.programs.compiled import CompileWarning


def mlp(params, X, T):
    W1, b1, W2, b2 = params
    Y = anp.tanh(X @ W1 + b1) @ W2 + b2
    return 0.5 * anp.sum((Y - T) ** 2)


def network(rng, d_in, hidden, d_out, batch):
    params = (
        rng.normal(size=(d_in, hidden)),
        rng.normal(size=hidden),
        rng.normal(size=(hidden, d_out)),
        rng.normal(size=d_out),
    )
    return params, rng.normal(size=(batch, d_in)), rng.normal(size=(batch, d_out))


def chain(x):
    for op in (anp.sin, anp.cos, anp.tanh, anp.exp) * 5:
        x = op(x)
    return anp.sum(x)


def assert_tree_close(actual, expected, rtol=1e-13):
    if isinstance(expected, (tuple, list)):
        assert type(actual) is type(expected) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_tree_close(a, e, rtol)
    elif isinstance(expected, dict):
        assert actual.keys() == expected.keys()
        for k in expected:
            assert_tree_close(actual[k], expected[k], rtol)
    else:
        assert np.shape(actual) == np.shape(expected)
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-300)


def call_three_times(fn, *args):
    """A compiled function's first call records, the second records again and compares,
    the third replays: return what each gave."""
    return [fn(*args) for _ in range(3)]


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 9),
    st.integers(1, 4),
    st.integers(1, 7),
    st.integers(0, 2**32 - 1),
)
def test_compiled_value_and_grad_of_a_network_equals_eager(d_in, hidden, d_out, batch, seed):
    rng = np.random.default_rng(seed)
    params, X, T = network(rng, d_in, hidden, d_out, batch)
    eager = autodiff.value_and_grad(mlp)
    compiled = autodiff.compile(eager)
    for result in call_three_times(compiled, params, X, T):
        assert_tree_close(result, eager(params, X, T))
    other = tuple(rng.normal(size=p.shape) for p in params)  # the replay at other values
    assert_tree_close(compiled(other, X, T), eager(other, X, T))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=12))
def test_compiled_chain_equals_eager_small_arrays_unrolled_or_not(values):
    x = np.array(values)
    eager = autodiff.value_and_grad(chain)
    compiled = autodiff.compile(eager)
    for result in call_three_times(compiled, x):
        assert_tree_close(result, eager(x), rtol=1e-12)  # math.tanh: within an ulp of NumPy's
    unrolled_program = "tolist()" in compiled.programs()[0]
    assert unrolled_program == (x.size <= unrolled.MAX_ELEMENTS)


def test_a_large_network_reuses_buffers_and_leaves_the_inputs_alone():
    rng = np.random.default_rng(3)
    params, X, T = network(rng, 20, 128, 3, 64)  # 64 x 128 hidden values: reused in place
    copies = [p.copy() for p in (*params, X, T)]
    eager = autodiff.value_and_grad(mlp)
    compiled = autodiff.compile(eager)
    for result in call_three_times(compiled, params, X, T):
        assert_tree_close(result, eager(params, X, T), rtol=0)  # the same operations
    assert "out=" in compiled.programs()[0]
    for before, after in zip(copies, (*params, X, T)):
        np.testing.assert_array_equal(before, after)


def test_a_new_shape_or_dtype_records_a_new_program():
    eager = autodiff.grad(lambda x: anp.sum(anp.sin(x) * x))
    compiled = autodiff.compile(eager)
    for x in (np.ones(3), np.ones(4), np.full(3, 0.5, dtype=np.float32), np.ones(3)):
        g, expected = compiled(x), eager(x)
        assert g.shape == expected.shape and g.dtype == expected.dtype
        np.testing.assert_allclose(g, expected, rtol=1e-13)
    assert len(compiled.programs()) == 3


def test_dtypes_are_those_of_numpy():
    """A Python number adapts to a float32 array, a NumPy float64 does not: the program keeps
    each constant as the function had it."""

    def f(x):
        return anp.tanh(x) * 2.0, x * np.float64(2.0), x * np.ones(3)

    compiled = autodiff.compile(f)
    x = np.linspace(-1.0, 1.0, 3, dtype=np.float32)
    for result in call_three_times(compiled, x):
        assert [r.dtype for r in result] == [np.float32, np.float64, np.float64]
        assert_tree_close(result, f(x), rtol=0)


def test_numbers_and_containers_are_part_of_the_key():
    compiled = autodiff.compile(autodiff.value_and_grad(lambda p, s: s * anp.sum(p["w"] ** 2)))
    for p in ({"w": np.arange(3.0)}, {"w": np.arange(3.0) + 1}):
        value, g = compiled(p, 2)
        assert isinstance(g, dict) and g["w"].dtype == np.float64
        np.testing.assert_allclose(g["w"], 4.0 * p["w"])
    value, g = compiled({"w": np.arange(3.0)}, 2.5)  # a float, not an int: another program
    np.testing.assert_allclose(g["w"], 5.0 * np.arange(3.0))
    assert len(compiled.programs()) == 2


def test_the_replay_builds_no_tape_and_records_nothing(monkeypatch):
    rng = np.random.default_rng(0)
    params, X, T = network(rng, 4, 6, 2, 5)
    calls = {"f": 0, "tape": 0, "var": 0}

    def counted(params, X, T):
        calls["f"] += 1
        return mlp(params, X, T)

    compiled = autodiff.compile(autodiff.value_and_grad(counted))
    compiled(params, X, T)
    compiled(params, X, T)
    assert calls["f"] == 2  # recorded twice: the second recording confirms the first

    import autodiff.transforms as transforms

    open_tape, record = transforms.open_tape, staging.record

    def counting_tape(level):
        calls["tape"] += 1
        return open_tape(level)

    def counting_record(*args, **kwargs):
        calls["var"] += 1
        return record(*args, **kwargs)

    monkeypatch.setattr(transforms, "open_tape", counting_tape)
    monkeypatch.setattr(staging, "record", counting_record)
    for _ in range(5):
        compiled(params, X, T)
    assert calls == {"f": 2, "tape": 0, "var": 0}
    assert "Node" not in compiled.programs()[0]


def test_a_decision_on_a_value_falls_back_with_the_line():
    def f(x):
        if anp.sum(x) > 0:
            return anp.sum(x**2)
        return -anp.sum(x)

    compiled = autodiff.compile(autodiff.grad(f))
    with pytest.warns(CompileWarning, match=r"test_compile.py:\d+ \(if anp.sum\(x\) > 0:\)"):
        np.testing.assert_allclose(compiled(np.ones(3)), 2.0 * np.ones(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per structure
        np.testing.assert_allclose(compiled(-np.ones(3)), -np.ones(3))
        np.testing.assert_allclose(compiled(np.ones(3)), 2.0 * np.ones(3))
    assert compiled.programs() == []


@pytest.mark.parametrize(
    "use",
    [
        lambda x: float(anp.sum(x)),
        lambda x: int(x[0]),
        lambda x: np.asarray(x).sum(),
        lambda x: range(x[0]),
    ],
)
def test_every_way_of_reading_a_value_is_caught(use):
    def f(x):
        use(x)
        return anp.sum(x)

    with pytest.warns(CompileWarning, match="depends on the values"):
        assert autodiff.compile(f)(np.array([1, 2])) == 3


def test_a_program_that_changes_between_calls_falls_back():
    rng = np.random.default_rng(1)

    def noisy(x):  # a new constant at every call: its program changes
        return anp.sum(x * rng.normal(size=x.shape))

    compiled = autodiff.compile(autodiff.grad(noisy))
    first = compiled(np.ones(3))
    with pytest.warns(CompileWarning, match="differs from one call to the next"):
        second = compiled(np.ones(3))
    assert not np.array_equal(first, second)
    assert not np.array_equal(second, compiled(np.ones(3)))  # it runs eagerly, fresh noise


def test_static_argnums_are_keyed_by_value():
    def power_sum(x, n):
        for _ in range(n):  # a loop over a Python number: fine, n is static
            x = anp.sin(x)
        return anp.sum(x)

    compiled = autodiff.compile(autodiff.grad(power_sum), static_argnums=1)
    x = np.array([0.3, -0.2])
    for n in (1, 3, 1):
        np.testing.assert_allclose(compiled(x, n), autodiff.grad(power_sum)(x, n), rtol=1e-13)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled(x, 3)
    assert len(compiled.programs()) == 2


def test_under_a_transform_the_function_runs_itself():
    compiled = autodiff.compile(lambda x: anp.sum(anp.tanh(x) ** 2))
    x = np.array([0.2, -1.0, 0.5])
    eager = lambda x: anp.sum(anp.tanh(x) ** 2)  # noqa: E731
    assert_tree_close(autodiff.grad(compiled)(x), autodiff.grad(eager)(x), rtol=0)
    assert_tree_close(autodiff.hessian(compiled)(x), autodiff.hessian(eager)(x), rtol=0)
    assert compiled.programs() == []


def test_a_function_closing_over_an_enclosing_transforms_value():
    """d/dx [x * d/dy (x y)] = 2x, with the inner derivative compiled: it closes over the
    outer x, a tracer of the outer transform, and so runs as it is."""

    def outer(x):
        inner = autodiff.compile(autodiff.grad(lambda y: x * y))
        return x * inner(np.array(2.0))

    assert float(autodiff.grad(outer)(np.array(3.0))) == 6.0
    assert float(autodiff.compile(autodiff.grad(outer))(np.array(3.0))) == 6.0


def test_the_unrolled_program_defers_to_numpy_where_python_raises():
    compiled = autodiff.compile(lambda x, y: (x / y, anp.log(y)))
    x = np.array([1.0, 2.0])
    call_three_times(compiled, x, np.array([2.0, 4.0]))
    assert "tolist()" in compiled.programs()[0]
    with np.errstate(divide="ignore"):
        quotient, log = compiled(x, np.array([0.0, 4.0]))
    assert quotient[0] == np.inf and log[0] == -np.inf


def test_a_constant_output_is_a_fresh_array_each_call():
    compiled = autodiff.compile(lambda x: (anp.sum(x), np.zeros(3)))
    for _ in range(4):
        value, zeros = compiled(np.ones(2))
        np.testing.assert_array_equal(zeros, np.zeros(3))
        zeros += 1.0  # the caller's to change


def test_the_book_example_compiles_to_its_adjoint_equations():
    def f(x1, x2):
        return x1 * x2 + anp.exp(x1 * x2) - anp.sin(x2)

    compiled = autodiff.compile(autodiff.value_and_grad(f, argnums=(0, 1)))
    for value, (g1, g2) in call_three_times(compiled, 1.0, 2.0):
        assert g1 == pytest.approx(2.0 + 2.0 * np.e**2, rel=1e-15)
    assert compiled.programs()[0].count("exp(") == 1  # x1 x2 computed once, exp once


def test_the_exports():
    assert autodiff.compile is programs.compiled.compile
    assert autodiff.CompileWarning is CompileWarning
