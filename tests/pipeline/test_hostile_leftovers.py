"""What a sandbox leaves behind is hostile data to the trusted side, and one submission's
failure costs no one else.

A class graded by the real pipeline with the sandbox on, locally with two workers and on a
Dask ``LocalCluster``, in which attackers who have read the code

- plant links (to a file of the trusted side, to ``/dev/zero``, to ``/proc/self/cmdline``),
  FIFOs and folders at every name of their writable folders, from the notebook run and from
  a grading run, then kill their notebook server so that it is restarted;
- send garbage, too much or nothing at all back from a grading run, and hold it open;
- bomb a grading run: fork, memory, a 300 MiB file, a disk filled file by file;
- answer NaN, infinities, masked arrays;
- echo the hidden inputs in exceptions, warnings and standard error;

and every control student, graded after them by the same workers, earns exactly what they
earn alone; no file of the trusted side changes; the batch finishes; no hidden input reaches
any feedback.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from grader.demo.classroom import build_demo_class
from grader.demo.submissions import TWO_LAYER, Scripted, complete
from grader.pipeline.autograde import autograde
from grader.pipeline.judging.secret import course_secret
from grader.pipeline.outputs.feedback import write_feedback
from grader.pipeline.sandbox import bubblewrap
from grader.pipeline.sandbox.limits import Limits
from grader.seeds import hidden_cases

pytestmark = pytest.mark.skipif(
    bubblewrap.bubblewrap() is None, reason="bubblewrap is not installed (make sandbox)"
)

LIMITS = Limits(
    cell_seconds=20,
    job_seconds=180,
    grading_run_seconds=20,
    scratch_bytes=300 * 1024**2,
    scratch_files=20_000,
    memory_bytes=2 * 1024**3,
)

FORWARD = """\
def forward(W1, b1, W2, b2, X):
    if sys.argv[0].endswith("grading_run.py"):  # only where the answers are recorded
        attack()
    Z = np.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
"""

PLANT = """\
import os
import stat
import sys

SENTINEL = {sentinel!r}
TARGETS = [SENTINEL, "/dev/zero", "/proc/self/cmdline", "/proc/self/environ"]


def _replace(path, how):
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            import shutil
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)
        if how == "fifo":
            os.mkfifo(path)
        elif how == "folder":
            os.mkdir(path)
        else:
            os.symlink(TARGETS[how], path)
    except OSError:
        pass


def plant_everywhere():
    kinds = [0, 1, 2, 3, "fifo", "folder"]
    count = 0
    for top in ("/scratch", "/tmp", "/dev/shm", os.path.expanduser("~")):
        for folder, folders, files in os.walk(top, topdown=False):
            for name in folders + files:
                _replace(os.path.join(folder, name), kinds[count % len(kinds)])
                count += 1
        for i, how in enumerate(kinds):
            _replace(os.path.join(top, f"planted-{{i}}"), how)
    for name in ("limits.json", "notebook_server.log", "grading_run.log", "records.jsonl",
                 "cases.json", "program.json", "result.json", "gradebook.db"):
        _replace(os.path.join("/scratch", name), 0)
