"""End to end: a scripted class autograded through the real nbgrader, in sandboxes.

One module fixture builds the demo class plus the misbehaving submissions below, grades it
once with the pipeline (after an interrupted first attempt), and every test reads that
one result.  Expected scores are never written down: each one is computed here, in the test
process, by running the submitted functions on the checks' hidden cases and judging them
(only what the scripted hazard makes impossible is expected to score 0).  Complete
submissions must earn every automatic point and blank ones none, which pins the oracle to
hand-derived facts too.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.checks import get_check
from grader.demo.classroom import DEFAULT_ASSIGNMENTS, build_demo_class
from grader.demo.submissions import JACOBIAN, TWO_LAYER, Scripted, demo_submissions
from grader.judge import answers, judge
from grader.pipeline.autograde import Summary, autograde
from grader.pipeline.course import Assignment, Course
from grader.pipeline.intake.discover import fingerprint
from grader.pipeline.judging.secret import course_secret
from grader.pipeline.nbgrader_route import nbgrader_alone
from grader.pipeline.outputs import gradebook
from grader.pipeline.sandbox.limits import Limits
from grader.seeds import hidden_cases

LIMITS = Limits(cell_seconds=20, job_seconds=240)
RENAMED = "02_two_layer_network-Copy1.ipynb"

NOISY_FORWARD = '''\
import sys


def forward(W1, b1, W2, b2, X):
    """Forward propagation (8.18)-(8.20), with debugging output left in."""
    print(f"forward: a batch of {X.shape[0]} points", file=sys.stderr)
    np.array([1.0]) / 0.0  # RuntimeWarning: divide by zero encountered in divide
    Z = np.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
'''

MEGABYTES_OF_OUTPUT = """\
for step in range(60_000):
    print(f"step {step:6d}: " + "." * 80)
"""

LOOPING_SKIP = '''\
def backprop_skip(W1, b1, W2, b2, Ws, X, T):
    """Iterates until the gradient has settled -- which it never does."""
    change = 1.0
    while change > 0.0:
        change = 0.5 * change + 0.5
'''

SYS_EXIT = """\
import sys

sys.exit("done for today")
"""

MEMORY_BOMB = """\
blocks = []
while True:
    blocks.append(np.ones(10**8))  # 800 MB more each time
"""

OS_EXIT = """\
import os

os._exit(1)
"""

FORGE_RECORDS = """\
# Send the reference answers in place of the hidden tests' records: the program of a grading
# run (with the case inputs) is in this process's memory, and the records pipe is the
# descriptor named on its command line.
import gc
import os
import sys

from grader.sandboxed import channel


def _reference(name, args):
    import autodiff
    from autodiff.algorithms.network import TwoLayerNet

    if name == "two_layer_forward":
        return TwoLayerNet(*args[:4]).forward(args[4])[1:]
    return autodiff.grad(lambda *p: 0.0)(*args)


def _plant():
    if not sys.argv[0].endswith("grading_run.py"):
        return
    program = next(o for o in gc.get_objects() if isinstance(o, dict) and "checks" in o)
    for name, entry in program["checks"].items():
        forged = []
        for case in entry["cases"]:
            try:
                answer = _reference(name, case["args"])
            except Exception:
                answer = 0.0
            forged.append({"case": case["name"], "answer": answer, "warnings": [], "seconds": 0})
        os.write(int(sys.argv[-1]), channel.records_message(name, forged).encode())
"""

# The blank functions of the forger, made to need the forging cell (so that a grading run
# picks it up): every function calls _plant first.
FORGER_FORWARD = """\
def forward(W1, b1, W2, b2, X):
    _plant()
    raise NotImplementedError()
"""

KILL_PARENT = """\
# Leave a process running, then kill the process that started this kernel.
import os
import signal
import subprocess
import sys

subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", os.getcwd()])
os.kill(os.getppid(), signal.SIGKILL)
"""

HAZARDS = [
    Scripted(
        "careless",
        TWO_LAYER,
        "a duplicated, a retyped and a deleted graded cell, a forward that writes to stderr "
        "and warns, megabytes of output, and the notebook saved under another name",
        answers={"forward_solution": NOISY_FORWARD},
        extra=(("forward_tests", MEGABYTES_OF_OUTPUT),),
        damaged=(
            ("duplicate", "forward_solution"),
            ("retype", "backprop_skip_solution"),
            ("delete", "backprop_tests"),
        ),
        file_name=RENAMED,
    ),
    Scripted(
        "runaway",
        TWO_LAYER,
        "sys.exit() in a cell, a memory bomb, an infinite loop in the last task, and "
        "os._exit(1) after the last test (a dead kernel)",
        answers={"backprop_skip_solution": LOOPING_SKIP},
        extra=(
            ("forward_tests", SYS_EXIT),
            ("backprop_tests", MEMORY_BOMB),
            ("backprop_skip_tests", OS_EXIT),
        ),
    ),
    Scripted(
        "forger",
        TWO_LAYER,
        "blank, but replaces the kernel's grade by a function that records the reference "
        "answers, and makes forward need it",
        "blank",
        answers={"forward_solution": FORGER_FORWARD},
        extra=(("forward_solution", FORGE_RECORDS),),
        honest=False,
    ),
    Scripted("empty", TWO_LAYER, "an empty submission folder", file="missing"),
    Scripted(
        "parricide",
        TWO_LAYER,
        "complete, but leaves a process running and kills its kernel's parent after the tests",
        extra=(("backprop_skip_tests", KILL_PARENT),),
        honest=False,
    ),
]
CLASS = demo_submissions(DEFAULT_ASSIGNMENTS) + HAZARDS
SPECS = {(s.student, s.assignment): s for s in CLASS}
NBGRADER_ALONE = ["complete", "partly_right", "mean_over_batch"]  # honest, of TWO_LAYER
assert all(SPECS[(student, TWO_LAYER)].honest for student in NBGRADER_ALONE)

# Checks a scripted hazard keeps from being judged at all: they score 0 whatever the
# function would have earned.
LOST = {("runaway", TWO_LAYER): {"skip_layer_backprop"}}


@dataclass
class Graded:
    course: Course
    interrupted: list[dict]  # the one result the interrupted first run wrote
    after_interrupt: dict  # what that run left: gradebook, results, scratch, processes
    summary: Summary  # the run that completed the class
    results: dict[tuple[str, str], dict]
    plain: subprocess.Popen  # nbgrader autograde on its own, in a copy of the course
    plain_root: Path
    scratch: Path  # every pipeline run of this module makes its work folder here


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Iterator[Graded]:
    course = build_demo_class(tmp_path_factory.mktemp("class"), DEFAULT_ASSIGNMENTS, CLASS)
    plain_root = _copy_for_nbgrader(course, tmp_path_factory.mktemp("plain"))
    secret = course_secret(course.root)
    # nbgrader alone, one student at a time, on the course's secret: its hidden tests draw
    # each submission's own cases, as the pipeline does (grader.seeds.local_submission)
    commands = [
        f"GRADER_SALT={secret} {sys.executable} -m nbgrader autograde {TWO_LAYER} "
        f"--student {student}"
        for student in NBGRADER_ALONE
    ]
    with open(plain_root / "autograde.log", "wb") as log:
        plain = subprocess.Popen(
            ["/bin/sh", "-c", " && ".join(commands)],
            cwd=plain_root,
            stdout=log,
            stderr=subprocess.PIPE,
        )
    scratch = tmp_path_factory.mktemp("scratch")  # where the pipeline makes its work folder
    interrupted: list[dict] = []

    def stop_after_first(result, done: int, total: int) -> None:
        interrupted.append(result.to_json())
        raise KeyboardInterrupt

    saved, tempfile.tempdir = tempfile.tempdir, str(scratch)  # restored at teardown
    try:
        with pytest.raises(KeyboardInterrupt):
            autograde(course, jobs=2, limits=LIMITS, on_done=stop_after_first)
        after_interrupt = {
            "totals": gradebook.totals(_db(course)),
            "results": sorted(p.parent.relative_to(course.root) for p in _result_files(course)),
            "scratch": sorted(p.name for p in scratch.iterdir()),
            "processes": _processes_mentioning(scratch),
        }
        summary = autograde(course, jobs=2, limits=LIMITS)
        results = {
            (r["student"], r["assignment"]): r
            for r in (json.loads(p.read_text()) for p in _result_files(course))
        }
        yield Graded(
            course, interrupted, after_interrupt, summary, results, plain, plain_root, scratch
        )
    finally:
        tempfile.tempdir = saved
        if plain.poll() is None:
            plain.kill()
            plain.wait()


def _processes_mentioning(marker: Path, wait: float = 5.0) -> list[str]:
    """Command lines of the processes that mention ``marker`` (the pipeline's scratch
    folder: sandboxes, workers and their kernels all name it), once ``wait`` seconds have
    passed or none is left."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, UnicodeDecodeError):
                continue
            if str(marker) in command:
                found.append(command)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


