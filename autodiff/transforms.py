"""The differentiation transforms, with JAX's names and semantics.

``vjp`` (reverse mode, Section 8.2.2) and ``jvp`` (forward mode, Section 8.2.1) are the two
primitive transforms; everything else is a few lines on top of them: ``grad`` is a VJP
seeded with 1, ``jacrev`` the VJPs of every output direction (the Jacobian's rows),
``jacfwd`` the JVPs of every input direction (its columns, (8.66)), ``hessian`` is
``jacfwd(jacrev(f))`` and ``hvp`` the forward-over-reverse Hessian-vector product of
Section 8.2.2.  ``jacfwd`` and ``jacrev`` push their directions through a few sweeps, many
at a time, as batches (``autodiff.batching``), as large as a bound on their intermediate
values allows.  Each call opens its own trace level, so transforms nest freely.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod
from typing import Any

import numpy as np

from autodiff import numpy as anp
from autodiff.batching import Batched, measure
from autodiff.core import Traceable, new_level, shape_of, value_of
from autodiff.forward import Dual
from autodiff.programs.staging import Var
from autodiff.pytree import describe, flatten, unflatten
from autodiff.reverse import Node, close_tape, leaf, open_tape, sweep

ArgNums = int | Sequence[int]

_F64 = np.dtype(np.float64)
_PLAIN = frozenset({np.ndarray, np.float64})
_ONE = np.float64(1.0)

# The largest batched value a sweep makes holds about this many numbers (the batch size
# times the largest value one direction makes, inputs and outputs included; at most 1.5
# times as many, unless one direction alone makes more): larger Jacobians are swept in
# several batches.  2**18 numbers are 2 MB, a core's L2 cache on the machine the benchmarks
# ran on.  Batched values much larger than that make a sweep slower than its arithmetic (the
# Hessian of the two-layer network of bench/bench_algorithms.py, an N x M value per weight,
# took 1.3 to 1.7 times as long with 2**20 from 200 to 1000 weights), while smaller ones make
# more sweeps, each of which runs the function and its gradient again (at 2000 weights,
# batches of 2 or 3 columns, 2.5 to 3.7 MB, took 0.8 times as long as one column at a time).
BATCH_ELEMENTS = 2**18


def _as_input(x: Any, what: str) -> Any:
    """An input leaf as a float64 array (integers are promoted), or a tracer as it is."""
    if type(x) is np.ndarray and x.dtype is _F64:
        return x
    if type(x) is Var and x.dtype.kind in "biu":  # a recorded integer input: promoted too
        return x.astype(np.float64)
    if isinstance(x, Traceable):
        return x
    array = np.asarray(x)
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    if array.dtype.kind not in "fc":
        raise TypeError(f"{what}: cannot differentiate with respect to a value of type {type(x)}")
    return array


def vjp(f: Callable, *primals: Any) -> tuple[Any, Callable]:
    """Evaluate ``f(*primals)`` and return ``(out, vjp_fn)``.

    ``vjp_fn(cotangent)`` gives the tuple of cotangents ``cotangent^T J`` for each primal,
    by one backward sweep (8.68)-(8.69); it may be called any number of times.  The
    cotangent may also be a batch of cotangents (``autodiff.batching.Batched``): one sweep
    then gives a batch of results.
    """
    out, out_leaves, out_def, pull, _ = _record(f, primals)

    def vjp_fn(cotangent: Any) -> tuple:
        ct_leaves, ct_def = flatten(cotangent)
        if ct_def != out_def:
            raise ValueError(
                f"vjp_fn expects a cotangent shaped like the output {describe(out_def)}, "
                f"got {describe(ct_def)}"
            )
        for i, (o, ct) in enumerate(zip(out_leaves, ct_leaves)):
            if shape_of(ct) != shape_of(o):
                raise ValueError(
                    f"cotangent for output {i} has shape {shape_of(ct)}, "
                    f"but the output has shape {shape_of(o)}"
                )
        return pull(ct_leaves)

    return out, vjp_fn


def _record(f: Callable, primals: tuple):
    """Run ``f`` on nodes of a new reverse-mode trace: the output, its leaves and structure,
    ``pull(cotangent_leaves, release=False)``, the backward sweep for checked cotangents
    (``release`` for the last one: the graph is let go of as the sweep passes), and the tape
    of the nodes ``f`` made."""
    level = new_level()
    nodes: list[Node] = []
    inputs, treedef = _nodes_like(primals, level, nodes)
    tape = open_tape(level)
    try:
        out = f(*inputs)
    finally:
        close_tape(level)
    if isinstance(out, Node):  # one output, the usual case
        out_leaves, out_def = [out], None
    else:
        out_leaves, out_def = flatten(out)

    def pull(ct_leaves: list, release: bool = False) -> tuple:
        seeds = [
            (o, ct)
            for o, ct in zip(out_leaves, ct_leaves)
            if isinstance(o, Node) and o._level == level
        ]
        grads = sweep(tape, seeds, nodes, release)
        for g in grads:
            if g is None:  # an input the output does not depend on: zeros
                grads = [
                    np.zeros(shape_of(n._value)) if g is None else g for g, n in zip(grads, nodes)
                ]
                break
        return unflatten(treedef, grads)

    if out_def is None:  # one output, the usual case
        value = out._value if isinstance(out, Node) and out._level == level else out
    else:
        values = [o._value if isinstance(o, Node) and o._level == level else o for o in out_leaves]
        value = unflatten(out_def, values)
    return value, out_leaves, out_def, pull, tape


def _largest_value(tape: list[Node]) -> int:
    """The number of numbers in the largest value on ``tape`` (0 for an empty one)."""
    largest = 0
    for node in tape:
        value = node._value
        size = value.size if type(value) is np.ndarray else prod(shape_of(value))
        if size > largest:
            largest = size
    return largest


def _nodes_like(tree: Any, level: int, nodes: list) -> tuple[Any, Any]:
    """``tree`` with every leaf replaced by a leaf node of trace ``level`` (appended to
    ``nodes`` in leaf order), and its structure: ``flatten``, making the nodes and
    ``unflatten`` in one pass."""
    if isinstance(tree, (tuple, list)):
        items, defs = [], []
        for child in tree:
            if type(child) is np.ndarray and child.dtype is _F64:  # the common leaf, inline
                node = leaf(child, level)
                nodes.append(node)
                items.append(node)
                defs.append(None)
            else:
                item, d = _nodes_like(child, level, nodes)
                items.append(item)
                defs.append(d)
        return type(tree)(items), (type(tree), None, tuple(defs))
    if isinstance(tree, dict):
        keys = sorted(tree)
        pairs = [_nodes_like(tree[k], level, nodes) for k in keys]
        return dict(zip(keys, [p[0] for p in pairs])), (
            dict,
            tuple(keys),
            tuple(p[1] for p in pairs),
        )
    node = leaf(_as_input(tree, "vjp"), level)
    nodes.append(node)
    return node, None


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
    values = [o._value if isinstance(o, Dual) and o._level == level else o for o in out_leaves]
    tangents_out = [
        o._tangent if isinstance(o, Dual) and o._level == level else anp.zeros_like(o)
        for o in out_leaves
    ]
    return unflatten(out_def, values), unflatten(out_def, tangents_out)


def _split(f: Callable, args: tuple, argnums: ArgNums, kwargs: dict):
    """``f`` as a function of the arguments ``argnums`` only, and their values."""
    count = len(args)
    if type(argnums) is int:
        if not -count <= argnums < count:
            raise ValueError(f"argnums={argnums!r} but the function got {count} arguments")
        before, after = args[:argnums], args[argnums:][1:]
        return (lambda x: f(*before, x, *after, **kwargs)), (args[argnums],), True

    single = isinstance(argnums, int)  # an int of another type, as NumPy's
    nums = (argnums,) if single else tuple(argnums)
    for n in nums:
        if not -count <= n < count:
            raise ValueError(f"argnums={argnums!r} but the function got {count} arguments")

    if single:

        def partial(x):
            full = list(args)
            full[argnums] = x
            return f(*full, **kwargs)

        return partial, (args[argnums],), True

    def partial(*chosen):
        full = list(args)
        for n, value in zip(nums, chosen):
            full[n] = value
        return f(*full, **kwargs)

    return partial, tuple([args[n] for n in nums]), False


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

        value, out_leaves, out_def, pull, _ = _record(partial, chosen)
        shape = value.shape if type(value) in _PLAIN else shape_of(value)
        if out_def is not None or shape != ():
            raise TypeError(
                f"grad needs f to return a scalar, but it returned "
                f"{'shape ' + str(shape) if out_def is None else describe(out_def)}; use jacrev "
                f"for a Jacobian, or vjp for a vector-Jacobian product"
            )
        plain = value if type(value) in _PLAIN else value_of(value)
        if type(plain) in _PLAIN and plain.dtype is _F64:
            seed = _ONE  # a NumPy scalar (immutable): arithmetic on it is cheaper
        else:
            seed = np.ones((), dtype=np.result_type(plain, np.float64))
        if has_aux:
            value = (value, _strip_tree(aux[0]))  # before the sweep lets go of the graph
        grads = pull([seed], release=True)
        return value, grads[0] if single else grads

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


def _batch_size(member: int) -> int:
    """How many directions go in one batch when one direction makes values of up to
    ``member`` numbers: the number whose largest value comes nearest ``BATCH_ELEMENTS``
    numbers (at most 1.5 times as many), or one direction if it alone makes more."""
    return max(1, round(BATCH_ELEMENTS / max(member, 1)))


def _bounds(start: int, n: int, most: int) -> list[int]:
    """Where the batches of directions ``start ... n-1`` begin and end: as few batches of
    at most ``most`` directions as cover them, of even sizes."""
    count = -(-(n - start) // most)
    return [start + (n - start) * k // count for k in range(count)] + [n]


def _in_batches(
    n: int, other: int, sweep: Callable[[int, int, int | None], Any], expected: int | None = None
) -> list:
    """The results of ``sweep(start, stop, level)`` over batches of the unit directions
    ``e_0 ... e_(n-1)``, in order; each batch has a trace level of its own (None: the only
    direction, as plain arrays).  Each direction makes values of ``n`` numbers and of
    ``other`` (``jacrev``'s rows have the input's size; ``jacfwd``'s columns are measured).

    What one direction makes inside the function (an N x M layer for every weight, say)
    can be far larger than its input and output.  So the first batch is measured: the
    largest value one of its members holds (``autodiff.batching.measure``) sizes the other
    batches, as few of even size as keep their largest value near ``BATCH_ELEMENTS``
    numbers.  The first batch is ``e_0`` alone, or, when the caller ``expected`` how large
    that value is (from the values of the function recorded on a tape), already a batch of
    that size.  Every direction's result comes from one sweep, whatever its batch.
    """
    if n == 1:
        return [sweep(0, 1, None)]
    first = 1 if expected is None else _bounds(0, n, _batch_size(max(expected, n, other)))[1]
    level = new_level()
    result, largest = measure(level, lambda: sweep(0, first, level))
    bounds = _bounds(first, n, _batch_size(max(largest, n, other)))
    results = [result]
    for start, stop in zip(bounds[:-1], bounds[1:]):
        results.append(sweep(start, stop, new_level()))
    return results


def _unit_batch(start: int, stop: int, shapes: list, level: int | None) -> list:
    """Unit vectors ``e_start ... e_(stop-1)`` of the concatenated leaves, as one batch per
    leaf: leaf ``i`` is ``Batched`` with value of shape ``(stop - start, *shapes[i])``.  A
    single vector (``level`` None) is given as plain arrays."""
    n = sum(int(np.prod(s)) for s in shapes)
    size = stop - start
    units = np.zeros((size, n))
    units[np.arange(size), np.arange(start, stop)] = 1.0
    leaves, offset = [], 0
    for shape in shapes:
        width = int(np.prod(shape))
        leaf = units[:, offset : offset + width]
        if level is None:
            leaves.append(leaf.reshape(shape))
        else:
            leaves.append(Batched(leaf.reshape(size, *shape), level))
        offset += width
    return leaves


def _unbatch(x: Any, level: int | None, size: int) -> Any:
    """The array of all members of the batch ``x`` (leading axis ``size``); a value that
    is not part of the batch (a zero derivative, say) is the same for every member."""
    if isinstance(x, Batched) and x._level == level:
        return x._value
    if level is None:
        return anp.reshape(x, (1, *shape_of(x)))
    return anp.broadcast_to(x, (size, *shape_of(x)))


def _rows(leaves: list, level: int, size: int) -> Any:
    """The members of a batch of trees with these leaves as the rows of a matrix."""
    parts = [anp.reshape(_unbatch(x, level, size), (size, -1)) for x in leaves]
    return parts[0] if len(parts) == 1 else anp.concatenate(parts, axis=1)


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
            if len(out_shapes) == 1 and len(in_shapes) == 1:
                block = matrix
            else:
                block = matrix[out_starts[i] : out_starts[i + 1], in_starts[j] : in_starts[j + 1]]
            row.append(anp.reshape(block, (*oshape, *ishape)))
        blocks.append(row[0] if single_in else unflatten(in_def, row))
    return unflatten(out_def, blocks)


def jacfwd(f: Callable, argnums: ArgNums = 0) -> Callable:
    """The Jacobian of ``f`` by forward mode: the JVPs along every input direction e_j,
    each a column (8.66), pushed through forward sweeps many at a time as batches of
    tangents (``_in_batches``: e_0 alone, then batches sized by what e_0 made).  Shape
    ``out.shape + in.shape``."""
    return _jacfwd(f, argnums)


def _jacfwd(f: Callable, argnums: ArgNums, expect: Callable | None = None) -> Callable:
    """``jacfwd``; ``expect(args, kwargs)``, if given, tells how large a value one
    direction will make, so that the first batch need not be ``e_0`` alone."""

    def jacfwd_f(*args, **kwargs):
        partial, chosen, single = _split(f, args, argnums, kwargs)
        in_leaves, in_def = flatten(chosen[0] if single else chosen)
        n, in_shapes = _basis(in_leaves)
        if n == 0:
            raise ValueError("jacfwd: the input has no elements")
        outputs = []

        def sweep(start: int, stop: int, level: int | None) -> Any:
            tangents = unflatten(in_def, _unit_batch(start, stop, in_shapes, level))
            _, tangent = jvp(partial, chosen, (tangents,) if single else tangents)
            t_leaves, out_def = flatten(tangent)
            if not outputs:
                outputs.append(([shape_of(t) for t in t_leaves], out_def))
            return _rows(t_leaves, level, stop - start)

        expected = None if expect is None or n == 1 else expect(args, kwargs)
        columns = _in_batches(n, 0, sweep, expected)
        out_shapes, out_def = outputs[0]
        matrix = anp.transpose(columns[0] if len(columns) == 1 else anp.concatenate(columns))
        return _jacobian_blocks(matrix, out_shapes, out_def, in_shapes, in_def)

    return jacfwd_f


def jacrev(f: Callable, argnums: ArgNums = 0) -> Callable:
    """The Jacobian of ``f`` by reverse mode: one forward pass, then the VJPs of every
    output direction, each a row, pulled back through backward sweeps many at a time as
    batches of cotangents (``_in_batches``, the first batch sized by the values the forward
    pass recorded, as each cotangent has the shape of its value), or as one gradient for a
    single output.  Shape ``out.shape + in.shape``."""

    def jacrev_f(*args, **kwargs):
        partial, chosen, single = _split(f, args, argnums, kwargs)
        out, out_leaves, out_def, pull, tape = _record(partial, chosen)
        m, out_shapes = _basis(out_leaves)
        if m == 0:
            raise ValueError("jacrev: the output has no elements")
        in_leaves, in_def = flatten(chosen[0] if single else chosen)
        n, in_shapes = _basis(in_leaves)
        if m == 1 and len(out_shapes) == 1:  # one row, a gradient: no rows to assemble
            grads = pull([np.ones(out_shapes[0])])
            g_leaves, _ = flatten(grads[0] if single else grads)
            row = [anp.reshape(g, (*out_shapes[0], *s)) for g, s in zip(g_leaves, in_shapes)]
            return unflatten(out_def, [row[0] if in_def is None else unflatten(in_def, row)])

        def sweep(start: int, stop: int, level: int | None) -> Any:
            grads = pull(_unit_batch(start, stop, out_shapes, level))
            g_leaves, _ = flatten(grads[0] if single else grads)
            return _rows(g_leaves, level, stop - start)

        rows = _in_batches(m, n, sweep, _largest_value(tape))
        matrix = rows[0] if len(rows) == 1 else anp.concatenate(rows)
        return _jacobian_blocks(matrix, out_shapes, out_def, in_shapes, in_def)

    return jacrev_f


def hessian(f: Callable, argnums: ArgNums = 0) -> Callable:
    """The Hessian of a scalar function, forward over reverse: ``jacfwd(jacrev(f))``, each
    sweep of a batch of columns a batch of Hessian-vector products.  Every column carries
    a tangent of each value ``f`` computes and of its cotangent, so ``f`` is first recorded
    once on a tape of its own and its largest value sizes the first batch."""

    def expect(args: tuple, kwargs: dict) -> int:
        partial, chosen, _ = _split(f, args, argnums, kwargs)
        return _largest_value(_record(partial, chosen)[4])

    return _jacfwd(jacrev(f, argnums), argnums, expect)


def hvp(f: Callable, x: Any, v: Any) -> Any:
    """The Hessian-vector product H v of a scalar function at ``x`` without forming H:
    forward mode applied to the reverse-mode gradient (Section 8.2.2), O(W) per product."""
    return jvp(grad(f), (x,), (v,))[1]
