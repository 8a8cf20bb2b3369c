"""Reverse mode: record the evaluation trace as a graph of nodes, then sweep it backwards.

Each ``Node`` holds one primal variable of the trace (8.50)-(8.56), the primitive that
produced it, that primitive's arguments and the nodes among them (its parents).  The
backward sweep visits nodes children-first and adds each child's contribution to its
parents' adjoints, which is (8.69) with the local derivatives supplied as VJP rules.

The recording is lean: a node is one object with its fields set directly (no closure, no
per-node dictionary), calls with one or two arguments take a path without loops, and a
broadcast cotangent is summed back to its argument's shape by ``autodiff.broadcasting``
(straight in NumPy when both are arrays).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from typing import Any

from autodiff.broadcasting import unbroadcast_like
from autodiff.core import Primitive, Traceable, Tracer

_new = object.__new__

# Which arguments of a call are parents, shared by every node with the same pattern.
_FIRST = (0,)
_SECOND = (1,)
_BOTH = (0, 1)


class Node(Tracer):
    """A primal variable recorded by reverse mode at trace level ``_level``.

    ``_args`` are the primitive's arguments with this level's nodes replaced by their
    values, and ``_parents`` the nodes among them, at the positions ``_argnums``.  ``_adj``
    holds the node's adjoint during a backward sweep only.

    Nodes made by primitives are appended to their trace's tape in the order they are made;
    since every node is made after its parents, the reversed tape is an order in which the
    backward sweep can run, with no graph search.  Nodes do not refer to the tape (only the
    transform holding it does), so a finished trace is freed at once, without waiting for
    the cycle collector.
    """

    __slots__ = ("_level", "_prim", "_args", "_kwargs", "_argnums", "_parents", "_adj")

    def __init__(self, value: Any, level: int) -> None:
        """A leaf: an input of the trace, with no parents."""
        self._value = value
        self._level = level
        self._prim = None
        self._args = ()
        self._kwargs = {}
        self._argnums = ()
        self._parents = ()
        self._adj = None

    def _dispatch(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        level = self._level
        tape = _TAPES.get(level)
        if tape is None:  # the transform has returned: this trace records nothing more
            return prim(*[value_of_level(a, level) for a in args], **kwargs)
        n = len(args)
        if n == 1:  # one argument, which is this node
            x = self._value
            node = _new(Node)
            if kwargs:
                node._value = (
                    prim(x, **kwargs) if isinstance(x, Traceable) else prim.impl(x, **kwargs)
                )
            else:
                node._value = prim(x) if isinstance(x, Traceable) else prim.impl(x)
            node._args = (x,)
            node._argnums = _FIRST
            node._parents = args  # (self,)
        elif n == 2:
            x, y = args
            if x is self or (isinstance(x, Node) and x._level == level):
                x = x._value
                if y is self or (isinstance(y, Node) and y._level == level):
                    argnums, parents = _BOTH, args
                    y = y._value
                else:
                    argnums, parents = _FIRST, (args[0],)
            else:  # then the second argument is this node
                argnums, parents = _SECOND, (self,)
                y = self._value
            node = _new(Node)
            if isinstance(x, Traceable) or isinstance(y, Traceable):
                node._value = prim(x, y, **kwargs)
            else:
                node._value = prim.impl(x, y, **kwargs) if kwargs else prim.impl(x, y)
            node._args = (x, y)
            node._argnums = argnums
            node._parents = parents
        else:
            values = []
            argnums = []
            parents = []
            nested = False
            for i, arg in enumerate(args):
                if isinstance(arg, Node) and arg._level == level:
                    argnums.append(i)
                    parents.append(arg)
                    arg = arg._value
                if isinstance(arg, Traceable):
                    nested = True
                values.append(arg)
            node = _new(Node)
            if nested:
                node._value = prim(*values, **kwargs)
            else:
                node._value = prim.impl(*values, **kwargs) if kwargs else prim.impl(*values)
            node._args = tuple(values)
            node._argnums = tuple(argnums)
            node._parents = tuple(parents)
        node._level = level
        node._prim = prim
        node._kwargs = kwargs
        node._adj = None
        tape.append(node)
        return node

    def __repr__(self) -> str:
        return f"Node(level={self._level}, value={self._value!r})"


def leaf(value: Any, level: int) -> Node:
    """``Node(value, level)``, made the way primitives make nodes (a little faster)."""
    node = _new(Node)
    node._value = value
    node._level = level
    node._prim = None
    node._args = ()
    node._kwargs = _NO_KWARGS
    node._argnums = ()
    node._parents = ()
    node._adj = None
    return node


_NO_KWARGS: dict = {}
_TAPES: dict[int, list[Node]] = {}


def open_tape(level: int) -> list[Node]:
    """Start recording the nodes of trace ``level``."""
    tape = _TAPES[level] = []
    return tape


def close_tape(level: int) -> None:
    """Stop recording trace ``level`` (its tape stays with whoever holds it)."""
    _TAPES.pop(level, None)


def value_of_level(x: Any, level: int) -> Any:
    """``x`` without its wrapper of trace ``level``, if it has one."""
    return x._value if isinstance(x, Node) and x._level == level else x


def _no_rule(prim: Primitive, argnum: int) -> None:
    raise NotImplementedError(f"reverse mode has no rule for argument {argnum} of {prim.name}")


def vjp_rule(prim: Primitive, argnum: int) -> Callable:
    """The VJP rule of ``prim`` for argument ``argnum`` (an error naming both if it has none)."""
    rule = prim.vjps.get(argnum)
    if rule is None:
        _no_rule(prim, argnum)
    return rule


def _contribution(node: Node, argnum: int, g: Any) -> Any:
    """The VJP of ``node``'s primitive for argument ``argnum``, summed back to that
    argument's shape if the primitive broadcasts."""
    prim = node._prim
    rule = vjp_rule(prim, argnum)
    args, kwargs = node._args, node._kwargs
    c = rule(g, node._value, *args, **kwargs) if kwargs else rule(g, node._value, *args)
    return unbroadcast_like(c, args[argnum]) if prim.broadcasts else c


