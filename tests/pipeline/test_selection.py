"""What a grading run executes of a submission (``judging.selection``) and how it executes
it (``grader.sandboxed.grading_run``, ``replay``), without the sandbox: the notebook is
rebuilt the way IPython ran it (magics, several imports per line, objects changed by method
calls), and what a task forbids is missing with a message that says why.

The first tests read the steps a notebook gives; the others run those steps in a grading
run (a subprocess on the build of ``autodiff`` the two-layer tasks are graded with) and
judge its records."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.checks import get_check
from grader.checks.forbidden import TWO_LAYER_BY_HAND
from grader.judge import judge, plain_case
from grader.judge.errors import OWN_WORDS
from grader.pipeline.course import Assignment
from grader.pipeline.judging.selection import cells, grading_program, mutations
from grader.pipeline.judging.selection.common import Statement
from grader.pipeline.sandbox.builds import Builds
from grader.pipeline.sandbox.limits import Limits
from grader.sandboxed import channel
from grader.seeds import hidden_cases

SECRET = "selection-test"
TASKS = {  # test cell -> (check, function)
    "forward_tests": ("two_layer_forward", "forward"),
    "backprop_tests": ("two_layer_backprop", "backprop"),
}
IMPORTS = "import numpy as np\nimport autodiff\nimport autodiff.numpy as anp"

FORWARD = '''\
def forward(W1, b1, W2, b2, X):
    """(8.18)-(8.20)"""
    Z = np.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
'''

BACKPROP = """\
def backprop(W1, b1, W2, b2, X, T):
    Z, Y = forward(W1, b1, W2, b2, X)
    delta_out = Y - T
    delta_hidden = (1.0 - Z**2) * (delta_out @ W2)
    return delta_hidden.T @ X, delta_hidden.sum(axis=0), delta_out.T @ Z, delta_out.sum(axis=0)
