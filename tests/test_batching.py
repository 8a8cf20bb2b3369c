"""Batches of tangents and cotangents (``autodiff.batching``): every rule pushed a whole
batch through at once must give, member by member, what it gives for one tangent, and what
central differences give; and ``jacfwd``, ``jacrev`` and ``hessian`` built on them must agree
with HIPS autograd.

The batch is made by hand here (a ``Batched`` value at a fresh level, as ``jacfwd`` and
``jacrev`` make them), so each primitive's batching rule is tested on its own, with
hypothesis drawing shapes, broadcasting pairs, axes and indices.
"""

from __future__ import annotations

import sys
import threading

import autograd
import autograd.numpy as agnp
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import (
    array_shapes,
    basic_indices,
    integer_array_indices,
    mutually_broadcastable_shapes,
    valid_tuple_axes,
)

import autodiff
import autodiff.numpy as anp
from autodiff import batching, transforms
from autodiff.batching import Batched
from autodiff.core import new_level
from autodiff.numerical import directional_derivative

BATCH = 3
RTOL = 1e-6
seeds = st.integers(0, 2**32 - 1)
shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
nonempty_shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
broadcast_pairs = mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3).map(
    lambda b: b.input_shapes
)


def batched_jvp(f, args, rng):
    """``jvp`` of ``f`` with a batch of ``BATCH`` random tangents for every argument: the
    outputs' tangents as arrays with the batch first, and the tangents used."""
    level = new_level()
    tangents = [rng.normal(size=(BATCH, *np.shape(a))) for a in args]
    _, out = autodiff.jvp(f, args, tuple(Batched(t, level) for t in tangents))
    assert isinstance(out, Batched) and out._level == level
    return out._value, tangents


def check_batched_jvp(f, args, rng):
    """Each member of the batch against ``jvp`` with that member alone, and the first one
    against central differences."""
    batch, tangents = batched_jvp(f, args, rng)
    out_shape = np.shape(f(*args))
    assert batch.shape == (BATCH, *out_shape)
    for k in range(BATCH):
        _, single = autodiff.jvp(f, args, tuple(t[k] for t in tangents))
        np.testing.assert_allclose(batch[k], single, rtol=1e-12, atol=1e-12)
    shapes_ = [np.shape(a) for a in args]
    sizes = [int(np.prod(s)) for s in shapes_]

    def flat_f(z):
        parts, start = [], 0
        for shape, size in zip(shapes_, sizes):
            parts.append(z[start : start + size].reshape(shape))
            start += size
        return f(*parts)

    z = np.concatenate([np.ravel(a) for a in args])
    v = np.concatenate([np.ravel(t[0]) for t in tangents])
    expected = directional_derivative(flat_f, z, v)
    scale = 1.0 + float(np.max(np.abs(expected), initial=0.0))
    np.testing.assert_allclose(batch[0], expected, rtol=RTOL, atol=RTOL * scale)


def check_batched_vjp(f, args, rng):
    """A batch of cotangents pulled back in one sweep against one sweep per member."""
    out, vjp_fn = autodiff.vjp(f, *args)
    level = new_level()
    cotangents = rng.normal(size=(BATCH, *np.shape(out)))
    grads = vjp_fn(Batched(cotangents, level))
    for i, g in enumerate(grads):
        assert isinstance(g, Batched) and g._level == level
        assert g._value.shape == (BATCH, *np.shape(args[i]))
        for k in range(BATCH):
            np.testing.assert_allclose(
                g._value[k], vjp_fn(cotangents[k])[i], rtol=1e-12, atol=1e-12
            )


def check_both(f, args, rng):
    check_batched_jvp(f, args, rng)
    check_batched_vjp(f, args, rng)


# -- elementwise, one argument -------------------------------------------------------------------
UNARY = {
    "negative": (anp.negative, 0.0),
    "exp": (anp.exp, 0.0),
    "log": (anp.log, 3.0),
    "log1p": (anp.log1p, 3.0),
    "expm1": (anp.expm1, 0.0),
    "sqrt": (anp.sqrt, 3.0),
    "square": (anp.square, 0.0),
    "abs": (anp.abs, 3.0),
    "sin": (anp.sin, 0.0),
    "cos": (anp.cos, 0.0),
    "tan": (lambda x: anp.tan(0.3 * x), 0.0),
    "tanh": (anp.tanh, 0.0),
    "sigmoid": (anp.sigmoid, 0.0),
    "softplus": (anp.softplus, 0.0),
    "relu": (anp.relu, 3.0),
    "x ** 3": (lambda x: x**3, 0.0),
    "2 ** x": (lambda x: 2.0**x, 0.0),
}


