"""``ReadableScalar``: the engine of ``Scalar`` written to be read, not to be fast.

Reverse mode on scalars in three ideas (Section 8.2.5 of the chapter):

1. Each operation makes a node that keeps its value, its parents, and the local derivative
   of its value with respect to each parent, evaluated on the spot.
2. ``backward()`` lists the nodes so that every node comes after all the nodes that use it
   (a reverse topological order, found by a depth-first search).
3. Walking that list, each node passes ``local derivative * its adjoint`` to each parent:
   the chain rule (8.69), summed over every path from the output.

``Scalar`` (``autodiff.scalar``) does exactly this, and is tuned: it writes each node's
fields one by one, orders the sweep by heights instead of a search, and keeps the sweep's
bookkeeping on the nodes.  Its tests check it against this one.
"""

from __future__ import annotations

import math


class ReadableScalar:
    """A float that remembers how it was computed."""

    def __init__(self, data: float, parents: tuple = (), local: tuple = ()):
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents  # the values this one was computed from
        self.local = local  # d(this value) / d(each parent)

    def __add__(self, other):
        other = _lift(other)
        return ReadableScalar(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        other = _lift(other)
        return ReadableScalar(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, n: float):
        return ReadableScalar(self.data**n, (self,), (n * self.data ** (n - 1),))

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-_lift(other))

    def __truediv__(self, other):
        other = _lift(other)
        q = self.data / other.data
        return ReadableScalar(q, (self, other), (1.0 / other.data, -q / other.data))

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other):
        return _lift(other) - self

    def __rtruediv__(self, other):
        return _lift(other) / self

    def exp(self):
        value = math.exp(self.data)
        return ReadableScalar(value, (self,), (value,))

    def log(self):
        return ReadableScalar(math.log(self.data), (self,), (1.0 / self.data,))

    def tanh(self):
        value = math.tanh(self.data)
        return ReadableScalar(value, (self,), (1.0 - value**2,))

    def relu(self):
        return ReadableScalar(max(self.data, 0.0), (self,), (float(self.data > 0),))

    def backward(self) -> None:
        """Set ``grad`` of every node this value depends on to d(this value)/d(node)."""
        order, seen = [], set()

        def visit(node):  # depth-first: a node is listed after all its parents
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node.parents:
                    visit(parent)
                order.append(node)

        visit(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):  # every user of a node comes before it
            for parent, local in zip(node.parents, node.local):
                parent.grad += local * node.grad

    def __repr__(self) -> str:
        return f"ReadableScalar(data={self.data:.6g}, grad={self.grad:.6g})"


def _lift(x) -> ReadableScalar:
    """A number as a node with no parents (a constant)."""
    return x if isinstance(x, ReadableScalar) else ReadableScalar(x)