"""


def _test_cell(grade_id: str) -> nbformat.NotebookNode:
    check, function = TASKS[grade_id]
    source = f'from grader import grade\n\ngrade("{check}", {function})\n'
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "grade_id": grade_id,
        "grade": True,
        "solution": False,
        "points": 1.0,
        "locked": True,
    }
    return cell


def notebook(*cells: str, tests: tuple[str, ...] = tuple(TASKS)) -> nbformat.NotebookNode:
    """Code cells holding ``cells`` (a cell that starts with ``#md`` is markdown), then the
    graded test cells."""
    made = []
    for source in cells:
        if source.startswith("#md"):
            made.append(nbformat.v4.new_markdown_cell(source))
        else:
            made.append(nbformat.v4.new_code_cell(source))
    return nbformat.v4.new_notebook(cells=made + [_test_cell(t) for t in tests])


@pytest.fixture(scope="module")
def assignment(tmp_path_factory) -> Assignment:
    path = tmp_path_factory.mktemp("master") / "a" / "a.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(notebook(IMPORTS, FORWARD, BACKPROP), str(path))
    return Assignment("a", path)


def program(assignment: Assignment, *cells: str) -> tuple[list[dict], list[str]]:
    items = [i for i in assignment.items if i.check]
    return grading_program(notebook(*cells), assignment, items)


def codes(steps: list[dict]) -> list[str]:
    return [s["code"] for s in steps if "code" in s]


# -- What is selected ------------------------------------------------------------------------


def test_the_first_step_says_what_the_tasks_forbid(assignment):
    steps, problems = program(assignment, IMPORTS, FORWARD, BACKPROP)
    assert steps[0] == {"forbidden": sorted(set(TWO_LAYER_BY_HAND))}
    assert steps[-2:] == [
        {"grade": "two_layer_forward", "function": "forward"},
        {"grade": "two_layer_backprop", "function": "backprop"},
    ]
    assert codes(steps) == ["import numpy as np", FORWARD.strip(), BACKPROP.strip()]
    assert problems == []


def test_calls_of_graded_functions_that_count_themselves_are_not_replayed(assignment):
    """A counter a graded function changes is not a reason to replay every cell that calls
    it: the function changes it again when it is graded (an exploration cell that trains
    for ten seconds would otherwise run in the grading run, and time out there)."""
    counting = BACKPROP.replace(
        "    Z, Y = forward", '    stats["backprop calls"] += 1\n    Z, Y = forward'
    )
    explore = "long_run = [backprop(*weights) for _ in range(45000)]"
    register = "def register(f):\n    stats[f.__name__] = 0\n    return f"
    steps, problems = program(
        assignment,
        IMPORTS,
        'stats = {"backprop calls": 0}',
        FORWARD,
        counting,
        explore,
        register,
        "register(forward)",
    )
    assert explore not in codes(steps)
    assert "register(forward)" in codes(steps)  # a change only a call outside them makes
    assert problems == []


def test_a_long_chain_of_bindings_is_chosen_in_steps_proportional_to_its_length(
    assignment, monkeypatch
):
    """Each statement needs the one after it: read in notebook order, each pass over the
    statements would find one more (N passes of N statements: a notebook of 20,000 lines
    held the grading process for eleven minutes).  The bindings of a needed name are looked
    up instead; statements are examined a bounded number of times each."""
    examined = []
    original = Statement.changes
    monkeypatch.setattr(Statement, "changes", lambda s, n: examined.append(s) or original(s, n))
    length = 3000
    chain = [f"a{length} = 1"] + [f"a{i} = a{i + 1}" for i in range(length - 1, -1, -1)]
    uses_chain = FORWARD.replace("    return Z, Z @ W2.T + b2", "    return Z, Z @ W2.T + a0")
    steps, problems = program(assignment, IMPORTS, "\n".join(chain), uses_chain, BACKPROP)
    assert codes(steps)[1 : length + 2] == chain and problems == []
    assert len(examined) <= 2 * len(steps)


def test_cell_magics_that_run_their_body_keep_it(assignment):
    steps, _ = program(
        assignment,
        IMPORTS,
        "%%time\n" + FORWARD,
        "\n%%capture captured\n" + BACKPROP + "print('hidden')\n",
    )
    assert codes(steps) == ["import numpy as np", FORWARD.strip(), BACKPROP.strip()]


def test_timeit_and_other_magics_are_left_out(assignment):
    steps, _ = program(
        assignment,
        "%matplotlib inline\n%load_ext autoreload\n%config InlineBackend.figure_format = 'svg'\n"
        "!pip install nothing\nimport numpy as np",
        "%%timeit\n" + FORWARD.replace("np.tanh", "np.sin"),
        FORWARD,
        "%timeit forward(1, 2, 3, 4, 5)\nforward?\n" + BACKPROP,
        "%%bash\necho hello",
    )
    assert codes(steps) == ["import numpy as np", FORWARD.strip(), BACKPROP.strip()]


def test_line_magic_time_runs_its_statement(assignment):
    steps, _ = program(
        assignment,
        "%time import numpy as np",
        "%time helper = lambda x: x\nscale = %time 2.0",
        FORWARD.replace("return Z,", "return helper(Z) * scale / 2.0,"),
        "if True:\n    %time " + BACKPROP.splitlines()[0] + " pass",
        BACKPROP,
    )
    found = codes(steps)
    assert found[:3] == ["import numpy as np", "helper = lambda x: x", "scale = 2.0"]
    assert found[-1] == BACKPROP.strip()


def test_several_imports_per_line_become_one_step_each(assignment):
    cell = "import numpy as np, matplotlib.pyplot as plt\nfrom autodiff import grad, numpy as adnp"
    uses = FORWARD.replace("np.tanh(X", "adnp.tanh(np.asarray(X)")
    steps, _ = program(assignment, cell, uses, BACKPROP)
    imports = [s for s in steps if "fallback" in s]
    assert imports == [
        {
            "code": "import numpy as np",
            "fallback": [["np", "numpy", "numpy"]],
            "label": "cell 1",
        },
        {
            "code": "from autodiff import numpy as adnp",
            "fallback": [["adnp", "autodiff.numpy", "autodiff.numpy"]],
            "label": "cell 1",
        },
    ]


def test_method_calls_setattr_and_loops_that_change_a_needed_object_are_kept(assignment):
    steps, _ = program(
        assignment,
        IMPORTS,
        "REGISTRY = {}\nHANDLERS = []\nclass Box:\n    pass\nbox = Box()",
        "def _forward(W1, b1, W2, b2, X):\n    Z = np.tanh(X @ W1.T + b1)\n"
        "    return Z, Z @ W2.T + b2\n\nREGISTRY.update(forward=_forward)",
        "HANDLERS.append(REGISTRY['forward'])\nsetattr(box, 'scale', 1.0)\n"
        "for key in ['a', 'b']:\n    REGISTRY.setdefault(key, None)\nunrelated = [1]",
        "def forward(*args):\n    return HANDLERS[0](*args)\n\n"
        "def backprop(W1, b1, W2, b2, X, T):\n    return box.scale",
    )
    found = codes(steps)
    for wanted in (
        "REGISTRY.update(forward=_forward)",
        "HANDLERS.append(REGISTRY['forward'])",
        "setattr(box, 'scale', 1.0)",
        "for key in ['a', 'b']:\n    REGISTRY.setdefault(key, None)",
    ):
        assert wanted in found
    assert "unrelated = [1]" not in found


def test_registering_decorators_and_global_assignments_are_kept(assignment):
    steps, _ = program(
        assignment,
        IMPORTS,
        "TABLE = {}\n\ndef register(name):\n    def wrap(f):\n        TABLE[name] = f\n"
        "        return f\n    return wrap\n\ndef setup():\n    global SCALE\n    SCALE = 1.0",
        "@register('forward')\n" + FORWARD.replace("def forward", "def _fwd"),
        "setup()",
        "def forward(*args):\n    return TABLE['forward'](*args)\n\n"
        "def backprop(*args):\n    return SCALE",
    )
    found = codes(steps)
    assert "setup()" in found
    assert any(c.startswith("@register('forward')") for c in found)


def _chain_of_setters(length: int) -> str:
    """f0 changes G0 and calls f1, which changes G1 and calls f2, ...: what f0 changes
    through its calls grows as the square of the length."""
    return (
        "".join(f"def f{i}():\n    G{i}.append(1)\n    f{i + 1}()\n\n" for i in range(length))
        + f"def f{length}():\n    SCALE.append(1)\n"
    )


def test_what_a_chain_of_setters_changes_is_followed_within_a_budget(monkeypatch):
    calls = {"budget": 0}
    original = mutations._follow_calls

    def counting(direct, called):
        calls["budget"] = spent = original(direct, called)
        return spent

    monkeypatch.setattr(mutations, "_follow_calls", counting)
    short = mutations._mutators(ast.parse(_chain_of_setters(50)).body, set())
    assert short["f0"] == {f"G{i}" for i in range(50)} | {"SCALE"}
    long = mutations._mutators(ast.parse(_chain_of_setters(3000)).body, set())
    assert mutations.CHANGES_UNKNOWN in long["f0"]
    assert calls["budget"] <= mutations.FOLLOW_BUDGET + 3000


def test_a_call_whose_changes_were_not_all_followed_is_replayed(assignment, monkeypatch):
    monkeypatch.setattr(mutations, "FOLLOW_BUDGET", 10)
    steps, _ = program(
        assignment,
        IMPORTS,
        "SCALE = []\n" + "\n".join(f"G{i} = []" for i in range(20)),
        _chain_of_setters(20),
        "f0()",
        "def forward(*args):\n    return SCALE\n\ndef backprop(*args):\n    return SCALE",
    )
    found = codes(steps)
    assert "f0()" in found and any(c.startswith("def f0()") for c in found)


def test_a_cell_too_costly_for_ipythons_transformer_is_left_out_unread(assignment, monkeypatch):
    """IPython's transformer reads the whole cell again for each line it rewrites (100
    shell assignments above 20,000 lines took 75 s): such a cell is not handed to it."""

    class Refusing:
        def transform_cell(self, source):
            raise AssertionError("the transformer was asked to read the costly cell")

    costly = "x = !ls\n" * 100 + "y = 1\n" * 20_000
    monkeypatch.setattr(cells, "_TRANSFORMER", Refusing())
    steps, problems = program(assignment, IMPORTS, costly, FORWARD, BACKPROP)
    assert problems == ["cell 2 could not be read as Python: the grading run left it out"]
    assert FORWARD.strip() in codes(steps)


def test_a_function_reads_only_its_free_names(assignment):
    """Parameters, locals, loop and exception names of a function are its own: the
    demonstration cells that bind the same names are not replayed."""
    steps, _ = program(
        assignment,
        IMPORTS,
        "X = autodiff.grad(lambda x: x)(1.0)\ne = autodiff.jvp\nZ = 3",
        "def forward(W1, b1, W2, b2, X):\n    try:\n        Z = np.tanh(X @ W1.T + b1)\n"
        "    except ValueError as e:\n        raise e\n"
        "    return Z, [Z for Z in (Z,)][0] @ W2.T + b2",
        BACKPROP,
    )
    assert not any("autodiff.grad" in c or "jvp" in c or c == "Z = 3" for c in codes(steps))


def test_star_imports_are_taken_when_a_needed_name_is_bound_nowhere_else(assignment):
    steps, _ = program(
        assignment,
        "from numpy import *\nfrom math import *",
        FORWARD.replace("np.tanh", "tanh"),
        BACKPROP,
    )
    assert codes(steps)[:2] == ["from numpy import *", "from math import *"]
    steps, _ = program(assignment, "from numpy import *", "import numpy as np", FORWARD, BACKPROP)
    assert "from numpy import *" not in codes(steps)


def test_writefile_modules_are_kept_for_the_import_that_needs_them(assignment):
    steps, _ = program(
        assignment,
        "%%writefile helpers.py\nimport numpy as np\n\ndef act(a):\n    return np.tanh(a)\n",
        "%%writefile notes.txt\nnothing",
        "import numpy as np\nfrom helpers import act",
        FORWARD.replace("np.tanh", "act"),
        BACKPROP,
    )
    modules = [s for s in steps if "module" in s]
    assert modules == [
        {
            "module": "helpers",
            "source": "import numpy as np\n\ndef act(a):\n    return np.tanh(a)\n",
            "append": False,
            "label": "cell 1",
        }
    ]


def test_unreadable_cells_and_unreplayable_magics_are_problems(assignment):
    _, problems = program(
        assignment,
        IMPORTS,
        "def broken(:\n",
        "%run elsewhere.py",
        "%pylab inline",
        "files = !ls",
        FORWARD.replace("np.tanh", "tanh"),
        BACKPROP.replace("Y - T", "Y - T + 0 * len(files)"),
    )
    assert problems[0] == "cell 2 could not be read as Python: the grading run left it out"
    assert "cell 3: the grading run cannot replay `%run`" in problems[1]
    assert "`tanh`" in problems[1] and "`files`" in problems[3]
    assert problems[3].startswith("cell 5: the grading run cannot replay IPython syntax")
    assert len(problems) == 4


def test_the_test_cells_and_what_follows_the_last_graded_call_are_never_run(assignment):
    nb = notebook(IMPORTS, FORWARD, BACKPROP)
    nb.cells.append(nbformat.v4.new_code_cell("def backprop(*args):\n    return 0"))
    nb.cells[-2].source = "import os\nos.remove('everything')\nbackprop = None"
    items = [i for i in assignment.items if i.check]
    steps, _ = grading_program(nb, assignment, items)
    assert codes(steps) == ["import numpy as np", FORWARD.strip(), BACKPROP.strip()]


# -- What a grading run does with it -------------------------------------------------------


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    return Builds(tmp_path_factory.mktemp("builds")).library(tuple(sorted(TWO_LAYER_BY_HAND)))


def grading_run(
    assignment: Assignment, library: Path, tmp_path: Path, *cells: str
) -> tuple[dict[str, object], list[tuple[str, str]], list[str]]:
    """Points per check, the failed statements and the problems of a grading run of the
    notebook ``cells`` make, on the two-layer tasks' build (no sandbox)."""
    steps, problems = program(assignment, *cells)
    checks, cases = {}, {}
    for check, _ in TASKS.values():
        found = get_check(check)
        cases[check] = hidden_cases(found, SECRET, "a", "s")
        plain = [channel.encode(plain_case(c)) for c in cases[check]]
        checks[check] = {"caller": found.caller, "cases": plain}
    message = channel.program_message(steps, checks, 20, Limits().as_dict())
    read, write = os.pipe()
    env = {"PYTHONPATH": str(library), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-s", "-m", "grader.sandboxed.grading_run", str(write)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(write,),
        env={**env, "MPLBACKEND": "agg"},
        cwd=tmp_path,
    )
    os.close(write)
    process.stdin.write(message)
    process.stdin.close()
    with os.fdopen(read, "rb") as stream:
        data = stream.read()
    assert process.wait(timeout=120) == 0
    records, failed = channel.read_messages(data, problems)
    verdicts = {}
    for check, runs in records.items():
        verdicts[check] = judge(get_check(check), cases[check], runs[-1])
    return verdicts, failed, problems