@pytest.mark.parametrize("name", UNARY)
@given(shape=shapes, seed=seeds)
def test_unary(name, shape, seed):
    f, shift = UNARY[name]
    rng = np.random.default_rng(seed)
    check_both(f, (rng.uniform(-1.0, 1.0, shape) + shift,), rng)


# -- elementwise, two arguments, with broadcasting ------------------------------------------------
BINARY = {
    "add": anp.add,
    "subtract": anp.subtract,
    "multiply": anp.multiply,
    "divide": anp.divide,
    "power": anp.power,
    "maximum": anp.maximum,
    "minimum": anp.minimum,
}


@pytest.mark.parametrize("name", BINARY)
@given(pair=broadcast_pairs, seed=seeds)
@example(pair=((3,), (2, 3)), seed=0)
@example(pair=((), (2, 2)), seed=1)
@example(pair=((2, 1, 4), (3, 1)), seed=2)
def test_binary_with_broadcasting(name, pair, seed):
    rng = np.random.default_rng(seed)
    # positive and well apart, so that power, divide, maximum and minimum are smooth
    x = rng.choice([1.0, 1.6, 2.2], size=pair[0]) + rng.uniform(0, 0.1, pair[0])
    y = rng.choice([1.3, 1.9], size=pair[1]) + rng.uniform(0, 0.1, pair[1])
    check_both(BINARY[name], (x, y), rng)


@given(shapes3=mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), seed=seeds)
def test_where(shapes3, seed):
    c_shape, x_shape, y_shape = shapes3.input_shapes
    rng = np.random.default_rng(seed)
    condition = rng.random(c_shape) > 0.5
    args = (rng.normal(size=x_shape), rng.normal(size=y_shape))
    check_both(lambda x, y: anp.where(condition, x, y), args, rng)


# -- reductions ---------------------------------------------------------------------------------
@st.composite
def reduction_cases(draw):
    shape = draw(nonempty_shapes)
    ndim = len(shape)
    axis = draw(st.none() | st.integers(-ndim, ndim - 1) | valid_tuple_axes(ndim, min_size=1))
    return shape, axis, draw(st.booleans())


REDUCTIONS = {
    "sum": anp.sum,
    "mean": anp.mean,
    "max": anp.max,
    "min": anp.min,
    "logsumexp": anp.logsumexp,
}


@pytest.mark.parametrize("name", REDUCTIONS)
@given(case=reduction_cases(), seed=seeds)
@example(case=((2, 3, 4), (0, -1), True), seed=0)
@example(case=((2, 3), -1, False), seed=1)
def test_reductions(name, case, seed):
    shape, axis, keepdims = case
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    x = (0.3 * rng.permutation(n)).reshape(shape)  # distinct: no ties for max and min
    f = REDUCTIONS[name]
    check_both(lambda x: f(x, axis=axis, keepdims=keepdims), (x,), rng)
    check_both(lambda x: f(x, axis, keepdims), (x,), rng)  # axis given by position


# -- shapes and indexing ----------------------------------------------------------------------
@given(shape=shapes, seed=seeds, flat=st.booleans())
def test_reshape_and_transpose(shape, seed, flat):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    target = (-1,) if flat else tuple(reversed(shape))
    check_both(lambda x: anp.reshape(x, target), (x,), rng)
    check_both(anp.transpose, (x,), rng)
    axes = tuple(rng.permutation(len(shape)) - len(shape))  # negative axes
    check_both(lambda x: anp.transpose(x, axes), (x,), rng)


@given(shape=array_shapes(min_dims=0, max_dims=3, max_side=3), seed=seeds, lead=st.integers(0, 2))
def test_broadcast_to(shape, seed, lead):
    rng = np.random.default_rng(seed)
    target = (2,) * lead + tuple(3 if n == 1 else n for n in shape)
    check_both(lambda x: anp.broadcast_to(x, target), (rng.normal(size=shape),), rng)


