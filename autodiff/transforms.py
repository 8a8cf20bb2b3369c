"""The differentiation transforms, with JAX's names and semantics.

``vjp`` (reverse mode, Section 8.2.2) and ``jvp`` (forward mode, Section 8.2.1) are the two
primitive transforms; everything else is a few lines on top of them: ``grad`` is a VJP
seeded with 1, ``jacrev`` one VJP per output, ``jacfwd`` one JVP per input direction
(the Jacobian columns of (8.66)), ``hessian`` is ``jacfwd(jacrev(f))`` and ``hvp`` the
forward-over-reverse Hessian-vector product of Section 8.2.2.  Each call opens its own
trace level, so transforms nest freely.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autodiff import numpy as anp
from autodiff.core import Traceable, new_level, shape_of, value_of
from autodiff.forward import Dual
from autodiff.pytree import describe, flatten, unflatten
from autodiff.reverse import Node, backward, close_tape, open_tape

ArgNums = int | Sequence[int]


def _as_input(x: Any, what: str) -> Any:
    """An input leaf as a float64 array (integers are promoted), or a tracer as it is."""
    if isinstance(x, Traceable):
        return x
    array = np.asarray(x)
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    if array.dtype.kind not in "fc":
        raise TypeError(f"{what}: cannot differentiate with respect to a value of type {type(x)}")
    return array


def _strip(out: Any, level: int, kind: type) -> Any:
    """The primal value of an output leaf, with this trace's wrapper removed."""
    return out._value if isinstance(out, kind) and out._level == level else out


def vjp(f: Callable, *primals: Any) -> tuple[Any, Callable]:
    """Evaluate ``f(*primals)`` and return ``(out, vjp_fn)``.

    ``vjp_fn(cotangent)`` gives the tuple of cotangents ``cotangent^T J`` for each primal,
    by one backward sweep (8.68)-(8.69); it may be called any number of times.
    """
    level = new_level()
    leaves, treedef = flatten(primals)
    nodes = [Node(_as_input(x, "vjp"), level) for x in leaves]
    tape = open_tape(level)
    try:
        out = f(*unflatten(treedef, nodes))
    finally:
        close_tape(level)
    out_leaves, out_def = flatten(out)

    def vjp_fn(cotangent: Any) -> tuple:
        ct_leaves, ct_def = flatten(cotangent)
        if ct_def != out_def:
            raise ValueError(
                f"vjp_fn expects a cotangent shaped like the output {describe(out_def)}, "
                f"got {describe(ct_def)}"
            )
        seeds = []
        for i, (o, ct) in enumerate(zip(out_leaves, ct_leaves)):
            if shape_of(ct) != shape_of(o):
                raise ValueError(
                    f"cotangent for output {i} has shape {shape_of(ct)}, "
                    f"but the output has shape {shape_of(o)}"
                )
            if isinstance(o, Node) and o._level == level:
                seeds.append((o, ct))
        adjoints = backward(seeds, reversed(tape))
        grads = [adjoints.get(id(n), None) for n in nodes]
        grads = [anp.zeros_like(n._value) if g is None else g for g, n in zip(grads, nodes)]
        return unflatten(treedef, grads)

    return unflatten(out_def, [_strip(o, level, Node) for o in out_leaves]), vjp_fn