def full_points(verdicts) -> bool:
    return {c: v.points for c, v in verdicts.items()} == {
        c: get_check(c).points for c, _ in TASKS.values()
    }


@pytest.mark.parametrize(
    "cells",
    [
        pytest.param(
            (IMPORTS, "%%time\n" + FORWARD, "%%capture out\n" + BACKPROP), id="cell-magics"
        ),
        pytest.param(
            (
                "import numpy as np\nfrom autodiff import grad, numpy as adnp",
                FORWARD.replace("np.tanh", "adnp.tanh"),
                BACKPROP,
            ),
            id="import-with-a-forbidden-name",
        ),
        pytest.param(
            (
                IMPORTS,
                "REGISTRY = {}",
                FORWARD.replace("def forward", "def _fwd"),
                "REGISTRY.update(forward=_fwd)",
                "forward = REGISTRY['forward']",
                BACKPROP,
            ),
            id="registry-update",
        ),
        pytest.param(
            (
                "%%writefile layers.py\nimport numpy as np\n\ndef act(a):\n    return np.tanh(a)\n",
                "import numpy as np\nfrom layers import act",
                FORWARD.replace("np.tanh", "act"),
                "%run layers.py\n" + BACKPROP.replace("1.0 - Z**2", "1.0 - act(np.arctanh(Z))**2"),
            ),
            id="writefile-then-import",
        ),
        pytest.param(
            (
                "import numpy as np\ntry:\n    from autodiff import value_and_grad, numpy as ad\n"
                "except ImportError:\n    value_and_grad = None",
                FORWARD.replace("np.tanh", "ad.tanh"),
                BACKPROP.replace("Z, Y =", "from autodiff import grad, numpy as adnp\n    Z, Y ="),
            ),
            id="forbidden-name-in-try-and-in-function",
        ),
        pytest.param(
            (
                "from __future__ import annotations\nimport numpy as np",
                FORWARD.replace("def forward(W1", "def forward(W1: Undefined"),
                BACKPROP,
            ),
            id="future-annotations",
        ),
    ],
)
def test_a_grading_run_rebuilds_the_notebook_as_it_ran(assignment, library, tmp_path, cells):
    verdicts, failed, problems = grading_run(assignment, library, tmp_path, *cells)
    assert full_points(verdicts), {c: v.results[0].problem for c, v in verdicts.items()}
    assert failed == [] and problems == []


