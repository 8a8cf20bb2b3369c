"""Every derivative rule, in one table.

For each primitive, ``vjp`` lines give the vector-Jacobian product for an argument (reverse
mode: the adjoint update of (8.69)) and ``jvp`` lines the Jacobian-vector product (forward
mode: the tangent update of (8.57)).  A rule receives the incoming cotangent ``g`` (or
tangent ``t``), the primitive's output ``ans`` and its arguments.  Rules are written with
primitives, so differentiating them again gives higher derivatives.  Broadcasting is undone
once, by the sweeps, for primitives marked ``broadcasts`` (``autodiff.broadcasting``).
"""

from __future__ import annotations

import numpy as np

from autodiff.broadcasting import broadcast_view, unbroadcast
from autodiff.core import Tracer, ndim_of, shape_of, value_of
from autodiff.numpy import primitives as p


def defvjp(prim, *rules):
    """Register the VJP rules of ``prim``, one per argument (``None`` for an argument that
    carries no derivative)."""
    for argnum, rule in enumerate(rules):
        if rule is not None:
            prim.vjps[argnum] = rule


def defjvp(prim, *rules):
    """Register the JVP rules of ``prim``, one per argument."""
    for argnum, rule in enumerate(rules):
        if rule is not None:
            prim.jvps[argnum] = rule


def deflinear(prim, *argnums):
    """A primitive linear in the arguments ``argnums``: its JVP is the primitive itself
    applied to the tangent."""
    for argnum in argnums:

        def rule(t, ans, *args, _argnum=argnum, **kwargs):
            args = list(args)
            args[_argnum] = t
            return prim(*args, **kwargs)

        prim.jvps[argnum] = rule


def _expand(g, x, axis, keepdims):
    """Reinsert the axes a reduction removed, then broadcast ``g`` to ``x``'s shape."""
    shape = shape_of(x)
    if axis is None and type(g) in _PLAIN:  # the whole array was reduced: no tracing needed
        return broadcast_view(g, shape)
    if axis is not None and not keepdims:
        g = p.reshape(g, _kept_shape(shape, axis))
    return p.broadcast_to(g, shape)


_PLAIN = frozenset({np.ndarray, np.float64})


def _kept_shape(shape, axis):
    axes = (axis,) if np.ndim(axis) == 0 else axis
    axes = {a % len(shape) for a in axes}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _count(x, axis):
    shape = shape_of(x)
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if np.ndim(axis) == 0 else axis
    return int(np.prod([shape[a] for a in axes]))


def _tie_mask(ans, x, axis, keepdims):
    """Where ``x`` attains the reduced extremum ``ans``, divided by the number of ties."""
    x, ans = value_of(x), value_of(ans)
    if axis is not None and not keepdims:
        ans = np.reshape(ans, _kept_shape(np.shape(x), axis))
    mask = (x == ans).astype(float)
    return mask / np.sum(mask, axis=axis, keepdims=True)


def _balanced_eq(x, z, y):
    """1 where ``x`` is the strict winner ``z``, 1/2 on ties with ``y``, 0 elsewhere."""
    x, z, y = value_of(x), value_of(z), value_of(y)
    return (x == z) / (1.0 + (x == y))


def _inverse_axes(axes, x):
    """The permutation that undoes ``transpose(x, axes)`` (negative axes allowed)."""
    if axes is None:
        return None
    ndim = ndim_of(x)
    return tuple(int(i) for i in np.argsort([a % ndim for a in axes]))


def _swap(a):
    return p.transpose(a, (*range(ndim_of(a) - 2), -1, -2))


def _as_matrices(g, a, b):
    """Promote 1-D operands of ``a @ b`` to matrices (NumPy's rule) and ``g`` to match."""
    a_shape, b_shape = shape_of(a), shape_of(b)
    A = a if len(a_shape) > 1 else p.reshape(a, (1, a_shape[0]))
    B = b if len(b_shape) > 1 else p.reshape(b, (b_shape[0], 1))
    A_shape, B_shape = shape_of(A), shape_of(B)
    batch = np.broadcast_shapes(A_shape[:-2], B_shape[:-2])
    G = p.reshape(g, (*batch, A_shape[-2], B_shape[-1]))
    return G, A, B


def _T(x):
    """The transpose of a matrix (an attribute of arrays and traced values alike)."""
    return x.T if isinstance(x, (np.ndarray, Tracer)) else p.transpose(x)


def _matrices(a, b):
    """Whether ``a @ b`` multiplies two matrices (the common case, checked cheaply)."""
    if type(a) is np.ndarray and type(b) is np.ndarray:
        return a.ndim == 2 and b.ndim == 2
    return ndim_of(a) == 2 and ndim_of(b) == 2


def _matmul_vjp_0(g, ans, a, b):
    if type(b) is np.ndarray and b.ndim == 2 and type(a) is np.ndarray and a.ndim == 2:
        return g @ b.T
    if _matrices(a, b):
        return g @ _T(b)
    G, A, B = _as_matrices(g, a, b)
    grad = unbroadcast(G @ _swap(B), shape_of(A))
    return p.reshape(grad, shape_of(a))