# -- The oracle -------------------------------------------------------------------------


def expected(course: Course, spec: Scripted) -> dict[str, float | None]:
    """Points per graded cell that ``spec``'s submission should earn: each function of the
    submitted notebook run on the hidden cases and judged here; a written answer waits for
    a person (``None``) when it differs from the released one and scores 0 otherwise."""
    assignment = course.assignment(spec.assignment)
    if spec.file != "notebook":
        return {item.grade_id: 0.0 for item in assignment.items}
    submitted = _submitted(course, spec)
    namespace = _student_functions(assignment, submitted)
    release = nbformat.read(str(course.release_path(assignment)), as_version=4)
    released = {_gid(c): c.source for c in release.cells if _gid(c)}
    answered = {_gid(c): c.source for c in submitted.cells if _gid(c)}
    points: dict[str, float | None] = {}
    for item in assignment.items:
        if item.written:
            same = answered.get(item.grade_id, released[item.grade_id]) == released[item.grade_id]
            points[item.grade_id] = 0.0 if same else None
        elif item.check in LOST.get((spec.student, spec.assignment), ()):
            points[item.grade_id] = 0.0
        else:
            check = get_check(item.check)
            secret = course_secret(course.root)
            path = _submitted_path(course, spec)
            cases = hidden_cases(check, secret, spec.assignment, spec.student, fingerprint(path))
            records = answers(check, namespace[item.function], cases)
            points[item.grade_id] = float(judge(check, cases, records).points)
    return points


def _student_functions(assignment: Assignment, notebook) -> dict:
    """The namespace the submitted solution cells define (run in order, each once, after
    the imports the masters start with), with the master's own cells of definitions only
    (helpers a solution may use, such as a table of activations) in their places; tampering
    and other extra cells are not run."""
    namespace: dict = {}
    exec(
        "import numpy as np\nimport autodiff\nimport autodiff.numpy as anp\n"
        "from autodiff.algorithms.network import TwoLayerNet\n",
        namespace,
    )
    submitted: dict[str, str] = {}
    for cell in notebook.cells:
        submitted.setdefault(_gid(cell), cell.source)
    for cell in assignment.master.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade"):
            continue
        if meta.get("solution"):
            if _gid(cell) in submitted:
                exec(submitted[_gid(cell)], namespace)
        elif _definitions_only(cell.source):
            try:
                exec(cell.source, namespace)
            except Exception:  # a helper that needs a task not solved here
                pass
    return namespace