def jvp(f: Callable, primals: Sequence, tangents: Sequence) -> tuple[Any, Any]:
    """Evaluate ``f(*primals)`` and its directional derivative ``J @ tangents`` in one
    forward pass (8.67); returns ``(out, tangent_out)``."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp takes primals and tangents as tuples (or lists) of arguments")
    p_leaves, p_def = flatten(tuple(primals))
    t_leaves, t_def = flatten(tuple(tangents))
    if p_def != t_def:
        raise ValueError(
            f"tangents {describe(t_def)} must have the structure of primals {describe(p_def)}"
        )
    level = new_level()
    duals = []
    for i, (x, t) in enumerate(zip(p_leaves, t_leaves)):
        x, t = _as_input(x, "jvp"), _as_input(t, "jvp")
        if shape_of(x) != shape_of(t):
            raise ValueError(
                f"tangent {i} has shape {shape_of(t)}, but its primal has shape {shape_of(x)}"
            )
        duals.append(Dual(x, t, level))
    out = f(*unflatten(p_def, duals))
    out_leaves, out_def = flatten(out)
    values = [_strip(o, level, Dual) for o in out_leaves]
    tangents_out = [
        o._tangent if isinstance(o, Dual) and o._level == level else anp.zeros_like(o)
        for o in out_leaves
    ]
    return unflatten(out_def, values), unflatten(out_def, tangents_out)


def _split(f: Callable, args: tuple, argnums: ArgNums, kwargs: dict):
    """``f`` as a function of the arguments ``argnums`` only, and their values."""
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for n in nums:
        if not -len(args) <= n < len(args):
            raise ValueError(f"argnums={argnums!r} but the function got {len(args)} arguments")

    def partial(*chosen):
        full = list(args)
        for n, value in zip(nums, chosen):
            full[n] = value
        return f(*full, **kwargs)

    return partial, tuple(args[n] for n in nums), single


def value_and_grad(f: Callable, argnums: ArgNums = 0, has_aux: bool = False) -> Callable:
    """A function returning ``(f(*args), gradient)`` (``((value, aux), gradient)`` with
    ``has_aux``), the gradient taken with respect to the arguments ``argnums``."""

    def value_and_grad_f(*args, **kwargs):
        partial, chosen, single = _split(f, args, argnums, kwargs)
        aux = []
        if has_aux:
            inner = partial

            def partial(*xs):
                out = inner(*xs)
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise TypeError("with has_aux=True, f must return a pair (value, aux)")
                aux.append(out[1])
                return out[0]

        value, vjp_fn = vjp(partial, *chosen)
        shape = shape_of(value)
        if shape != ():
            raise TypeError(
                f"grad needs f to return a scalar, but it returned shape {shape}; use jacrev "
                f"for a Jacobian, or vjp for a vector-Jacobian product"
            )
        grads = vjp_fn(np.ones((), dtype=np.result_type(value_of(value), np.float64)))
        grads = grads[0] if single else grads
        if has_aux:
            return (value, _strip_tree(aux[0])), grads
        return value, grads

    return value_and_grad_f


def _strip_tree(tree: Any) -> Any:
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [value_of(x) if isinstance(x, Node) else x for x in leaves])


def grad(f: Callable, argnums: ArgNums = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function with respect to the arguments ``argnums`` (an
    int: one gradient; a tuple: a tuple of gradients), by reverse mode."""
    value_and_grad_f = value_and_grad(f, argnums, has_aux)

    def grad_f(*args, **kwargs):
        value, grads = value_and_grad_f(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return grad_f


def _basis(leaves: list) -> tuple[int, list[tuple[int, ...]]]:
    shapes = [shape_of(x) for x in leaves]
    return sum(int(np.prod(s)) for s in shapes), shapes


def _unit_tree(j: int, shapes: list, treedef) -> Any:
    """The j-th unit vector of the concatenated leaves, shaped as the tree."""
    leaves, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        leaf = np.zeros(size)
        if start <= j < start + size:
            leaf[j - start] = 1.0
        leaves.append(leaf.reshape(shape))
        start += size
    return unflatten(treedef, leaves)


def _jacobian_blocks(matrix, out_shapes, out_def, in_shapes, in_def):
    """Cut an (m, n) Jacobian matrix into blocks ``out_leaf.shape + in_leaf.shape``."""
    out_sizes = [int(np.prod(s)) for s in out_shapes]
    in_sizes = [int(np.prod(s)) for s in in_shapes]
    out_starts = np.concatenate([[0], np.cumsum(out_sizes)]).astype(int)
    in_starts = np.concatenate([[0], np.cumsum(in_sizes)]).astype(int)
    single_in = in_def is None
    blocks = []
    for i, oshape in enumerate(out_shapes):
        row = []
        for j, ishape in enumerate(in_shapes):
            block = matrix[out_starts[i] : out_starts[i + 1], in_starts[j] : in_starts[j + 1]]
            row.append(anp.reshape(block, (*oshape, *ishape)))
        blocks.append(row[0] if single_in else unflatten(in_def, row))
    return unflatten(out_def, blocks)


def jacfwd(f: Callable, argnums: ArgNums = 0) -> Callable:
    """The Jacobian of ``f`` by forward mode: one JVP per input direction e_j, each giving
    a column (8.66).  Shape ``out.shape + in.shape``."""

    def jacfwd_f(*args, **kwargs):
        partial, chosen, single = _split(f, args, argnums, kwargs)
        x = chosen[0] if single else chosen
        in_leaves, in_def = flatten(x)
        n, in_shapes = _basis(in_leaves)
        columns = []
        out_def = out_shapes = None
        for j in range(n):
            out, tangent = jvp(partial, chosen, _units_for(j, in_shapes, in_def, single))
            t_leaves, out_def = flatten(tangent)
            out_shapes = [shape_of(t) for t in t_leaves]
            columns.append(anp.concatenate([anp.ravel(t) for t in t_leaves]))
        if n == 0:
            raise ValueError("jacfwd: the input has no elements")
        matrix = anp.transpose(anp.stack(columns))  # (m, n)
        return _jacobian_blocks(matrix, out_shapes, out_def, in_shapes, in_def)

    return jacfwd_f


def _units_for(j, in_shapes, in_def, single):
    unit = _unit_tree(j, in_shapes, in_def)
    return (unit,) if single else unit


def jacrev(f: Callable, argnums: ArgNums = 0) -> Callable:
    """The Jacobian of ``f`` by reverse mode: one forward pass, then one VJP per output
    element, each giving a row.  Shape ``out.shape + in.shape``."""

    def jacrev_f(*args, **kwargs):
        partial, chosen, single = _split(f, args, argnums, kwargs)
        out, vjp_fn = vjp(partial, *chosen)
        out_leaves, out_def = flatten(out)
        m, out_shapes = _basis(out_leaves)
        in_def = in_shapes = None
        rows = []
        for i in range(m):
            grads = vjp_fn(_unit_tree(i, out_shapes, out_def))
            g_leaves, in_def = flatten(grads[0] if single else grads)
            in_shapes = [shape_of(g) for g in g_leaves]
            rows.append(anp.concatenate([anp.ravel(g) for g in g_leaves]))
        if m == 0:
            raise ValueError("jacrev: the output has no elements")
        return _jacobian_blocks(anp.stack(rows), out_shapes, out_def, in_shapes, in_def)

    return jacrev_f


def hessian(f: Callable, argnums: ArgNums = 0) -> Callable:
    """The Hessian of a scalar function, forward over reverse: ``jacfwd(jacrev(f))``."""
    return jacfwd(jacrev(f, argnums), argnums)


def hvp(f: Callable, x: Any, v: Any) -> Any:
    """The Hessian-vector product H v of a scalar function at ``x`` without forming H:
    forward mode applied to the reverse-mode gradient (Section 8.2.2), O(W) per product."""
    return jvp(grad(f), (x,), (v,))[1]
