"""The transforms (``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``jacfwd``, ``jacrev``,
``hessian``, ``hvp``) and their nestings, against HIPS autograd as an independent oracle.

The test functions are compositions of primitives written once against a NumPy-like
module, so the same code runs under ``autodiff.numpy`` and ``autograd.numpy``.  Where
autograd 1.9 is known to be wrong (``np.where`` does not unbroadcast its gradient,
``broadcast_to`` fails when it adds leading axes) central differences are the oracle.
"""

from __future__ import annotations

import autograd
import autograd.numpy as agnp
import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from autodiff.numerical import central_difference, numerical_jacobian

RTOL = 1e-10
RNG = np.random.default_rng(20240806)


def close(actual, expected, rtol=RTOL):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol)


def close_tree(actual, expected, rtol=RTOL):
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected)
        for key in expected:
            close_tree(actual[key], expected[key], rtol)
    elif isinstance(expected, (tuple, list)):
        assert type(actual) is type(expected) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            close_tree(a, e, rtol)
    else:
        close(actual, expected, rtol)


# -- test functions, written once for either NumPy-like module ---------------------------------
def mlp_loss(np_, W1, b1, W2, b2, x, t):
    """Sum-of-squares error of a two-layer tanh network (8.15)-(8.18) on a batch."""
    h = np_.tanh(np_.dot(x, W1) + b1)
    y = np_.dot(h, W2) + b2
    return 0.5 * np_.sum((y - t) ** 2) / x.shape[0]


def softmax_cross_entropy(np_, W, x, labels):
    """Cross-entropy of softmax outputs (8.29) with a max-shifted log-sum-exp."""
    a = np_.dot(x, W)
    shifted = a - np_.max(a, axis=1, keepdims=True)
    log_p = shifted - np_.log(np_.sum(np_.exp(shifted), axis=1, keepdims=True))
    return -np_.sum(labels * log_p) / x.shape[0]


def rational(np_, x):
    """A vector-valued rational function of a vector (indexing and broadcasting)."""
    num = x[0] * x[1] + x[2] ** 3 - x
    den = 1.0 + x**2 + x[0] ** 2
    return num / den


def rational_scalar(np_, x):
    return np_.sum(rational(np_, x) * np_.sin(x))


def scalar_chain(np_, x):
    return np_.sin(x) * np_.exp(0.5 * x) / (1.0 + x**2) + np_.tanh(x) ** 3


# -- fixtures ------------------------------------------------------------------------------------
N, D, H, K = 5, 3, 4, 2
X = RNG.normal(size=(N, D))
T = RNG.normal(size=(N, K))
PARAMS = (
    RNG.normal(size=(D, H)),
    RNG.normal(size=H),
    RNG.normal(size=(H, K)),
    RNG.normal(size=K),
)
LABELS = np.eye(3)[RNG.integers(0, 3, size=N)]
W_SOFTMAX = RNG.normal(size=(D, 3))
X3 = np.array([0.4, -0.7, 1.1])


def test_grad_of_mlp_loss_over_a_parameter_tuple():
    f_ad = lambda params: mlp_loss(anp, *params, X, T)  # noqa: E731
    f_ag = lambda params: mlp_loss(agnp, *params, X, T)  # noqa: E731
    g = autodiff.grad(f_ad)(PARAMS)
    assert isinstance(g, tuple)
    close_tree(g, autograd.grad(f_ag)(PARAMS))


def test_value_and_grad_of_softmax_cross_entropy():
    value, g = autodiff.value_and_grad(softmax_cross_entropy, argnums=1)(anp, W_SOFTMAX, X, LABELS)
    value_ag, g_ag = autograd.value_and_grad(softmax_cross_entropy, 1)(agnp, W_SOFTMAX, X, LABELS)
    close(value, value_ag)
    close(g, g_ag)


@pytest.mark.parametrize("argnums", [(1, 4), (4, 1), (1,), (-3, 2), 3])
def test_argnums(argnums):
    args = (*PARAMS, X, T)
    g = autodiff.grad(lambda *a: mlp_loss(anp, *a), argnums=argnums)(*args)
    f_ag = lambda *a: mlp_loss(agnp, *a)  # noqa: E731
    if isinstance(argnums, int):
        close(g, autograd.grad(f_ag, argnums)(*args))
        return
    assert isinstance(g, tuple) and len(g) == len(argnums)
    for gi, n in zip(g, argnums):
        close(gi, autograd.grad(f_ag, n % len(args))(*args))


