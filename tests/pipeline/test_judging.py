"""The trusted side of grading, piece by piece: the channel's plain data, the course secret,
what a grading run executes of a submission, the verdicts, and the reading that explains a
failing task to implement oneself."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import nbformat
import numpy as np
import pytest
from nbgrader.utils import compute_checksum

from grader.checks import get_check
from grader.judge import answers
from grader.pipeline.course import Assignment
from grader.pipeline.judging import reading
from grader.pipeline.judging.reading import forbidden_uses
from grader.pipeline.judging.secret import SECRET_FILE, course_secret
from grader.pipeline.judging.selection import grading_program
from grader.pipeline.judging.verdicts import decide
from grader.pipeline.outputs.notebooks import annotate
from grader.pipeline.results import Execution
from grader.sandboxed import channel
from grader.seeds import hidden_cases

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


def test_reading_for_every_forbidden_module_loads_none_of_them():
    """The reading matches a forbidden module by its name: importing the chapter's modules
    to compare objects would load matplotlib and sympy into the grading process."""
    script = """if True:
        import sys, nbformat
        from grader.checks.forbidden import BY_HAND
        from grader.pipeline.judging.reading import forbidden_uses
        source = "import autodiff\\ndef f(x):\\n    return autodiff.grad(x)"
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        found = forbidden_uses(notebook, "f", BY_HAND)
        loaded = ("sympy", "matplotlib", "autodiff.algorithms.swell")
        print(found, [m for m in loaded if m in sys.modules])
    """
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "['autodiff.transforms'] []"


def test_a_local_variable_named_like_a_demo_result_is_not_followed():
    notebook = submission(
        "import autodiff\nJ = autodiff.jacfwd(f)(x0)  # a demonstration, outside the task",
        solution="def forward(x):\n    J = x @ x.T\n    return J\n\ndef helper(J):\n    return J",
    )
    assert forbidden_uses(notebook, "forward", ("autodiff.jacfwd",)) == []
    assert forbidden_uses(notebook, "helper", ("autodiff.jacfwd",)) == []


def test_a_nested_helper_named_like_a_demo_result_is_not_followed():
    """A helper defined inside the graded function (or a class, or an import there) is the
    function's own, even when a worked example binds the same name with a transform."""
    notebook = submission(
        "import autodiff\ng = autodiff.grad(E)(w)  # a worked example",
        solution=(
            "def forward(x):\n"
            "    def g(n):\n        return 2 * n\n"
            "    class Step:\n        pass\n"
            "    return g(x)"
        ),
    )
    assert forbidden_uses(notebook, "forward", ("autodiff.transforms",)) == []


def test_an_import_inside_the_function_is_still_found():
    notebook = submission(
        solution="def forward(x):\n    from autodiff import jacfwd\n    return jacfwd(f)(x)"
    )
    assert forbidden_uses(notebook, "forward", ("autodiff.jacfwd",)) == ["autodiff.jacfwd"]


def test_a_name_bound_by_thousands_of_imports_is_read_within_the_budget(monkeypatch):
    """One name bound by 3,000 imports and used 300 times in a helper: each chain of names is
    read once, and the lookups stop at ``READING_BUDGET`` (it was 3,000 x 300 x the forbidden
    names, minutes of the grading process's CPU for one submission)."""
    imports = "".join(
        f"try:\n    import autodiff.m{i} as x\nexcept ImportError:\n    pass\n" for i in range(3000)
    )
    uses = "".join(f"    x.a{j % 3}\n    x\n" for j in range(300))
    notebook = submission(
        imports, solution=f"def helper():\n{uses}\ndef forward(v):\n    helper()\n    return v"
    )
    looked_up = []
    real = reading._is_use_of
    monkeypatch.setattr(reading, "_is_use_of", lambda d, e, t: looked_up.append(d) or real(d, e, t))
    monkeypatch.setattr(reading, "READING_BUDGET", 2_000)
    forbidden = ("autodiff.jacfwd", "autodiff.transforms")
    assert forbidden_uses(notebook, "forward", forbidden) == []
    assert len(set(looked_up)) == len(looked_up) / len(forbidden) == 2_000


