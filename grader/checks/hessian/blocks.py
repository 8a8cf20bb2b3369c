"""The exact Hessian (8.37) block by block: Exercise 8.6 (a)-(c), the three blocks assembled,
and the network with skip-layer weights (Exercise 8.7).

The block formulas are written out in NumPy with switches that model mistakes: (a) two
second-layer weights, (b) two first-layer weights, (c) one weight in each layer, and the
blocks of the skip-layer weights; the references are the blocks of ``autodiff.hessian`` of
the batch error.
"""

from __future__ import annotations

import numpy as np

from grader.checks import register
from grader.checks.forbidden import BY_HAND
from grader.checks.hessian.network import (
    _batch_mistakes,
    _full_hessian,
    _network_case,
    _NetworkCheck,
    _shape,
    _State,
)
from grader.framework import Case, Mistake


def _hessian_blocks(case: Case) -> dict[str, np.ndarray]:
    """The blocks of the exact Hessian: ``11``, ``12``, ``22`` (and ``1s``, ``2s``,
    ``ss`` with skip-layer weights), from ``autodiff.hessian``."""
    D, M, K = _shape(case)
    H = _full_hessian(case)
    n1, n2 = M * (D + 1), K * (M + 1)
    edges = {"1": slice(0, n1), "2": slice(n1, n1 + n2), "s": slice(n1 + n2, H.shape[0])}
    return {a + b: H[edges[a], edges[b]] for a in edges for b in edges}


def _block_22(s: _State, order: str = "kj") -> np.ndarray:
    """Exercise 8.6 (a): ``sum_n z_nj z_nj' M_nkk'`` over ``W2`` (bias column included)."""
    K, J = s.K, s.Z1.shape[1]
    block = np.einsum("nj,nl,nkm->kjml", s.Z1, s.Z1, s.M)
    if order == "jk":
        block = block.transpose(1, 0, 3, 2)
    return block.reshape(K * J, K * J)


def _block_11(
    s: _State, second: bool = True, coupling: bool = True, shift: bool = False, order: str = "ji"
):
    """Exercise 8.6 (b): ``sum_n x_ni x_ni' [I_jj' h''_nj sum_k w_kj delta_nk +
    h'_nj h'_nj' sum_kk' w_kj w_k'j' M_nkk']``; ``shift`` takes the hidden weights from
    the wrong columns of ``W2`` (the bias column counted as a hidden unit); ``order="ij"``
    puts the entries in the order of ``W1.T.ravel()`` instead of ``W1.ravel()``."""
    Wh = s.W2[:, :-1] if shift else s.Wh
    G = np.zeros((s.N, s.Mh, s.Mh))
    if second:
        G += np.einsum("nj,jl->njl", s.hpp * (s.delta @ Wh), np.eye(s.Mh))
    if coupling:
        G += s.hp[:, :, None] * s.hp[:, None, :] * np.einsum("kj,nkm,ml->njl", Wh, s.M, Wh)
    size = s.Mh * (s.D + 1)
    layout = "jiml" if order == "ji" else "ijlm"  # "ij": rows and columns ordered (i, j)
    return np.einsum(f"ni,nl,njm->{layout}", s.X1, s.X1, G).reshape(size, size)


def _block_12(
    s: _State, first: bool = True, curvature: bool = True, column: int = 1, order: str = "ji"
):
    """Exercise 8.6 (c): ``sum_n x_ni h'_nj [I_(j' = j) delta_nk + z_nj' sum_k' w_k'j
    M_nk'k]`` for ``w_ji^(1)`` against ``w_kj'^(2)``; ``column`` is where hidden unit
    ``j`` sits in ``W2`` (1 + j; 0 models forgetting the bias column); ``order="ij"`` puts
    the rows in the order of ``W1.T.ravel()``."""
    J = s.Z1.shape[1]
    inner = np.zeros((s.N, s.Mh, s.K, J))
    if first:
        for j in range(s.Mh):
            inner[:, j, :, j + column] += s.delta
    if curvature:
        P = np.einsum("kj,nkm->njm", s.Wh, s.M)  # sum_k' w_k'j M_nk'k
        inner += P[:, :, :, None] * s.Z1[:, None, None, :]
    layout = "jikl" if order == "ji" else "ijkl"  # "ij": rows ordered (i, j)
    block = np.einsum(f"ni,nj,njkl->{layout}", s.X1, s.hp, inner)
    return block.reshape(s.Mh * (s.D + 1), s.K * J)