def _matmul_vjp_1(g, ans, a, b):
    if type(a) is np.ndarray and a.ndim == 2 and type(b) is np.ndarray and b.ndim == 2:
        return a.T @ g
    if _matrices(a, b):
        return _T(a) @ g
    G, A, B = _as_matrices(g, a, b)
    grad = unbroadcast(_swap(A) @ G, shape_of(B))
    return p.reshape(grad, shape_of(b))


class _PerArgument(dict):
    """Rules of a primitive with any number of array arguments, made on first use."""

    def __init__(self, factory):
        super().__init__()
        self.factory = factory

    def __missing__(self, argnum):
        rule = self[argnum] = self.factory(argnum)
        return rule

    def get(self, argnum, default=None):
        return self[argnum]


def _part_index(ans, axis, part):
    index = [slice(None)] * ndim_of(ans)
    index[axis] = part
    return tuple(index)


def _concatenate_vjp(argnum):
    def rule(g, ans, axis, *arrays):
        sizes = [shape_of(a)[axis] for a in arrays]
        start = sum(sizes[: argnum - 1])
        return p.getitem(g, _part_index(ans, axis, slice(start, start + sizes[argnum - 1])))

    return rule


def _stack_vjp(argnum):
    return lambda g, ans, axis, *arrays: p.getitem(g, _part_index(ans, axis, argnum - 1))


def _one_tangent(prim):
    """JVP of a primitive linear in all its array arguments, for argument ``argnum``: the
    primitive applied to the tangent in that slot and zeros in the others."""

    def factory(argnum):
        def rule(t, ans, axis, *arrays):
            parts = [np.zeros(shape_of(a)) for a in arrays]
            parts[argnum - 1] = t
            return prim(axis, *parts)

        return rule

    return factory


def _power_dx(x, y):
    """d(x**y)/dx = y x**(y-1), and 0 where y = 0 (also at x = 0)."""
    if isinstance(y, (int, float)) or (np.ndim(y) == 0 and not isinstance(y, Tracer)):
        yv = float(y)
        if yv == 2:
            return 2.0 * x
        return y * x ** (y - 1) if yv != 0 else 0.0 * x
    return y * x ** p.where(value_of(y) != 0, y - 1, 1.0)


def _safe_log(x):
    """log x where x > 0 and 0 elsewhere: the y-derivative of x**y is only used where
    x**y is differentiable in y."""
    xv = value_of(x)
    return p.where(xv > 0, p.log(p.where(xv > 0, x, 1.0)), 0.0)


# fmt: off
# elementwise, one argument
defvjp(p.negative, lambda g, ans, x: -g)
defvjp(p.exp,      lambda g, ans, x: g * ans)
defvjp(p.log,      lambda g, ans, x: g / x)
defvjp(p.log1p,    lambda g, ans, x: g / (1.0 + x))
defvjp(p.expm1,    lambda g, ans, x: g * (ans + 1.0))
defvjp(p.sqrt,     lambda g, ans, x: g * 0.5 / ans)
defvjp(p.square,   lambda g, ans, x: g * 2.0 * x)
defvjp(p.absolute, lambda g, ans, x: g * p.sign(x))
defvjp(p.sin,      lambda g, ans, x: g * p.cos(x))
defvjp(p.cos,      lambda g, ans, x: -g * p.sin(x))
defvjp(p.tan,      lambda g, ans, x: g * (1.0 + ans * ans))
defvjp(p.tanh,     lambda g, ans, x: g * (1.0 - ans * ans))
defvjp(p.sigmoid,  lambda g, ans, x: g * ans * (1.0 - ans))
defvjp(p.softplus, lambda g, ans, x: g * p.sigmoid(x))
defvjp(p.relu,     lambda g, ans, x: g * (value_of(x) > 0))

defjvp(p.exp,      lambda t, ans, x: t * ans)
defjvp(p.log,      lambda t, ans, x: t / x)
defjvp(p.log1p,    lambda t, ans, x: t / (1.0 + x))
defjvp(p.expm1,    lambda t, ans, x: t * (ans + 1.0))
defjvp(p.sqrt,     lambda t, ans, x: t * 0.5 / ans)
defjvp(p.square,   lambda t, ans, x: t * 2.0 * x)
defjvp(p.absolute, lambda t, ans, x: t * p.sign(x))
defjvp(p.sin,      lambda t, ans, x: t * p.cos(x))
defjvp(p.cos,      lambda t, ans, x: -t * p.sin(x))
defjvp(p.tan,      lambda t, ans, x: t * (1.0 + ans * ans))
defjvp(p.tanh,     lambda t, ans, x: t * (1.0 - ans * ans))
defjvp(p.sigmoid,  lambda t, ans, x: t * ans * (1.0 - ans))
defjvp(p.softplus, lambda t, ans, x: t * p.sigmoid(x))
defjvp(p.relu,     lambda t, ans, x: t * (value_of(x) > 0))

# elementwise, two arguments (broadcasting undone by the traces)
defvjp(p.add,         lambda g, ans, x, y: g,
                      lambda g, ans, x, y: g)