@given(data=st.data(), shape=nonempty_shapes, seed=seeds)
def test_getitem_basic(data, shape, seed):
    index = data.draw(basic_indices(shape, allow_newaxis=True), label="index")
    rng = np.random.default_rng(seed)
    check_both(lambda x: x[index], (rng.normal(size=shape),), rng)


@given(data=st.data(), shape=nonempty_shapes, seed=seeds)
def test_getitem_advanced(data, shape, seed):
    index = data.draw(integer_array_indices(shape), label="index")
    rng = np.random.default_rng(seed)
    check_both(lambda x: x[index], (rng.normal(size=shape),), rng)


INDICES = {  # name: (index, shape of the array indexed)
    "repeated rows": ([0, 0, 2, 0], (3, 4)),
    "arrays apart (their axes go first)": (
        (np.array([0, 2]), slice(None), np.array([1, 3])),
        (3, 2, 4),
    ),
    "slice then repeats": ((slice(None, None, -1), np.array([3, 3])), (3, 4)),
    "boolean mask": (np.array([[True, False, True, True]] * 3), (3, 4)),
    "mask and ellipsis": ((Ellipsis, np.array([True, False, True, True])), (2, 3, 4)),
    "new axis and ellipsis": ((None, Ellipsis, 1), (3, 4)),
}


@pytest.mark.parametrize("name", INDICES)
def test_getitem_named_indices(name):
    rng = np.random.default_rng(4)
    index, shape = INDICES[name]
    check_both(lambda x: x[index] * 1.5, (rng.normal(size=shape),), rng)


@given(seed=seeds, axis=st.integers(-2, 1), count=st.integers(1, 3))
def test_concatenate_and_stack_with_constants(seed, axis, count):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(2, 3))
    args = tuple(rng.normal(size=(2, 3)) for _ in range(count))
    check_both(lambda *xs: anp.concatenate([*xs, c], axis=axis), args, rng)
    check_both(lambda *xs: anp.stack([c, *xs], axis=axis), args, rng)


# -- matrix products -----------------------------------------------------------------------------
matmul_shapes = mutually_broadcastable_shapes(
    signature="(m?,n),(n,p?)->(m?,p?)", max_dims=4, max_side=3
).map(lambda b: b.input_shapes)


@given(pair=matmul_shapes, seed=seeds, which=st.sampled_from(["both", "first", "second"]))
@example(pair=((3,), (3,)), seed=0, which="both")
@example(pair=((2, 3), (3,)), seed=0, which="second")  # matrix times a batch of vectors
@example(pair=((2, 3), (3, 4)), seed=0, which="second")  # matrix times a batch of matrices
@example(pair=((2, 3), (3, 1)), seed=0, which="second")  # ... of columns
@example(pair=((2, 3), (5, 3, 4)), seed=0, which="second")
@example(pair=((5, 2, 3), (3, 4)), seed=0, which="first")  # a batch of stacks times a matrix
@example(pair=((3,), (2, 3, 4)), seed=0, which="first")
@example(pair=((2, 1, 2, 3), (4, 3, 2)), seed=0, which="both")
def test_matmul(pair, seed, which):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=pair[0]), rng.normal(size=pair[1])
    if which == "both":
        check_both(anp.matmul, (a, b), rng)
    elif which == "first":
        check_both(lambda a: a @ b, (a,), rng)
    else:
        check_both(lambda b: a @ b, (b,), rng)


# -- transforms against HIPS autograd -------------------------------------------------------------
def mlp_loss(np_, params, x, t):
    W1, b1, W2, b2 = params
    h = np_.tanh(np_.dot(x, W1) + b1)
    return 0.5 * np_.sum((np_.dot(h, W2) + b2 - t) ** 2)


RNG = np.random.default_rng(20240806)
X, T = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 2))
PARAMS = (RNG.normal(size=(3, 4)), RNG.normal(size=4), RNG.normal(size=(4, 2)), RNG.normal(size=2))


def close(a, b, rtol=1e-10):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=rtol)


