"""The static reading of submissions: routes into the hidden tests' records, code a reading
cannot follow, shortcuts in tasks to implement oneself, and what the verdict does with them.

Every notebook here is a few cells built with nbformat; nothing in them is run.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbgrader.utils import compute_checksum

from grader.api import hidden_cases
from grader.collect import collect
from grader.pipeline.course import Assignment
from grader.pipeline.run import Execution
from grader.pipeline.static_checks import forbidden_uses, grading_reach
from grader.pipeline.verdicts import decide

CHECK = "two_layer_forward"  # 1 point

SOLUTION = '''\
def forward(W1, b1, W2, b2, X):
    """Forward propagation (8.18)-(8.20)."""
    Z = np.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
'''

TESTS = f"""\
from grader import grade, self_check

### BEGIN HIDDEN TESTS
grade("{CHECK}", forward)
### END HIDDEN TESTS
self_check("{CHECK}", forward)
"""


def _cell(source: str, grade_id: str | None = None, **meta) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if grade_id:
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "locked": False, **meta}
    return cell


def master() -> nbformat.NotebookNode:
    """Imports, a solution cell, its test cell and a written answer."""
    written = nbformat.v4.new_markdown_cell("YOUR ANSWER HERE")
    written.metadata["nbgrader"] = {
        "grade_id": "why",
        "grade": True,
        "solution": True,
        "points": 1.0,
        "locked": False,
    }
    return nbformat.v4.new_notebook(
        cells=[
            _cell("import numpy as np\nimport autodiff"),
            _cell(SOLUTION, "forward_solution", grade=False, solution=True),
            _cell(TESTS, "forward_tests", grade=True, solution=False, points=1.0, locked=True),
            written,
        ]
    )


def submission(*extra: str, solution: str = SOLUTION) -> nbformat.NotebookNode:
    """The master's notebook with ``solution`` in the solution cell and ``extra`` code
    cells after it."""
    notebook = master()
    notebook.cells[1].source = solution
    notebook.cells[2:2] = [_cell(source) for source in extra]
    return notebook


def reach(*extra: str, solution: str = SOLUTION):
    return grading_reach(submission(*extra, solution=solution), master())


# -- Routes into the hidden tests' records --------------------------------------------------

FORGING = [
    ("import grader.api as g\ng._record('x', [])", "_record"),
    ("from grader.api import hidden_cases as h\ncheck, cases = h('x')", "hidden_cases"),
    ("from grader import api\nseed = api.seed_for('x', 'hidden')", "seed_for"),
    ("import grader.api\nname = grader.api.RECORD_VARIABLE", "RECORD_VARIABLE"),
    ("from grader.api import SALT_VARIABLE", "SALT_VARIABLE"),
    ("import os\npath = os.environ['GRADER_RECORD']", "GRADER_RECORD"),
    ("import os\nsalt = os.getenv('GRADER_SALT', '')", "GRADER_SALT"),
    ("from grader.checks import get_check as gc\ncheck = gc('x')", "grader.checks.get_check"),
    ("import grader.checks as c\nchecks = c.REGISTRY", "REGISTRY"),
    ("answer = check.reference(case)", ".reference"),
    ("solve = anything[0].reference", ".reference"),
    (
        "from grader.checks.two_layer import TwoLayerForward as F\nforward = F().call",
        "grader.checks.two_layer.TwoLayerForward",
    ),
    ("import grader.collect\nrecords = grader.collect.collect(c, f, cs)", "grader.collect.collect"),
    ("import grader.api\ngrader.api.collect = lambda *a, **k: []", "grader.collect.collect"),
    ("from grader.plain import encode as e\nplain = e(1.0)", "grader.plain.encode"),
    ("from grader.plain import *\nplain = encode(1.0)", "grader.plain.encode"),
    ("from grader.collect import *\nrecords = collect(c, f, cs)", "grader.collect.collect"),
    ("from grader import judge as j\nverdict = j.judge(c, cs, r)", "grader.judge.judge"),
    ("import grader.api\nverdict = grader.api.judge(c, cs, r)", "grader.judge.judge"),
    ("import grader\nwrite = getattr(grader.api, 'seed_for')", "seed_for"),
    ("exec('import grader.api; grader.api._record(name, records)')", "_record"),
    (
        "import os\nfor key, value in os.environ.items():\n"
        "    if key.endswith('RECORD'):\n        with open(value, 'a') as stream:\n"
        "            stream.write('{}')",
        "a file named by an environment variable",
    ),
    (
        "from pathlib import Path\nfrom os import environ as env\n"
        "target = Path(env[sorted(env)[0]])\ntarget.write_text('{}')",
        "a file named by an environment variable",
    ),
    (
        "import os\nfolder = os.environ\npath = folder[sorted(folder)[0]]\nopen(path, 'a')",
        "a file named by an environment variable",
    ),
    ("%env GRADER_RECORD=/dev/null", "GRADER_RECORD"),
    ("x = !cat $GRADER_SALT\nimport grader.api", "GRADER_SALT"),
]


@pytest.mark.parametrize(("source", "route"), FORGING)
def test_each_route_into_the_records_is_found(source, route):
    assert route in reach(source).channel


def test_a_route_inside_the_solution_cell_is_found_too():
    solution = SOLUTION + "\nfrom grader.api import hidden_cases as cases_of\n"
    assert reach(solution=solution).channel == ["hidden_cases"]


@pytest.mark.parametrize("depth", [600, 3000])  # too deep to walk; too deep to parse
def test_code_nested_too_deeply_is_still_searched_as_text(depth):
    source = "f = " + "lambda: " * depth + "0\nimport grader.api as g\ng._record(name, [])"
    assert reach(source).channel == ["_record"]


def test_a_later_import_under_the_same_alias_hides_nothing():
    found = reach("import grader.plain as g\nplain = g.to_plain(1.0)", "import numpy as g")
    assert found.channel == ["grader.plain.to_plain"]


LEGITIMATE = [
    "from grader import self_check\nself_check('two_layer_forward', forward)",
    "import grader\ngrader.self_check('two_layer_forward', forward)",
    "from grader import grade, self_check",
    "import os\nos.environ.setdefault('OMP_NUM_THREADS', '1')",
    "%matplotlib inline\nimport matplotlib.pyplot as plt",
    "%%time\nZ, Y = forward(W1, b1, W2, b2, X)",
    "forward?",
    "reference = np.zeros(3)\nerror = np.max(np.abs(reference - 1.0))",
    '"""Compare with the reference answer of (8.20)."""',
    "import re\npattern = re.compile('a+')",
    "from pathlib import Path\nimport os\nfolder = Path(os.environ.get('HOME', '.'))",
    "with open('figure.csv', 'w') as stream:\n    stream.write('1, 2')",
    "from grader.checks import get_check\nprint(get_check('two_layer_forward').points)",
    # Tampering that cannot forge records: what the kernel claims is never believed.
    "import grader\nimport grader.api\ngrader.grade = grader.api.grade = lambda n, f: 1.0",
    "import grader.judge\ngrader.judge.judge = lambda c, cs, r: None",
    "import grader.api\ngrader.api.judge = lambda c, cs, r: None",
    "from grader.judge import Verdict\nverdict = Verdict('a', 'b', 'c', 1.0, 1.0, [])",
    "import numpy, builtins\nnumpy.allclose = lambda *a, **k: True\nbuiltins.print = len",
    "class AlwaysEqual:\n    def __eq__(self, other):\n        return True",
    "import sys\nsys.exit('done for today')",
]


@pytest.mark.parametrize("source", LEGITIMATE)
def test_ordinary_code_and_plain_tampering_reach_nothing(source):
    found = reach(source)
    assert found.channel == [] and found.dynamic == [], found


def test_the_masters_test_cells_are_not_read():
    """nbgrader puts the master's test cells back: what a submission writes there never
    runs.  A copy of such a cell without its metadata does run, and is read."""
    notebook = submission()
    notebook.cells[2].source = "from grader.api import hidden_cases\n" + TESTS
    assert grading_reach(notebook, master()).channel == []
    loose = copy.deepcopy(notebook.cells[2])
    del loose.metadata["nbgrader"]
    notebook.cells.append(loose)
    assert grading_reach(notebook, master()).channel == ["hidden_cases"]


def test_a_solution_cell_claiming_to_be_a_test_cell_is_still_read():
    notebook = submission(solution=SOLUTION + "\nimport grader.api as g\ng._record('x', [])\n")
    notebook.cells[1].metadata["nbgrader"].update(grade=True, solution=False)
    assert grading_reach(notebook, master()).channel == ["_record"]


# -- Code a reading cannot follow -----------------------------------------------------------

DYNAMIC = [
    ("exec('x = 1')", "exec()"),
    ("value = eval('1 + 1')", "eval()"),
    ("code = compile('1', 'cell', 'eval')", "compile()"),
    ("os = __import__('os')", "__import__()"),
    ("import importlib\nmodule = importlib.import_module('json')", "importlib"),
    ("from importlib import import_module", "importlib.import_module"),
    ("import sys\nloaded = sys.modules['json']", "sys.modules"),
    ("name = 'x'\nvalue = getattr(obj, name)", "getattr() with a computed name"),
    ("state = obj.__dict__", "__dict__"),
    ("namespace = globals()", "globals()"),
    ("!ls", "shell commands (!)"),
    ("%%bash\necho hello", "the %bash magic"),
    ("import subprocess\nsubprocess.run(['ls'])", "subprocess"),
    ("import os\nos.environ.clear()", "removes environment variables"),
    (
        "open('helper.py', 'w').write('from autodiff import jacfwd')\nimport helper",
        "a Python file named in the code (helper.py)",
    ),
    ("import ctypes\nlibc = ctypes.CDLL(None)", "ctypes"),
    ("import gc\nobjects = gc.get_objects()", "gc.get_objects"),
    ("import inspect\nsource = inspect.getsource(f)", "inspect"),
]


@pytest.mark.parametrize(("source", "what"), DYNAMIC)
def test_dynamic_code_is_listed_for_review_only(source, what):
    found = reach(source)
    assert what in found.dynamic, found
    assert found.channel == []


def test_a_notebook_defining_its_own_compile_is_not_dynamic():
    found = reach("def compile(terms):\n    return sum(terms)\n\ntotal = compile([1, 2])")
    assert found.dynamic == [] and found.channel == []


# -- Tasks to implement oneself -------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "import autodiff as ad\n\ndef forward(x):\n    return ad.jacfwd(f)(x)",
        "from autodiff import jacfwd as j\n\ndef helper(x):\n    return j(f)(x)\n\n"
        "def forward(x):\n    return helper(x)",
        "%%time\nimport autodiff\n\ndef forward(x):\n    return autodiff.jacfwd(f)(x)",
        "from autodiff.transforms import jacfwd\n\ndef forward(x):\n    return jacfwd(f)(x)",
        "import autodiff.transforms as t\n\ndef forward(x):\n    return t.jacfwd(f)(x)",
        "from autodiff import *\n\ndef forward(x):\n    return jacfwd(f)(x)",
        "import autodiff\nJ = autodiff.jacfwd\n\ndef forward(x):\n    return J(f)(x)",
        "import autodiff\nforward = lambda x: autodiff.jacfwd(f)(x)",
        "import autodiff\n\n@autodiff.jacfwd\ndef forward(x):\n    return f(x)",
        "import autodiff\n\ndef forward(x, j=autodiff.jacfwd):\n    return j(f)(x)",
        "import autodiff\n\nclass A:\n    def go(self, x):\n        return autodiff.jacfwd(f)(x)"
        "\n\ndef forward(x):\n    return A().go(x)",
    ],
)
def test_a_forbidden_transform_is_found_through_aliases_and_helpers(body):
    notebook = submission(solution=body)
    assert forbidden_uses(notebook, "forward", ("autodiff.jacfwd",)) == ["autodiff.jacfwd"]
    assert forbidden_uses(notebook, "forward", ("autodiff.hessian",)) == []


@pytest.mark.parametrize(
    "body",
    [
        "from autodiff.algorithms.jacobian import two_layer_jacobian as j\n\n"
        "def forward(x):\n    return j(x)",
        "from autodiff.algorithms import jacobian\n\ndef forward(x):\n"
        "    return jacobian.two_layer_jacobian(x)",
    ],
)
def test_anything_from_a_forbidden_module_is_found(body):
    notebook = submission(solution=body)
    forbidden = ("autodiff.algorithms.jacobian",)
    assert forbidden_uses(notebook, "forward", forbidden) == list(forbidden)


def test_a_local_variable_named_like_a_demo_result_is_not_followed():
    notebook = submission(
        "import autodiff\nJ = autodiff.jacfwd(f)(x0)  # a demonstration, outside the task",
        solution="def forward(x):\n    J = x @ x.T\n    return J\n\ndef helper(J):\n    return J",
    )
    assert forbidden_uses(notebook, "forward", ("autodiff.jacfwd",)) == []
    assert forbidden_uses(notebook, "helper", ("autodiff.jacfwd",)) == []


def test_the_same_name_from_elsewhere_is_not_the_reference():
    notebook = submission(
        solution="from mylib import jacfwd\n\ndef forward(x):\n    return jacfwd(f)(x)"
    )
    assert forbidden_uses(notebook, "forward", ("autodiff.jacfwd",)) == []


# -- The verdict ----------------------------------------------------------------------------


@pytest.fixture
def assignment(tmp_path) -> Assignment:
    path = tmp_path / "source" / "a" / "a.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(master(), str(path))
    return Assignment("a", path)


def correct_records() -> list[dict]:
    check, cases = hidden_cases(CHECK)
    return collect(check, check.student_function(check.reference), cases)


def executed(notebook: nbformat.NotebookNode, kernel_points: float) -> nbformat.NotebookNode:
    """``notebook`` as nbgrader returns it: the test cell's value is the kernel's claim."""
    done = copy.deepcopy(notebook)
    (test_cell,) = [
        c
        for c in done.cells
        if c.metadata.get("nbgrader", {}).get("points") and c.cell_type == "code"
    ]
    test_cell.outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": repr(kernel_points)})
    ]
    return done


def decide_with_correct_records(assignment: Assignment, notebook) -> dict:
    """The verdict on ``notebook`` when its kernel recorded correct answers claiming 1."""
    execution = Execution(
        "s",
        "a",
        records={CHECK: [correct_records()]},
        notebook=executed(notebook, 1.0),
        submitted=notebook,
    )
    return decide(assignment, execution)


def test_a_notebook_reaching_the_records_earns_no_automatic_points(assignment):
    notebook = submission("from grader.api import hidden_cases as h\nh('x')")
    result = decide_with_correct_records(assignment, notebook)
    (entry,) = [e for e in result["items"] if e["check"]]
    assert entry["points"] == 0.0 and "withheld" in entry["note"]
    assert any(
        "reaches into the hidden tests' records (hidden_cases)" in f for f in result["flags"]
    )


def test_honest_records_count_and_dynamic_code_is_only_flagged(assignment):
    notebook = submission("exec('x = 1')")
    result = decide_with_correct_records(assignment, notebook)
    (entry,) = [e for e in result["items"] if e["check"]]
    assert entry["points"] == entry["max_points"] == 1.0
    assert len(result["flags"]) == 1 and "exec()" in result["flags"][0]


def test_a_kernel_claiming_points_without_records_is_flagged(assignment):
    notebook = submission()
    execution = Execution("s", "a", notebook=executed(notebook, 1.0), submitted=notebook)
    result = decide(assignment, execution)
    (entry,) = [e for e in result["items"] if e["check"]]
    assert entry["points"] == 0.0 and entry["kernel_points"] == 1.0
    assert result["flags"] == [
        f"{CHECK}: the notebook's own result (1 points) disagrees with the grader's (0); "
        "the grader's counts"
    ]


@pytest.mark.parametrize(("answer", "points"), [(None, 0.0), ("Because (8.13) ...", None)])
def test_written_answers_are_read_from_the_submission_when_the_kernel_died(
    assignment, answer, points
):
    release = master()
    release.cells[3].metadata["nbgrader"]["checksum"] = compute_checksum(release.cells[3])
    if answer is not None:
        release.cells[3].source = answer
    execution = Execution("s", "a", records={CHECK: [correct_records()]}, submitted=release)
    (written,) = [e for e in decide(assignment, execution)["items"] if not e["check"]]
    assert written["points"] == points
    assert written["note"] == ("no answer" if points == 0.0 else "graded by hand")