def _skip_blocks(s: _State, delta_term: bool = False) -> dict[str, np.ndarray]:
    """Exercise 8.7: skip-skip, second-layer-skip and first-layer-skip blocks;
    ``delta_term`` adds a ``delta_k`` term to the first-layer-skip block, as (c) has one."""
    K, D, J = s.K, s.D, s.Z1.shape[1]
    ss = np.einsum("ni,nl,nkm->kiml", s.X, s.X, s.M).reshape(K * D, K * D)
    s2 = np.einsum("ni,nl,nkm->kiml", s.X, s.Z1, s.M).reshape(K * D, K * J)
    P = np.einsum("kj,nkm->njm", s.Wh, s.M)  # sum_k' w_k'j M_nk'k
    s1 = np.einsum("ni,nl,nj,njk->kijl", s.X, s.X1, s.hp, P)
    if delta_term:
        s1 = s1 + np.einsum("ni,nl,nj,nk->kijl", s.X, s.X1, s.hp, s.delta)
    return {"ss": ss, "s2": s2, "s1": s1.reshape(K * D, s.Mh * (D + 1))}


def _assemble(H11, H12, H22, skip: dict | None = None, lower: bool = True) -> np.ndarray:
    H21 = H12.T if lower else np.zeros_like(H12.T)
    if skip is None:
        return np.block([[H11, H12], [H21, H22]])
    s1, s2, ss = skip["s1"], skip["s2"], skip["ss"]
    return np.block([[H11, H12, s1.T], [H21, H22, s2.T], [s1, s2, ss]])


# -------------------------------------------------------- Exercise 8.6: the three blocks


@register
class HessianSecondLayerBlock(_NetworkCheck):
    """Exercise 8.6 (a): the block of the exact Hessian for two weights of the second layer,
    ``sum_n z_nj z_nj' M_nkk'``, biases included (``z_0 = 1``)."""

    name = "hessian_second_layer_block"
    forbids = BY_HAND
    references = ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
    title = "Exact Hessian, block (a): two second-layer weights"
    equation = "Exercise 8.6 (a)"
    points = 2.0
    outputs = ("d2E/dW2 dW2",)

    def reference(self, case):
        return _hessian_blocks(case)["22"]

    def mistakes(self):
        return [
            Mistake(
                "curvature without -y y^T",
                "For softmax outputs this block uses M = diag(y): the part -y_k y_k' of "
                "M_kk', which couples different outputs, is missing.",
                "Exercise 8.6 (a) with (8.34)",
                lambda case: _block_22(_State(case, curvature="diag y")),
            ),
            Mistake(
                "identity curvature",
                "This block uses M = I, the curvature of linear outputs with a "
                "sum-of-squares error, for every output type.",
                "Exercise 8.6 (a) with (8.33) and (8.34)",
                lambda case: _block_22(_State(case, curvature="identity")),
            ),
            Mistake(
                "rows ordered (j, k)",
                "The entries are right but in the wrong places: rows and columns follow "
                "W2.ravel(), where w_kj sits at index k (M + 1) + j.",
                "(8.37) and the conventions of the assignment",
                lambda case: _block_22(_State(case), order="jk"),
            ),
            Mistake(
                "bias unit dropped",
                "The entries of the output biases w_k0 are wrong: a bias is the weight from the "
                "unit z_0 = 1 (column 0 of the Z1 that propagate returns), and its second "
                "derivatives are those of any second-layer weight with z_0 = 1.",
                "(8.20) and Exercise 8.6 (a)",
                lambda case: _block_22(_State(case, bias=False)),
            ),
            *_batch_mistakes(lambda case: _block_22(_State(case)), "(8.1) and Exercise 8.6 (a)"),
        ]