def test_hessian_over_a_parameter_tuple_matches_autograd():
    H = autodiff.hessian(lambda p: mlp_loss(anp, p, X, T))(PARAMS)
    H_ag = autograd.hessian(lambda z: mlp_loss(agnp, unpack(z), X, T))(
        np.concatenate([p.ravel() for p in PARAMS])
    )
    sizes = [p.size for p in PARAMS]
    starts = np.cumsum([0, *sizes])
    for i, row in enumerate(H):
        for j, block in enumerate(row):
            expected = H_ag[starts[i] : starts[i + 1], starts[j] : starts[j + 1]]
            close(block, expected.reshape(PARAMS[i].shape + PARAMS[j].shape))


def unpack(z):
    out, start = [], 0
    for p in PARAMS:
        out.append(z[start : start + p.size].reshape(p.shape))
        start += p.size
    return tuple(out)


JACOBIAN_CASES = {
    "matrix times vector": lambda np_, x: np_.dot(PARAMS[0], np_.tanh(x[:4])) * x[0],
    "indexing, advanced": lambda np_, x: np_.sin(x)[np.array([0, 0, 3, 1])] * x[2],
    "reductions with axes": lambda np_, x: (
        np_.max(np_.reshape(x, (2, 3)), axis=1) + np_.mean(np_.reshape(x, (2, 3)) ** 2, axis=1)
    ),
    "concatenate and stack": lambda np_, x: np_.concatenate(
        [np_.stack([x[:2], np_.exp(x[2:4])], axis=1).ravel(), x[4:] ** 3]
    ),
    "softmax": lambda np_, x: np_.exp(x) / np_.sum(np_.exp(x)),
}
X6 = np.array([0.31, -0.62, 0.85, -0.17, 0.44, -0.93])


@pytest.mark.parametrize("name", JACOBIAN_CASES)
def test_jacobians_and_hessians_match_autograd(name):
    f = JACOBIAN_CASES[name]
    expected = autograd.jacobian(lambda x: f(agnp, x))(X6)
    close(autodiff.jacfwd(lambda x: f(anp, x))(X6), expected)
    close(autodiff.jacrev(lambda x: f(anp, x))(X6), expected)
    scalar = lambda np_, x: np_.sum(f(np_, x) * np_.cos(x[: f(np, X6).size]))  # noqa: E731
    H = autograd.hessian(lambda x: scalar(agnp, x))(X6)
    for outer in (autodiff.jacfwd, autodiff.jacrev):
        for inner in (autodiff.jacfwd, autodiff.jacrev):
            close(outer(inner(lambda x: scalar(anp, x)))(X6), H)


def test_third_derivatives_through_batches_match_autograd():
    """A Jacobian of a Hessian (three nested sweeps, two of them batched) and a gradient
    through a batched Jacobian."""

    def f(np_, x):
        return np_.sum(np_.sin(x) * np_.exp(0.3 * x[::-1]) + np_.tanh(x) ** 3)

    x = X6[:4]
    close(
        autodiff.jacfwd(autodiff.hessian(lambda x: f(anp, x)))(x),
        autograd.jacobian(autograd.hessian(lambda x: f(agnp, x)))(x),
    )
    close(
        autodiff.grad(lambda x: anp.sum(autodiff.jacfwd(lambda x: anp.sin(x) * x[0])(x) ** 2))(x),
        autograd.grad(lambda x: agnp.sum(autograd.jacobian(lambda x: agnp.sin(x) * x[0])(x) ** 2))(
            x
        ),
    )


def test_jacobian_in_several_batches_equals_one_batch(monkeypatch):
    """Large Jacobians are swept in several batches to bound memory: same result."""
    f = JACOBIAN_CASES["concatenate and stack"]
    one = autodiff.jacfwd(lambda x: f(anp, x))(X6), autodiff.jacrev(lambda x: f(anp, x))(X6)
    monkeypatch.setattr(transforms, "BATCH_ELEMENTS", 13)  # batches of two directions
    assert transforms._batch_size(6) == 2
    several = autodiff.jacfwd(lambda x: f(anp, x))(X6), autodiff.jacrev(lambda x: f(anp, x))(X6)
    close(several[0], one[0], rtol=0)
    close(several[1], one[1], rtol=0)


