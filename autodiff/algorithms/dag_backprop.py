"""Backpropagation over a feed-forward network of arbitrary topology: Algorithm 8.1.

A :class:`Network` is a directed acyclic graph of *units*.  Every hidden or output unit
``j`` forms the weighted sum of the values ``z_i`` sent to it, ``a_j = sum_i w_ji z_i``
(8.5), and hidden units pass it through their own activation function, ``z_j = h_j(a_j)``
(8.6); each hidden unit may use a different ``h``.  The senders ``i`` can be inputs, other
hidden units (so skip connections are allowed) or the bias unit :data:`BIAS`, whose value
is fixed at +1 so that biases are ordinary weights.  Output units take their output
function from a canonical pair in :mod:`autodiff.algorithms.outputs` (linear, sigmoid or
softmax), so their error signals are ``delta_k = y_k - t_k`` (8.11).

Backward, the error signal of a hidden unit collects those of the units it sends to,
``delta_j = h_j'(a_j) sum_k w_kj delta_k`` (8.13), and the derivative for a connection is
``dE_n/dw_ji = delta_j z_i`` (8.10), summed over the batch (8.14).

The weights are a flat vector aligned with :attr:`Network.connections`, a tuple of
``(receiver, sender)`` name pairs in the index order of ``w_ji``; the gradient comes back
aligned the same way.  All arrays are batched, and the loops run over units, never over
data points.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from autodiff.activations import relu, sigmoid, softplus
from autodiff.algorithms.outputs import OutputPair, get_output_pair, output_deltas

BIAS = "bias"
"""Name of the unit whose value is fixed at +1; connect it to a unit to give it a bias."""


@dataclass(frozen=True)
class Activation:
    """A hidden-unit activation function ``h`` (8.6) and its derivative.

    ``derivative(a, z)`` returns ``h'(a)`` given the pre-activation ``a`` and ``z = h(a)``;
    some derivatives are cheapest in terms of ``z``, like ``1 - z^2`` for tanh (8.16).
    """

    name: str
    function: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray, np.ndarray], np.ndarray]


ACTIVATIONS: dict[str, Activation] = {
    act.name: act
    for act in (
        Activation("tanh", np.tanh, lambda a, z: 1.0 - z**2),
        Activation("sigmoid", sigmoid, lambda a, z: z * (1.0 - z)),
        Activation("relu", relu, lambda a, z: (a > 0).astype(float)),
        Activation("identity", lambda a: a, lambda a, z: np.ones_like(a)),
        Activation("softplus", softplus, lambda a, z: sigmoid(a)),
    )
}


def get_activation(activation: str | Activation) -> Activation:
    """The activation named ``activation`` (a key of :data:`ACTIVATIONS`), or ``activation``."""
    if isinstance(activation, Activation):
        return activation
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}: choose one of {sorted(ACTIVATIONS)} "
            "or pass an Activation"
        )
    return ACTIVATIONS[activation]


@dataclass(frozen=True)
class Unit:
    """A hidden or output unit: its name, the units or inputs it receives from, its ``h``.

    Hidden units need an ``activation``; output units must leave it ``None``, since their
    output function is the network's output pair.
    """

    name: str
    sources: tuple[str, ...]
    activation: str | Activation | None = None


class Network:
    """A validated feed-forward network of units (Section 8.1.2).

    ``inputs`` names the input variables (the columns of ``X``), ``hidden`` and ``outputs``
    are :class:`Unit` lists (``outputs`` in the order of the columns of ``y`` and ``T``;
    ``hidden`` in any order: it is sorted topologically), and ``output`` is the canonical
    output pair.  Output units may not send connections, as (8.11) assumes.
    """

    def __init__(
        self,
        inputs: Sequence[str],
        hidden: Sequence[Unit],
        outputs: Sequence[Unit],
        output: str | OutputPair = "linear",
    ) -> None:
        self.output = get_output_pair(output)
        self.inputs = tuple(inputs)
        hidden, outputs = tuple(hidden), tuple(outputs)
        _check_names(self.inputs, hidden, outputs)
        _check_activations(hidden, outputs)
        _check_sources(self.inputs, hidden, outputs)
        self.hidden = _topological_order(hidden)
        self.outputs = outputs
        self.nodes: tuple[str, ...] = (
            BIAS,
            *self.inputs,
            *(u.name for u in self.hidden + self.outputs),
        )
        """Column order of the per-node arrays: bias, inputs, hidden units, output units."""
        self.connections: tuple[tuple[str, str], ...] = tuple(
            (u.name, s) for u in self.hidden + self.outputs for s in u.sources
        )
        """``(receiver j, sender i)`` of every weight ``w_ji``, in weight-vector order."""
        self._activations = [get_activation(u.activation) for u in self.hidden]
        self._build_index()

    def _build_index(self) -> None:
        """Integer indices of units, senders, weight slices and receivers for the loops."""
        index = {name: i for i, name in enumerate(self.nodes)}
        self._unit_index = [index[u.name] for u in self.hidden + self.outputs]
        self._output_index = np.array([index[u.name] for u in self.outputs])
        self._sender_index, self._weight_slice = [], []
        start = 0
        for unit in self.hidden + self.outputs:
            self._sender_index.append(np.array([index[s] for s in unit.sources]))
            self._weight_slice.append(slice(start, start + len(unit.sources)))
            start += len(unit.sources)
        outgoing: dict[str, tuple[list[int], list[int]]] = {u.name: ([], []) for u in self.hidden}
        for c, (j, i) in enumerate(self.connections):
            if i in outgoing:
                outgoing[i][0].append(c)
                outgoing[i][1].append(index[j])
        self._outgoing = [
            tuple(np.array(v, dtype=int) for v in outgoing[u.name]) for u in self.hidden
        ]

    @property
    def num_weights(self) -> int:
        """``W``, the number of connections (biases included)."""
        return len(self.connections)

    def weight_vector(self, weights: Mapping[tuple[str, str], float]) -> np.ndarray:
        """The weight vector from ``{(receiver, sender): w_ji}``, one entry per connection."""
        connections = set(self.connections)
        missing = [c for c in self.connections if c not in weights]
        unknown = [c for c in weights if c not in connections]
        if missing or unknown:
            raise ValueError(
                "weights must give exactly one value per connection: "
                f"missing {missing}, not connections of this network {unknown}"
            )
        return np.array([weights[c] for c in self.connections], dtype=float)

    def weight_dict(self, w: np.ndarray) -> dict[tuple[str, str], float]:
        """``{(receiver, sender): value}`` for a vector aligned with :attr:`connections`."""
        return dict(zip(self.connections, self.check_weights(w).tolist(), strict=True))

    def random_weights(
        self, rng: np.random.Generator | int | None = None, scale: float = 1.0
    ) -> np.ndarray:
        """Weights drawn from ``N(0, scale^2 / fan_in)``, ``fan_in`` counted per receiving unit."""
        rng = np.random.default_rng(rng)
        fan_in = np.array([len(u.sources) for u in self.hidden + self.outputs])
        std = np.repeat(scale / np.sqrt(fan_in), fan_in)
        return rng.normal(0.0, 1.0, self.num_weights) * std

    def check_weights(self, w: np.ndarray) -> np.ndarray:
        """``w`` as a float vector, checked to hold one value per connection."""
        w = np.asarray(w, dtype=float)
        if w.shape != (self.num_weights,):
            raise ValueError(
                f"expected a weight vector of shape ({self.num_weights},) aligned with "
                f"Network.connections, got shape {w.shape}"
            )
        return w

    def check_inputs(self, X: np.ndarray) -> np.ndarray:
        """``X`` as an ``(N, D)`` float array whose columns are :attr:`inputs`."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if X.ndim != 2 or X.shape[1] != len(self.inputs):
            raise ValueError(
                f"expected inputs X of shape (N, {len(self.inputs)}) with columns "
                f"{list(self.inputs)}, got shape {X.shape}"
            )
        return X

    def check_targets(self, T: np.ndarray, N: int) -> np.ndarray:
        """``T`` as an ``(N, K)`` float array whose columns follow :attr:`outputs`."""
        T = np.atleast_2d(np.asarray(T, dtype=float))
        if T.shape != (N, len(self.outputs)):
            raise ValueError(
                f"expected targets T of shape ({N}, {len(self.outputs)}) with columns "
                f"{[u.name for u in self.outputs]}, got shape {T.shape}"
            )
        return T