def test_a_forbidden_name_says_which_task_forbids_it_when_used(assignment, library, tmp_path):
    verdicts, failed, problems = grading_run(
        assignment,
        library,
        tmp_path,
        "import numpy as np\nfrom autodiff import grad, numpy as anp\n"
        "import autodiff.algorithms.two_layer as tl\nimport autodiff",
        "def forward(*args):\n    return tl.forward(*args)",
        "def backprop(*args):\n    return autodiff.grad(lambda: 0)(*args)",
    )
    assert failed == [] and problems == []
    forward = verdicts["two_layer_forward"].results[0].problem
    assert forward == (
        "your function raised ImportError: autodiff.algorithms.two_layer is not "
        "available where this task is graded: Task `two_layer_forward` asks you to work "
        "without it"
    )
    backprop = verdicts["two_layer_backprop"].results[0].problem
    assert backprop.endswith(
        "autodiff.grad is not available where this task is graded: Task "
        "`two_layer_backprop` asks you to work without it"
    )


def test_a_statement_that_fails_is_reported_by_its_kind_only(assignment, library, tmp_path):
    verdicts, failed, _ = grading_run(
        assignment,
        library,
        tmp_path,
        IMPORTS,
        "scale = autodiff.grad(lambda x: x)(1.0)\n" + FORWARD,
        "class Secret(Exception):\n    pass\n\nfactor = 1.0\n\ndef boom():\n"
        "    raise Secret('the hidden cases are ...')\n\nfactor = boom()",
        BACKPROP.replace("Y - T", "(Y - T) * factor * scale"),
    )
    assert failed == [("cell 2", "AttributeError"), ("cell 3", "Secret")]
    assert verdicts["two_layer_forward"].points == 1.0
    assert "NameError" in verdicts["two_layer_backprop"].results[0].problem