def test_jacobian_of_a_constant_output_is_zero():
    for jac in (autodiff.jacfwd, autodiff.jacrev):
        J = jac(lambda x: x[0] * 0.0 + np.arange(3.0))(X6[:2])
        np.testing.assert_array_equal(J, np.zeros((3, 2)))


def test_perturbation_confusion_with_batched_jacobians():
    """d/dx [x * (jacobian of y -> x + y)] = identity-sized ones, not twice."""
    for outer in (autodiff.jacfwd, autodiff.jacrev):
        for inner in (autodiff.jacfwd, autodiff.jacrev):
            J = outer(lambda x: anp.sum(x * inner(lambda y: x + y)(np.ones(2)), axis=1))(np.ones(2))
            np.testing.assert_array_equal(J, np.eye(2))


def test_hessian_is_the_same_on_repeated_calls():
    f = lambda x: mlp_loss(anp, (x.reshape(3, 4), *PARAMS[1:]), X, T)  # noqa: E731
    x = PARAMS[0].ravel()
    np.testing.assert_array_equal(autodiff.hessian(f)(x), autodiff.hessian(f)(x))


def test_batched_jacobian_through_a_long_chain_needs_no_recursion():
    def f(x):
        for _ in range(20_000):
            x = x * 1.0001
        return x

    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        J = autodiff.jacfwd(f)(np.ones(2))
        K = autodiff.jacrev(f)(np.ones(2))
    finally:
        sys.setrecursionlimit(previous)
    np.testing.assert_allclose(J, np.eye(2) * 1.0001**20_000, rtol=1e-9)
    np.testing.assert_allclose(K, J, rtol=1e-12)


def test_a_primitive_without_batching_rule_is_named(monkeypatch):
    from autodiff.numpy import primitives as p

    monkeypatch.setattr(p.sum_, "batch", None)  # the tangent of a sum is the sum of tangents
    with pytest.raises(NotImplementedError, match="sum"):
        autodiff.jacfwd(lambda x: anp.sum(x) * x)(np.ones(2))


# -- batch sizes from the intermediates ---------------------------------------------------------
def batch_sizes(monkeypatch):
    """The number of directions in every batch swept from now on (a single direction swept
    without a batch, as by a scalar's ``jacrev``, is not listed)."""
    sizes = []
    unit_batch = transforms._unit_batch

    def spy(start, stop, shapes, level):
        if level is not None:
            sizes.append(stop - start)
        return unit_batch(start, stop, shapes, level)

    monkeypatch.setattr(transforms, "_unit_batch", spy)
    return sizes


def test_measure_notes_the_largest_member_of_its_own_level_only():
    """A member of the batch makes a 1000 x 3 intermediate; a batch nested in each member
    multiplies its size, and values of other levels do not count."""
    C = np.linspace(-1.0, 1.0, 1000)

    def f(x):
        return anp.sum(anp.tanh(C[:, None] * x[None, :]), axis=0)

    x = np.array([0.3, -0.2, 0.5])
    rng = np.random.default_rng(0)
    level = new_level()
    tangents = Batched(rng.normal(size=(4, 3)), level)
    (_, out), largest = batching.measure(level, lambda: autodiff.jvp(f, (x,), (tangents,)))
    assert largest == 1000 * 3  # one member's share of the (4, 1000, 3) tangent of tanh
    assert out._value.shape == (4, 3)
    # jacfwd(f) sweeps e_0 alone, then e_1 and e_2 as one batch: inside each member of the
    # outer batch, the second sweep's values are 2 x 1000 x 3
    level = new_level()
    tangents = Batched(rng.normal(size=(4, 3)), level)
    (_, out), largest = batching.measure(
        level, lambda: autodiff.jvp(autodiff.jacfwd(f), (x,), (tangents,))
    )
    assert largest == 2 * 1000 * 3
    _, largest = batching.measure(new_level(), lambda: autodiff.jacfwd(f)(x))
    assert largest == 0  # jacfwd's batches have levels of their own
    assert batching._largest == {}
    with pytest.raises(ZeroDivisionError):
        batching.measure(new_level(), lambda: 1 / 0)
    assert batching._largest == {}