@dataclass(frozen=True)
class ForwardPass:
    """Result of forward propagation: ``(N, len(network.nodes))`` arrays, one column per node.

    ``a[:, j]`` is the pre-activation (8.5) of unit ``j`` (zero for the bias and inputs) and
    ``z[:, j]`` its value (8.6): +1 for the bias, ``x_i`` for inputs, ``y_k`` for outputs.
    """

    a: np.ndarray
    z: np.ndarray
    y: np.ndarray


def forward(network: Network, w: np.ndarray, X: np.ndarray) -> ForwardPass:
    """Forward propagation (8.5), (8.6) for a batch ``X`` of shape ``(N, D)``."""
    w = network.check_weights(w)
    X = network.check_inputs(X)
    a = np.zeros((X.shape[0], len(network.nodes)))
    z = np.zeros_like(a)
    z[:, 0] = 1.0
    z[:, 1 : 1 + X.shape[1]] = X
    for u, j in enumerate(network._unit_index):
        a[:, j] = z[:, network._sender_index[u]] @ w[network._weight_slice[u]]
        if u < len(network.hidden):
            z[:, j] = network._activations[u].function(a[:, j])
    y = network.output.function(a[:, network._output_index])
    z[:, network._output_index] = y
    return ForwardPass(a=a, z=z, y=y)


