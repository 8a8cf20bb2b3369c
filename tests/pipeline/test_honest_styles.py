"""Honest habits grade as they ran: a corpus of ways students write right solutions.

Each scripted student restyles the master's solutions of ``02_two_layer_network`` (and a
few of ``04_jacobian``): cell magics, several imports per line with a name the task
forbids, objects filled by method calls, registries, decorators, closures, lambdas, static
methods, helpers in other cells, a fixed draft redefined later, float32, lists, prints,
warnings and standard error.  Styles that write different cells share a notebook; one class
holds them all and is graded once, through the real pipeline, in the sandbox.  Every
student must earn the points of the ``complete`` student, and none may be shown a problem or
a flag (nor a note that names something the submission never wrote).
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from grader.demo.classroom import build_demo_class, solution_source
from grader.demo.submissions import JACOBIAN, TWO_LAYER, Scripted, complete
from grader.pipeline.autograde import autograde
from grader.pipeline.sandbox import bubblewrap
from grader.pipeline.sandbox.limits import Limits
from grader.release import COURSE

pytestmark = pytest.mark.skipif(
    bubblewrap.bubblewrap() is None, reason="bubblewrap is not installed (make sandbox)"
)

LIMITS = Limits(cell_seconds=30, job_seconds=240)


def _solutions(assignment: str) -> dict[str, str]:
    master = nbformat.read(str(COURSE / "source" / assignment / f"{assignment}.ipynb"), 4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: solution_source(cell.source)
        for cell in master.cells
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code"
    }


MASTER = _solutions(TWO_LAYER)
FORWARD, BACKPROP = MASTER["forward_solution"], MASTER["backprop_solution"]
TRAIN, SKIP = MASTER["train_solution"], MASTER["backprop_skip_solution"]
JACOBIAN_MASTER = _solutions(JACOBIAN)

# -- The styles ------------------------------------------------------------------------------

FORWARD_ADNP = '''\
from autodiff import grad, numpy as adnp  # grad for checking by hand later


def forward(W1, b1, W2, b2, X):
    """Forward propagation (8.18)-(8.20)."""
    Z = adnp.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
'''

IMPORTS_PER_LINE = """\
import numpy as onp, matplotlib.pyplot as plt, autodiff.numpy as anp
from numpy import tanh as th, zeros_like
import autodiff.algorithms.two_layer as reference_two_layer  # to compare, someday