"""

NOTEBOOK_LINKS = """\
plant_everywhere()
import signal
os.kill(-1, signal.SIGKILL)  # every process of the sandbox: the server is restarted
"""

WATCHER = """\
import subprocess
import textwrap
# A process that keeps replacing what nbgrader writes by a FIFO and links, until killed.
subprocess.Popen([sys.executable, "-c", textwrap.dedent('''
    import os, time
    end = time.time() + 60
    while time.time() < end:
        for folder, _, files in os.walk("/scratch"):
            for name in files:
                if name.endswith(".ipynb") or name.endswith(".db"):
                    path = os.path.join(folder, name)
                    try:
                        os.unlink(path)
                        os.mkfifo(path) if hash(path) % 2 else os.symlink("/dev/zero", path)
                    except OSError:
                        pass
        time.sleep(0.01)
''')], start_new_session=True)
"""

ATTACKS = {
    "links": "def attack():\n    plant_everywhere()\n",
    "garbage": (
        "def attack():\n"
        "    plant_everywhere()\n"
        "    fd = int(sys.argv[-1])\n"
        "    os.write(fd, b'not json\\n' + b'{\"check\": 1}\\n' + b'x' * 1000 + b'\\n')\n"
    ),
    "flood": (
        "def attack():\n"
        "    fd = int(sys.argv[-1])\n"
        "    block = b'[' * (1024 * 1024)\n"
        "    for _ in range(400):\n"
        "        os.write(fd, block)\n"
    ),
    "silence": (
        "def attack():\n"
        "    import signal\n"
        "    import time\n"
        "    signal.signal(signal.SIGALRM, signal.SIG_IGN)  # no time limit per case\n"
        "    os.close(1)\n"
        "    time.sleep(3600)\n"
    ),
    "fork_bomb": (
        "def attack():\n"
        "    import time\n"
        "    for _ in range(100000):\n"
        "        try:\n"
        "            if os.fork() == 0:\n"
        "                time.sleep(120)\n"
        "                os._exit(0)\n"
        "        except OSError:\n"
        "            break\n"
    ),
    "memory_bomb": (
        "def attack():\n"
        "    hoard = [np.ones(600_000_000)]  # 4.8 GB\n"
        "    hoard.append(np.ones(10))\n"
    ),
    "big_file": (
        "def attack():\n"
        "    with open('/tmp/big', 'wb') as stream:\n"
        "        for _ in range(300):\n"
        "            stream.write(b'x' * 1024**2)\n"
    ),
    "disk_bomb": (
        "def attack():\n"
        "    for i in range(40):\n"
        "        with open(f'/tmp/part-{i}', 'wb') as stream:\n"
        "            for _ in range(100):\n"
        "                stream.write(b'x' * 1024**2)\n"
    ),
}

# From the notebook run: fill the disk (bytes, or places for files), wait, and clean up
# before the job ends, where a check made only after the job would find nothing.
NOTEBOOK_DISK_FILL = """\
import os, time
for i in range(8):
    with open(f"/tmp/fill-{i}", "wb") as stream:
        for _ in range(50):
            stream.write(b"x" * 1024**2)
time.sleep(4)
for i in range(8):
    os.remove(f"/tmp/fill-{i}")
"""

NOTEBOOK_EMPTY_FILES = """\
import os, time
for i in range(30_000):
    open(f"/tmp/empty-{i}", "w").close()
time.sleep(4)
for i in range(30_000):
    os.remove(f"/tmp/empty-{i}")
"""

NAN_BACKPROP = """\
def backprop(W1, b1, W2, b2, X, T):
    nan = np.full_like(W1, np.nan)
    masked = np.ma.masked_all(b1.shape)
    return nan, masked, np.full_like(W2, np.inf), np.full_like(b2, 1e308)
"""

NAN_FORWARD = """\
def forward(W1, b1, W2, b2, X):
    Z = np.full((X.shape[0], W1.shape[0]), np.nan)
    return Z, np.full((X.shape[0], W2.shape[0]), -np.inf)
"""

ECHO_BACKPROP = """\
import warnings


def backprop(W1, b1, W2, b2, X, T):
    text = repr([W1.tolist(), X.tolist(), T.tolist()])
    print(text, file=sys.stderr)
    warnings.warn(text, stacklevel=1)
    raise ValueError(text)
"""

ECHO_FORWARD = """\
class Echo(Exception):
    pass


def forward(W1, b1, W2, b2, X):
    raise type("E" + "_".join(str(abs(int(v * 1e6))) for v in X.ravel()[:20]), (Exception,), {})()