def _definitions_only(source: str) -> bool:
    """Whether a cell only imports, defines functions or classes, and binds names."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    kinds = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    names = (ast.Assign, ast.AnnAssign)
    return all(
        isinstance(s, kinds)
        or (isinstance(s, names) and all(isinstance(t, ast.Name) for t in _targets(s)))
        for s in body
    )


def _targets(statement) -> list:
    return statement.targets if isinstance(statement, ast.Assign) else [statement.target]


def _submitted_path(course: Course, spec: Scripted) -> Path:
    folder = course.submitted / spec.student / spec.assignment
    return folder / (spec.file_name or f"{spec.assignment}.ipynb")


def _submitted(course: Course, spec: Scripted):
    return nbformat.read(str(_submitted_path(course, spec)), 4)


def _gid(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


# -- Helpers ------------------------------------------------------------------------------


def _db(course: Course) -> str:
    return "sqlite:///" + str(course.root / "gradebook.db")


def _result_files(course: Course) -> list[Path]:
    return sorted((course.root / "grading").glob("*/*/result.json"))


def _copy_for_nbgrader(course: Course, out: Path) -> Path:
    root = out / "course"
    shutil.copytree(course.root, root, ignore=shutil.ignore_patterns("submitted"))
    nbgrader_alone(root)
    for student in NBGRADER_ALONE:
        shutil.copytree(
            course.submitted / student / TWO_LAYER, root / "submitted" / student / TWO_LAYER
        )
    return root


def points(result: dict) -> dict[str, float | None]:
    return {item["grade_id"]: item["points"] for item in result["items"]}


def item(result: dict, check: str) -> dict:
    return next(i for i in result["items"] if i["check"] == check)


def case_texts(entry: dict, field: str) -> list[str]:
    return [r[field] for r in entry["verdict"]["results"] if r[field]]


def assert_scores(graded: Graded, student: str, assignment: str, written: bool = True) -> dict:
    """The result of ``student``'s submission, once its points are checked against the
    oracle (``written=False``: the automatically graded cells only)."""
    result = graded.results[(student, assignment)]
    wanted = expected(graded.course, SPECS[(student, assignment)])
    if not written:
        auto = {e["grade_id"] for e in result["items"] if e["check"]}
        wanted = {gid: p for gid, p in wanted.items() if gid in auto}
        assert {gid: p for gid, p in points(result).items() if gid in auto} == wanted
    else:
        assert points(result) == wanted
    return result


def assert_messages(
    result: dict, problems: list[str], flags: list[str], more_flags: bool = False
) -> None:
    """Exactly one problem (flag) per expected fragment, each containing it; with
    ``more_flags`` other flags may come on top (a tamperer may be caught twice)."""
    assert len(result["problems"]) == len(problems), result["problems"]
    for fragment in problems:
        assert any(fragment in p for p in result["problems"]), (fragment, result["problems"])
    assert len(result["flags"]) == len(flags) or more_flags, result["flags"]
    for fragment in flags:
        assert any(fragment in f for f in result["flags"]), (fragment, result["flags"])


# -- The scripted class ------------------------------------------------------------------


def test_submissions_are_built_from_the_masters(graded):
    for assignment in graded.course.assignments.values():
        release = nbformat.read(str(graded.course.release_path(assignment)), as_version=4)
        complete = _submitted(graded.course, SPECS[("complete", assignment.name)])
        assert [_gid(c) for c in complete.cells] == [_gid(c) for c in release.cells]
        for master_cell, cell in zip(assignment.master.cells, complete.cells):
            meta = master_cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                lines = master_cell.source.splitlines()
                assert cell.source.splitlines() == [
                    line
                    for line in lines
                    if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
                ]
        for spec in CLASS:
            if spec.assignment == assignment.name and spec.file == "notebook":
                text = json.dumps(_submitted(graded.course, spec))
                assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    blank = _submitted(graded.course, SPECS[("blank", TWO_LAYER)])
    release = nbformat.read(str(graded.course.release_path(graded.course.assignment(TWO_LAYER))), 4)
    assert [c.source for c in blank.cells] == [c.source for c in release.cells]
    table = (graded.course.root.parent / "students.md").read_text().splitlines()
    assert len([line for line in table if line.startswith("| ")]) == 1 + len(CLASS)


def test_unknown_assignment_or_cell_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown assignment"):
        build_demo_class(tmp_path, ("99_nothing",))
    with pytest.raises(ValueError, match="no graded cell nothing_solution"):
        build_demo_class(
            tmp_path, (TWO_LAYER,), [Scripted("x", TWO_LAYER, "", blank=("nothing_solution",))]
        )


# -- The demo class -----------------------------------------------------------------------


@pytest.mark.parametrize("assignment", DEFAULT_ASSIGNMENTS)
def test_complete_submission_earns_every_automatic_point(graded, assignment):
    result = assert_scores(graded, "complete", assignment)
    for entry in result["items"]:
        assert entry["points"] == (None if entry["check"] == "" else entry["max_points"])
    assert result["status"] == "graded"
    assert_messages(result, [], [])


def test_blank_submission_earns_nothing(graded):
    result = assert_scores(graded, "blank", TWO_LAYER)
    assert set(points(result).values()) == {0.0}
    for entry in result["items"]:
        if entry["check"]:
            assert all("not implemented yet" in p for p in case_texts(entry, "problem"))
        else:
            assert entry["note"] == "no answer"
    assert_messages(result, [], [])


def test_partly_right_submission_earns_the_solved_tasks(graded):
    result = assert_scores(graded, "partly_right", TWO_LAYER)
    solved = {"two_layer_forward", "two_layer_backprop"}
    for entry in result["items"]:
        full = entry["check"] in solved
        assert entry["points"] == (entry["max_points"] if full else 0.0)
    assert_messages(result, [], [])


MISTAKES = [
    ("no_tanh_derivative", TWO_LAYER, "two_layer_backprop", "missing activation derivative"),
    ("w2_transposed", TWO_LAYER, "two_layer_backprop", "transposed second-layer weights"),
    ("mean_over_batch", TWO_LAYER, "two_layer_backprop", "mean instead of sum"),
    ("softmax_no_cross_term", JACOBIAN, "softmax_network_jacobian", "missing -y_k y_l"),
]


@pytest.mark.parametrize(("student", "assignment", "check", "mistake"), MISTAKES)
def test_typical_mistake_loses_its_points_and_is_diagnosed(
    graded, student, assignment, check, mistake
):
    result = assert_scores(graded, student, assignment)
    entry = item(result, check)
    assert entry["points"] < entry["max_points"]
    explanation = next(m for m in get_check(check).mistakes() if m.name == mistake).explanation
    failed = [r for r in entry["verdict"]["results"] if not r["passed"]]
    with_numbers = [r for r in failed if "max abs error" in r["problem"]]
    assert with_numbers, "a wrong answer must say how far off it is"
    assert all(r["diagnosis"].startswith(explanation) for r in with_numbers), with_numbers
    # hidden cases: how far off, never the numbers expected or received
    assert not any(r["details"] for r in failed)
    assert_messages(result, [], [])


def test_tamperer_scores_its_real_work(graded):
    """grade, self_check, numpy.allclose and print are patched to claim full points, and
    backprop returns an object equal to everything: the kernel's claims count for nothing."""
    result = assert_scores(graded, "tamperer", TWO_LAYER)
    lost = {e["check"] for e in result["items"] if e["check"] and e["points"] < e["max_points"]}
    assert lost == {"two_layer_backprop", "two_layer_gradient_descent"}
    assert "not numbers" in case_texts(item(result, "two_layer_backprop"), "problem")[0]
    assert_messages(result, [], [])