def error(network: Network, w: np.ndarray, X: np.ndarray, T: np.ndarray) -> float:
    """The batch error (8.1) of the network's canonical output pair."""
    fp = forward(network, w, X)
    T = network.check_targets(T, fp.a.shape[0])
    return network.output.error(fp.a[:, network._output_index], T)


def backward_deltas(network: Network, w: np.ndarray, fp: ForwardPass, T: np.ndarray) -> np.ndarray:
    """Error signals ``delta_j = dE_n/da_j`` (8.8), one column per node as in :class:`ForwardPass`.

    Output units get ``y_k - t_k`` (8.11); hidden units, visited in reverse topological
    order, get ``h_j'(a_j) sum_k w_kj delta_k`` (8.13) over the units ``k`` they send to.
    """
    w = network.check_weights(w)
    T = network.check_targets(T, fp.a.shape[0])
    delta = np.zeros_like(fp.a)
    delta[:, network._output_index] = output_deltas(fp.y, T, network.output)
    for u in reversed(range(len(network.hidden))):
        j = network._unit_index[u]
        connections, receivers = network._outgoing[u]
        h_prime = network._activations[u].derivative(fp.a[:, j], fp.z[:, j])
        delta[:, j] = h_prime * (delta[:, receivers] @ w[connections])
    return delta


def weight_gradient(network: Network, fp: ForwardPass, delta: np.ndarray) -> np.ndarray:
    """``dE/dw_ji = sum_n delta_j z_i`` (8.10), (8.14), aligned with ``network.connections``."""
    grad = np.empty(network.num_weights)
    for u, j in enumerate(network._unit_index):
        grad[network._weight_slice[u]] = fp.z[:, network._sender_index[u]].T @ delta[:, j]
    return grad


