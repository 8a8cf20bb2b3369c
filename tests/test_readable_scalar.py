"""``ReadableScalar`` is the engine of ``Scalar`` written to be read: on random expressions
(shared subexpressions, constants on either side, every operation both have), the two give
the same values and the same gradient of every input."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff.readable_scalar import ReadableScalar
from autodiff.scalar import Scalar

BINARY = ["+", "-", "*", "/"]
UNARY = ["tanh", "exp", "relu", "square", "neg", "log_abs"]


def build(make, inputs, program):
    """Evaluate ``program`` (a list of operations on earlier values) with ``make`` nodes."""
    values = [make(x) for x in inputs]
    for op, i, j, c in program:
        a, b = values[i % len(values)], values[j % len(values)]
        if op == "+":
            out = a + b + c
        elif op == "-":
            out = c - a - b
        elif op == "*":
            out = a * b * c
        elif op == "/":
            out = a / (b * b + 1.0)
        elif op == "tanh":
            out = a.tanh()
        elif op == "exp":
            out = (a * 0.1).exp()
        elif op == "relu":
            out = (a - c).relu()
        elif op == "square":
            out = a**2
        elif op == "neg":
            out = -a
        else:
            out = (a * a + 1.0).log()
        values.append(out)
    return values


finite = st.floats(-2.0, 2.0, allow_nan=False)
operation = st.tuples(
    st.sampled_from(BINARY + UNARY), st.integers(0, 50), st.integers(0, 50), finite
)


@settings(max_examples=200, deadline=None)
@given(st.lists(finite, min_size=1, max_size=4), st.lists(operation, min_size=1, max_size=25))
def test_the_readable_engine_computes_what_the_tuned_one_does(inputs, program):
    tuned, readable = build(Scalar, inputs, program), build(ReadableScalar, inputs, program)
    tuned[-1].backward()
    readable[-1].backward()
    for t, r in zip(tuned, readable):
        if math.isnan(t.data) and math.isnan(r.data):
            continue
        assert math.isclose(t.data, r.data, rel_tol=1e-12, abs_tol=1e-12)
    for t, r in zip(tuned[: len(inputs)], readable[: len(inputs)]):
        if math.isnan(t.grad) and math.isnan(r.grad):
            continue
        assert math.isclose(t.grad, r.grad, rel_tol=1e-9, abs_tol=1e-9)