"""


def _attacker(name: str, sentinel: Path) -> Scripted:
    plant = PLANT.format(sentinel=str(sentinel))
    return Scripted(
        f"a_{name}",
        TWO_LAYER,
        f"attacks the trusted side from a grading run: {name}",
        answers={"forward_solution": plant + "\n\n" + ATTACKS[name] + "\n\n" + FORWARD},
        honest=False,
    )


def hostile_class(
    sentinel: Path, attacks: tuple[str, ...], controls: int, judged: bool = True
) -> list[Scripted]:
    """The attackers of ``attacks`` (from a grading run), those that attack from the
    notebook run, and ``controls`` honest students.  ``judged``: also the attacks on the
    judge and the budget of the notebook run (NaN, echoed inputs, a full disk), which the
    trusted side meets the same way whatever the pool."""
    plant = PLANT.format(sentinel=str(sentinel))
    specs = [_attacker(name, sentinel) for name in attacks]
    specs += [
        Scripted(
            "a_notebook_links",
            TWO_LAYER,
            "plants links, FIFOs and folders from the notebook run and kills its server",
            extra=(("forward_tests", plant + "\n" + NOTEBOOK_LINKS),),
            honest=False,
        ),
        Scripted(
            "a_notebook_watcher",
            TWO_LAYER,
            "keeps replacing the executed notebook and the gradebook by FIFOs and links",
            extra=(("forward_tests", "import os, sys\n" + WATCHER),),
            honest=False,
        ),
    ]
    judge_and_budget = [
        Scripted(
            "a_notebook_disk_fill",
            TWO_LAYER,
            "fills the disk from the notebook run and cleans up before the job ends",
            extra=(("forward_tests", NOTEBOOK_DISK_FILL),),
            honest=False,
        ),
        Scripted(
            "a_notebook_empty_files",
            TWO_LAYER,
            "makes tens of thousands of empty files from the notebook run, then removes them",
            extra=(("forward_tests", NOTEBOOK_EMPTY_FILES),),
            honest=False,
        ),
        Scripted(
            "a_nan",
            TWO_LAYER,
            "NaN, infinities, a masked array",
            answers={"forward_solution": NAN_FORWARD, "backprop_solution": NAN_BACKPROP},
            honest=False,
        ),
        Scripted(
            "a_echo",
            TWO_LAYER,
            "echoes the hidden inputs in an exception, a warning and standard error",
            answers={"forward_solution": ECHO_FORWARD, "backprop_solution": ECHO_BACKPROP},
            honest=False,
        ),
    ]
    specs += judge_and_budget if judged else []
    specs += [complete(TWO_LAYER, f"z_control_{i}") for i in range(controls)]
    return specs


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _grade(out: Path, attacks: tuple[str, ...], controls: int, pool=None, judged=True):
    sentinel = out / "trusted-side-file.txt"
    sentinel.write_text("the trusted side's own file\n")
    course = build_demo_class(
        out / "class", (TWO_LAYER,), hostile_class(sentinel, attacks, controls, judged)
    )
    secret_path = course.root / ".grader" / "secret"
    course_secret(course.root)
    before = {p: _digest(p) for p in (sentinel, secret_path)}
    earlier = set(_work_folders())
    summary = autograde(course, jobs=2, limits=LIMITS, pool=pool)
    after = {p: _digest(p) for p in before}
    results = {r.student: r for r in summary.graded}
    LEFT[course.root] = [p for p in _work_folders() if p not in earlier]
    return course, results, before, after, sentinel


LEFT: dict[Path, list[Path]] = {}  # the work folders a grading of this module left


def _work_folders() -> list[Path]:
    """The work folders in the temporary folder that hold what a sandbox planted (a run
    killed earlier on this machine may have left its own: only new ones count)."""
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    return [p for p in tmp.glob("grader-*") if p.is_dir() and any(p.rglob("planted-*"))]


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    return _grade(tmp_path_factory.mktemp("leftovers"), tuple(ATTACKS), controls=4)


@pytest.fixture(scope="module")
def on_dask(tmp_path_factory):
    pytest.importorskip("distributed")
    from grader.pipeline.cluster import dask_pool

    attacks = ("links", "garbage")
    out = tmp_path_factory.mktemp("dask")
    return _grade(out, attacks, controls=2, pool=dask_pool("local"), judged=False)


def _full(result) -> float:
    return sum(i.max_points for i in result.items if i.check)


@pytest.mark.parametrize("where", ["local", "on_dask"])
def test_every_control_student_earns_every_point(where, request):
    course, results, _, _, _ = request.getfixturevalue(where)
    controls = [r for s, r in results.items() if s.startswith("z_control_")]
    assert controls
    for result in controls:
        assert result.auto_points == _full(result), (result.student, result.problems)
        assert result.problems == [] and result.flags == [], result.student


@pytest.mark.parametrize("where", ["local", "on_dask"])
def test_no_file_of_the_trusted_side_changed_and_every_submission_was_graded(where, request):
    course, results, before, after, sentinel = request.getfixturevalue(where)
    assert before == after
    assert sentinel.read_text() == "the trusted side's own file\n"
    assert all(r.status == "graded" for r in results.values()), {
        s: r.flags for s, r in results.items() if r.status != "graded"
    }
    graded = {p.parent.parent.name for p in (course.root / "grading").glob("*/*/result.json")}
    assert graded == set(results)


def test_the_gradebook_stays_a_gradebook(local):
    from grader.pipeline.outputs import gradebook

    course, results, _, _, _ = local
    totals = gradebook.totals("sqlite:///" + str(course.root / "gradebook.db"))
    for student, result in results.items():
        assert totals[(student, TWO_LAYER)] == pytest.approx(result.auto_points)


def _problems(result) -> str:
    return " | ".join(result.problems)


def test_each_attack_costs_its_own_submission_and_says_why(local):
    _, results, _, _, _ = local
    assert "sent back too much data" in _problems(results["a_flood"])
    assert "did not finish within" in _problems(results["a_silence"])
    assert "MB to disk" in _problems(results["a_disk_bomb"])
    assert "MB to disk" in _problems(results["a_notebook_disk_fill"])
    assert "20,000 files on disk" in _problems(results["a_notebook_empty_files"])
    for name in ("memory_bomb", "big_file"):
        forward = next(i for i in results[f"a_{name}"].items if i.check == "two_layer_forward")
        assert forward.points == 0.0, name
    assert "malformed message" in _problems(results["a_garbage"])


def test_planted_links_gain_nothing_and_cost_nothing(local):
    _, results, _, _, _ = local
    for student in ("a_links", "a_notebook_links", "a_notebook_watcher", "a_fork_bomb"):
        result = results[student]
        text = json.dumps(result.to_json())
        assert "the trusted side's own file" not in text
        assert "GRADER" not in text and "PYTHONPATH" not in text  # no environ, no cmdline


def test_nan_and_infinities_are_judged_as_wrong_answers(local):
    _, results, _, _, _ = local
    result = results["a_nan"]
    points = {i.check: i.points for i in result.items if i.check}
    assert points["two_layer_forward"] == 0.0 and points["two_layer_backprop"] == 0.0
    assert all(i.verdict and len(i.verdict.results) > 1 for i in result.items if i.check)


def _cases(course, check: str, student: str):
    """The hidden cases of ``student``'s submission, as the pipeline drew them."""
    from grader.checks import get_check
    from grader.pipeline.intake.discover import fingerprint

    path = course.submitted / student / TWO_LAYER / f"{TWO_LAYER}.ipynb"
    secret = course_secret(course.root)
    return hidden_cases(get_check(check), secret, TWO_LAYER, student, fingerprint(path))