@register
class HessianFirstLayerBlock(_NetworkCheck):
    """Exercise 8.6 (b): the block for two weights of the first layer."""

    name = "hessian_first_layer_block"
    forbids = BY_HAND
    references = ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
    title = "Exact Hessian, block (b): two first-layer weights"
    equation = "Exercise 8.6 (b)"
    points = 3.0
    outputs = ("d2E/dW1 dW1",)

    def reference(self, case):
        return _hessian_blocks(case)["11"]

    def mistakes(self):
        return [
            Mistake(
                "h'' term missing",
                "The term I_jj' h''(a_j) sum_k w_kj delta_k is missing: differentiating "
                "delta_j = h'(a_j) sum_k w_kj delta_k by a_j also differentiates the slope "
                "h'(a_j) itself.",
                "Exercise 8.6 (b) with (8.13)",
                lambda case: _block_11(_State(case), second=False),
            ),
            Mistake(
                "coupling term missing",
                "The term h'(a_j) h'(a_j') sum_kk' w_kj w_k'j' M_kk' is missing: a change of "
                "a_j' moves every output pre-activation, and with it every delta_k.",
                "Exercise 8.6 (b)",
                lambda case: _block_11(_State(case), coupling=False),
            ),
            Mistake(
                "weights from the wrong columns of W2",
                "The weights of hidden unit j were taken from column j of W2, which holds "
                "the biases in column 0: hidden unit j sends through column j + 1.",
                "Exercise 8.6 (b) and (8.20)",
                lambda case: _block_11(_State(case), shift=True),
            ),
            Mistake(
                "curvature without -y y^T",
                "For softmax outputs this block uses M = diag(y): the part -y_k y_k' that "
                "couples the outputs is missing from M_kk'.",
                "Exercise 8.6 (b) with (8.34)",
                lambda case: _block_11(_State(case, curvature="diag y")),
            ),
            Mistake(
                "rows ordered (i, j)",
                "The entries are right but in the wrong places: rows and columns follow "
                "W1.ravel(), where w_ji sits at index j (D + 1) + i; here the input index i "
                "runs slowest.",
                "(8.37) and the conventions of the assignment",
                lambda case: _block_11(_State(case), order="ij"),
            ),
            Mistake(
                "bias unit dropped",
                "The entries of the hidden biases w_j0 are wrong: a bias is the weight from the "
                "input x_0 = 1 (column 0 of the X1 that propagate returns), and it enters the "
                "sums over x_i x_i' with x_0 = 1.",
                "(8.18) and Exercise 8.6 (b)",
                lambda case: _block_11(_State(case, bias=False)),
            ),
            *_batch_mistakes(lambda case: _block_11(_State(case)), "(8.1) and Exercise 8.6 (b)"),
        ]


@register
class HessianMixedBlock(_NetworkCheck):
    """Exercise 8.6 (c): the block for one weight of the first layer (rows) and one of the
    second layer (columns)."""

    name = "hessian_mixed_block"
    forbids = BY_HAND
    references = ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
    title = "Exact Hessian, block (c): one weight in each layer"
    equation = "Exercise 8.6 (c)"
    points = 3.0
    outputs = ("d2E/dW1 dW2",)

    def reference(self, case):
        return _hessian_blocks(case)["12"]

    def mistakes(self):
        return [
            Mistake(
                "delta term missing",
                "The term I_jj' delta_k is missing: the weight w_kj of hidden unit j also "
                "appears in delta_j = h'(a_j) sum_k w_kj delta_k itself.",
                "Exercise 8.6 (c) with (8.13)",
                lambda case: _block_12(_State(case), first=False),
            ),
            Mistake(
                "curvature term missing",
                "The term z_j' sum_k' w_k'j M_k'k is missing: the second-layer weight w_kj' "
                "changes a_k, and with it every delta_k'.",
                "Exercise 8.6 (c)",
                lambda case: _block_12(_State(case), curvature=False),
            ),
            Mistake(
                "delta term in the bias column",
                "The term I_jj' delta_k sits one column too far left: hidden unit j is "
                "column j + 1 of W2, since column 0 holds the bias (z_0 = 1).",
                "Exercise 8.6 (c) and (8.20)",
                lambda case: _block_12(_State(case), column=0),
            ),
            Mistake(
                "transposed block",
                "This is the transpose of the block: its rows belong to the first-layer "
                "weights (W1.ravel()), its columns to the second-layer weights (W2.ravel()).",
                "Exercise 8.6 (c) and (8.37)",
                lambda case: _block_12(_State(case)).T,
            ),
            Mistake(
                "rows ordered (i, j)",
                "The rows are in the wrong order: they follow W1.ravel(), where w_ji sits at "
                "index j (D + 1) + i; here the input index i runs slowest.",
                "(8.37) and the conventions of the assignment",
                lambda case: _block_12(_State(case), order="ij"),
            ),
            Mistake(
                "bias unit dropped",
                "The entries of the biases are wrong: the hidden biases are weights from "
                "x_0 = 1 and the output biases weights from z_0 = 1 (column 0 of X1 and of "
                "Z1), and both units enter the formula like any other.",
                "(8.18), (8.20) and Exercise 8.6 (c)",
                lambda case: _block_12(_State(case, bias=False)),
            ),
            *_batch_mistakes(lambda case: _block_12(_State(case)), "(8.1) and Exercise 8.6 (c)"),
        ]


