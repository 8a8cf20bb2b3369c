"""Algorithm 8.1 over arbitrary feed-forward DAGs, against ``autodiff.grad``."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.dag_backprop import (
    BIAS,
    Activation,
    Network,
    Unit,
    backprop,
    error,
    forward,
)

OUTPUTS = ["linear", "sigmoid", "softmax"]
ANP_ACTIVATIONS = {
    "tanh": anp.tanh,
    "sigmoid": anp.sigmoid,
    "relu": anp.relu,
    "identity": lambda a: a,
    "softplus": anp.softplus,
}
SINE = Activation("sin", np.sin, lambda a, z: np.cos(a))


def assert_close(actual, expected, rtol=1e-10):
    """Agreement to ``rtol`` relative to the largest entry of ``expected``."""
    expected = np.asarray(expected, dtype=float)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.max(np.abs(expected)))


def anp_outputs(network: Network, w, X):
    """Output pre-activations ``(N, K)`` evaluated from the unit specs, recursively by name.

    Written independently of the module: no topological sort, one product per connection.
    """
    weight_of = {c: i for i, c in enumerate(network.connections)}
    units = {u.name: u for u in network.hidden + network.outputs}
    values = {BIAS: np.ones(X.shape[0]), **{x: X[:, i] for i, x in enumerate(network.inputs)}}

    def pre_activation(name):
        return sum(w[weight_of[(name, s)]] * value(s) for s in units[name].sources)

    def value(name):
        if name not in values:
            h = units[name].activation
            h = ANP_ACTIVATIONS[h] if isinstance(h, str) else anp.sin
            values[name] = h(pre_activation(name))
        return values[name]

    return anp.stack([pre_activation(u.name) for u in network.outputs], axis=1)


def anp_error(network: Network, X, T):
    """The batch error as a function of the weight vector, for ``autodiff.grad``."""

    def E(w):
        A = anp_outputs(network, w, X)
        if network.output.name == "linear":
            return 0.5 * anp.sum((A - T) ** 2)
        if network.output.name == "sigmoid":
            Y = anp.sigmoid(A)
            return -anp.sum(T * anp.log(Y) + (1.0 - T) * anp.log(1.0 - Y))
        return -anp.sum(T * anp.log_softmax(A, axis=1))

    return E


def random_network(rng, D, H, K, output, skip_probability=0.5):
    """Random DAG: hidden units draw senders from inputs, earlier units and the bias;
    outputs from hidden units and (skip connections) inputs.  Hidden units are listed
    in shuffled order so the network must sort them itself."""
    inputs = [f"x{i}" for i in range(D)]
    hidden = []
    for j in range(H):
        pool = inputs + [u.name for u in hidden] + [BIAS]
        chosen = [s for s in pool if rng.uniform() < skip_probability] or [pool[-2]]
        activation = rng.choice(list(ANP_ACTIVATIONS))
        hidden.append(Unit(f"h{j}", tuple(chosen), str(activation)))
    outputs = []
    for k in range(K):
        pool = inputs + [u.name for u in hidden] + [BIAS]
        chosen = [s for s in pool if rng.uniform() < skip_probability] or [f"h{H - 1}"]
        outputs.append(Unit(f"y{k}", tuple(chosen)))
    rng.shuffle(hidden)
    return Network(inputs, hidden, outputs, output)


def random_targets(output, N, K, rng):
    if output == "linear":
        return rng.normal(size=(N, K))
    if output == "sigmoid":
        return rng.uniform(size=(N, K))
    return np.eye(K)[rng.integers(K, size=N)]


def skip_network(output="linear"):
    """Two inputs, three hidden units with different activations, skips to the outputs."""
    hidden = [
        Unit("h3", ("h1", "h2", "x1"), "softplus"),  # listed before its senders on purpose
        Unit("h1", ("x1", "x2", BIAS), "tanh"),
        Unit("h2", ("x2", "h1", BIAS), "relu"),
    ]
    outputs = [Unit("y1", ("h3", "h1", "x1", BIAS)), Unit("y2", ("h2", "h3", "x2"))]
    return Network(("x1", "x2"), hidden, outputs, output)


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize(
    ("seed", "D", "H", "K", "N"), [(0, 3, 4, 2, 1), (1, 2, 7, 3, 9), (2, 5, 10, 1, 16)]
)
def test_random_dags_match_grad(output, seed, D, H, K, N):
    if output == "softmax" and K == 1:
        K = 2
    rng = np.random.default_rng(seed)
    network = random_network(rng, D, H, K, output)
    w = network.random_weights(rng)
    X = rng.normal(size=(N, D))
    T = random_targets(output, N, K, rng)
    assert_close(backprop(network, w, X, T), autodiff.grad(anp_error(network, X, T))(w))


@pytest.mark.parametrize("output", OUTPUTS)
def test_skip_connections_and_mixed_activations(output):
    rng = np.random.default_rng(5)
    network = skip_network(output)
    assert [u.name for u in network.hidden] == ["h1", "h2", "h3"]
    w = network.random_weights(rng)
    X = rng.normal(size=(12, 2))
    T = random_targets(output, 12, 2, rng)
    assert_close(backprop(network, w, X, T), autodiff.grad(anp_error(network, X, T))(w))
    assert_close(forward(network, w, X).y, network.output.function(anp_outputs(network, w, X)))
    assert_close(error(network, w, X, T), anp_error(network, X, T)(w))


def test_custom_activation():
    network = Network(
        ("x1", "x2"),
        [Unit("s", ("x1", "x2", BIAS), SINE), Unit("t", ("s", "x2"), "tanh")],
        [Unit("y", ("s", "t", BIAS))],
    )
    rng = np.random.default_rng(6)
    w = network.random_weights(rng)
    X, T = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    assert_close(backprop(network, w, X, T), autodiff.grad(anp_error(network, X, T))(w))


def test_unit_that_sends_nowhere_gets_zero_gradient():
    network = Network(
        ("x",),
        [Unit("used", ("x", BIAS), "tanh"), Unit("unused", ("x", "used"), "relu")],
        [Unit("y", ("used",))],
    )
    rng = np.random.default_rng(8)
    w = network.random_weights(rng)
    X, T = rng.normal(size=(3, 1)), rng.normal(size=(3, 1))
    grad = backprop(network, w, X, T)
    assert_close(grad, autodiff.grad(anp_error(network, X, T))(w))
    assert np.all(grad[[network.connections.index(("unused", s)) for s in ("x", "used")]] == 0)


def test_single_data_point_gradient_matches_grad():
    network = skip_network()
    rng = np.random.default_rng(7)
    w = network.random_weights(rng)
    x, t = rng.normal(size=2), rng.normal(size=2)
    expected = autodiff.grad(anp_error(network, x[None], t[None]))(w)
    assert_close(backprop(network, w, x, t), expected)


def test_weight_mapping_round_trip_and_labels():
    network = skip_network()
    w = network.random_weights(0)
    weights = network.weight_dict(w)
    assert list(weights) == list(network.connections)
    assert np.array_equal(network.weight_vector(weights), w)
    assert ("y1", BIAS) in weights and ("h3", "h1") in weights


def test_hand_computed_single_unit():
    # y = w1 x + w0, E = (y - t)^2 / 2; at x = 2, t = 1, w1 = 3, w0 = -1: y - t = 4,
    # so dE/dw1 = 4 * 2 = 8 and dE/dw0 = 4 (8.10) with z = 1 for the bias.
    network = Network(("x",), [], [Unit("y", ("x", BIAS))])
    w = network.weight_vector({("y", "x"): 3.0, ("y", BIAS): -1.0})
    assert np.array_equal(backprop(network, w, [[2.0]], [[1.0]]), [8.0, 4.0])


@pytest.mark.parametrize(
    ("inputs", "hidden", "outputs", "message"),
    [
        (
            ("x",),
            [Unit("a", ("b",), "tanh"), Unit("b", ("a", "x"), "tanh")],
            [Unit("y", ("a",))],
            "cycle",
        ),
        (("x",), [Unit("a", ("a",), "tanh")], [Unit("y", ("a",))], "cycle"),
        (("x",), [Unit("a", ("x", "z"), "tanh")], [Unit("y", ("a",))], r"unknown units \['z'\]"),
        (("x",), [Unit("a", ("x", "y"), "tanh")], [Unit("y", ("x",))], "may not send"),
        (("x",), [Unit("x", ("x",), "tanh")], [Unit("y", ("x",))], "unique"),
        (("bias",), [], [Unit("y", ("bias",))], "reserved"),
        (("x",), [Unit("a", ("x",))], [Unit("y", ("a",))], "needs an activation"),
        (("x",), [Unit("a", ("x",), "cosh")], [Unit("y", ("a",))], "unknown activation 'cosh'"),
        (("x",), [], [Unit("y", ("x",), "tanh")], "leave its activation unset"),
        (("x",), [Unit("a", (), "tanh")], [Unit("y", ("a",))], "no incoming"),
        (("x",), [Unit("a", ("x", "x"), "tanh")], [Unit("y", ("a",))], "twice"),
        (("x",), [Unit("a", "x", "tanh")], [Unit("y", ("a",))], "tuple of names"),
        (("x",), [], [], "at least one"),
    ],
)
def test_malformed_networks_are_rejected(inputs, hidden, outputs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Network(inputs, hidden, outputs)


def test_missing_and_unknown_weights_are_reported():
    network = Network(("x",), [], [Unit("y", ("x", BIAS))])
    with pytest.raises(ValueError, match=r"missing \[\('y', 'bias'\)\]"):
        network.weight_vector({("y", "x"): 1.0})
    with pytest.raises(ValueError, match=r"\('y', 'z'\)"):
        network.weight_vector({("y", "x"): 1.0, ("y", BIAS): 0.0, ("y", "z"): 2.0})


def test_shape_mismatches_are_reported():
    network = skip_network()
    w = network.random_weights(0)
    with pytest.raises(ValueError, match="weight vector of shape"):
        backprop(network, w[:-1], np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"inputs X of shape \(N, 2\)"):
        backprop(network, w, np.zeros((3, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"targets T of shape \(3, 2\)"):
        backprop(network, w, np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="unknown output"):
        Network(("x",), [], [Unit("y", ("x",))], output="tanh")