def test_the_same_name_from_elsewhere_is_not_the_reference():
    notebook = submission(
        solution="from mylib import jacfwd\n\ndef forward(x):\n    return jacfwd(f)(x)"
    )
    assert forbidden_uses(notebook, "forward", ("autodiff.jacfwd",)) == []


# -- The verdict ----------------------------------------------------------------------------

SECRET = "a-test-secret"


@pytest.fixture
def assignment(tmp_path) -> Assignment:
    path = tmp_path / "source" / "a" / "a.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(master(), str(path))
    return Assignment("a", path)


def records_of(function, student: str = "s") -> list[dict]:
    """The records of ``function`` on the hidden cases of ``student``'s submission of
    assignment ``a``."""
    check = get_check(CHECK)
    return answers(check, function, hidden_cases(check, SECRET, "a", student))


def correct(W1, b1, W2, b2, X):
    Z = np.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2


def test_recorded_answers_are_judged_here(assignment):
    notebook = submission()
    execution = Execution("s", "a", records={CHECK: [records_of(correct)]})
    result = decide(assignment, execution, notebook, SECRET)
    (entry,) = [i for i in result.items if i.check]
    assert entry.points == entry.max_points == 1.0
    assert result.flags == []


def test_the_executed_notebook_is_parsed_once_and_not_validated(assignment, monkeypatch):
    """The executed notebook may be tens of megabytes of outputs (a loop of display calls):
    judging and the notebook kept for Formgrader share one parse, and nbformat's schema
    validation, which costs more than the parse, is never run on it."""
    parses = []
    original = nbformat.reader.reads

    def counted(text, **kwargs):
        parses.append(len(text))
        return original(text, **kwargs)

    def refused(*args, **kwargs):
        raise AssertionError("the executed notebook was read and validated by nbformat.reads")

    notebook = submission()
    text = json.dumps(notebook)
    assert assignment.items  # the master, read before counting
    monkeypatch.setattr(nbformat.reader, "reads", counted)
    monkeypatch.setattr(nbformat, "reads", refused)
    execution = Execution("s", "a", notebook=text, records={CHECK: [records_of(correct)]})
    result = decide(assignment, execution, notebook, SECRET)
    kept = annotate(execution.executed, result)
    assert len(parses) == 1 and kept is not None and len(kept.cells) == len(notebook.cells)


def test_answers_to_other_cases_score_nothing(assignment):
    """Records made for the cases of another secret (guessed from the published code) or of
    another student (harvested by a classmate) fail."""
    check = get_check(CHECK)
    guessed = answers(check, correct, hidden_cases(check, ""))
    for records in (guessed, records_of(correct, student="a classmate")):
        execution = Execution("s", "a", records={CHECK: [records]})
        result = decide(assignment, execution, submission(), SECRET)
        (entry,) = [i for i in result.items if i.check]
        assert entry.points == 0.0


def test_a_repeated_graded_call_counts_its_lowest_score_and_is_flagged(assignment):
    def blank(*args):
        raise NotImplementedError()

    execution = Execution("s", "a", records={CHECK: [records_of(correct), records_of(blank)]})
    result = decide(assignment, execution, submission(), SECRET)
    (entry,) = [i for i in result.items if i.check]
    assert entry.points == 0.0
    assert "ran 2 times" in result.flags[0]


def test_no_record_means_no_points(assignment):
    result = decide(assignment, Execution("s", "a"), submission(), SECRET)
    (entry,) = [i for i in result.items if i.check]
    assert entry.points == 0.0
    assert entry.verdict.results[0].problem == "the hidden test did not run"


