"""``Tensor``: the imperative front end, checked against central differences (8.25) and
against the ``autodiff`` transforms on the same functions."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from autodiff.numerical import central_difference
from autodiff.tensor import Tensor

RNG = np.random.default_rng(20240807)
RTOL = 1e-7  # central differences


def backward_grads(f, *arrays):
    """Leaf gradients of the scalar ``f(*tensors)`` after one ``backward()``."""
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = f(*leaves)
    assert isinstance(out, Tensor)
    out.backward()
    return out, [leaf.grad for leaf in leaves]


def numerical_grads(f, *arrays):
    grads = []
    for i, a in enumerate(arrays):

        def partial(x, i=i):
            full = list(arrays)
            full[i] = x
            return f(*full)

        grads.append(central_difference(partial, a))
    return grads


def check(f, *arrays):
    """``backward()`` against central differences and against ``autodiff.grad``."""
    out, grads = backward_grads(f, *arrays)
    np.testing.assert_allclose(out.item(), f(*arrays), rtol=1e-14)
    for g, a, expected in zip(grads, arrays, numerical_grads(f, *arrays)):
        assert g.shape == np.shape(a) and g.dtype == np.float64
        np.testing.assert_allclose(g, expected, rtol=RTOL, atol=RTOL)
    by_transform = autodiff.grad(f, argnums=tuple(range(len(arrays))))(*arrays)
    for g, expected in zip(grads, by_transform):
        np.testing.assert_allclose(g, expected, rtol=1e-14, atol=1e-15)


def mlp_loss(W1, b1, W2, x, t):
    h = anp.tanh(x @ W1 + b1)
    return anp.mean((h @ W2 - t) ** 2)


X = RNG.normal(size=(6, 3))
T = RNG.normal(size=(6, 2))


def test_backward_on_a_two_layer_network_with_bias_broadcasting():
    W1, b1, W2 = RNG.normal(size=(3, 4)), RNG.normal(size=4), RNG.normal(size=(4, 2))
    check(lambda W1, b1, W2: mlp_loss(W1, b1, W2, X, T), W1, b1, W2)


def test_bias_gradient_is_summed_over_the_batch():
    b = Tensor(np.zeros(3), requires_grad=True)
    anp.sum(Tensor(X) + b).backward()
    np.testing.assert_array_equal(b.grad, np.full(3, 6.0))


# -- mixing with NumPy arrays and Python numbers on both sides -----------------------------------
A = RNG.uniform(0.5, 1.5, size=(2, 3))
C = RNG.uniform(0.5, 1.5, size=(3,))
MIXED = {
    "tensor + number": lambda a: anp.sum(a + 2.0),
    "number + tensor": lambda a: anp.sum(2 + a * a),
    "tensor - number": lambda a: anp.sum((a - 1.0) ** 2),
    "number - tensor": lambda a: anp.sum((1.0 - a) ** 3),
    "tensor * number": lambda a: anp.sum(a * 3.0 * a),
    "number * tensor": lambda a: anp.sum(3 * anp.sin(a)),
    "tensor / number": lambda a: anp.sum((a / 4.0) ** 2),
    "number / tensor": lambda a: anp.sum(4.0 / a),
    "tensor ** number": lambda a: anp.sum(a**2.5),
    "number ** tensor": lambda a: anp.sum(2.0**a),
    "array + tensor": lambda a: anp.sum((C + a) ** 2),
    "tensor + array": lambda a: anp.sum((a + C) ** 2),
    "array - tensor": lambda a: anp.sum((C - a) ** 2),
    "array * tensor": lambda a: anp.sum(C * a * a),
    "tensor / array": lambda a: anp.sum(a * a / C),
    "array / tensor": lambda a: anp.sum(C / a),
    "array ** tensor": lambda a: anp.sum(C**a),
    "array @ tensor": lambda a: anp.sum(anp.tanh(np.ones((4, 2)) @ a)),
    "tensor @ array": lambda a: anp.sum(anp.tanh(a @ C)),
    "negation": lambda a: anp.sum(-a * a),
}


@pytest.mark.parametrize("name", MIXED)
def test_mixing_with_numbers_and_arrays(name):
    check(MIXED[name], A)


@pytest.mark.parametrize("op", [operator.add, operator.mul, operator.truediv, operator.pow])
def test_numpy_array_on_the_left_gives_a_tensor(op):
    out = op(np.array([1.5, 2.5]), Tensor([0.5, 2.0], requires_grad=True))
    assert isinstance(out, Tensor) and out.requires_grad


# -- autodiff.numpy functions and NumPy functions on tensors ----------------------------------
ANP_FUNCTIONS = {
    "exp log": lambda a: anp.sum(anp.log(anp.exp(a) + 1.0)),
    "sigmoid softplus relu": lambda a: anp.sum(anp.sigmoid(a) * anp.softplus(a) + anp.relu(a)),
    "sum axis keepdims": lambda a: anp.sum(anp.sum(a, axis=0, keepdims=True) ** 2),
    "max and mean": lambda a: anp.max(a, axis=1) @ anp.mean(a, axis=1),
    "log_softmax": lambda a: anp.sum(anp.log_softmax(a, axis=1)[:, 0]),
    "softmax": lambda a: anp.sum(anp.softmax(a) * C),
    "logsumexp": lambda a: anp.logsumexp(a),
    "concatenate stack": lambda a: anp.sum(
        anp.stack([a, anp.concatenate([a[:, 1:], a[:, :1]], axis=1)]) ** 2
    ),
    "where maximum": lambda a: anp.sum(anp.where(A > 1.0, a, a**2) * anp.maximum(a, 0.9)),
    "indexing": lambda a: anp.sum(a[0] * a[1, ::-1] + a[A > 1.0] ** 2),
    "methods": lambda a: (
        (a.T.reshape(6) ** 2).sum() + a.mean() * a.max() + a.ravel().dot(np.arange(6.0))
    ),
    "outer dot": lambda a: anp.sum(anp.outer(a[0], a[1])) + anp.dot(a[0], a[1]),
}


@pytest.mark.parametrize("name", ANP_FUNCTIONS)
def test_autodiff_numpy_functions_on_tensors(name):
    check(ANP_FUNCTIONS[name], A)


def test_numpy_functions_route_to_autodiff_numpy():
    a = Tensor(A, requires_grad=True)
    out = np.sum(np.exp(a) * np.tanh(a), axis=1)
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, np.sum(np.exp(A) * np.tanh(A), axis=1), rtol=1e-15)
    np.sum(out).backward()
    expected = autodiff.grad(lambda a: anp.sum(anp.exp(a) * anp.tanh(a)))(A)
    np.testing.assert_allclose(a.grad, expected, rtol=1e-14)


# -- gradient bookkeeping ----------------------------------------------------------------------
def test_grad_accumulates_across_backward_calls_until_zero_grad():
    a = Tensor(A, requires_grad=True)
    f = lambda: anp.sum(anp.sin(a) * a)  # noqa: E731
    expected = central_difference(lambda x: np.sum(np.sin(x) * x), A)
    f().backward()
    first = a.grad.copy()
    np.testing.assert_allclose(first, expected, rtol=RTOL)
    f().backward()
    np.testing.assert_allclose(a.grad, 2 * first, rtol=1e-15)
    a.zero_grad()
    assert a.grad is None
    f().backward()
    np.testing.assert_array_equal(a.grad, first)


def test_retain_grad_stores_the_gradient_of_an_interior_tensor():
    a = Tensor(A, requires_grad=True)
    h = (a * 2.0).retain_grad()
    other = a + 1.0
    out = anp.sum(anp.sin(h))
    out.backward()
    np.testing.assert_allclose(h.grad, np.cos(2.0 * A), rtol=1e-15)
    assert other.grad is None
    h2 = a * 2.0
    anp.sum(anp.sin(h2)).backward()
    assert h2.grad is None and not h2.is_leaf


def test_tensors_without_requires_grad_get_no_gradient():
    a, b = Tensor(A, requires_grad=True), Tensor(A)
    c = a * b
    assert c.requires_grad and not (b * b).requires_grad
    anp.sum(c).backward()
    assert b.grad is None
    np.testing.assert_array_equal(a.grad, A)


def test_backward_with_an_explicit_gradient_is_a_vector_jacobian_product():
    a = Tensor(A, requires_grad=True)
    ct = RNG.normal(size=(2, 3))
    anp.tanh(a).backward(ct)
    np.testing.assert_allclose(a.grad, ct * (1.0 - np.tanh(A) ** 2), rtol=1e-14)


def test_detach_numpy_item_and_attributes():
    a = Tensor(A, requires_grad=True)
    d = (a * 2.0).detach()
    assert not d.requires_grad and d.is_leaf
    np.testing.assert_array_equal(d.numpy(), 2.0 * A)
    assert a.shape == (2, 3) and a.ndim == 2 and len(a) == 2 and a.dtype == np.float64
    assert Tensor([[4.5]]).item() == 4.5
    b = Tensor(a)
    np.testing.assert_array_equal(b.data, A)
    assert not b.requires_grad


def test_repr():
    assert repr(Tensor([1.0, 2.0], requires_grad=True)) == "Tensor([1., 2.], requires_grad=True)"
    assert repr(Tensor(3.0)) == "Tensor(3.)"
    assert repr(Tensor([1.0]) * Tensor([2.0], requires_grad=True)) == (
        "Tensor([2.], grad_fn=<multiply>)"
    )


# -- errors ---------------------------------------------------------------------------------
def test_backward_on_non_scalar_without_gradient_names_the_shape():
    a = Tensor(A, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        (a * 2.0).backward()


def test_backward_with_gradient_of_wrong_shape_names_both_shapes():
    a = Tensor(A, requires_grad=True)
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        (a * 2.0).backward(np.ones((3, 2)))


def test_backward_without_requires_grad_raises():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        anp.sum(Tensor(A) * 2.0).backward()


def test_item_of_many_elements_raises():
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        Tensor(A).item()


def test_matmul_shape_mismatch_on_tensors_names_both_shapes():
    with pytest.raises(ValueError) as info:
        Tensor(np.ones((2, 3)), requires_grad=True) @ np.ones((4, 5))
    assert "(2, 3)" in str(info.value) and "(4, 5)" in str(info.value), str(info.value)
