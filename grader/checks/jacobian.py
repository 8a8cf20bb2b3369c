"""Checks for the assignment on the network Jacobian (Section 8.1.5, Exercise 8.5).

The Jacobian by backpropagation is asked of the two-layer network: the student's function
receives a :class:`TwoLayerNet` and one input ``x``; the cases hold only the arrays ``(W1,
b1, W2, b2, x)`` and the sandboxed side's caller builds the network from them.  The Jacobian by
forward propagation (Exercise 8.5) is asked of a layered network of any depth, with an
activation of its own in every hidden layer: the student's function receives the lists of
weight matrices and biases, the hidden layers' activation names, one input ``x`` and the
output function; the cases hold ``(x, W1, b1, ..., WL, bL)`` and the names.  Cases whose
matrices are all square are included so that a weight matrix used transposed still gives an
answer of the right shape, which the mistake models can then recognise.

The Jacobian by backpropagation ends with a case that measures the cost of the method
(Sections 8.1.4-8.1.5): many inputs, few outputs.  Backpropagation costs K backward passes
of O(W) each; finite differences cost D forward passes (2 D central), each O(W).  With
D = 150,000 and K = 3 that is milliseconds against half a minute or more.  Forward
propagation (Exercise 8.5) carries D derivatives forward and so has no such case.  The
measurements are in ``tests/grader/test_cost_cases.py``.

The gradient through a chain of modules (8.27) ends with a cost case as well, for the order
of its sums: taken from the left they are two products of a vector and a matrix, from the
right a product of two matrices (the Jacobian dy/dw) first, a factor of about K P / (K + P)
more multiplications; see ``CHAIN_COST_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import autodiff
import autodiff.numpy as anp
from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.checks.forbidden import BY_HAND
from grader.checks.gradients import _ANP_ACTIVATIONS, _NP_ACTIVATIONS, _activation_names
from grader.framework import Case, Check, Mistake

ANP_OUTPUTS = {"linear": lambda a: a, "sigmoid": anp.sigmoid, "softmax": anp.softmax}


def _network_case(rng: np.random.Generator, D: int, M: int, K: int, scale: float = 1.0, **kw):
    """A case ``(W1, b1, W2, b2, x)`` of a ``D``-``M``-``K`` network; ``scale`` sets how far
    the tanh units and the outputs are driven into saturation."""
    args = (
        normal(rng, M, D, scale=scale / np.sqrt(D)),
        normal(rng, M, scale=0.3),
        normal(rng, K, M, scale=scale / np.sqrt(M)),
        normal(rng, K, scale=0.3),
        normal(rng, D, scale=scale),
    )
    label = f"D={D} inputs, M={M} hidden, K={K} outputs"
    if scale != 1.0:
        label += f", weights and input scaled by {scale:g}"
    if "output" in kw:
        label = f"{kw['output']} outputs, " + label
    return Case(label, args, kw)


def _network_outputs(case: Case) -> Callable:
    """``x -> y`` of the case's network, written with ``anp`` for the transforms."""
    W1, b1, W2, b2, _ = case.args
    output = ANP_OUTPUTS[case.kwargs.get("output", "softmax")]
    return lambda x: output(anp.matmul(W2, anp.tanh(anp.matmul(W1, x) + b1)) + b2)