def sweep(
    tape: list[Node], seeds: list[tuple[Node, Any]], leaves: list[Node], release: bool = False
) -> list[Any]:
    """The backward sweep of one trace: propagate adjoints from ``(output node, cotangent)``
    pairs back through ``tape`` (its nodes in the order they were made) and return the
    adjoints of ``leaves`` (``None`` for a leaf the outputs do not depend on).

    Adjoints are kept on the nodes themselves for the duration of the sweep (a node's
    ``_adj``), and each is cleared as soon as the node has passed it on to its parents:
    running the sweep again gives the same result, and a node used twice receives both
    contributions before it passes them on.  (So one graph is swept by one thread at a
    time.)

    With ``release`` (a sweep that will not run again), each node lets go of its value and
    arguments once the sweep has passed it, so that memory is returned as the sweep goes
    rather than all at the end.
    """
    done = None
    try:
        for node, ct in seeds:
            node._adj = ct if node._adj is None else node._adj + ct
        for node in reversed(tape):
            if release:
                if done is not None:
                    done._value = done._args = None
                done = node
            g = node._adj
            if g is None:
                continue
            node._adj = None
            prim = node._prim
            args, kwargs, ans = node._args, node._kwargs, node._value
            if len(args) == 1 and not kwargs:  # a function of this one parent: the most common
                try:
                    rule = prim.vjps[0]
                except KeyError:
                    _no_rule(prim, 0)
                c = rule(g, ans, args[0])
                parent = node._parents[0]
                previous = parent._adj
                parent._adj = c if previous is None else previous + c
                continue
            vjps = prim.vjps
            if len(args) == 2 and not kwargs:  # binary operations, written out
                x, y = args
                both = node._argnums is _BOTH
                argnum = 0 if both else node._argnums[0]
                try:
                    rule = vjps[argnum]
                    other = vjps[1] if both else None
                except KeyError:
                    _no_rule(prim, 1 if argnum in vjps else argnum)
                c = rule(g, ans, x, y)
                if prim.broadcasts:
                    c = unbroadcast_like(c, args[argnum])
                parent = node._parents[0]
                previous = parent._adj
                parent._adj = c if previous is None else previous + c
                if both:
                    c = other(g, ans, x, y)
                    if prim.broadcasts:
                        c = unbroadcast_like(c, y)
                    parent = node._parents[1]
                    previous = parent._adj
                    parent._adj = c if previous is None else previous + c
                continue
            for argnum, parent in zip(node._argnums, node._parents):
                try:
                    rule = vjps[argnum]
                except KeyError:
                    _no_rule(prim, argnum)
                c = rule(g, ans, *args, **kwargs)
                if prim.broadcasts:
                    c = unbroadcast_like(c, args[argnum])
                previous = parent._adj
                parent._adj = c if previous is None else previous + c
    except BaseException:
        for node in tape:
            node._adj = None
        raise
    finally:
        adjoints = [leaf._adj for leaf in leaves]
        for leaf in leaves:
            leaf._adj = None
    return adjoints


def backward(
    seeds: list[tuple[Node, Any]], order: Iterable[Node], keep: Container[int] = ()
) -> dict[int, Any]:
    """Propagate adjoints from ``(output node, cotangent)`` pairs back through ``order``
    (every node the outputs depend on, children before parents).

    Returns the adjoints of the leaves reached, and of the interior nodes whose ids are in
    ``keep``, keyed by ``id(node)``.  Adjoints of interior nodes live only during the
    sweep, so running it again on the same graph gives the same result, and a node used
    twice receives both contributions.
    """
    adjoints: dict[int, Any] = {}
    kept: dict[int, Any] = {}
    for node, ct in seeds:
        key = id(node)
        adjoints[key] = ct if key not in adjoints else adjoints[key] + ct
    pop, get = adjoints.pop, adjoints.get
    for node in order:
        g = pop(id(node), None)
        if g is None:
            continue
        if keep and id(node) in keep:
            kept[id(node)] = g
        prim = node._prim
        if prim is None:  # a leaf
            continue
        for argnum, parent in zip(node._argnums, node._parents):
            contribution = _contribution(node, argnum, g)
            key = id(parent)
            previous = get(key)
            adjoints[key] = contribution if previous is None else previous + contribution
    adjoints.update(kept)
    return adjoints