JACOBIAN_CASES = {
    "rational": (rational, X3),
    "softmax rows": (
        lambda np_, w: (
            np_.exp(np_.dot(X, w)) / np_.sum(np_.exp(np_.dot(X, w)), axis=1, keepdims=True)
        ),
        W_SOFTMAX,
    ),
    "matrix to scalar": (lambda np_, w: np_.sum(np_.tanh(w) ** 2), W_SOFTMAX),
}


@pytest.mark.parametrize("name", JACOBIAN_CASES)
def test_jacfwd_equals_jacrev_equals_autograd(name):
    f, x = JACOBIAN_CASES[name]
    expected = autograd.jacobian(lambda x: f(agnp, x))(x)
    forward = autodiff.jacfwd(lambda x: f(anp, x))(x)
    reverse = autodiff.jacrev(lambda x: f(anp, x))(x)
    close(forward, expected)
    close(reverse, expected)


def test_jacobians_with_argnums_tuple():
    def f(np_, a, b):
        return np_.tanh(np_.dot(a, b)) * b[0]

    a, b = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 2))
    for jac in (autodiff.jacfwd, autodiff.jacrev):
        ja, jb = jac(lambda a, b: f(anp, a, b), argnums=(0, 1))(a, b)
        close(ja, autograd.jacobian(lambda a, b: f(agnp, a, b), 0)(a, b))
        close(jb, autograd.jacobian(lambda a, b: f(agnp, a, b), 1)(a, b))


HESSIAN_CASES = {
    "rational": (rational_scalar, X3),
    "mlp, first layer": (lambda np_, W1: mlp_loss(np_, W1, *PARAMS[1:], X, T), PARAMS[0]),
    "softmax cross-entropy": (
        lambda np_, w: softmax_cross_entropy(np_, w, X, LABELS),
        W_SOFTMAX,
    ),
}


@pytest.mark.parametrize("name", HESSIAN_CASES)
def test_hessian_and_hvp_match_autograd(name):
    f, x = HESSIAN_CASES[name]
    expected = autograd.hessian(lambda x: f(agnp, x))(x)
    H_ad = autodiff.hessian(lambda x: f(anp, x))(x)
    close(H_ad, expected)
    v = RNG.normal(size=x.shape)
    Hv = autodiff.hvp(lambda x: f(anp, x), x, v)
    close(Hv, np.tensordot(expected, v, axes=v.ndim))


@pytest.mark.parametrize("outer", ["jacfwd", "jacrev"])
@pytest.mark.parametrize("inner", ["jacfwd", "jacrev"])
def test_every_composition_of_jacobians_is_the_hessian(outer, inner):
    f = lambda x: rational_scalar(anp, x)  # noqa: E731
    expected = autograd.hessian(lambda x: rational_scalar(agnp, x))(X3)
    outer_t, inner_t = getattr(autodiff, outer), getattr(autodiff, inner)
    grad_like = inner_t(f)
    close(outer_t(grad_like)(X3), expected)


def test_hessian_blocks_with_argnums_tuple():
    def f(np_, a, b):
        return np_.sum(np_.sin(a * b) + a**2 * np_.exp(b))

    a, b = RNG.normal(size=3), RNG.normal(size=3)
    (Haa, Hab), (Hba, Hbb) = autodiff.hessian(lambda a, b: f(anp, a, b), argnums=(0, 1))(a, b)
    g = lambda i: autograd.grad(lambda a, b: f(agnp, a, b), i)  # noqa: E731
    close(Haa, autograd.jacobian(g(0), 0)(a, b))
    close(Hab, autograd.jacobian(g(0), 1)(a, b))
    close(Hba, autograd.jacobian(g(1), 0)(a, b))
    close(Hbb, autograd.jacobian(g(1), 1)(a, b))


@pytest.mark.parametrize("x", [0.7, -1.3, 2.0])
def test_third_derivative(x):
    d3 = autodiff.grad(autodiff.grad(autodiff.grad(lambda x: scalar_chain(anp, x))))(x)
    ag = autograd.grad(autograd.grad(autograd.grad(lambda x: scalar_chain(agnp, x))))(x)
    close(d3, ag)

    # the same third derivative from forward mode three times
    def d(f):
        return lambda x: autodiff.jvp(f, (x,), (1.0,))[1]

    close(d(d(d(lambda x: scalar_chain(anp, x))))(x), ag)