def test_a_failing_function_that_uses_what_its_task_forbids_is_told_why(assignment):
    body = "from autodiff.algorithms import two_layer\n\n"
    body += "def forward(W1, b1, W2, b2, X):\n"
    body += "    return two_layer.forward(W1, b1, W2, b2, X)"
    notebook = submission(solution=body)

    def absent(*args):
        raise NameError("name 'two_layer' is not defined")

    execution = Execution("s", "a", records={CHECK: [records_of(absent)]})
    result = decide(assignment, execution, notebook, SECRET)
    (entry,) = [i for i in result.items if i.check]
    assert entry.points == 0.0
    assert "autodiff.algorithms.two_layer" in entry.note and "does not exist" in entry.note
    assert "autodiff.algorithms.two_layer" in result.flags[0]


def test_what_the_grading_run_lacks_is_flagged_for_the_instructor(assignment):
    """A function that used a package the notebook had and the grading run lacks fails in
    the grader's words, and the instructor is told; a forbidden name is the student's."""
    from grader.sandboxed.replay import Unavailable

    def lacking(*args):
        return Unavailable("plotting_helpers", False)(*args)

    def forbidden(*args):
        return Unavailable("autodiff.grad", True)(*args)

    execution = Execution("s", "a", records={CHECK: [records_of(lacking)]})
    result = decide(assignment, execution, submission(), SECRET)
    (entry,) = [i for i in result.items if i.check]
    assert (
        entry.points == 0.0 and "your instructor has been told" in entry.verdict.results[0].problem
    )
    assert "the grading run lacks" in result.flags[0]
    execution = Execution("s", "a", records={CHECK: [records_of(forbidden)]})
    result = decide(assignment, execution, submission(), SECRET)
    assert not [flag for flag in result.flags if "the grading run lacks" in flag]


@pytest.mark.parametrize(("answer", "points"), [(None, 0.0), ("Because (8.13) ...", None)])
def test_written_answers_are_read_from_the_submission_when_the_kernel_died(
    assignment, answer, points
):
    release = master()
    release.cells[3].metadata["nbgrader"]["checksum"] = compute_checksum(release.cells[3])
    if answer is not None:
        release.cells[3].source = answer
    execution = Execution("s", "a", records={CHECK: [records_of(correct)]})
    (written,) = [i for i in decide(assignment, execution, release, SECRET).items if not i.check]
    assert written.points == points
    assert written.note == ("no answer" if points == 0.0 else "graded by hand")


# -- What a grading run executes ------------------------------------------------------------


def test_a_grading_run_takes_the_statements_the_function_needs(assignment):
    notebook = submission(
        "import matplotlib.pyplot as plt\nscale = 2.0\nunused = 3.0",
        "def helper(x):\n    return scale * x",
        "plt.plot([1, 2])\nslow = sum(range(10**9))",
        solution=SOLUTION.replace("return Z, Z @ W2.T + b2", "return Z, helper(Z @ W2.T + b2)"),
    )
    items = [i for i in assignment.items if i.check]
    steps, problems = grading_program(notebook, assignment, items)
    codes = [s["code"] for s in steps if "code" in s]
    assert codes == [
        "import numpy as np",
        notebook.cells[1].source.strip(),
        "scale = 2.0",
        "def helper(x):\n    return scale * x",
    ]
    assert steps[-1] == {"grade": CHECK, "function": "forward"}
    assert problems == []


def test_magics_are_left_out_and_broken_cells_reported(assignment):
    notebook = submission("%matplotlib inline\nfactor = 1.0", "def broken(:\n")
    items = [i for i in assignment.items if i.check]
    steps, problems = grading_program(notebook, assignment, items)
    assert all("matplotlib" not in s.get("code", "") for s in steps)
    assert problems == ["cell 4 could not be read as Python: the grading run left it out"]