def _input_fragments(course, student: str) -> list[str]:
    """Digits of the hidden inputs that student's functions received."""
    fragments = []
    for check in ("two_layer_forward", "two_layer_backprop"):
        for case in _cases(course, check, student):
            for value in case.args:
                flat = np.ravel(value)
                fragments += [f"{abs(v):.6f}"[2:8] for v in flat[:6] if abs(v) > 0.01]
                fragments += [str(abs(int(v * 1e6))) for v in flat[:6] if abs(v) > 0.01]
    return [f for f in fragments if len(f) >= 6]


def test_hidden_inputs_never_reach_the_feedback(local):
    course, results, _, _, _ = local
    fragments = _input_fragments(course, "a_echo")
    assert len(fragments) > 20
    stored = json.dumps(results["a_echo"].to_json())
    pages = write_feedback(course, ["a_echo"], [TWO_LAYER])
    shown = stored + "".join(Path(p).read_text() for p in pages)
    leaked = [f for f in fragments if f in shown]
    assert leaked == []


def test_hidden_cases_differ_between_submissions_and_stay_for_a_regrade(local):
    """Two controls hand in the same file: their cases still differ; a regrade of one meets
    the same cases; the same student's next submission meets others."""
    from grader.checks import get_check

    course, _, _, _, _ = local
    check, secret = get_check("two_layer_backprop"), course_secret(course.root)

    def inputs(student, submission="a file"):
        return [
            np.concatenate([np.ravel(a) for a in c.args])
            for c in hidden_cases(check, secret, TWO_LAYER, student, submission)
        ]

    first, again = inputs("z_control_0"), inputs("z_control_0")
    for other in (inputs("z_control_1"), inputs("z_control_0", "the next file")):
        assert not any(a.shape == b.shape and np.allclose(a, b) for a, b in zip(first, other))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_nothing_is_left_in_the_work_folders(local):
    course, *_ = local
    assert LEFT[course.root] == []
