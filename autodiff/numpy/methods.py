"""Operators, methods and NumPy interoperation for traced values.

``x + y``, ``x @ W``, ``x[1:]``, ``x.sum(axis=0)``, ``x.T`` on a traced value call the
differentiable primitives.  NumPy's own functions applied to a traced value are routed to
their differentiable counterparts where one exists (``np.exp(x)`` is ``anp.exp(x)``), and
otherwise fail loudly instead of silently dropping the derivative.
"""

from __future__ import annotations

import numpy as np

from autodiff.core import Tracer, value_of
from autodiff.numpy import functions as f
from autodiff.numpy import primitives as p

UFUNCS = {
    np.add: p.add,
    np.subtract: p.subtract,
    np.multiply: p.multiply,
    np.true_divide: p.true_divide,
    np.power: p.power,
    np.maximum: p.maximum,
    np.minimum: p.minimum,
    np.negative: p.negative,
    np.exp: p.exp,
    np.log: p.log,
    np.log1p: p.log1p,
    np.expm1: p.expm1,
    np.sqrt: p.sqrt,
    np.square: p.square,
    np.absolute: p.absolute,
    np.sin: p.sin,
    np.cos: p.cos,
    np.tan: p.tan,
    np.tanh: p.tanh,
    np.matmul: p.matmul,
    np.greater: f.greater,
    np.greater_equal: f.greater_equal,
    np.less: f.less,
    np.less_equal: f.less_equal,
    np.equal: f.equal,
    np.not_equal: f.not_equal,
}

FUNCTIONS = {
    np.sum: p.sum_,
    np.mean: p.mean,
    np.max: p.max_,
    np.amax: p.max_,
    np.min: p.min_,
    np.amin: p.min_,
    np.reshape: p.reshape,
    np.transpose: p.transpose,
    np.broadcast_to: p.broadcast_to,
    np.where: p.where,
    np.dot: f.dot,
    np.outer: f.outer,
    np.inner: f.inner,
    np.concatenate: f.concatenate,
    np.stack: f.stack,
    np.expand_dims: f.expand_dims,
    np.squeeze: f.squeeze,
    np.swapaxes: f.swapaxes,
    np.ravel: f.ravel,
    np.trace: f.trace,
    np.var: f.var,
    np.std: f.std,
    np.shape: f.shape,
    np.ndim: f.ndim,
    np.size: f.size,
    np.zeros_like: f.zeros_like,
    np.ones_like: f.ones_like,
    np.sign: p.sign,
}


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    target = UFUNCS.get(ufunc)
    if method != "__call__" or target is None or kwargs:
        raise TypeError(
            f"numpy.{ufunc.__name__} ({method}) is not differentiable here; use the function "
            f"of the same name from autodiff.numpy (import autodiff.numpy as anp)"
        )
    return target(*inputs)


def _array_function(self, func, types, args, kwargs):
    target = FUNCTIONS.get(func)
    if target is None:
        raise TypeError(
            f"numpy.{func.__name__} was called on a traced value and is not differentiable; "
            f"use autodiff.numpy (import autodiff.numpy as anp) or write it with its functions"
        )
    return target(*args, **kwargs)


def _reshape(self, *shape):
    return p.reshape(self, shape[0] if len(shape) == 1 else shape)


def _transpose(self, *axes):
    return p.transpose(self, axes[0] if len(axes) == 1 else (axes or None))


def install(cls: type) -> None:
    """Give ``cls`` (a tracer class) NumPy's operators and array methods.

    Operators whose traced value comes first are the primitives themselves (a function
    stored on a class is called with the instance first), which saves a call per
    operation."""
    methods = {
        "__add__": p.add,
        "__radd__": lambda s, o: p.add(o, s),
        "__sub__": p.subtract,
        "__rsub__": lambda s, o: p.subtract(o, s),
        "__mul__": p.multiply,
        "__rmul__": lambda s, o: p.multiply(o, s),
        "__truediv__": p.true_divide,
        "__rtruediv__": lambda s, o: p.true_divide(o, s),
        "__pow__": p.power,
        "__rpow__": lambda s, o: p.power(o, s),
        "__matmul__": p.matmul,
        "__rmatmul__": lambda s, o: p.matmul(o, s),
        "__neg__": p.negative,
        "__pos__": lambda s: s,
        "__abs__": p.absolute,
        "__getitem__": p.getitem,
        "__lt__": lambda s, o: np.less(value_of(s), value_of(o)),
        "__le__": lambda s, o: np.less_equal(value_of(s), value_of(o)),
        "__gt__": lambda s, o: np.greater(value_of(s), value_of(o)),
        "__ge__": lambda s, o: np.greater_equal(value_of(s), value_of(o)),
        "__eq__": lambda s, o: np.equal(value_of(s), value_of(o)),
        "__ne__": lambda s, o: np.not_equal(value_of(s), value_of(o)),
        "__array_ufunc__": _array_ufunc,
        "__array_function__": _array_function,
        "T": property(lambda s: p.transpose(s)),
        "sum": lambda s, axis=None, keepdims=False: p.sum_(s, axis=axis, keepdims=keepdims),
        "mean": lambda s, axis=None, keepdims=False: p.mean(s, axis=axis, keepdims=keepdims),
        "max": lambda s, axis=None, keepdims=False: p.max_(s, axis=axis, keepdims=keepdims),
        "min": lambda s, axis=None, keepdims=False: p.min_(s, axis=axis, keepdims=keepdims),
        "reshape": _reshape,
        "transpose": _transpose,
        "ravel": lambda s: f.ravel(s),
        "dot": lambda s, o: f.dot(s, o),
        "exp": p.exp,
        "log": p.log,
        "sin": p.sin,
        "cos": p.cos,
        "tanh": p.tanh,
        "sigmoid": p.sigmoid,
        "relu": p.relu,
        "softplus": p.softplus,
        "sqrt": p.sqrt,
    }
    for name, method in methods.items():
        setattr(cls, name, method)
    cls.__hash__ = Tracer.__hash__


install(Tracer)