def _states(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forward propagation (8.19)-(8.20) in NumPy: hidden pre-activations, hidden outputs,
    output pre-activations."""
    W1, b1, W2, b2, x = case.args
    a = W1 @ x + b1
    z = np.tanh(a)
    return a, z, W2 @ z + b2


def _output_derivative(a_out: np.ndarray, output: str) -> np.ndarray:
    """``dy_k/da_l``: (8.31), (8.33) or (8.34)."""
    if output == "linear":
        return np.eye(a_out.size)
    if output == "sigmoid":
        y = 1.0 / (1.0 + np.exp(-a_out))
        return np.diag(y * (1.0 - y))
    y = np.exp(a_out - a_out.max())
    y = y / y.sum()
    return np.diag(y) - np.outer(y, y)


def _backprop_with(case: Case, G: np.ndarray, h_prime: np.ndarray, transpose: bool = False):
    """``J = ((G W2) * h') W1``, (8.29)-(8.30), from a given output derivative ``G`` and
    hidden derivative ``h'``; with ``transpose`` both weight matrices are used transposed."""
    W1, _, W2, _, _ = case.args
    if transpose:
        W1, W2 = W1.T, W2.T
    return ((G @ W2) * h_prime) @ W1


def _softmax_y(case: Case) -> np.ndarray:
    """The softmax outputs ``y`` of the case's network."""
    a_out = _states(case)[2]
    y = np.exp(a_out - a_out.max())
    return y / y.sum()


def _sigmoid_like_g(case: Case) -> np.ndarray:
    """``diag(y (1 - y))``: the diagonal of the softmax derivative (8.34) alone."""
    y = _softmax_y(case)
    return np.diag(y * (1.0 - y))


def _h_prime(case: Case) -> np.ndarray:
    """``h'(a_j) = 1 - z_j^2`` of the tanh hidden units."""
    return 1.0 - _states(case)[1] ** 2


COST_SIZES = (150_000, 2, 3)
"""``D, M, K`` of the cost case: W = M D + M + K M + K = 300,011 weights.  Backpropagation
costs one forward pass and K backward passes, about (K + 1) M D = 1.2e6 multiply-adds;
finite differences D forward passes (2 D central), each M D = 3e5, about 4.5e10 in all
(9e10 central), and each pass must read a perturbed input of D numbers."""

COST_SECONDS = 1.0
"""The time budget of the cost case.  Backpropagation takes 1-10 ms here (the inputs are
3.6 MB), up to 0.15 s on two cores loaded with three times as many processes (NumPy's BLAS
threads then wait for each other); D forward passes take half a minute or more, however
they are batched (NumPy ran them at 1.6e9 multiply-adds per second here at best)."""


def _cost_case(rng: np.random.Generator) -> Case:
    """The cost case: a wide input layer (weights scaled by 1/sqrt(D), so that the units
    are neither saturated nor linear), few hidden units and outputs."""
    D, M, K = COST_SIZES
    case = _network_case(rng, D, M, K)
    label = (
        f"cost: {case.name}, W={M * D + M + K * M + K:,} weights: K backward passes "
        f"(backpropagation) fit the {COST_SECONDS:g} s budget, D forward passes (finite "
        f"differences) do not"
    )
    return Case(label, case.args, case.kwargs, seconds=COST_SECONDS)


class _NetworkCheck(Check):
    """A check whose student function is ``f(net, x, **kwargs)`` with a TwoLayerNet."""

    outputs = ("J",)
    inputs = ("net.W1", "net.b1", "net.W2", "net.b2", "x")

    caller = "network"

    def student_function(self, answer):
        def function(net, x, **kwargs):
            return answer(Case("", (net.W1, net.b1, net.W2, net.b2, x), kwargs))

        return function


@register
class SoftmaxNetworkJacobian(_NetworkCheck):
    """``J = dy/dx`` of the two-layer tanh network with softmax outputs, by backpropagation
    (8.29)-(8.30) started from (8.34)."""

    name = "softmax_network_jacobian"
    forbids = BY_HAND
    references = ("autodiff.algorithms.jacobian.two_layer_jacobian",)
    title = "Jacobian of a softmax network by backpropagation"
    equation = "(8.29)-(8.34)"
    points = 3.0
    cost_reason = (
        "as costly as a few passes through the network per output (backpropagation: K "
        "backward passes), not one per input (finite differences: D forward passes)"
    )

    def cases(self, rng):
        cases = [
            _network_case(rng, 3, 3, 3),
            _network_case(rng, 1, 2, 2),
            _network_case(rng, *sizes(rng, 2, 6, 2), sizes(rng, 2, 6)[0]),
            _network_case(rng, 4, 4, 4),
            _network_case(rng, *sizes(rng, 1, 6, 2), sizes(rng, 2, 6)[0]),
            _network_case(rng, *sizes(rng, 2, 5, 3), scale=3.0),
        ]
        return [*cases, _cost_case(rng)]

    def visible_cases(self, rng):
        """Three small cases and the cost case: a method that is too slow shows in the
        self-check, stopped at the case's budget."""
        cases = self.cases(rng)
        return [*cases[:3], cases[-1]]

    def reference(self, case):
        return autodiff.jacrev(_network_outputs(case))(case.args[-1])

    def mistakes(self):
        def softmax_g(case):
            return _output_derivative(_states(case)[2], "softmax")

        return [
            Mistake(
                "missing -y_k y_l",
                "The derivative of the softmax outputs was taken as diag(y): the term "
                "-y_k y_l is missing. Every output depends on every pre-activation through "
                "the normalisation, so dy_k/da_l is not zero for k != l.",
                "(8.34)",
                lambda case: _backprop_with(case, np.diag(_softmax_y(case)), _h_prime(case)),
            ),
            Mistake(
                "diagonal of (8.34) only",
                "Only the diagonal y_k (1 - y_k) of the softmax derivative was used, as for "
                "independent sigmoid outputs (8.33): the off-diagonal entries -y_k y_l are "
                "missing.",
                "(8.34)",
                lambda case: _backprop_with(case, _sigmoid_like_g(case), _h_prime(case)),
            ),
            Mistake(
                "missing h'",
                "The derivative h'(a_j) = 1 - z_j^2 of the tanh hidden units is missing: "
                "passing back through a hidden unit multiplies by it.",
                "(8.30)",
                lambda case: _backprop_with(case, softmax_g(case), np.ones_like(_h_prime(case))),
            ),
            Mistake(
                "1 - a^2",
                "The tanh derivative was evaluated as 1 - a_j^2 from the pre-activation: it is "
                "1 - tanh(a_j)^2 = 1 - z_j^2.",
                "(8.30) with h = tanh",
                lambda case: _backprop_with(case, softmax_g(case), 1.0 - _states(case)[0] ** 2),
            ),
            Mistake(
                "tanh applied twice in h'",
                "The tanh derivative was evaluated as 1 - tanh(z_j)^2, at the hidden OUTPUT "
                "z_j = tanh(a_j): tanh was applied a second time. (8.16) writes the slope at "
                "a_j with the value already computed, h'(a_j) = 1 - z_j^2.",
                "(8.16) and (8.30)",
                lambda case: _backprop_with(
                    case, softmax_g(case), 1.0 - np.tanh(_states(case)[1]) ** 2
                ),
            ),
            Mistake(
                "transposed weights",
                "The weight matrices were used transposed: dy_k/da_j sums w_lj over the units "
                "l that unit j feeds (the first index), and J_ki sums w_ji over the units j "
                "that input i feeds.",
                "(8.29) and (8.30)",
                lambda case: _backprop_with(case, softmax_g(case), _h_prime(case), True),
            ),
        ]


# --- Exercise 8.5: the Jacobian of a layered network by forward propagation --------------


def _layered_jacobian_case(rng, layer_sizes, output, scale=1.0) -> Case:
    """A layered network ``[D, M_1, ..., K]`` (weights ``N(0, scale^2 / fan-in)``, biases
    ``N(0, 0.3^2)``), hidden activations drawn with neighbours different, one input ``x``
    of entries ``N(0, scale^2)``, and the output function ``output``."""
    L = len(layer_sizes) - 1
    names = _activation_names(rng, L - 1)
    flat = []
    for m_in, m_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        W = normal(rng, m_out, m_in, scale=scale / np.sqrt(m_in))
        flat += [W, normal(rng, m_out, scale=0.3)]
    x = normal(rng, layer_sizes[0], scale=scale)
    label = (
        f"{output} outputs, L={L} layer{'s' if L > 1 else ''} of sizes {list(layer_sizes)}, "
        f"hidden activations [{', '.join(names)}]"
    )
    if scale != 1.0:
        label += f", weights and input scaled by {scale:g}"
    return Case(label, (x, *flat), {"activations": " ".join(names), "output": output})


def _layered_parts(case: Case) -> tuple[np.ndarray, list, list, list[str], str]:
    """``x, weights, biases, activation names, output`` of a layered case."""
    x, *flat = case.args
    names = case.kwargs["activations"].split()
    return x, list(flat[0::2]), list(flat[1::2]), names, case.kwargs["output"]


def _layered_outputs(case: Case) -> Callable:
    """``x -> y`` of the case's layered network, written with ``anp`` for the transforms."""
    _, weights, biases, names, output = _layered_parts(case)

    def outputs(x):
        z = x
        for l, (W, b) in enumerate(zip(weights, biases)):
            a = anp.matmul(W, z) + b
            z = _ANP_ACTIVATIONS[names[l]](a) if l < len(names) else a
        return ANP_OUTPUTS[output](z)

    return outputs


def _forward_with(
    case: Case,
    *,
    slope: str = "a",
    transposed: bool = False,
    shift: int = 0,
    start: str = "W1",
    output: str | None = None,
    sigmoid_slope: str = "y(1-y)",
    softmax: str = "full",
) -> np.ndarray:
    """The forward propagation of Exercise 8.5 in NumPy, with switches that model the
    mistakes: the slope ``h'`` taken at ``a`` (right), at ``z``, or left out (``"one"``);
    the weight matrices used transposed; the slope of the layer ``shift`` places on; the
    recursion started from the identity instead of ``W^(1)``; another output function's
    derivative (``output``); the sigmoid's slope taken as ``y``; the softmax derivative
    without its ``-y_k y_l`` term (``"diag"``) or reduced to its diagonal (``"diagonal"``)."""
    x, weights, biases, names, own = _layered_parts(case)
    a = weights[0] @ x + biases[0]
    da_dx = np.eye(x.size) if start == "identity" else weights[0]
    if transposed:
        da_dx = da_dx.T
    for l in range(1, len(weights)):
        h, h_prime = _NP_ACTIVATIONS[names[l - 1]]
        z = h(a)
        name = names[(l - 1 + shift) % len(names)]
        slope_of = _NP_ACTIVATIONS[name][1]
        factor = {"a": slope_of(a), "z": slope_of(z), "one": np.ones_like(a)}[slope]
        W = weights[l].T if transposed else weights[l]
        da_dx = W @ (factor[:, None] * da_dx)
        a = weights[l] @ z + biases[l]
    return _output_jacobian(a, output or own, sigmoid_slope, softmax) @ da_dx


def _output_jacobian(a: np.ndarray, output: str, sigmoid_slope: str, softmax: str):
    """``dy_k/da_l`` of the outputs, (8.31), (8.33), (8.34), or a mistaken version of it."""
    if output == "linear":
        return np.eye(a.size)
    if output == "sigmoid":
        y = 1.0 / (1.0 + np.exp(-a))
        return np.diag(y if sigmoid_slope == "y" else y * (1.0 - y))
    y = np.exp(a - a.max())
    y = y / y.sum()
    if softmax == "diag":
        return np.diag(y)
    if softmax == "diagonal":
        return np.diag(y * (1.0 - y))
    return np.diag(y) - np.outer(y, y)


@register
class JacobianForwardPropagation(Check):
    """``J = dy/dx`` of a layered network of any depth by forward propagation (Exercise
    8.5): the ``(M_l, D)`` matrices ``da^(l)/dx`` carried from the first layer to the
    outputs, then multiplied by ``dy/da`` of the output function (linear, sigmoid or
    softmax).  The hidden layers each have their own activation."""

    name = "jacobian_forward_propagation"
    forbids = BY_HAND
    references = (
        "autodiff.algorithms.jacobian.two_layer_jacobian_forward",
        "autodiff.algorithms.jacobian.layered_jacobian_forward",
    )
    title = "Jacobian of a layered network by forward propagation"
    equation = "Exercise 8.5"
    points = 3.0
    outputs = ("J",)
    inputs = ("x", "W^(1)", "b^(1)", "W^(2)", "b^(2)", "W^(3)", "b^(3)", "W^(4)", "b^(4)")

    caller = "layered_jacobian"

    def cases(self, rng):
        plan = [  # (depth L, output, every layer the same size?)
            (2, "sigmoid", True),
            (1, "linear", False),
            (3, "softmax", False),
            (2, "linear", True),
            (4, "sigmoid", False),
            (3, "sigmoid", True),
            (2, "softmax", False),
        ]
        cases = []
        for L, output, square in plan:
            cases.append(self._informative(rng, L, output, square))
        cases.append(self._informative(rng, 2, "linear", False, scale=2.0))
        return cases

    def _informative(self, rng, L, output, square, scale=1.0) -> Case:
        """A case whose Jacobian is not washed out (ReLU layers all off, saturated units,
        a single softmax output): drawn again until its largest entry exceeds 0.05, or the
        case with the largest entry of 50 draws (deep sigmoid stacks can stay under 0.05:
        the relative tolerance judges them all the same)."""
        best, largest = None, -1.0
        for _ in range(50):
            if square:  # a transposed weight matrix keeps its shape
                layer_sizes = [int(sizes(rng, 2, 4)[0])] * (L + 1)
            else:
                layer_sizes = sizes(rng, 1, 5, L + 1)
                if output == "softmax":
                    layer_sizes[-1] = max(layer_sizes[-1], 2)
            case = _layered_jacobian_case(rng, layer_sizes, output, scale)
            entry = float(np.max(np.abs(self.reference(case))))
            if entry > 0.05:
                return case
            if entry > largest:
                best, largest = case, entry
        return best

    def visible_cases(self, rng):
        """A square sigmoid case, the single layer, a deeper softmax network."""
        return self.cases(rng)[:3]

    def reference(self, case):
        return autodiff.jacfwd(_layered_outputs(case))(case.args[0])

    def student_function(self, answer):
        def function(weights, biases, activations, x, output):
            flat = [p for pair in zip(weights, biases) for p in pair]
            kwargs = {"activations": " ".join(activations), "output": output}
            return answer(Case("", (x, *flat), kwargs))

        return function

    def mistakes(self):
        return [
            Mistake(
                "sigmoid slope taken as y",
                "The derivative of the sigmoid outputs was taken as y_k: the slope of the "
                "logistic sigmoid is sigma'(a) = y (1 - y), so dy_k/da_l = delta_kl y_k (1 - y_k).",
                "(8.33)",
                lambda case: _forward_with(case, sigmoid_slope="y"),
            ),
            Mistake(
                "output derivative skipped",
                "This is da^(L)/dx, the Jacobian of the output pre-activations: the derivative "
                "of the output function is missing.",
                "(8.31), (8.33), (8.34)",
                lambda case: _forward_with(case, output="linear"),
            ),
            Mistake(
                "missing -y_k y_l",
                "The derivative of the softmax outputs was taken as diag(y): the term -y_k y_l "
                "is missing. Every softmax output depends on every pre-activation through the "
                "normalisation.",
                "(8.34)",
                lambda case: _forward_with(case, softmax="diag"),
            ),
            Mistake(
                "diagonal of (8.34) only",
                "Only the diagonal y_k (1 - y_k) of the softmax derivative was used, as for "
                "independent sigmoid outputs (8.33): the off-diagonal entries -y_k y_l are "
                "missing.",
                "(8.34)",
                lambda case: _forward_with(case, softmax="diagonal"),
            ),
            Mistake(
                "missing h'",
                "The slopes h'(a_j) of the hidden units are missing from the recursion: the next "
                "layer receives z_j = h(a_j), not a_j.",
                "Exercise 8.5 with (8.6), the forward analogue of (8.30)",
                lambda case: _forward_with(case, slope="one"),
            ),
            Mistake(
                "h' at z instead of a",
                "The slope of each hidden unit was evaluated at its output z_j = h(a_j): the "
                "chain rule through z_j = h(a_j) needs h'(a_j), at the pre-activation.",
                "(8.6) and Exercise 8.5",
                lambda case: _forward_with(case, slope="z"),
            ),
            Mistake(
                "slope of the wrong layer",
                "The step out of hidden layer l used the slope of another layer's activation: "
                "each layer's units multiply by the derivative of their own function h_l.",
                "(8.6) and Exercise 8.5",
                lambda case: _forward_with(case, shift=1),
            ),
            Mistake(
                "started from the identity",
                "The recursion started from da^(1)/dx = I, as if the inputs were the first "
                "layer's pre-activations: those are weighted sums (8.5) of the inputs, whose "
                "derivatives (8.29) uses.",
                "(8.5) and Exercise 8.5",
                lambda case: _forward_with(case, start="identity"),
            ),
            Mistake(
                "transposed weights",
                "The weight matrices were used transposed: entry (j, i) of W^(l) is w_ji, the "
                "weight from unit i of the layer before to unit j. Check which index of the "
                "weights each sum of your recursion runs over.",
                "(8.5) and Exercise 8.5",
                lambda case: _forward_with(case, transposed=True),
            ),
        ]


CHAIN_COST_SIZES = (8000, 30, 8000)
"""``K, L, P`` of the cost case of ``module_chain_gradient``: inputs of 3.9 MB.  The sums of
(8.27) taken from the left, ``(dE_dy @ dy_dz) @ dz_dw``, are two products of a vector and a
matrix, K L + L P = 4.8e5 multiplications; taken from the right, ``dE_dy @ (dy_dz @ dz_dw)``,
they first form the K x P Jacobian dy/dw of 512 MB, K L P = 1.9e9 multiplications."""

CHAIN_COST_SECONDS = 0.1
"""The time budget of that case.  Measured here through the sandboxed side's own calls (inputs
copied, answer read back), one BLAS thread as in the grading runs, 20 runs of each order on
two cores already running four other processes: the order from the left took 1.0 ms
(median; slowest 5 ms), the order from the right 336 ms (median; fastest 305 ms), a ratio of
324; with two busy loops added, 1.1 ms (slowest 15 ms; 33 ms with BLAS's own threads, as in
a student's kernel) against 1.0 s (fastest 285 ms), and every run of the order from the
right stopped at the budget.  That order is a matrix product, which BLAS runs near its
peak, so no budget separates the two by the factor 4000 of their counts; this one is 3 or
more times the slowest run of the cheap order and a third or less of the fastest run of
the dear one."""


def _chain_cost_case(rng: np.random.Generator) -> Case:
    """The cost case of (8.27): many outputs and parameters, few signals in between."""
    K, L, P = CHAIN_COST_SIZES
    args = (normal(rng, K), normal(rng, K, L), normal(rng, L, P))
    label = (
        f"cost: K={K} outputs y, L={L} signals z, P={P} parameters w: the cheaper order of "
        f"the sums of (8.27) fits the {CHAIN_COST_SECONDS:g} s budget, the dearer one does not"
    )
    return Case(label, args, seconds=CHAIN_COST_SECONDS)


@register
class ModuleChainGradient(Check):
    """``dE/dw`` through a chain of modules (Figure 8.3): the sum over ``k, j`` of (8.27)."""

    name = "module_chain_gradient"
    forbids = BY_HAND
    references = ("autodiff.algorithms.jacobian.chain_jacobians",)
    title = "Gradient through a chain of modules"
    equation = "(8.27)"
    points = 2.0
    outputs = ("dE/dw",)
    inputs = ("dE_dy", "dy_dz", "dz_dw")
    cost_reason = (
        "as costly as two products of a vector and a matrix (dE/dy times dy/dz first, then "
        "times dz/dw: K L + L P multiplications), not a product of two matrices (dy/dz times "
        "dz/dw first, the K x P Jacobian dy/dw: K L P multiplications); the order in which "
        "the sums of (8.27) are taken sets the cost"
    )

    def cases(self, rng):
        shapes = [(3, 3, 3), (1, 1, 1), (2, 4, 3), (4, 4, 2), (1, 5, 4), (5, 2, 6)]
        cases = []
        for K, L, P in shapes:
            args = (normal(rng, K), normal(rng, K, L), normal(rng, L, P))
            cases.append(Case(f"K={K} outputs y, L={L} signals z, P={P} parameters w", args))
        return [*cases, _chain_cost_case(rng)]

    def visible_cases(self, rng):
        """Three small cases and the cost case: the dearer order of the sums shows in the
        self-check, stopped at the case's budget."""
        cases = self.cases(rng)
        return [*cases[:3], cases[-1]]

    def reference(self, case):
        dE_dy, dy_dz, dz_dw = case.args

        def error_of_w(dw):
            # A chain of linear modules with exactly these Jacobians: z = dz_dw w,
            # y = dy_dz z, E = dE_dy . y.
            return anp.sum(dE_dy * anp.matmul(dy_dz, anp.matmul(dz_dw, dw)))

        return autodiff.grad(error_of_w)(np.zeros(dz_dw.shape[1]))

    def mistakes(self):
        return [
            Mistake(
                "middle module skipped",
                "The Jacobian dy/dz of the middle module is missing: dE/dz_j is not dE/dy_j; "
                "it sums dE/dy_k dy_k/dz_j over all outputs k.",
                "(8.27)",
                lambda case: case.args[0] @ case.args[2],
            ),
            Mistake(
                "diagonal terms only",
                "Only the terms with k = j were summed, as if y_k depended on z_k alone: "
                "(8.27) sums over every pair k, j.",
                "(8.27)",
                lambda case: (case.args[0] * np.diag(case.args[1])) @ case.args[2],
            ),
            Mistake(
                "middle Jacobian transposed",
                "The middle Jacobian was used transposed: its entry (k, j) is dy_k/dz_j, so "
                "the error signal at z_j is sum_k dE/dy_k dy_k/dz_j.",
                "(8.26) and (8.27)",
                lambda case: case.args[0] @ case.args[1].T @ case.args[2],
            ),
        ]