def test_the_test_cells_are_never_run(assignment):
    notebook = submission()
    notebook.cells[3].source = "import os\nos.remove('everything')"  # a rewritten test cell
    items = [i for i in assignment.items if i.check]
    steps, _ = grading_program(notebook, assignment, items)
    assert all("os.remove" not in s.get("code", "") for s in steps)


# -- The channel and the secret -------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        {"__ndarray__": [2], "dtype": "object", "bytes": "AAAAAAAAAAAAAAAAAAAAAA=="},
        {"__ndarray__": [3], "dtype": "float64", "bytes": "AAAAAAAAAAAAAAAAAAAAAA=="},
        {"__ndarray__": [1], "dtype": "float64", "bytes": "__import__('os')"},
        {"__ndarray__": [1], "dtype": "float64", "bytes": "AAAAAAAAAAA=", "extra": 1},
        {"__ndarray__": [1], "dtype": "float64", "data": [1.0]},
        {"__ndarray__": [-1], "dtype": "float64", "bytes": ""},
        {"__ndarray__": [2**40], "dtype": "float64", "bytes": ""},
        {"__ndarray__": "2", "dtype": "float64", "bytes": "AAAAAAAAAAA="},
    ],
)
def test_the_channel_decodes_plain_data_only(value):
    with pytest.raises(channel.ChannelError):
        channel.decode(value)


def test_the_channel_round_trips_arrays_of_every_precision():
    for dtype in ("float64", "float32", "float16", "int64", "int8", "bool"):
        array = np.arange(6).reshape(2, 3).astype(dtype)
        back = channel.decode(json.loads(json.dumps(channel.encode(array))))
        assert back.dtype == array.dtype and np.array_equal(back, array)
    weird = np.array([np.nan, np.inf, -np.inf, 1e308, 5e-324, -0.0])
    assert np.array_equal(channel.decode(channel.encode(weird)), weird, equal_nan=True)
    assert np.isnan(channel.decode(channel.encode(float("nan"))))
    assert channel.decode(channel.encode(np.zeros((0, 3)))).shape == (0, 3)


def test_messages_that_cannot_be_read_are_skipped_and_said_once():
    line = channel.records_message(CHECK, [{"case": "c", "answer": 1.0}])
    failed = channel.failed_statement_message("cell 3", "NameError")
    data = b"not json\n[1, 2]\n" + line.encode() + failed.encode() + b'{"check": 5}\n'
    problems: list[str] = []
    records, statements = channel.read_messages(data, problems)
    assert records == {CHECK: [[{"case": "c", "answer": 1.0}]]}
    assert statements == [("cell 3", "NameError")]
    assert problems == ["a malformed message of the grading run was ignored"]


def test_the_course_secret_is_made_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv("GRADER_SALT", raising=False)
    first = course_secret(tmp_path)
    assert first == course_secret(tmp_path) and len(first) == 64
    mode = stat.S_IMODE(os.stat(tmp_path / SECRET_FILE).st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / SECRET_FILE.parent).st_mode) == 0o700
    monkeypatch.setenv("GRADER_SALT", "instructor's own")
    assert course_secret(tmp_path) == "instructor's own"


def test_a_local_named_like_an_import_is_the_functions_own():
    """``grad = 2 * x`` inside a solution is not ``autodiff.grad`` imported elsewhere in the
    notebook; a free ``grad`` (or one declared global) is."""
    cells = [
        "from autodiff import grad\nimport autodiff",
        "def solution(x):\n    grad = 2 * x\n    rows = [grad for grad in x]\n    return grad",
        "def shortcut(x):\n    return grad(lambda y: y)(x)",
        "def declared(x):\n    global grad\n    return grad(x)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    found = {
        f: forbidden_uses(notebook, f, ("autodiff.grad",))
        for f in ("solution", "shortcut", "declared")
    }
    assert found == {"solution": [], "shortcut": ["autodiff.grad"], "declared": ["autodiff.grad"]}