def test_tamperer_replacing_grade_gains_nothing(graded):
    result = assert_scores(graded, "tamperer", JACOBIAN)
    solved = {"module_chain_gradient"}
    for entry in result["items"]:
        if entry["check"]:
            full = entry["check"] in solved
            assert entry["points"] == (entry["max_points"] if full else 0.0), entry["check"]
    assert_messages(result, [], [])


def test_calling_the_reference_scores_zero_for_that_task_and_is_flagged(graded):
    result = graded.results[("calls_reference", JACOBIAN)]
    wanted = expected(graded.course, SPECS[("calls_reference", JACOBIAN)])
    forward = item(result, "jacobian_forward_propagation")
    assert wanted[forward["grade_id"]] == forward["max_points"], "jacfwd is right, if forbidden"
    wanted[forward["grade_id"]] = 0.0
    assert points(result) == wanted
    assert "autodiff.transforms" in forward["note"] and "does not exist" in forward["note"]
    assert_messages(result, [], ["jacobian_forward_propagation: jacobian_forward uses"])


def test_broken_file_is_reported_and_scores_zero(graded):
    result = assert_scores(graded, "broken_file", TWO_LAYER)
    assert result["status"] == "unreadable"
    assert_messages(result, ["could not be read: the file is not valid JSON"], [])


# -- Misbehaving submissions --------------------------------------------------------------


