"""``Scalar``: a scalar reverse-mode engine, tuned for speed (``autodiff.readable_scalar``
is the same engine written to be read first, in a few dozen lines).

Every arithmetic operation makes a new ``Scalar`` that remembers its (at most two) parents
``_a`` and ``_b`` and the local derivative of its value with respect to each, ``_da`` and
``_db``, evaluated on the spot.  ``backward()`` then applies the chain rule (8.69) from the
output to the inputs: each node passes ``local derivative * its adjoint`` to each parent.

The order of that sweep comes from heights: a leaf has height 0 and every other node
``_h = 1 + the larger height of its parents``, so a node is always higher than its parents.
``backward()`` keeps one bucket per height and empties them from the top down: when a node's
turn comes, every node that uses it (all higher) has been processed, so its adjoint is
complete, and the parents it passes to go into lower buckets, still to come.  There is no
recursion, no sort and no separate graph search: each node reached is visited once.

Guarantees: leaf gradients add up over every path (a node used twice gets both
contributions); interior adjoints are overwritten on every sweep, so ``backward()`` never
sees stale values; leaf gradients accumulate across sweeps until ``zero_grad()``, as in
PyTorch (each sweep sums a leaf's gradient apart, then adds it to what the leaf had).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from autodiff.core import ScalarLike

Number = int | float
_new = object.__new__


class Scalar(ScalarLike):
    """A float that records how it was computed, for ``backward()``.

    ``_parents`` and ``_local`` show how a node was computed.  No other field is kept (not
    even an operation label): each one costs time on every one of the tens of thousands of
    nodes a small network makes.  ``_mark`` tells whether a sweep has reached the node.
    """

    __slots__ = ("data", "grad", "_a", "_da", "_b", "_db", "_h", "_mark")

    def __init__(self, data: Number, _parents: tuple = (), _local: tuple = ()):
        self.data = data
        self.grad = 0.0
        self._mark = None
        if not _parents:  # a leaf
            self._a = self._b = None
            self._da = self._db = 0.0
            self._h = 0
            return
        if len(_parents) > 2 or len(_parents) != len(_local):
            raise ValueError("a Scalar has at most two parents, each with a local derivative")
        self._a, self._da = _parents[0], _local[0]
        self._b, self._db = (_parents[1], _local[1]) if len(_parents) == 2 else (None, 0.0)
        self._h = 1 + max(p._h for p in _parents)

    # Operations build their result field by field: no constructor call, no tuple.
    # -- arithmetic: the value, and the local derivative for each parent ----------------------
    def __add__(self, other: Scalar | Number) -> Scalar:
        out = _new(Scalar)
        if type(other) is Scalar:
            out.data = self.data + other.data
            out._b = other
            out._db = 1.0
            h, k = self._h, other._h
            out._h = (h if h > k else k) + 1
        else:
            out.data = self.data + (other if type(other) is float else _number(other))
            out._b = None
            out._h = self._h + 1
        out.grad = 0.0
        out._a = self
        out._da = 1.0
        out._mark = None
        return out

    def __mul__(self, other: Scalar | Number) -> Scalar:
        out = _new(Scalar)
        if type(other) is Scalar:
            x, y = self.data, other.data
            out.data = x * y
            out._da = y
            out._b = other
            out._db = x
            h, k = self._h, other._h
            out._h = (h if h > k else k) + 1
        else:
            y = other if type(other) is float else _number(other)
            out.data = self.data * y
            out._da = y
            out._b = None
            out._h = self._h + 1
        out.grad = 0.0
        out._a = self
        out._mark = None
        return out

    def __sub__(self, other: Scalar | Number) -> Scalar:
        out = _new(Scalar)
        if type(other) is Scalar:
            out.data = self.data - other.data
            out._b = other
            out._db = -1.0
            h, k = self._h, other._h
            out._h = (h if h > k else k) + 1
        else:
            out.data = self.data - (other if type(other) is float else _number(other))
            out._b = None
            out._h = self._h + 1
        out.grad = 0.0
        out._a = self
        out._da = 1.0
        out._mark = None
        return out

    def __truediv__(self, other: Scalar | Number) -> Scalar:
        if type(other) is Scalar:
            q = self.data / other.data
            return _binary(self, other, q, 1.0 / other.data, -q / other.data)
        other = _number(other)
        return _unary(self, self.data / other, 1.0 / other)

    def __pow__(self, exponent: Number) -> Scalar:
        if type(exponent) is Scalar:
            return (self.log() * exponent).exp()
        n = exponent if type(exponent) is int else _number(exponent)
        x = self.data
        return _unary(self, x**n, 0.0 if n == 0 else n * x ** (n - 1))

    def __neg__(self) -> Scalar:
        return _unary(self, -self.data, -1.0)

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other: Number) -> Scalar:
        return _unary(self, _number(other) - self.data, -1.0)

    def __rtruediv__(self, other: Number) -> Scalar:
        q = _number(other) / self.data
        return _unary(self, q, -q / self.data)

    def __rpow__(self, base: Number) -> Scalar:
        value = _number(base) ** self.data
        return _unary(self, value, value * math.log(base))

    # -- elementary functions --------------------------------------------------------------
    def exp(self) -> Scalar:
        value = math.exp(self.data)
        return _unary(self, value, value)

    def log(self) -> Scalar:
        return _unary(self, math.log(self.data), 1.0 / self.data)

    def sin(self) -> Scalar:
        return _unary(self, math.sin(self.data), math.cos(self.data))

    def cos(self) -> Scalar:
        return _unary(self, math.cos(self.data), -math.sin(self.data))

    def tanh(self) -> Scalar:
        value = math.tanh(self.data)
        return _unary(self, value, 1.0 - value * value)

    def sigmoid(self) -> Scalar:
        x = self.data
        value = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return _unary(self, value, value * (1.0 - value))

    def relu(self) -> Scalar:
        out = _new(Scalar)
        x = self.data
        if x > 0:
            out.data = x
            out._da = 1.0
        else:
            out.data = 0.0
            out._da = 0.0
        out.grad = 0.0
        out._a = self
        out._b = None
        out._h = self._h + 1
        out._mark = None
        return out

    def softplus(self) -> Scalar:
        x = self.data
        value = max(x, 0.0) + math.log1p(math.exp(-abs(x)))
        slope = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return _unary(self, value, slope)

    def sqrt(self) -> Scalar:
        value = math.sqrt(self.data)
        return _unary(self, value, 0.5 / value)

    # -- reverse sweep -----------------------------------------------------------------------
    def backward(self) -> None:
        """Add d(self)/d(leaf) to ``leaf.grad`` for every leaf this value depends on, and
        set ``.grad`` of every interior node to d(self)/d(node)."""
        if self._a is None:  # a leaf: d(self)/d(self) = 1
            self.grad += 1.0
            return
        mark = object()  # tells the nodes reached in this sweep from the others
        buckets: list[list[Scalar]] = [[] for _ in range(self._h)]
        buckets.append([self])
        leaves: list[tuple[Scalar, float]] = []  # each leaf reached, with its gradient before
        self._mark = mark
        self.grad = 1.0
        for bucket in reversed(buckets):
            for node in bucket:
                g = node.grad
                # The same steps for the first parent and the second (if any), written out:
                # this loop is the engine's whole backward cost.
                a = node._a
                if a._mark is mark:  # reached before: add this contribution
                    a.grad += node._da * g
                else:  # reached for the first time: this sweep's adjoint starts here
                    a._mark = mark
                    if a._a is None:
                        leaves.append((a, a.grad))
                    else:
                        buckets[a._h].append(a)
                    a.grad = node._da * g
                b = node._b
                if b is None:
                    continue
                if b._mark is mark:
                    b.grad += node._db * g
                else:
                    b._mark = mark
                    if b._a is None:
                        leaves.append((b, b.grad))
                    else:
                        buckets[b._h].append(b)
                    b.grad = node._db * g
        for leaf, before in leaves:  # this sweep's gradient, added to what the leaf had
            leaf.grad = before + leaf.grad

    def graph(self) -> list[Scalar]:
        """Every node this value depends on, itself first, each before its parents."""
        seen = {self}
        stack = [self]
        while stack:
            node = stack.pop()
            for parent in (node._a, node._b):
                if parent is not None and parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return sorted(seen, key=_height, reverse=True)

    def zero_grad(self) -> None:
        """Reset ``.grad`` of this value and of every node it depends on."""
        for node in self.graph():
            node.grad = 0.0

    @property
    def _parents(self) -> tuple[Scalar, ...]:
        """The values this one was computed from."""
        return tuple(p for p in (self._a, self._b) if p is not None)

    @property
    def _local(self) -> tuple[float, ...]:
        """The derivative of this value with respect to each parent."""
        if self._a is None:
            return ()
        return (self._da,) if self._b is None else (self._da, self._db)

    # -- comparisons compare values; Python numbers convert -----------------------------------
    def __lt__(self, other: Scalar | Number) -> bool:
        return self.data < _value(other)

    def __le__(self, other: Scalar | Number) -> bool:
        return self.data <= _value(other)

    def __gt__(self, other: Scalar | Number) -> bool:
        return self.data > _value(other)

    def __ge__(self, other: Scalar | Number) -> bool:
        return self.data >= _value(other)

    def __float__(self) -> float:
        return float(self.data)

    def __repr__(self) -> str:
        return f"Scalar(data={self.data:.6g}, grad={self.grad:.6g})"


def _unary(a: Scalar, value: float, local: float) -> Scalar:
    """A new node with one parent ``a`` and local derivative ``local``."""
    out = _new(Scalar)
    out.data = value
    out.grad = 0.0
    out._a = a
    out._da = local
    out._b = None
    out._h = a._h + 1
    out._mark = None
    return out


def _binary(a: Scalar, b: Scalar, value: float, da: float, db: float) -> Scalar:
    """A new node with parents ``a`` and ``b`` and their local derivatives."""
    out = _new(Scalar)
    out.data = value
    out.grad = 0.0
    out._a = a
    out._da = da
    out._b = b
    out._db = db
    out._h = max(a._h, b._h) + 1
    out._mark = None
    return out


def _height(node: Scalar) -> int:
    return node._h


def _number(x: object) -> float:
    """A real number (Python or NumPy, or a 0-d array) as a float; anything else is an error."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return x
    if isinstance(x, numbers.Real) or (isinstance(x, np.ndarray) and x.ndim == 0):
        if np.issubdtype(np.asarray(x).dtype, np.number):
            return float(x)
    raise TypeError(f"Scalar arithmetic needs a Scalar or a real number, got {type(x).__name__}")


def _value(x: Scalar | Number) -> float:
    return x.data if isinstance(x, Scalar) else x


def zero_grad(params: Iterable[Scalar]) -> None:
    """Set ``.grad`` of each given scalar to zero (before the next ``backward()``)."""
    for p in params:
        p.grad = 0.0