def test_grad_inside_grad():
    """h(x) = sum(g(x)^2) where g(x) is itself a gradient taken at fixed y0."""
    y0 = np.array([0.3, -0.8, 0.5])

    def h(np_, grad, x):
        g = grad(lambda y: np_.sum(np_.tanh(x * y) * y))(y0)
        return np_.sum(g**2 * x)

    close(
        autodiff.grad(lambda x: h(anp, autodiff.grad, x))(X3),
        autograd.grad(lambda x: h(agnp, autograd.grad, x))(X3),
    )


# -- every primitive inside one function, to third order ----------------------------------------
# The functions autograd.numpy lacks, written there from its own primitives.
def expit(x):
    """The logistic sigmoid in HIPS autograd (without its scipy wrapper, so that the oracle
    needs no scipy)."""
    return 0.5 * (agnp.tanh(0.5 * x) + 1.0)


def logsumexp(x):
    shift = agnp.max(x)
    return agnp.log(agnp.sum(agnp.exp(x - shift))) + shift


AD_EXTRA = (anp.sigmoid, anp.softplus, anp.logsumexp, anp.relu)
AG_EXTRA = (expit, lambda x: agnp.logaddexp(0.0, x), logsumexp, lambda x: agnp.maximum(x, 0.0))


def kitchen_sink(np_, extra, x):
    """A scalar function of six numbers through nearly every primitive (where with equal
    shapes only, no broadcast_to: autograd 1.9 gets those wrong)."""
    sigmoid, softplus, lse, relu = extra
    M = np_.reshape(x[:6], (2, 3))
    a = np_.sum(np_.exp(M) * np_.log1p(M**2)) + np_.sum(np_.sqrt(np_.square(M) + 1.0))
    b = np_.sum(np_.tanh(np_.transpose(M)) @ np_.cos(M))
    c = np_.max(np_.sin(M), axis=1) @ np_.min(M * M, axis=0)[:2]
    d = np_.var(M, axis=0) @ np_.std(M, axis=0) + np_.mean(np_.abs(M + 3.0))
    e = np_.sum(np_.concatenate([M, M[:, ::-1] ** 3], axis=1)[:, [0, 0, 4]] ** 2)
    f = np_.sum(np_.stack([M, np_.swapaxes(np_.expand_dims(M, 0), 1, 2)[0].T], axis=-1) ** 3)
    g = np_.trace(np_.outer(x[:3], x[3:6])) + np_.dot(
        np_.ravel(M)[:3], np_.squeeze(np_.reshape(x[3:6], (1, 3)))
    )
    h = np_.sum(np_.where(M > 0, M**2, -(M**3))) + np_.sum(
        np_.maximum(M, 0.2 * M) * np_.minimum(M, x[5])
    )
    i = np_.sum(sigmoid(M) * softplus(M) + relu(M) ** 2) + lse(M)
    j = np_.sum(np_.tan(0.3 * M) * np_.expm1(0.2 * M) / (2.0 + M) ** 1.5)
    return a + b + c + d + e + f + g + h + i + j


X6 = np.array([0.31, -0.62, 0.85, -0.17, 0.44, -0.93])


def test_kitchen_sink_hessian_matches_autograd():
    H = autodiff.hessian(lambda x: kitchen_sink(anp, AD_EXTRA, x))(X6)
    close(H, autograd.hessian(lambda x: kitchen_sink(agnp, AG_EXTRA, x))(X6))


def test_kitchen_sink_third_derivative_matches_autograd():
    """grad_x (v^T H(x) u) with H(x) u by forward over reverse: three nested traces."""
    u, v = RNG.normal(size=6), RNG.normal(size=6)
    f_ad = lambda x: kitchen_sink(anp, AD_EXTRA, x)  # noqa: E731
    f_ag = lambda x: kitchen_sink(agnp, AG_EXTRA, x)  # noqa: E731
    third = autodiff.grad(lambda x: anp.dot(autodiff.hvp(f_ad, x, u), v))(X6)

    def ag_vHu(x):
        return agnp.dot(autograd.grad(lambda x: agnp.dot(autograd.grad(f_ag)(x), u))(x), v)

    close(third, autograd.grad(ag_vHu)(X6))


# -- perturbation confusion: each transform must only see its own perturbation -----------------
def derivative(mode):
    """d/dx of a scalar function of a scalar by the given mode."""
    if mode == "reverse":
        return autodiff.grad
    return lambda f: lambda x: autodiff.jvp(f, (x,), (np.ones_like(x),))[1]