def test_the_stripped_build_says_what_it_leaves_out(library, tmp_path):
    probe = """
import autodiff
from autodiff.algorithms.network import TwoLayerNet
net = TwoLayerNet.random(2, 3, 1, rng=0)
found = [hasattr(autodiff, "grad"), hasattr(TwoLayerNet, "forward"), net.shape]
for get in (lambda: autodiff.grad, lambda: autodiff.transforms, lambda: net.forward,
            lambda: autodiff.nothing, lambda: net.nothing):
    try:
        get()
    except AttributeError as error:
        found.append(f"{type(error).__name__}: {error}")
print(found)
"""
    env = {"PYTHONPATH": str(library), "PATH": "/usr/bin:/bin", "GRADER_TASK": "two_layer_forward"}
    done = subprocess.run(
        [sys.executable, "-s", "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    why = "is not available where this task is graded: Task `two_layer_forward` asks you to"
    assert eval(done.stdout) == [  # noqa: S307 - our own probe's output
        False,
        False,
        (2, 3, 1),
        f"AttributeError: autodiff.grad {why} work without it",
        f"AttributeError: autodiff.transforms {why} work without it",
        f"AttributeError: autodiff.algorithms.network.TwoLayerNet.forward {why} work without it",
        "AttributeError: module 'autodiff' has no attribute 'nothing'",
        "AttributeError: 'TwoLayerNet' object has no attribute 'nothing'",
    ]


def test_arguments_a_library_function_fills_in_place_are_kept(assignment):
    """A table filled by ``np.copyto``, ``np.fill_diagonal``, ``out=`` or ``random.shuffle``
    is changed by that statement, as by a method call: the statement is replayed."""
    steps, _ = program(
        assignment,
        IMPORTS + "\nimport random\nfrom numpy import fill_diagonal",
        "COEFFICIENTS = np.zeros(2)\nnp.copyto(COEFFICIENTS, [1.0, -1.0])\n"
        "M = np.ones((2, 2))\nfill_diagonal(M, 0.0)\nnp.multiply(M, 2.0, out=M)\n"
        "ORDER = [0, 1]\nrandom.shuffle(ORDER)\nnp.copyto(np.zeros(2), 1.0)\nprint(M)",
        FORWARD,
        BACKPROP.replace(
            "    Z, Y = forward", "    scale = COEFFICIENTS @ M[ORDER, 0]\n    Z, Y = forward"
        ),
    )
    found = codes(steps)
    for wanted in (
        "np.copyto(COEFFICIENTS, [1.0, -1.0])",
        "fill_diagonal(M, 0.0)",
        "np.multiply(M, 2.0, out=M)",
        "random.shuffle(ORDER)",
    ):
        assert wanted in found, (wanted, found)
    assert "np.copyto(np.zeros(2), 1.0)" not in found


def test_changes_through_expressions_bases_aliases_and_settings_are_kept(assignment):
    """A configuring method called inside an expression, a class whose base registers it,
    a table filled through another name, a class's method as a registering decorator, and
    a call that changes the interpreter's settings are all replayed; reading methods and
    unrelated aliases are not."""
    steps, _ = program(
        assignment,
        IMPORTS + "\nimport sys",
        "class Config:\n    def use(self, name):\n        self.f = np.tanh\n        return self\n"
        "cfg = Config()\nprint(cfg.use('tanh').f.__name__)\nprint(cfg.get_nothing)",
        "class Activation:\n    registry = {}\n"
        "    def __init_subclass__(cls, name):\n        Activation.registry[name] = cls\n"
        "class Tanh(Activation, name='tanh'):\n    f = staticmethod(np.tanh)",
        "SLOPES = {}\ntable = SLOPES\ntable['tanh'] = 1.0\nother = {}\nalso = other\n"
        "also['x'] = 1\nprint(SLOPES.get('tanh'))",
        "class Rules:\n    table = {}\n    @classmethod\n    def rule(cls, name):\n"
        "        def wrap(f):\n            cls.table[name] = f\n            return f\n"
        "        return wrap\n@Rules.rule('tanh')\ndef _t(a):\n    return np.tanh(a)",
        "sys.setrecursionlimit(5000)\nnp.random.seed(0)",
        "def forward(W1, b1, W2, b2, X):\n    Z = cfg.f(X @ W1.T + b1) + Rules.table['tanh'](0.0)\n"
        "    return Z, Activation.registry['tanh'].f(Z) @ W2.T + b2\n\n"
        "def backprop(*args):\n    return SLOPES['tanh']",
    )
    found = codes(steps)
    for wanted in (
        "print(cfg.use('tanh').f.__name__)",
        "class Tanh(Activation, name='tanh'):\n    f = staticmethod(np.tanh)",
        "table = SLOPES",
        "table['tanh'] = 1.0",
        "sys.setrecursionlimit(5000)",
        "np.random.seed(0)",
    ):
        assert wanted in found, (wanted, found)
    assert any(c.startswith("@Rules.rule('tanh')") for c in found)
    for unwanted in ("also = other", "also['x'] = 1", "print(SLOPES.get('tanh'))"):
        assert unwanted not in found, unwanted


def test_what_the_grading_run_lacks_is_not_the_students_failure(assignment, library, tmp_path):
    """A module the notebook had and the grading run lacks fails as its own kind, told in
    the grader's words (the flag for the instructor comes from that kind); IPython's display
    and ipywidgets, which only show things, are stand-ins that show nothing."""
    verdicts, failed, problems = grading_run(
        assignment,
        library,
        tmp_path,
        IMPORTS + "\nimport a_package_only_the_notebook_had as extra",
        "from IPython.display import Markdown, clear_output, display\nimport ipywidgets\n\n"
        + FORWARD.replace(
            "    Z = np.tanh",
            "    bar = ipywidgets.IntProgress(max=2)\n    bar.value += 1\n"
            "    display(Markdown('**forward**'))\n    clear_output(wait=True)\n    Z = np.tanh",
        ),
        BACKPROP.replace("    Z, Y =", "    extra.log('backprop')\n    Z, Y ="),
    )
    assert problems == [] and verdicts["two_layer_forward"].points == 1.0
    assert failed == []  # an import that fails binds stand-ins, and is not reported
    backprop = verdicts["two_layer_backprop"].results[0]
    assert backprop.problem == OWN_WORDS[channel.MISSING_HERE]


def test_changes_through_loop_variables_and_augmented_names_are_kept(assignment):
    """A loop whose body changes what its variables hold changes what it walks; ``s *= 2``
    through another name changes an array in place; a loop that only reads is not replayed,
    nor a block that calls a setting among other work."""
    steps, _ = program(
        assignment,
        IMPORTS,
        "TABLE = np.zeros((2, 2))\nfor i, row in enumerate(TABLE):\n    row[i] = 1.0\n"
        "SCALE = np.ones(2)\ns = SCALE\ns *= 2.0\n"
        "for row in TABLE:\n    print(row.sum())\n"
        "for trial in range(3):\n    np.random.seed(trial)\n    print(np.random.normal())",
        "def forward(W1, b1, W2, b2, X):\n    Z = np.tanh(X @ W1.T + b1) @ TABLE\n"
        "    return Z, Z @ W2.T + b2\n\n"
        "def backprop(*args):\n    return SCALE",
    )
    found = codes(steps)
    for wanted in ("for i, row in enumerate(TABLE):\n    row[i] = 1.0", "s = SCALE", "s *= 2.0"):
        assert wanted in found, (wanted, found)
    assert "for row in TABLE:\n    print(row.sum())" not in found
    assert not any(c.startswith("for trial") for c in found)


def test_a_helper_that_fills_the_object_it_is_given_is_replayed(assignment):
    """``register(ACTIVATIONS, "tanh", np.tanh)`` changes ``ACTIVATIONS`` when ``register``
    fills its first parameter (by position or by name); a helper that only reads does not."""
    steps, _ = program(
        assignment,
        IMPORTS,
        "ACTIVATIONS = {}\n\ndef register(table, name, f):\n    table[name] = f\n\n"
        "def show(table):\n    print(sorted(table))\n\n"
        'register(ACTIVATIONS, "tanh", np.tanh)\nregister(name="id", f=None, table=ACTIVATIONS)\n'
        "show(ACTIVATIONS)",
        "def forward(W1, b1, W2, b2, X):\n    Z = ACTIVATIONS['tanh'](X @ W1.T + b1)\n"
        "    return Z, Z @ W2.T + b2\n\n"
        "def backprop(*args):\n    return 0.0",
    )
    found = codes(steps)
    assert 'register(ACTIVATIONS, "tanh", np.tanh)' in found
    assert 'register(name="id", f=None, table=ACTIVATIONS)' in found
    assert "show(ACTIVATIONS)" not in found