def test_measures_of_sweeps_in_two_threads_stay_apart():
    """Two threads measure at once, each in the middle of its sweep while the other runs."""
    barrier = threading.Barrier(2, timeout=10)
    found = {}

    def run(name, rows):
        A = np.ones((rows, 5))

        def f(x):
            y = anp.tanh(A @ x)
            barrier.wait()
            return anp.sum(anp.exp(A @ x) + y)

        level = new_level()
        tangents = Batched(np.eye(5), level)
        _, found[name] = batching.measure(
            level, lambda: autodiff.jvp(f, (np.zeros(5),), (tangents,))
        )

    threads = [threading.Thread(target=run, args=(k, rows)) for k, rows in (("a", 7), ("b", 300))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == {"a": 7, "b": 300}
    assert batching._largest == {}


def wide(x):
    """Each input direction makes 1000 x 40 numbers: ``jacfwd`` cannot take all 40 at once."""
    return anp.sum(anp.tanh(np.linspace(-1.0, 1.0, 1000)[:, None] * x[None, :]), axis=0)


def narrow(x):
    return anp.sin(x) * x


def check_batches(sizes, n, member, probe):
    """The ``n`` directions in as few batches of even size as keep a batch of values of
    ``member`` numbers near ``BATCH_ELEMENTS``; with ``probe``, after ``e_0`` alone."""
    most = max(1, round(transforms.BATCH_ELEMENTS / member))
    rest = sizes[1:] if probe else sizes
    assert sum(sizes) == n and (sizes[0] == 1 or not probe)
    assert len(rest) == -(-(n - probe) // most)
    assert max(rest) <= most and max(rest) - min(rest) <= 1


def test_batches_are_smaller_for_larger_intermediates(monkeypatch):
    """jacfwd measures what e_0 alone makes; jacrev expects the size of its cotangents from
    the values its forward pass recorded, and hessian from a recording of the function, and
    measure their first batch."""
    x = np.linspace(-1.0, 1.0, 40)
    sizes = batch_sizes(monkeypatch)
    autodiff.jacfwd(narrow)(x)
    assert sizes == [1, 39]  # the first direction measures, then everything else at once
    sizes.clear()
    J = autodiff.jacfwd(wide)(x)
    check_batches(sizes, 40, 1000 * 40, probe=True)
    assert len(sizes) > 2
    C = np.linspace(-1.0, 1.0, 1000)[:, None]
    np.testing.assert_allclose(J, np.diag(np.sum(C * (1 - np.tanh(C * x) ** 2), axis=0)))
    sizes.clear()
    autodiff.jacrev(narrow)(x)
    assert sizes == [40]
    sizes.clear()
    np.testing.assert_allclose(autodiff.jacrev(wide)(x), J)  # the same 1000 x 40 cotangents
    check_batches(sizes, 40, 1000 * 40, probe=False)
    assert len(sizes) > 1
    # the Hessian of a two-layer network: every weight's direction makes N x M values
    error, w = two_layer_error(N=1000, M=38)
    sizes.clear()
    autodiff.hessian(error)(w)
    check_batches(sizes, w.size, 1000 * 38, probe=False)
    assert len(sizes) > 1
    error, w = two_layer_error(N=10, M=38)
    sizes.clear()
    autodiff.hessian(error)(w)
    assert sizes == [w.size]
    sizes.clear()
    autodiff.jacfwd(autodiff.jacrev(error))(w)  # the same, without expecting: e_0 first
    assert sizes == [1, w.size - 1]


def test_a_first_batch_larger_than_expected_sizes_the_others(monkeypatch):
    """Told to expect values ten times smaller than ``wide`` makes, jacfwd sweeps a first
    batch of ten directions, measures it and sweeps the rest one at a time."""
    x = np.linspace(-1.0, 1.0, 40)
    J = autodiff.jacfwd(wide)(x)
    monkeypatch.setattr(transforms, "BATCH_ELEMENTS", 4000)
    sizes = batch_sizes(monkeypatch)
    close(transforms._jacfwd(wide, 0, lambda args, kwargs: 400)(x), J, rtol=1e-15)
    assert sizes == [10] + [1] * 30


def two_layer_error(N=1000, D=10, M=38, seed=0):
    """The sum-of-squares error of a tanh network with K = 2 outputs on N points, as a
    function of its flat weights, and weights at which to differentiate it."""
    rng = np.random.default_rng(seed)
    X, T = rng.normal(size=(N, D)), rng.normal(size=(N, 2))
    sizes = np.cumsum([0, D * M, M, M * 2, 2])

    def error(w):
        W1, b1, W2, b2 = (
            anp.reshape(w[a:b], s)
            for a, b, s in zip(sizes[:-1], sizes[1:], [(D, M), (M,), (M, 2), (2,)])
        )
        return 0.5 * anp.sum((anp.tanh(X @ W1 + b1) @ W2 + b2 - T) ** 2)

    return error, rng.normal(size=sizes[-1]) / np.sqrt(D)


def test_hessian_in_batches_equals_one_batch_and_one_hvp_per_column(monkeypatch):
    """The dense Hessian of the network swept in batches sized to its N x M intermediates,
    against one batch of every direction (made by hand, as jacfwd swept before batches were
    sized) and one Hessian-vector product per column; in batches of one, the latter exactly.

    BLAS may sum matrix products of other shapes in another order (OpenBLAS has kernels of
    its own for small products), so results depend on the batch size in the last digits: the
    two references differ from each other by up to 1.4e-15 of the largest entry, and the
    Hessian in batches differs from either by no more."""
    error, w = two_layer_error()
    n = w.size
    level = new_level()
    _, one_batch = autodiff.jvp(autodiff.grad(error), (w,), (Batched(np.eye(n), level),))
    one_batch = one_batch._value.T
    per_column = np.stack([autodiff.hvp(error, w, e) for e in np.eye(n)], axis=1)
    sizes = batch_sizes(monkeypatch)
    H = autodiff.hessian(error)(w)
    check_batches(sizes, n, 1000 * 38, probe=False)
    scale = np.max(np.abs(H))
    np.testing.assert_allclose(per_column, one_batch, rtol=0, atol=2e-15 * scale)
    np.testing.assert_allclose(H, one_batch, rtol=0, atol=2e-15 * scale)
    np.testing.assert_allclose(H, per_column, rtol=0, atol=2e-15 * scale)
    monkeypatch.setattr(transforms, "BATCH_ELEMENTS", 1)
    sizes.clear()
    np.testing.assert_array_equal(autodiff.hessian(error)(w), per_column)
    assert sizes == [1] * n


@pytest.mark.parametrize("name", JACOBIAN_CASES)
def test_nested_jacobians_in_small_batches_match_autograd(monkeypatch, name):
    """Every composition of jacfwd and jacrev with batches of a few members, so that the
    outer and the inner transform each sweep in several batches and measure their own."""
    monkeypatch.setattr(transforms, "BATCH_ELEMENTS", 24)
    f = JACOBIAN_CASES[name]
    close(autodiff.jacfwd(lambda x: f(anp, x))(X6), autograd.jacobian(lambda x: f(agnp, x))(X6))
    close(autodiff.jacrev(lambda x: f(anp, x))(X6), autograd.jacobian(lambda x: f(agnp, x))(X6))
    scalar = lambda np_, x: np_.sum(f(np_, x) * np_.cos(x[: f(np, X6).size]))  # noqa: E731
    H = autograd.hessian(lambda x: scalar(agnp, x))(X6)
    close(autodiff.hessian(lambda x: scalar(anp, x))(X6), H)
    for outer in (autodiff.jacfwd, autodiff.jacrev):
        for inner in (autodiff.jacfwd, autodiff.jacrev):
            close(outer(inner(lambda x: scalar(anp, x)))(X6), H)
    close(
        autodiff.jacfwd(autodiff.jacrev(lambda x: f(anp, x)))(X6),
        autograd.jacobian(autograd.jacobian(lambda x: f(agnp, x)))(X6),
    )


def test_third_derivatives_and_perturbation_confusion_in_small_batches(monkeypatch):
    monkeypatch.setattr(transforms, "BATCH_ELEMENTS", 10)
    test_third_derivatives_through_batches_match_autograd()
    test_perturbation_confusion_with_batched_jacobians()
    test_hessian_over_a_parameter_tuple_matches_autograd()