MODES = ["reverse", "forward"]


@pytest.mark.parametrize("outer", MODES)
@pytest.mark.parametrize("inner", MODES)
def test_perturbation_confusion(outer, inner):
    """d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1 (a confused implementation gives 2)."""
    D_out, D_in = derivative(outer), derivative(inner)
    result = D_out(lambda x: x * D_in(lambda y: x + y)(np.array(1.0)))(np.array(1.0))
    assert float(result) == 1.0


@pytest.mark.parametrize("outer", MODES)
@pytest.mark.parametrize("inner", MODES)
def test_perturbation_confusion_with_product(outer, inner):
    """d/dx [x * d/dy (x y)] = d/dx [x^2] = 2x."""
    D_out, D_in = derivative(outer), derivative(inner)
    x = np.array(3.0)
    assert float(D_out(lambda x: x * D_in(lambda y: x * y)(np.array(2.0)))(x)) == 6.0


# -- pytrees ----------------------------------------------------------------------------------
def test_grad_over_a_dict_of_arrays():
    params = {"W": PARAMS[0], "b": PARAMS[1]}

    def f(np_, p):
        return np_.sum(np_.tanh(np_.dot(X, p["W"]) + p["b"]) ** 2)

    g = autodiff.grad(lambda p: f(anp, p))(params)
    close_tree(g, autograd.grad(lambda p: f(agnp, p))(params))


def test_grad_over_a_list_of_arrays():
    params = [PARAMS[0], PARAMS[1]]

    def f(np_, p):
        return np_.sum(np_.sin(np_.dot(X, p[0])) * p[1])

    g = autodiff.grad(lambda p: f(anp, p))(params)
    assert isinstance(g, list)
    close_tree(g, autograd.grad(lambda p: f(agnp, p))(params))


def test_nested_pytree_input():
    tree = {"layer": (PARAMS[0], [PARAMS[1]]), "scale": np.array(1.5)}

    def f(np_, t):
        W, (b,) = t["layer"]
        return t["scale"] * np_.sum(np_.tanh(np_.dot(X, W) + b))

    g = autodiff.grad(lambda t: f(anp, t))(tree)
    assert isinstance(g["layer"], tuple) and isinstance(g["layer"][1], list)
    close_tree(g, autograd.grad(lambda t: f(agnp, t))(tree))


def tree_output(np_, x):
    return {"vector": np_.sin(x) * x[0], "pair": (np_.sum(x**2), np_.exp(x[1:]))}


@pytest.mark.parametrize("jac", ["jacfwd", "jacrev"])
def test_jacobian_of_a_pytree_output(jac):
    J = getattr(autodiff, jac)(lambda x: tree_output(anp, x))(X3)
    expected = {
        "vector": autograd.jacobian(lambda x: tree_output(agnp, x)["vector"])(X3),
        "pair": (
            autograd.jacobian(lambda x: tree_output(agnp, x)["pair"][0])(X3),
            autograd.jacobian(lambda x: tree_output(agnp, x)["pair"][1])(X3),
        ),
    }
    close_tree(J, expected)


def test_vjp_and_jvp_with_pytree_inputs_and_outputs():
    def f(np_, p):
        return (np_.tanh(p["a"]) * p["b"], [np_.sum(p["a"] ** 2)])

    p = {"a": RNG.normal(size=3), "b": RNG.normal(size=3)}
    out, vjp_fn = autodiff.vjp(lambda p: f(anp, p), p)
    ct = (RNG.normal(size=3), [np.array(0.7)])
    (g,) = vjp_fn(ct)

    def weighted(np_, p):
        out = f(np_, p)
        return np_.sum(out[0] * ct[0]) + out[1][0] * ct[1][0]

    close_tree(out, f(np, p))
    close_tree(g, autograd.grad(lambda p: weighted(agnp, p))(p))
    tangent = {"a": RNG.normal(size=3), "b": RNG.normal(size=3)}
    out_f, t_out = autodiff.jvp(lambda p: f(anp, p), (p,), (tangent,))
    close_tree(out_f, f(np, p))
    Ja = autograd.jacobian(lambda a: f(agnp, {"a": a, "b": p["b"]})[0])(p["a"])
    Jb = autograd.jacobian(lambda b: f(agnp, {"a": p["a"], "b": b})[0])(p["b"])
    close(t_out[0], Ja @ tangent["a"] + Jb @ tangent["b"])
    close(t_out[1][0], 2.0 * p["a"] @ tangent["a"])