def test_duplicated_retyped_and_deleted_graded_cells_are_repaired(graded):
    result = assert_scores(graded, "careless", TWO_LAYER)
    assert all(e["points"] in (e["max_points"], None) for e in result["items"])
    assert_messages(
        result,
        [
            "'forward_solution' appears more than once",
            "'backprop_skip_solution' was changed from code to markdown",
            "'backprop_tests' was deleted",
            f"named {RENAMED}, expected {TWO_LAYER}.ipynb",
        ],
        [],
    )


def test_stderr_and_runtime_warning_cost_nothing(graded):
    result = graded.results[("careless", TWO_LAYER)]
    forward = item(result, "two_layer_forward")
    assert forward["points"] == forward["max_points"]
    notes = [w for r in forward["verdict"]["results"] for w in r["warnings"]]
    assert any("RuntimeWarning" in w for w in notes), notes
    assert any("wrote to standard error" in w for w in notes), notes
    # the graded feedback never repeats what the student's code wrote (hidden inputs)
    assert not any("divide by zero" in w or "a batch of" in w for w in notes), notes


def test_megabytes_of_output_do_not_break_the_grading(graded):
    result = graded.results[("careless", TWO_LAYER)]
    assert result["auto_points"] == sum(e["max_points"] for e in result["items"] if e["check"])
    autograded = graded.course.root / "autograded" / "careless" / TWO_LAYER
    assert (autograded / f"{TWO_LAYER}.ipynb").stat().st_size < 5 * 1024**2


def test_sys_exit_and_a_memory_bomb_leave_the_other_tasks_graded(graded):
    result = assert_scores(graded, "runaway", TWO_LAYER, written=False)
    for check in ("two_layer_forward", "two_layer_backprop", "two_layer_gradient_descent"):
        entry = item(result, check)
        assert entry["points"] == entry["max_points"], check


def test_infinite_loop_scores_zero_for_its_task_only(graded):
    result = assert_scores(graded, "runaway", TWO_LAYER, written=False)
    assert item(result, "skip_layer_backprop")["points"] == 0.0
    assert result["seconds"] < LIMITS.job_seconds


def test_infinite_loop_is_reported_as_a_time_limit(graded):
    entry = item(graded.results[("runaway", TWO_LAYER)], "skip_layer_backprop")
    assert any("time limit" in p for p in case_texts(entry, "problem"))


def test_dead_kernel_keeps_the_grades_recorded_before_it_died(graded):
    result = assert_scores(graded, "runaway", TWO_LAYER, written=False)
    assert result["auto_points"] == sum(
        item(result, c)["max_points"]
        for c in ("two_layer_forward", "two_layer_backprop", "two_layer_gradient_descent")
    )
    assert len(result["problems"]) == 1 and not result["flags"], result


def test_dead_kernel_keeps_the_written_answer(graded):
    result = graded.results[("runaway", TWO_LAYER)]
    assert points(result) == expected(graded.course, SPECS[("runaway", TWO_LAYER)])


def test_dead_kernel_is_named_as_the_cause(graded):
    problems = graded.results[("runaway", TWO_LAYER)]["problems"]
    assert any("kernel died" in p.lower() for p in problems), problems


def test_killing_the_kernels_parent_keeps_the_grades_and_harms_no_one(graded):
    # the other students graded after it in the same worker are checked by the other tests;
    # the process it left behind, by test_workers_leave_no_process_behind
    result = assert_scores(graded, "parricide", TWO_LAYER, written=False)
    assert result["auto_points"] == sum(i["max_points"] for i in result["items"] if i["check"])


def test_empty_submission_folder_is_reported(graded):
    result = assert_scores(graded, "empty", TWO_LAYER)
    assert result["status"] == "unreadable"
    assert_messages(result, ["no notebook was submitted"], [])


def test_forged_records_earn_nothing(graded):
    """The forger's code runs in the grading run (forward needs it) and sends records of the
    reference's answers on the records pipe: the reference is not in that run, so the
    forgery fails, and records are judged against this side's cases."""
    result = graded.results[("forger", TWO_LAYER)]
    assert all(e["points"] in (0.0, None) for e in result["items"]), points(result)


