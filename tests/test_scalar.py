"""``Scalar``: every method and operator against central differences (8.25) of the same
function on floats, and the ``autodiff.numpy`` functions dispatching to its methods."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autodiff.numpy as anp
from autodiff.numerical import central_difference
from autodiff.scalar import Scalar, zero_grad

RTOL = 1e-8


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


# name: (function of Scalars, the same function of floats, points)
UNARY = {
    "exp": (lambda s: s.exp(), math.exp, [-1.3, 0.0, 2.1]),
    "log": (lambda s: s.log(), math.log, [0.3, 1.0, 4.5]),
    "sin": (lambda s: s.sin(), math.sin, [-2.0, 0.4, 3.0]),
    "cos": (lambda s: s.cos(), math.cos, [-2.0, 0.4, 3.0]),
    "tanh": (lambda s: s.tanh(), math.tanh, [-1.5, 0.2, 0.9]),
    "sigmoid": (lambda s: s.sigmoid(), _sigmoid, [-3.0, 0.0, 2.5]),
    "relu": (lambda s: s.relu(), lambda x: max(x, 0.0), [-1.2, 0.7]),
    "softplus": (lambda s: s.softplus(), lambda x: math.log1p(math.exp(x)), [-2.0, 0.0, 3.0]),
    "sqrt": (lambda s: s.sqrt(), math.sqrt, [0.25, 2.0]),
    "neg": (lambda s: -s, lambda x: -x, [1.7]),
    "s + 2": (lambda s: s + 2, lambda x: x + 2, [0.5]),
    "2 + s": (lambda s: 2 + s, lambda x: 2 + x, [0.5]),
    "s - 3.5": (lambda s: s - 3.5, lambda x: x - 3.5, [0.5]),
    "3.5 - s": (lambda s: 3.5 - s, lambda x: 3.5 - x, [0.5]),
    "s * 1.5": (lambda s: s * 1.5, lambda x: x * 1.5, [0.5]),
    "1.5 * s": (lambda s: 1.5 * s, lambda x: 1.5 * x, [0.5]),
    "s / 4": (lambda s: s / 4, lambda x: x / 4, [0.5]),
    "4 / s": (lambda s: 4 / s, lambda x: 4 / x, [0.5, -2.0]),
    "s ** 3": (lambda s: s**3, lambda x: x**3, [-1.2, 0.5]),
    "s ** -2": (lambda s: s**-2, lambda x: x**-2, [-1.2, 0.5]),
    "s ** 0.5": (lambda s: s**0.5, lambda x: x**0.5, [0.7, 2.0]),
    "2 ** s": (lambda s: 2**s, lambda x: 2**x, [-1.0, 0.5]),
    "s ** s": (lambda s: s**s, lambda x: x**x, [0.6, 1.7]),
    "np.float64 * s": (lambda s: np.float64(2.5) * s, lambda x: 2.5 * x, [0.5]),
    "s * np.float64": (lambda s: s * np.float64(2.5), lambda x: 2.5 * x, [0.5]),
    "s * s / (s + 1)": (lambda s: s * s / (s + 1.0), lambda x: x * x / (x + 1.0), [0.3, 2.0]),
}
UNARY_CASES = [(name, x) for name, (_, _, points) in UNARY.items() for x in points]


@pytest.mark.parametrize(("name", "x"), UNARY_CASES)
def test_unary_value_and_derivative(name, x):
    f_scalar, f_float, _ = UNARY[name]
    s = Scalar(x)
    out = f_scalar(s)
    assert isinstance(out, Scalar)
    out.backward()
    assert out.data == pytest.approx(f_float(x), rel=1e-15, abs=1e-300)
    expected = central_difference(lambda v: f_float(float(v)), x)
    assert s.grad == pytest.approx(float(expected), rel=RTOL, abs=RTOL)


# name: (function of two Scalars, the same of floats)
BINARY = {
    "a + b": (lambda a, b: a + b, lambda a, b: a + b),
    "a - b": (lambda a, b: a - b, lambda a, b: a - b),
    "a * b": (lambda a, b: a * b, lambda a, b: a * b),
    "a / b": (lambda a, b: a / b, lambda a, b: a / b),
    "a ** b": (lambda a, b: a**b, lambda a, b: a**b),
    "neuron": (
        lambda a, b: (a * 0.8 + b * -1.1 + 0.3).tanh(),
        lambda a, b: math.tanh(a * 0.8 - b * 1.1 + 0.3),
    ),
    "mixed": (
        lambda a, b: (a * b).exp() - b.sin() + (a / b).log() * a.sigmoid(),
        lambda a, b: math.exp(a * b) - math.sin(b) + math.log(a / b) * _sigmoid(a),
    ),
}


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize(("x", "y"), [(0.7, 1.9), (2.3, 0.4)])
def test_binary_values_and_partial_derivatives(name, x, y):
    f_scalar, f_float = BINARY[name]
    a, b = Scalar(x), Scalar(y)
    out = f_scalar(a, b)
    out.backward()
    assert out.data == pytest.approx(f_float(x, y), rel=1e-15)
    da = central_difference(lambda v: f_float(float(v), y), x)
    db = central_difference(lambda v: f_float(x, float(v)), y)
    assert a.grad == pytest.approx(float(da), rel=RTOL, abs=RTOL)
    assert b.grad == pytest.approx(float(db), rel=RTOL, abs=RTOL)


def test_relu_derivative_at_zero_is_zero():
    s = Scalar(0.0)
    out = s.relu()
    out.backward()
    assert out.data == 0.0 and s.grad == 0.0


def test_power_zero_at_zero():
    """x**0 = 1 everywhere, with derivative 0, also at x = 0 (e.g. the constant term of a
    polynomial evaluated at 0)."""
    s = Scalar(0.0)
    out = s**0 + 3.0 * s**1 + s**2
    out.backward()
    assert out.data == 1.0
    assert s.grad == 3.0


@pytest.mark.parametrize("x", [-1000.0, 1000.0])
def test_sigmoid_and_softplus_are_stable_for_large_inputs(x):
    for method, value, slope in (
        ("sigmoid", float(x > 0), 0.0),
        ("softplus", max(x, 0.0), float(x > 0)),
    ):
        s = Scalar(x)
        out = getattr(s, method)()
        out.backward()
        assert out.data == value and s.grad == slope


# -- autodiff.numpy on Scalars ----------------------------------------------------------------
ANP_DISPATCH = {
    "exp": (anp.exp, "exp"),
    "log": (anp.log, "log"),
    "sin": (anp.sin, "sin"),
    "cos": (anp.cos, "cos"),
    "tanh": (anp.tanh, "tanh"),
    "sigmoid": (anp.sigmoid, "sigmoid"),
    "relu": (anp.relu, "relu"),
    "softplus": (anp.softplus, "softplus"),
    "sqrt": (anp.sqrt, "sqrt"),
}


@pytest.mark.parametrize("name", ANP_DISPATCH)
def test_autodiff_numpy_functions_call_scalar_methods(name):
    function, method = ANP_DISPATCH[name]
    a, b = Scalar(0.8), Scalar(0.8)
    via_anp = function(a)
    via_method = getattr(b, method)()
    assert isinstance(via_anp, Scalar) and via_anp.data == via_method.data
    via_anp.backward()
    via_method.backward()
    assert a.grad == b.grad != 0.0


def test_autodiff_numpy_arithmetic_on_scalars():
    a, b = Scalar(1.5), Scalar(0.5)
    out = anp.add(anp.multiply(a, b), anp.true_divide(a, 2.0)) - anp.power(b, 2.0)
    out = anp.subtract(out, anp.negative(b))
    out.backward()
    assert out.data == pytest.approx(1.5 * 0.5 + 0.75 - 0.25 + 0.5, rel=1e-15)
    assert a.grad == pytest.approx(0.5 + 0.5, rel=1e-15)
    assert b.grad == pytest.approx(1.5 - 1.0 + 1.0, rel=1e-15)


def test_autodiff_numpy_functions_without_a_scalar_method_raise_typeerror():
    with pytest.raises(TypeError, match="Scalar does not support autodiff.numpy.sum"):
        anp.sum(Scalar(1.0))
    with pytest.raises(TypeError, match="Scalar"):
        anp.maximum(Scalar(1.0), 0.0)


# -- bookkeeping ---------------------------------------------------------------------------------
def test_graph_lists_each_node_before_its_parents():
    a, b = Scalar(1.0), Scalar(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = e.graph()
    assert order[0] is e and {id(n) for n in order} == {id(n) for n in (a, b, c, d, e)}
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for parent in node._parents:
            assert position[id(node)] < position[id(parent)]


def test_zero_grad_method_and_function():
    a, b = Scalar(1.0), Scalar(2.0)
    out = (a * b).tanh()
    out.backward()
    assert a.grad != 0.0
    out.zero_grad()
    assert a.grad == b.grad == out.grad == 0.0
    out.backward()
    zero_grad([a, b])
    assert a.grad == b.grad == 0.0


def test_comparisons_float_and_repr():
    a, b = Scalar(1.0), Scalar(2.5)
    assert a < b and a <= 1.0 and b > a and b >= 2.5 and not a > b
    assert float(b) == 2.5
    assert repr(Scalar(2.5)) == "Scalar(data=2.5, grad=0)"


def test_arithmetic_with_non_numbers_raises_typeerror():
    with pytest.raises(TypeError, match="ndarray"):
        Scalar(1.0) + np.array([1.0, 2.0])
    with pytest.raises(TypeError, match="str"):
        Scalar(1.0) * "two"
    with pytest.raises(TypeError, match="str"):
        Scalar(1.0) + "3"  # not silently 4.0


def test_interior_gradients_are_the_derivatives_of_the_output():
    """After backward(), each node's .grad is d(out)/d(node), on every sweep."""
    a, b = Scalar(0.7), Scalar(-1.3)
    c = a * b
    d = c.tanh()
    e = d * c + a
    for _ in range(2):
        e.backward()
        assert e.grad == 1.0
        assert d.grad == pytest.approx(c.data)
        assert c.grad == pytest.approx(d.data + c.data * (1.0 - d.data**2))