def test_has_aux():
    def loss_with_aux(np_, w):
        residual = np_.dot(X, w) - T[:, 0]
        return np_.sum(residual**2), {"residual": residual}

    w = RNG.normal(size=D)
    g, aux = autodiff.grad(lambda w: loss_with_aux(anp, w), has_aux=True)(w)
    close(g, autograd.grad(lambda w: loss_with_aux(agnp, w)[0])(w))
    assert type(aux["residual"]) is np.ndarray
    close(aux["residual"], X @ w - T[:, 0])
    (value, aux2), g2 = autodiff.value_and_grad(lambda w: loss_with_aux(anp, w), has_aux=True)(w)
    close(value, np.sum((X @ w - T[:, 0]) ** 2))
    close(g2, g)
    close(aux2["residual"], aux["residual"])


def test_has_aux_requires_a_pair():
    with pytest.raises(TypeError, match="pair"):
        autodiff.grad(lambda w: anp.sum(w), has_aux=True)(np.ones(2))


# -- where autograd 1.9 is wrong: central differences -------------------------------------------
def test_where_with_broadcast_branches_against_central_differences():
    """autograd 1.9 does not unbroadcast the gradient of a branch of np.where."""
    x = RNG.normal(size=(4, 3))
    b = RNG.uniform(0.5, 1.5, size=3)
    c = np.array(0.8)

    def f(b, c):
        return anp.sum(anp.where(x > 0, x * b, b**2 * c) ** 2)

    gb, gc = autodiff.grad(f, argnums=(0, 1))(b, c)
    assert gb.shape == (3,) and gc.shape == ()
    close(gb, central_difference(lambda b: f(b, c), b), rtol=1e-7)
    close(gc, central_difference(lambda c: f(b, c), c), rtol=1e-7)
    H = autodiff.hessian(lambda b: f(b, c))(b)
    close(H, numerical_jacobian(autodiff.grad(lambda b: f(b, c)), b), rtol=1e-7)


def test_broadcast_to_adding_leading_axes_against_central_differences():
    """autograd 1.9 fails on broadcast_to when it adds leading axes (its issue #384)."""
    b = RNG.normal(size=(2, 1))
    w = RNG.normal(size=(4, 2, 3))

    def f(b):
        return anp.sum(w * anp.sin(anp.broadcast_to(b, (4, 2, 3))))

    g = autodiff.grad(f)(b)
    close(g, central_difference(f, b), rtol=1e-7)
    H = autodiff.hessian(f)(b)
    assert H.shape == (2, 1, 2, 1)
    close(H, numerical_jacobian(autodiff.grad(f), b), rtol=1e-7)
    J_fwd = autodiff.jacfwd(lambda b: anp.broadcast_to(b, (4, 2, 3)))(b)
    J_rev = autodiff.jacrev(lambda b: anp.broadcast_to(b, (4, 2, 3)))(b)
    close(J_fwd, numerical_jacobian(lambda b: np.broadcast_to(b, (4, 2, 3)), b), rtol=1e-7)
    close(J_rev, J_fwd)


# -- inputs ---------------------------------------------------------------------------------
def test_python_numbers_and_integers_are_accepted():
    g = autodiff.grad(lambda x: scalar_chain(anp, x))(2)
    close(g, autograd.grad(lambda x: scalar_chain(agnp, x))(2.0))
    assert np.asarray(g).dtype == np.float64
    out, t = autodiff.jvp(lambda x: x**2, (3,), (1,))
    assert float(out) == 9.0 and float(t) == 6.0


def test_vjp_fn_can_be_called_repeatedly():
    out, vjp_fn = autodiff.vjp(lambda x: rational(anp, x), X3)
    J = autograd.jacobian(lambda x: rational(agnp, x))(X3)
    for ct in (np.eye(3)[0], np.eye(3)[2], np.eye(3)[0]):
        close(vjp_fn(ct)[0], ct @ J)


def test_output_independent_of_input_has_zero_derivative():
    c = np.arange(3.0)
    g = autodiff.grad(lambda x: anp.sum(c))(X3)
    np.testing.assert_array_equal(g, np.zeros(3))
    _, t = autodiff.jvp(lambda x: c * 2.0, (X3,), (np.ones(3),))
    np.testing.assert_array_equal(t, np.zeros(3))
    J = autodiff.jacrev(lambda x: x[0] * 0.0 + c)(X3)
    np.testing.assert_array_equal(J, np.zeros((3, 3)))