# -- The batch ------------------------------------------------------------------------------


def test_every_submission_is_graded_and_in_the_gradebook(graded):
    assert set(graded.results) == set(SPECS)
    totals = gradebook.totals(_db(graded.course))
    for key, result in graded.results.items():
        assert totals[key] == pytest.approx(result["auto_points"])
        assert result["max_points"] == graded.course.assignment(key[1]).max_points


def test_interrupted_run_leaves_a_consistent_gradebook_and_resumes(graded):
    (first,) = graded.interrupted
    key = (first["student"], first["assignment"])
    assert graded.after_interrupt["results"] == [Path("grading", *key)]
    assert graded.after_interrupt["totals"] == {key: first["auto_points"]}
    assert graded.after_interrupt["scratch"] == [], "the work folder was left behind"
    assert graded.after_interrupt["processes"] == [], "sandboxes outlived the interrupt"
    assert graded.summary.reused == 1
    assert len(graded.summary.graded) == len(SPECS) - 1
    assert key not in {(r.student, r.assignment) for r in graded.summary.graded}


def test_running_again_regrades_nothing(graded):
    before = {p: p.stat().st_mtime_ns for p in _result_files(graded.course)}
    totals = gradebook.totals(_db(graded.course))
    summary = autograde(graded.course, jobs=2, limits=LIMITS)
    assert summary.graded == [] and summary.reused == len(SPECS)
    assert {p: p.stat().st_mtime_ns for p in _result_files(graded.course)} == before
    assert gradebook.totals(_db(graded.course)) == totals


def test_force_regrades_to_identical_results(graded):
    key = ("tamperer", TWO_LAYER)
    totals = gradebook.totals(_db(graded.course))
    summary = autograde(graded.course, [key[1]], [key[0]], jobs=2, force=True, limits=LIMITS)
    (again,) = summary.graded
    timing = ("seconds", "grading_run_seconds", "worker")
    before = {k: v for k, v in graded.results[key].items() if k not in timing}
    assert {k: v for k, v in again.to_json().items() if k not in timing} == before
    assert gradebook.totals(_db(graded.course)) == totals


def test_same_grades_as_nbgrader_alone_for_honest_submissions(graded):
    _, stderr = graded.plain.communicate(timeout=600)
    assert graded.plain.returncode == 0, stderr.decode(errors="replace")[-2000:]
    notebook = TWO_LAYER
    compared = 0
    with (
        Gradebook(_db(graded.course)) as ours,
        Gradebook("sqlite:///" + str(graded.plain_root / "gradebook.db")) as theirs,
    ):
        for student in NBGRADER_ALONE:
            for entry in graded.results[(student, TWO_LAYER)]["items"]:
                mine = ours.find_grade(entry["grade_id"], notebook, TWO_LAYER, student)
                plain = theirs.find_grade(entry["grade_id"], notebook, TWO_LAYER, student)
                assert mine.score == pytest.approx(plain.score), (student, entry["grade_id"])
                assert mine.needs_manual_grade == plain.needs_manual_grade
                compared += 1
    assert compared == len(NBGRADER_ALONE) * len(graded.course.assignment(TWO_LAYER).items)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kernels fork on Linux")
def test_every_kernel_was_forked(graded):
    for key, result in graded.results.items():
        if SPECS[key].file == "notebook":
            assert result["kernel_starts"] == {"forked": 1}, (key, result["kernel_starts"])


def test_workers_leave_no_process_behind(graded):
    assert _processes_mentioning(graded.scratch) == []
    assert list(graded.scratch.iterdir()) == []


def test_without_the_sandbox_a_class_is_still_graded(tmp_path):
    """``--no-sandbox``: the same stages with resource limits only (and no isolation)."""
    course = build_demo_class(tmp_path, (JACOBIAN,), [SPECS[("complete", JACOBIAN)]])
    summary = autograde(course, jobs=1, limits=LIMITS, sandboxed=False)
    (result,) = summary.graded
    assert result.auto_points == sum(i.max_points for i in result.items if i.check)
    assert result.problems == [] and result.flags == []