defvjp(p.subtract,    lambda g, ans, x, y: g,
                      lambda g, ans, x, y: -g)
defvjp(p.multiply,    lambda g, ans, x, y: g * y,
                      lambda g, ans, x, y: g * x)
defvjp(p.true_divide, lambda g, ans, x, y: g / y,
                      lambda g, ans, x, y: -g * ans / y)
defvjp(p.power,       lambda g, ans, x, y: g * _power_dx(x, y),
                      lambda g, ans, x, y: g * ans * _safe_log(x))
defvjp(p.maximum,     lambda g, ans, x, y: g * _balanced_eq(x, ans, y),
                      lambda g, ans, x, y: g * _balanced_eq(y, ans, x))
defvjp(p.minimum,     lambda g, ans, x, y: g * _balanced_eq(x, ans, y),
                      lambda g, ans, x, y: g * _balanced_eq(y, ans, x))
defvjp(p.where,       None,
                      lambda g, ans, c, x, y: p.where(c, g, 0.0),
                      lambda g, ans, c, x, y: p.where(c, 0.0, g))

defjvp(p.multiply,    lambda t, ans, x, y: t * y,
                      lambda t, ans, x, y: x * t)
defjvp(p.true_divide, lambda t, ans, x, y: t / y,
                      lambda t, ans, x, y: -t * ans / y)
defjvp(p.power,       lambda t, ans, x, y: t * _power_dx(x, y),
                      lambda t, ans, x, y: t * ans * _safe_log(x))
defjvp(p.maximum,     lambda t, ans, x, y: t * _balanced_eq(x, ans, y),
                      lambda t, ans, x, y: t * _balanced_eq(y, ans, x))
defjvp(p.minimum,     lambda t, ans, x, y: t * _balanced_eq(x, ans, y),
                      lambda t, ans, x, y: t * _balanced_eq(y, ans, x))
defjvp(p.where,       None,
                      lambda t, ans, c, x, y: p.where(c, t, 0.0),
                      lambda t, ans, c, x, y: p.where(c, 0.0, t))

# reductions
defvjp(p.sum_,      lambda g, ans, x, axis=None, keepdims=False: _expand(g, x, axis, keepdims))
defvjp(p.mean,      lambda g, ans, x, axis=None, keepdims=False:
                        _expand(g, x, axis, keepdims) / _count(x, axis))
defvjp(p.max_,      lambda g, ans, x, axis=None, keepdims=False:
                        _expand(g, x, axis, keepdims) * _tie_mask(ans, x, axis, keepdims))
defvjp(p.min_,      lambda g, ans, x, axis=None, keepdims=False:
                        _expand(g, x, axis, keepdims) * _tie_mask(ans, x, axis, keepdims))
defvjp(p.logsumexp, lambda g, ans, x, axis=None, keepdims=False:
                        _expand(g, x, axis, keepdims) * p.exp(x - _expand(ans, x, axis, keepdims)))

defjvp(p.max_,      lambda t, ans, x, axis=None, keepdims=False:
                        p.sum_(t * _tie_mask(ans, x, axis, keepdims), axis, keepdims))
defjvp(p.min_,      lambda t, ans, x, axis=None, keepdims=False:
                        p.sum_(t * _tie_mask(ans, x, axis, keepdims), axis, keepdims))
defjvp(p.logsumexp, lambda t, ans, x, axis=None, keepdims=False:
                        p.sum_(t * p.exp(x - _expand(ans, x, axis, keepdims)), axis, keepdims))

# shape
defvjp(p.reshape,       lambda g, ans, x, shape: p.reshape(g, shape_of(x)))
defvjp(p.transpose,     lambda g, ans, x, axes=None: p.transpose(g, _inverse_axes(axes, x)))
defvjp(p.broadcast_to,  lambda g, ans, x, shape: unbroadcast(g, shape_of(x)))
defvjp(p.getitem,       lambda g, ans, x, index: p.untake(g, index, shape_of(x)))
defvjp(p.untake,        lambda g, ans, y, index, shape: p.getitem(g, index))

# linear algebra
defvjp(p.matmul, _matmul_vjp_0, _matmul_vjp_1)
defjvp(p.matmul, lambda t, ans, a, b: t @ b,
                 lambda t, ans, a, b: a @ t)
# fmt: on

# Primitives linear in an argument: the JVP applies the primitive to the tangent.
for _prim in (p.negative, p.sum_, p.mean, p.reshape, p.transpose, p.broadcast_to, p.getitem):
    deflinear(_prim, 0)
deflinear(p.untake, 0)
defjvp(p.add, lambda t, ans, x, y: t, lambda t, ans, x, y: t)
defjvp(p.subtract, lambda t, ans, x, y: t, lambda t, ans, x, y: -t)

p.concatenate_args.vjps = _PerArgument(_concatenate_vjp)
p.stack_args.vjps = _PerArgument(_stack_vjp)
p.concatenate_args.jvps = _PerArgument(_one_tangent(p.concatenate_args))
p.stack_args.jvps = _PerArgument(_one_tangent(p.stack_args))