def test_backward_on_a_leaf_and_on_an_unused_branch():
    a = Scalar(2.0)
    a.backward()
    assert a.grad == 1.0
    b = Scalar(3.0)
    unused = b * 5.0  # not part of the graph below: keeps its gradient
    unused.backward()
    out = b * b
    out.backward()
    assert b.grad == 5.0 + 6.0 and unused.grad == 1.0


def test_parents_and_local_derivatives_are_readable():
    a, b = Scalar(2.0), Scalar(3.0)
    c = a * b
    assert c._parents == (a, b) and c._local == (3.0, 2.0)
    d = c.exp()
    assert d._parents == (c,) and d._local == (pytest.approx(math.exp(6.0)),)
    assert a._parents == () and a._local == ()
    made = Scalar(6.0, (a, b), (3.0, 2.0))  # a node built by hand
    made.backward()
    assert (a.grad, b.grad) == (3.0, 2.0)
    with pytest.raises(ValueError, match="two parents"):
        Scalar(1.0, (a, b, c), (1.0, 1.0, 1.0))


def test_a_wide_and_deep_graph_matches_the_same_function_on_floats():
    """A sum of 300 products sharing one input, ten times over, against the derivative by
    hand: shared nodes and many heights in one sweep."""
    x = Scalar(0.3)
    total = Scalar(0.0)
    for k in range(10):
        layer = sum((x * (0.01 * j) for j in range(300)), Scalar(0.0))
        total = total + layer * layer.tanh() if k % 2 else total + layer
    total.backward()
    s = 0.01 * sum(range(300))
    u = x.data * s
    expected = 5 * s + 5 * (s * math.tanh(u) + u * (1.0 - math.tanh(u) ** 2) * s)
    assert x.grad == pytest.approx(expected, rel=1e-12)