def backprop(network: Network, w: np.ndarray, X: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Algorithm 8.1 on a batch: ``dE/dw`` for every connection, summed over data points (8.14).

    ``X`` is ``(N, D)`` (or ``(D,)``), ``T`` is ``(N, K)``; the result is aligned with
    ``network.connections`` (use :meth:`Network.weight_dict` to label it).
    """
    fp = forward(network, w, X)
    return weight_gradient(network, fp, backward_deltas(network, w, fp, T))


def _check_names(
    inputs: tuple[str, ...], hidden: tuple[Unit, ...], outputs: tuple[Unit, ...]
) -> None:
    """Names are strings, unique across inputs and units, and not the reserved bias name."""
    if not inputs or not outputs:
        raise ValueError("a network needs at least one input and at least one output unit")
    for u in hidden + outputs:
        if not isinstance(u, Unit):
            raise TypeError(f"hidden and output units must be Unit objects, got {u!r}")
    names = [*inputs, *(u.name for u in hidden + outputs)]
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f"input and unit names must be strings, got {names}")
    if BIAS in names:
        raise ValueError(f"{BIAS!r} is reserved for the bias unit; rename that input or unit")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"input and unit names must be unique, repeated: {repeated}")


def _check_activations(hidden: tuple[Unit, ...], outputs: tuple[Unit, ...]) -> None:
    """Hidden units name a known activation; output units leave theirs unset."""
    for u in hidden:
        if u.activation is None:
            raise ValueError(f"hidden unit {u.name!r} needs an activation, e.g. 'tanh'")
        get_activation(u.activation)
    for u in outputs:
        if u.activation is not None:
            raise ValueError(
                f"output unit {u.name!r} takes its output function from the network's output "
                "pair; leave its activation unset"
            )


def _check_sources(
    inputs: tuple[str, ...], hidden: tuple[Unit, ...], outputs: tuple[Unit, ...]
) -> None:
    """Every unit receives from at least one known, non-output sender, each listed once."""
    known = {BIAS, *inputs, *(u.name for u in hidden)}
    output_names = {u.name for u in outputs}
    for u in hidden + outputs:
        if isinstance(u.sources, str):
            raise TypeError(
                f"unit {u.name!r}: sources must be a tuple of names, got the string {u.sources!r}"
            )
        if not u.sources:
            raise ValueError(f"unit {u.name!r} has no incoming connections")
        if len(set(u.sources)) != len(u.sources):
            raise ValueError(f"unit {u.name!r} lists a sender twice: {list(u.sources)}")
        from_outputs = [s for s in u.sources if s in output_names]
        if from_outputs:
            raise ValueError(
                f"unit {u.name!r} receives from output units {from_outputs}; output units "
                "may not send connections (make them hidden units instead)"
            )
        unknown = [s for s in u.sources if s not in known]
        if unknown:
            raise ValueError(
                f"unit {u.name!r} receives from unknown units {unknown}; senders must be "
                f"inputs, hidden units or {BIAS!r}"
            )


def _topological_order(hidden: tuple[Unit, ...]) -> tuple[Unit, ...]:
    """Hidden units sorted so every unit follows its senders (Kahn's algorithm)."""
    by_name = {u.name: u for u in hidden}
    waiting = {u.name: sum(s in by_name for s in u.sources) for u in hidden}
    receivers: dict[str, list[str]] = {name: [] for name in by_name}
    for u in hidden:
        for s in u.sources:
            if s in by_name:
                receivers[s].append(u.name)
    ready = deque(u.name for u in hidden if waiting[u.name] == 0)
    order = []
    while ready:
        name = ready.popleft()
        order.append(by_name[name])
        for r in receivers[name]:
            waiting[r] -= 1
            if waiting[r] == 0:
                ready.append(r)
    if len(order) < len(hidden):
        stuck = sorted(name for name, count in waiting.items() if count > 0)
        raise ValueError(
            f"hidden units {stuck} lie on or after a cycle of connections; "
            "a feed-forward network must be acyclic"
        )
    return tuple(order)