def forward(W1, b1, W2, b2, X):
    Z = th(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
"""

REGISTRY_UPDATE_FORWARD = '''\
IMPLEMENTATIONS = {}


def _forward_impl(W1, b1, W2, b2, X):
    Z = np.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2


IMPLEMENTATIONS.update({"forward": _forward_impl})


def forward(W1, b1, W2, b2, X):
    """Dispatch to the registered implementation."""
    return IMPLEMENTATIONS["forward"](W1, b1, W2, b2, X)
'''

LIST_APPEND = """\
layers = []


def _hidden(W1, b1, X):
    return np.tanh(X @ W1.T + b1)


def _output(W2, b2, Z):
    return Z @ W2.T + b2


layers.append(_hidden)
layers.append(_output)


def forward(W1, b1, W2, b2, X):
    Z = layers[0](W1, b1, X)
    return Z, layers[1](W2, b2, Z)
"""

SETATTR = """\
class Activations:
    pass


act = Activations()
setattr(act, "h", np.tanh)
setattr(act, "dh", lambda Z: 1.0 - Z**2)


def forward(W1, b1, W2, b2, X):
    Z = act.h(X @ W1.T + b1)
    return Z, Z @ W2.T + b2


def backprop(W1, b1, W2, b2, X, T):
    Z, Y = forward(W1, b1, W2, b2, X)
    delta_out = Y - T
    delta_hidden = act.dh(Z) * (delta_out @ W2)
    return delta_hidden.T @ X, delta_hidden.sum(0), delta_out.T @ Z, delta_out.sum(0)
"""

LOOP_REGISTRY = """\
def _fwd(W1, b1, W2, b2, X):
    Z = np.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2


def _bwd(W1, b1, W2, b2, X, T):
    Z, Y = _fwd(W1, b1, W2, b2, X)
    d_out = Y - T
    d_hid = (1 - Z**2) * (d_out @ W2)
    return d_hid.T @ X, d_hid.sum(axis=0), d_out.T @ Z, d_out.sum(axis=0)


OPS = {}
for name, function in [("forward", _fwd), ("backprop", _bwd)]:
    OPS[name] = function

forward = OPS["forward"]
backprop = OPS["backprop"]
"""

GLOBALS_LOOP = """\
def _forward_v2(W1, b1, W2, b2, X):
    Z = np.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2


for public, private in {"forward": _forward_v2}.items():
    globals()[public] = private
"""

IF_WRAPPED = '''\
VECTORISED = True

if VECTORISED:

    def backprop(W1, b1, W2, b2, X, T):
        Z, Y = forward(W1, b1, W2, b2, X)
        delta_out = Y - T
        delta_hidden = (1.0 - Z**2) * (delta_out @ W2)
        return delta_hidden.T @ X, delta_hidden.sum(0), delta_out.T @ Z, delta_out.sum(0)

else:

    def backprop(W1, b1, W2, b2, X, T):
        """One data point at a time (slow)."""
        grads = [np.zeros_like(p) for p in (W1, b1, W2, b2)]
        for x, t in zip(X, T):
            z = np.tanh(W1 @ x + b1)
            d_out = W2 @ z + b2 - t
            d_hid = (1 - z**2) * (W2.T @ d_out)
            for g, new in zip(grads, (np.outer(d_hid, x), d_hid, np.outer(d_out, z), d_out)):
                g += new
        return tuple(grads)
'''

DECORATED = '''\
import functools


def logged(function):
    """Count the calls (the student's own instrumentation)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        wrapper.calls += 1
        return function(*args, **kwargs)

    wrapper.calls = 0
    return wrapper


@logged
def forward(W1, b1, W2, b2, X):
    Z = np.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
'''

REGISTERING_DECORATOR = """\
TASKS = {}


def task(name):
    def register(function):
        TASKS[name] = function
        return function

    return register


@task("backprop")
def _my_backprop(W1, b1, W2, b2, X, T):
    Z, Y = forward(W1, b1, W2, b2, X)
    delta_out = Y - T
    delta_hidden = (1.0 - Z**2) * (delta_out @ W2)
    return delta_hidden.T @ X, delta_hidden.sum(0), delta_out.T @ Z, delta_out.sum(0)


def backprop(W1, b1, W2, b2, X, T):
    return TASKS["backprop"](W1, b1, W2, b2, X, T)
"""

PARTIAL = """\
from functools import partial


def _two_layer(W1, b1, W2, b2, X, activation):
    Z = activation(X @ W1.T + b1)
    return Z, Z @ W2.T + b2


forward = partial(_two_layer, activation=np.tanh)
"""

LRU_CACHE = """\
from functools import lru_cache


@lru_cache(maxsize=None)
def activation(name):
    return {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0.0)}[name]


def forward(W1, b1, W2, b2, X):
    Z = activation("tanh")(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
"""

LAMBDAS = """\
hidden = lambda W1, b1, X: np.tanh(X @ W1.T + b1)
forward = lambda W1, b1, W2, b2, X: (lambda Z: (Z, Z @ W2.T + b2))(hidden(W1, b1, X))
"""

STATIC_METHODS = '''\
class TwoLayer:
    """The network's computations, grouped."""

    @staticmethod
    def forward(W1, b1, W2, b2, X):
        Z = np.tanh(X @ W1.T + b1)
        return Z, Z @ W2.T + b2

    @staticmethod
    def backprop(W1, b1, W2, b2, X, T):
        Z, Y = TwoLayer.forward(W1, b1, W2, b2, X)
        d_out = Y - T
        d_hidden = (1.0 - Z**2) * (d_out @ W2)
        return d_hidden.T @ X, d_hidden.sum(0), d_out.T @ Z, d_out.sum(0)


forward = TwoLayer.forward
backprop = TwoLayer.backprop
'''

CLOSURE = """\
def make_forward(h):
    def forward(W1, b1, W2, b2, X):
        Z = h(X @ W1.T + b1)
        return Z, Z @ W2.T + b2

    return forward


forward = make_forward(np.tanh)
"""

HELPER_CELL = '''\
HALF = 0.5


def tanh_derivative(Z):
    """h'(a) = 1 - h(a)^2 (8.16), from the activations."""
    return 1.0 - Z**2
'''

BACKPROP_WITH_HELPER = """\
def backprop(W1, b1, W2, b2, X, T):
    Z, Y = forward(W1, b1, W2, b2, X)
    delta_out = 2 * HALF * (Y - T)
    delta_hidden = tanh_derivative(Z) * (delta_out @ W2)
    return delta_hidden.T @ X, delta_hidden.sum(axis=0), delta_out.T @ Z, delta_out.sum(axis=0)
"""

IMPORT_INSIDE = """\
def forward(W1, b1, W2, b2, X):
    import numpy as onp

    Z = onp.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
"""

ALIASES = """\
import numpy as numerical

fwd = forward
sum_rows = numerical.sum


def backprop(W1, b1, W2, b2, X, T):
    Z, Y = fwd(W1, b1, W2, b2, X)
    d_out = Y - T
    d_hid = (1.0 - Z**2) * (d_out @ W2)
    return d_hid.T @ X, sum_rows(d_hid, axis=0), d_out.T @ Z, sum_rows(d_out, axis=0)
"""

DRAFT_FORWARD = """\
def forward(W1, b1, W2, b2, X):
    Z = X @ W1.T + b1  # draft: the activation is still missing
    return Z, Z @ W2.T + b2
"""

FIXED_FORWARD = """\
# fixed: tanh on the hidden units (8.19)
def forward(W1, b1, W2, b2, X):
    Z = np.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
"""

FLOAT32_BACKPROP = """\
def backprop(W1, b1, W2, b2, X, T):
    Z, Y = forward(W1, b1, W2, b2, X)
    delta_out = Y - T
    delta_hidden = (1.0 - Z**2) * (delta_out @ W2)
    grads = delta_hidden.T @ X, delta_hidden.sum(axis=0), delta_out.T @ Z, delta_out.sum(axis=0)
    return tuple(g.astype(np.float32) for g in grads)
"""

LISTS_SKIP = """\
def backprop_skip(W1, b1, W2, b2, Ws, X, T):
    Z = np.tanh(X @ W1.T + b1)
    delta_out = Z @ W2.T + b2 + X @ Ws.T - T
    delta_hidden = (1.0 - Z**2) * (delta_out @ W2)
    grads = (delta_hidden.T @ X, delta_hidden.sum(0), delta_out.T @ Z, delta_out.sum(0))
    return [g.tolist() for g in grads] + [(delta_out.T @ X).tolist()]
"""

LISTS_TRAIN = """\
def train(W1, b1, W2, b2, X, T, learning_rate, steps):
    params = [W1, b1, W2, b2]
    losses = []
    for _ in range(steps):
        Y = np.tanh(X @ params[0].T + params[1]) @ params[2].T + params[3]
        losses.append(float(0.5 * np.sum((Y - T) ** 2)))
        grads = backprop(*params, X, T)
        params = [p - learning_rate * g for p, g in zip(params, grads)]
    Y = np.tanh(X @ params[0].T + params[1]) @ params[2].T + params[3]
    losses.append(float(0.5 * np.sum((Y - T) ** 2)))
    return tuple(p.tolist() for p in params) + (losses,)
"""

NOISY_BACKPROP = """\
import sys
import warnings


def backprop(W1, b1, W2, b2, X, T):
    print("backprop on", X.shape[0], "points")
    print("debug: deltas next", file=sys.stderr)
    warnings.warn("this is my first backprop", UserWarning)
    Z, Y = forward(W1, b1, W2, b2, X)
    delta_out = Y - T
    delta_hidden = (1.0 - Z**2) * (delta_out @ W2)
    return delta_hidden.T @ X, delta_hidden.sum(axis=0), delta_out.T @ Z, delta_out.sum(axis=0)
"""

WRITEFILE_HELPERS = '''\
%%writefile twolayer_helpers.py
import numpy as np


def tanh_prime(Z):
    """1 - tanh^2, from the activations."""
    return 1.0 - Z**2
'''

BACKPROP_FROM_HELPERS = """\
from twolayer_helpers import tanh_prime


def backprop(W1, b1, W2, b2, X, T):
    Z, Y = forward(W1, b1, W2, b2, X)
    delta_out = Y - T
    delta_hidden = tanh_prime(Z) * (delta_out @ W2)
    return delta_hidden.T @ X, delta_hidden.sum(axis=0), delta_out.T @ Z, delta_out.sum(axis=0)
"""

NETWORK_OBJECT = '''\
class Network:
    """Forward and backward passes, with a cache of the last activations."""

    def __init__(self):
        self.cache = {}

    def forward(self, W1, b1, W2, b2, X):
        Z = np.tanh(X @ W1.T + b1)
        self.cache["Z"] = Z
        return Z, Z @ W2.T + b2

    def backprop(self, W1, b1, W2, b2, X, T):
        Z, Y = self.forward(W1, b1, W2, b2, X)
        d_out = Y - T
        d_hid = (1.0 - Z**2) * (d_out @ W2)
        return d_hid.T @ X, d_hid.sum(axis=0), d_out.T @ Z, d_out.sum(axis=0)


net = Network()
forward, backprop = net.forward, net.backprop
'''

STAR_IMPORT = """\
from numpy import *  # noqa: F403 - the student's habit


def forward(W1, b1, W2, b2, X):
    Z = tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
"""

GLOBAL_SETUP = """\
def configure():
    global ACTIVATION, DERIVATIVE
    ACTIVATION = np.tanh
    DERIVATIVE = lambda Z: 1.0 - Z**2


configure()


def backprop(W1, b1, W2, b2, X, T):
    Z = ACTIVATION(X @ W1.T + b1)
    delta_out = Z @ W2.T + b2 - T
    delta_hidden = DERIVATIVE(Z) * (delta_out @ W2)
    return delta_hidden.T @ X, delta_hidden.sum(0), delta_out.T @ Z, delta_out.sum(0)
"""

EINSUM_SKIP = '''\
def backprop_skip(W1, b1, W2, b2, Ws, X, T):
    """Exercise 8.4 with einsum."""
    Z = np.tanh(np.einsum("md,nd->nm", W1, X) + b1)
    Y = np.einsum("km,nm->nk", W2, Z) + b2 + np.einsum("kd,nd->nk", Ws, X)
    d_out = Y - T
    d_hid = (1.0 - Z**2) * np.einsum("nk,km->nm", d_out, W2)
    return (
        np.einsum("nm,nd->md", d_hid, X),
        d_hid.sum(0),
        np.einsum("nk,nm->km", d_out, Z),
        d_out.sum(0),
        np.einsum("nk,nd->kd", d_out, X),
    )
'''

DEMO_WITH_AUTODIFF = """\
import autodiff

# a check of my backprop against autodiff, for myself
reference = autodiff.grad(lambda W: anp.sum(anp.tanh(W)))(np.ones(3))
print("reference gradient", reference)
"""

LINE_MAGICS = """\
%matplotlib inline
%config InlineBackend.figure_format = 'svg'
%load_ext autoreload
%autoreload 2
!echo "checking the environment"
%timeit np.tanh(np.ones(100))
%time import numpy as np
"""

TIMEIT_CELL = """\
%%timeit -n 3 -r 1
W1, b1, W2, b2 = np.ones((4, 3)), np.ones(4), np.ones((2, 4)), np.ones(2)
forward(W1, b1, W2, b2, np.ones((5, 3)))
"""

TRY_IMPORT = '''\
try:
    from autodiff import value_and_grad, numpy as anp2
except ImportError:
    value_and_grad = None


def forward(W1, b1, W2, b2, X):
    """The same network, on autodiff.numpy (which works on plain arrays too)."""
    Z = anp2.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
'''

TIME_WITH_LINE = """\
%time import numpy as np
%time ACT = np.tanh


def forward(W1, b1, W2, b2, X):
    Z = ACT(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
"""

JACOBIAN_STATIC = '''\
class Chain:
    @staticmethod
    def gradient(dE_dy, dy_dz, dz_dw):
        """(8.27) as two products."""
        return (dE_dy @ dy_dz) @ dz_dw


module_chain_gradient = Chain.gradient
'''

JACOBIAN_IMPORTS = """\
import numpy as np, autodiff.numpy as anp
from autodiff import jacfwd, jacrev, numpy as adnp  # jacfwd only for checking, later
"""

JACOBIAN_DRAFT = """\
def softmax_network_jacobian(net, x):
    return np.zeros((net.W2.shape[0], x.shape[0]))  # placeholder
"""


CONFIGURED_IN_EXPRESSION = """\
class Config:
    def __init__(self):
        self.activation = None

    def use(self, name):
        self.activation = {"tanh": np.tanh}[name]
        return self


cfg = Config()
print("activation:", cfg.use("tanh").activation.__name__)


""" + FORWARD.replace("np.tanh(A)", "cfg.activation(A)")

SUBCLASS_REGISTRY = """\
class Activation:
    registry = {}

    def __init_subclass__(cls, name, **kwargs):
        super().__init_subclass__(**kwargs)
        Activation.registry[name] = cls


class Tanh(Activation, name="tanh"):
    @staticmethod
    def derivative_from_output(Z):
        return 1.0 - Z**2


""" + BACKPROP.replace("(1.0 - Z**2)", 'Activation.registry["tanh"].derivative_from_output(Z)')

ALIAS_FILLED = """\
SCHEDULE = {}
table = SCHEDULE  # a shorter name while filling it
table["scale"] = 1.0


""" + TRAIN.replace("learning_rate * g", 'learning_rate * SCHEDULE["scale"] * g')

RULE_DECORATOR = """\
class Rules:
    table = {}

    @classmethod
    def rule(cls, name):
        def register(function):
            cls.table[name] = function
            return function

        return register


def backprop_skip(W1, b1, W2, b2, Ws, X, T):
    return Rules.table["own"](W1, b1, W2, b2, Ws, X, T)


@Rules.rule("own")
"""

SHOWN_WHILE_RUNNING = (
    """\
from IPython.display import Markdown, clear_output, display
import ipywidgets


"""
    + BACKPROP.replace(
        "    Z, Y = forward",
        '    display(Markdown(f"backprop on **{X.shape[0]}** points"))\n    Z, Y = forward',
    ),
    TRAIN.replace(
        "    for _ in range(steps):",
        "    bar = ipywidgets.IntProgress(min=0, max=steps)\n    display(bar)\n"
        "    for _ in range(steps):\n        bar.value += 1\n        clear_output(wait=True)",
    ),
)


def _style(student: str, story: str, assignment: str = TWO_LAYER, **changes) -> Scripted:
    return Scripted(student, assignment, story, **changes)


STYLES = [
    _style(
        "time_magic",
        "every solution cell starts with %%time",
        answers={gid: "%%time\n" + source for gid, source in MASTER.items()},
    ),
    _style(
        "capture_magic",
        "%%capture (with and without a name) on the solution cells",
        answers={
            "forward_solution": "%%capture\n" + FORWARD + "\nprint('forward defined')\n",
            "backprop_solution": "%%capture --no-stderr captured\n" + BACKPROP,
            "train_solution": "\n%%capture out\n" + TRAIN,
        },
    ),
    _style(
        "prun_magic",
        "%%prun with options on backprop",
        answers={"backprop_solution": "%%prun -q -s cumulative\n" + BACKPROP},
    ),
    _style(
        "line_magics",
        "%matplotlib, %config, %load_ext, %autoreload, !shell, %timeit and %time lines",
        extra=(("forward_solution", LINE_MAGICS),),
    ),
    _style(
        "timeit_cell",
        "a %%timeit cell whose body binds names that then are not bound, as in IPython",
        extra=(("forward_tests", TIMEIT_CELL),),
    ),
    _style(
        "time_line",
        "%time on an import and an assignment",
        answers={"forward_solution": TIME_WITH_LINE},
    ),
    _style(
        "import_forbidden_name",
        "from autodiff import grad, numpy as adnp in one line, adnp used",
        answers={"forward_solution": FORWARD_ADNP},
    ),
    _style(
        "imports_per_line",
        "several imports per line, aliases, and a stripped module imported as tl",
        answers={"forward_solution": IMPORTS_PER_LINE},
    ),
    _style(
        "try_import",
        "a try/except around an import of a forbidden name and anp under another name",
        answers={"forward_solution": TRY_IMPORT},
    ),
    _style(
        "registry_update",
        "forward dispatches to a dict filled by REGISTRY.update(...)",
        answers={"forward_solution": REGISTRY_UPDATE_FORWARD},
    ),
    _style(
        "list_append",
        "layers kept in a list filled by append",
        answers={"forward_solution": LIST_APPEND},
    ),
    _style(
        "setattr",
        "activations set on an object with setattr; forward and backprop in one cell",
        answers={"forward_solution": SETATTR, "backprop_solution": "# done above\n"},
    ),
    _style(
        "loop_registry",
        "forward and backprop from a dict filled in a loop",
        answers={"forward_solution": LOOP_REGISTRY, "backprop_solution": "# see above"},
    ),
    _style(
        "globals_loop",
        "forward bound through globals()[name] in a loop",
        answers={"forward_solution": GLOBALS_LOOP},
    ),
    _style(
        "if_wrapped", "backprop defined inside if/else", answers={"backprop_solution": IF_WRAPPED}
    ),
    _style(
        "decorated",
        "forward wrapped by a counting decorator",
        answers={"forward_solution": DECORATED},
    ),
    _style(
        "registering_decorator",
        "backprop registered by a decorator factory into a dict",
        answers={"backprop_solution": REGISTERING_DECORATOR},
    ),
    _style("partial", "forward = functools.partial(...)", answers={"forward_solution": PARTIAL}),
    _style("lru_cache", "an lru_cache'd helper", answers={"forward_solution": LRU_CACHE}),
    _style("lambdas", "forward as nested lambdas", answers={"forward_solution": LAMBDAS}),
    _style(
        "static_methods",
        "a class of static methods, aliased to the graded names",
        answers={"forward_solution": STATIC_METHODS, "backprop_solution": "pass"},
    ),
    _style("closure", "forward made by a closure", answers={"forward_solution": CLOSURE}),
    _style(
        "helpers_elsewhere",
        "a constant and a helper in a cell of their own",
        answers={"backprop_solution": BACKPROP_WITH_HELPER},
        extra=(("forward_tests", HELPER_CELL),),
    ),
    _style(
        "import_inside",
        "numpy imported inside forward",
        answers={"forward_solution": IMPORT_INSIDE},
    ),
    _style(
        "aliases", "numpy and forward under other names", answers={"backprop_solution": ALIASES}
    ),
    _style(
        "out_of_order",
        "a draft forward without tanh, fixed in a new cell below it",
        answers={"forward_solution": DRAFT_FORWARD},
        extra=(("forward_solution", FIXED_FORWARD),),
    ),
    _style(
        "float32", "backprop answers in float32", answers={"backprop_solution": FLOAT32_BACKPROP}
    ),
    _style(
        "lists_and_tuples",
        "the skip-layer gradients as a list of lists; train answers a tuple of lists",
        answers={"backprop_skip_solution": LISTS_SKIP, "train_solution": LISTS_TRAIN},
    ),
    _style(
        "noisy",
        "backprop prints, warns and writes to stderr",
        answers={"backprop_solution": NOISY_BACKPROP},
    ),
    _style(
        "writefile",
        "a helper module written by %%writefile and imported",
        answers={"backprop_solution": BACKPROP_FROM_HELPERS},
        extra=(("forward_tests", WRITEFILE_HELPERS),),
    ),
    _style(
        "network_object",
        "bound methods of an object with a cache",
        answers={"forward_solution": NETWORK_OBJECT, "backprop_solution": "# methods above"},
    ),
    _style("star_import", "from numpy import *", answers={"forward_solution": STAR_IMPORT}),
    _style(
        "global_setup",
        "a function that sets globals, called in the cell",
        answers={"backprop_solution": GLOBAL_SETUP},
    ),
    _style(
        "einsum_skip",
        "the skip-layer gradients with einsum; a demo of autodiff.grad in a cell",
        answers={"backprop_skip_solution": EINSUM_SKIP},
        extra=(("backprop_tests", DEMO_WITH_AUTODIFF),),
    ),
    _style(
        "configured_in_an_expression",
        "a configuring method called inside print(), read by forward",
        answers={"forward_solution": CONFIGURED_IN_EXPRESSION},
    ),
    _style(
        "subclass_registry",
        "subclasses registered by __init_subclass__, read by backprop",
        answers={"backprop_solution": SUBCLASS_REGISTRY},
    ),
    _style(
        "alias_filled",
        "a table filled through another name for it, read by train",
        answers={"train_solution": ALIAS_FILLED},
    ),
    _style(
        "classmethod_rule_decorator",
        "a class's method as a registering decorator",
        answers={
            "backprop_skip_solution": RULE_DECORATOR + SKIP.replace("def backprop_skip", "def _own")
        },
    ),
    _style(
        "shown_while_running",
        "IPython.display's Markdown and clear_output, an ipywidgets progress bar",
        answers={
            "backprop_solution": SHOWN_WHILE_RUNNING[0],
            "train_solution": SHOWN_WHILE_RUNNING[1],
        },
    ),
    _style(
        "time_jacobian",
        "%%time and %%capture on the Jacobian tasks",
        JACOBIAN,
        answers={
            "softmax_network_jacobian_solution": "%%time\n"
            + JACOBIAN_MASTER["softmax_network_jacobian_solution"],
            "jacobian_forward_solution": "%%capture\n"
            + JACOBIAN_MASTER["jacobian_forward_solution"],
        },
    ),
    _style(
        "jacobian_styles",
        "imports per line with forbidden transforms, a static method, a placeholder fixed below",
        JACOBIAN,
        answers={
            "module_chain_gradient_solution": JACOBIAN_STATIC,
            "softmax_network_jacobian_solution": JACOBIAN_DRAFT,
        },
        extra=(
            ("module_chain_gradient_solution", JACOBIAN_IMPORTS),
            (
                "softmax_network_jacobian_solution",
                JACOBIAN_MASTER["softmax_network_jacobian_solution"],
            ),
        ),
    ),
]
assert len({s.student for s in STYLES}) == len(STYLES) >= 30


def _together(styles: list[Scripted]) -> dict[str, Scripted]:
    """The styles several to a notebook where they write different cells (fewer notebooks to
    grade), each style's student mapped to the notebook that holds it: a style that fails
    fails its notebook, and the test of each style names the others there."""
    notebooks: list[tuple[set[str], list[Scripted]]] = []
    for style in styles:
        cells = {*style.answers, *(after for after, _ in style.extra)}
        for written, held in notebooks:
            if held[0].assignment == style.assignment and not written & cells:
                written |= cells
                held.append(style)
                break
        else:
            notebooks.append((cells, [style]))
    holding = {}
    for _, held in notebooks:
        together = Scripted(
            "--".join(s.student for s in held),
            held[0].assignment,
            "; ".join(s.story for s in held),
            answers={k: v for s in held for k, v in s.answers.items()},
            extra=tuple(e for s in held for e in s.extra),
        )
        holding.update((s.student, together) for s in held)
    return holding


HOLDING = _together(STYLES)
CLASS = [
    complete(TWO_LAYER),
    complete(JACOBIAN),
    *{s.student: s for s in HOLDING.values()}.values(),
]


def single_threaded_blas() -> None:
    """One thread of OpenBLAS in this process.  The pipeline judges (NumPy, so BLAS) in the
    main thread while its worker threads fork sandboxes; a fork while a multi-threaded
    OpenBLAS call runs can hang both (seen with this class: the worker stuck in
    ``_fork_exec``, the main thread in ``np.matmul``)."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return
    for path in sorted(set(re.findall(r"/\S*openblas\S*\.so\S*", maps.read_text()))):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads"):
            setter = getattr(library, name, None)
            if setter is not None:
                setter(1)
                break


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Iterator[dict[tuple[str, str], dict]]:
    single_threaded_blas()
    course = build_demo_class(tmp_path_factory.mktemp("styles"), (TWO_LAYER, JACOBIAN), CLASS)
    summary = autograde(course, jobs=2, limits=LIMITS)
    yield {(r.student, r.assignment): r.to_json() for r in summary.graded}


def _auto(result: dict) -> dict[str, float]:
    return {i["check"]: i["points"] for i in result["items"] if i["check"]}


@pytest.mark.parametrize("spec", STYLES, ids=lambda s: s.student)
def test_an_honest_style_earns_what_the_master_earns(results, spec):
    result = results[(HOLDING[spec.student].student, spec.assignment)]
    full = _auto(results[("complete", spec.assignment)])
    assert set(full.values()) != {0.0}
    lost = {
        i["check"]: [r["problem"] for r in i["verdict"]["results"] if not r["passed"]][:2]
        for i in result["items"]
        if i["check"] and i["points"] != full[i["check"]]
    }
    assert lost == {}, (result["student"], lost, result["problems"], result["flags"])
    assert result["problems"] == [] and result["flags"] == []


NAME = re.compile(r"`([A-Za-z_][\w.]*)`|'([A-Za-z_][\w.]*)'|\b(autodiff(?:\.\w+)+)")


@pytest.mark.parametrize("spec", CLASS, ids=lambda s: f"{s.student}-{s.assignment[:2]}")
def test_no_student_is_told_about_a_name_they_never_used(results, spec):
    result = results[(spec.student, spec.assignment)]
    texts = [*result["problems"], *result["flags"]]
    for entry in result["items"]:
        texts.append(entry.get("note", ""))
        if entry["verdict"]:
            texts += [r["problem"] for r in entry["verdict"]["results"]]
    written = "\n".join(spec.answers.values()) + "\n".join(s for _, s in spec.extra)
    for text in texts:
        for match in NAME.finditer(text or ""):
            name = next(g for g in match.groups() if g)
            assert name.split(".")[-1] in written, (name, text)