@register
class ExactHessian(_NetworkCheck):
    """The exact Hessian (8.37) of the two-layer network, assembled from the three blocks of
    Exercise 8.6 in the flat order ``[W1.ravel(), W2.ravel()]``."""

    name = "exact_hessian_assembled"
    forbids = BY_HAND
    references = ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
    title = "The exact Hessian, assembled from its blocks"
    equation = "(8.37) and Exercise 8.6"
    points = 2.0
    outputs = ("H",)

    def reference(self, case):
        return _full_hessian(case)

    def mistakes(self):
        def blocks(case, lower=True):
            s = _State(case)
            return _assemble(_block_11(s), _block_12(s), _block_22(s), lower=lower)

        def swapped(case):
            s = _State(case)
            H11, H12, H22 = _block_11(s), _block_12(s), _block_22(s)
            return np.block([[H22, H12.T], [H12, H11]])

        return [
            Mistake(
                "lower block empty",
                "The block below the diagonal is zero: H is symmetric, so the block for "
                "(second-layer, first-layer) pairs is the transpose of block (c).",
                "(8.37)",
                lambda case: blocks(case, lower=False),
            ),
            Mistake(
                "layers in the wrong order",
                "The second layer's weights come first here: the flat order is "
                "[W1.ravel(), W2.ravel()], so block (b) is the top-left block.",
                "(8.37) and the conventions of the assignment",
                swapped,
            ),
            *_batch_mistakes(blocks, "(8.1) and (8.37)"),
        ]


# -------------------------------------------------------- Exercise 8.7: skip-layer weights


@register
class ExactHessianSkipLayer(_NetworkCheck):
    """The exact Hessian of the network with skip-layer weights ``Ws`` from the inputs to
    the outputs (Exercise 8.7), in the flat order ``[W1.ravel(), W2.ravel(), Ws.ravel()]``."""

    name = "exact_hessian_skip_layer"
    forbids = BY_HAND
    references = ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
    title = "The exact Hessian with skip-layer weights"
    equation = "Exercise 8.7"
    points = 3.0
    outputs = ("H",)
    inputs = ("W1", "W2", "Ws", "X", "T")

    def _case(self, rng, D, M, K, N, output):
        return _network_case(rng, D, M, K, N, output, skip=True)

    def reference(self, case):
        return _full_hessian(case)

    def student_function(self, answer):
        def function(W1, W2, Ws, X, T, output="linear"):
            return answer(Case("", (W1, W2, Ws, X, T), {"output": output}))

        return function

    def mistakes(self):
        def full(case, skip_in_outputs=True, delta_term=False, skip_blocks=True):
            s = _State(case, skip_in_outputs=skip_in_outputs)
            blocks = _skip_blocks(s, delta_term=delta_term)
            if not skip_blocks:
                blocks = {key: np.zeros_like(value) for key, value in blocks.items()}
            return _assemble(_block_11(s), _block_12(s), _block_22(s), blocks)

        return [
            Mistake(
                "skip term missing from the outputs",
                "The output pre-activations lack the skip term sum_i w_ki^(s) x_i, so delta_k "
                "and M_kk' belong to another network: compute them from the full a_k.",
                "Exercise 8.7 and Exercise 8.4",
                lambda case: full(case, skip_in_outputs=False),
            ),
            Mistake(
                "delta term in the skip/first-layer block",
                "The skip/first-layer block has a term delta_k, as block (c) has: a skip "
                "weight does not appear in the backpropagation (8.13) of any hidden delta, "
                "so that block has the curvature term only.",
                "Exercise 8.7 and Exercise 8.6 (c)",
                lambda case: full(case, delta_term=True),
            ),
            Mistake(
                "skip blocks missing",
                "Every block that involves a skip-layer weight is zero: a skip weight w_ki^(s) "
                "acts like a second-layer weight whose input is x_i instead of z_j.",
                "Exercise 8.7",
                lambda case: full(case, skip_blocks=False),
            ),
            *_batch_mistakes(full, "(8.1) and Exercise 8.7"),
        ]
