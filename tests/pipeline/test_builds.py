"""What a sandbox's Python can import: the builds of the project for each set of forbidden
things, checked from inside the sandbox; and every master's own solutions, graded by grading
runs alone, earn every automatic point (the table of what tasks forbid fits the masters)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.checks.forbidden import forbidden_by_check
from grader.demo.classroom import build_demo_class
from grader.demo.submissions import complete
from grader.pipeline.autograde import Batch
from grader.pipeline.intake.discover import discover, fingerprint
from grader.pipeline.judging.verdicts import decide
from grader.pipeline.results import Execution
from grader.pipeline.sandbox import bubblewrap, environment
from grader.pipeline.sandbox.builds import Builds
from grader.pipeline.sandbox.grading_worker import GradingWorker
from grader.pipeline.sandbox.limits import Limits
from grader.release import COURSE, assignments

pytestmark = pytest.mark.skipif(
    bubblewrap.bubblewrap() is None, reason="bubblewrap is not installed (make sandbox)"
)

PROFILES = sorted({tuple(sorted(names)) for names in forbidden_by_check().values()})
COURSE_IMPORTS = ("numpy", "matplotlib.pyplot", "sympy", "autodiff", "grader")

INSPECT = """
import importlib, json, sys
import numpy as np
found = {}
import autodiff.numpy as anp
found["anp works"] = float(anp.sum(anp.tanh(np.ones(3)))) > 0
def reachable(name):
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            if not hasattr(target, part):
                return False
            target = getattr(target, part)
        if name == "numpy.linalg":
            try:
                target.inv(np.eye(2))
            except NotImplementedError:
                return False
        return True
    return False
for name in NAMES:
    found[name] = reachable(name)
for module in ("grader.checks", "grader.judge", "grader.seeds", "grader.notebook",
               "grader.pipeline.judging", "ctypes"):
    try:
        importlib.import_module(module)
        found[module] = True
    except ImportError:
        found[module] = False
import grader
found["grader.grade"] = callable(grader.grade)
print(json.dumps(found))
"""


def inside(forbidden: tuple[str, ...], builds: Builds, tmp_path: Path) -> dict:
    library = builds.library(forbidden)
    excluded = frozenset(n for n in forbidden if "." not in n)
    roots = environment.distributions_of(COURSE_IMPORTS) - excluded
    overlay = builds.linalg_overlay() if "numpy.linalg" in forbidden else None
    mounts = environment.mounts(
        environment.closure(frozenset(roots), excluded), library, linalg_overlay=overlay
    )
    (tmp_path / "sandbox").mkdir()
    writable = bubblewrap.writable_folders(tmp_path / "sandbox")
    probe = writable[bubblewrap.SCRATCH] / "probe_build.py"
    probe.write_text(f"NAMES = {list(forbidden)!r}\n{INSPECT}")
    env = {"HOME": "/scratch", "PATH": "/usr/bin:/bin", "PYTHONPATH": "/sandbox/lib"}
    command = bubblewrap.command(
        [sys.executable, "-s", "/scratch/probe_build.py"], mounts, writable, env
    )
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> Builds:
    return Builds(tmp_path_factory.mktemp("builds"))


@pytest.mark.parametrize("forbidden", PROFILES, ids=lambda p: f"{len(p)}-names")
def test_a_build_lacks_what_it_forbids_and_keeps_the_rest(forbidden, builds, tmp_path):
    found = inside(forbidden, builds, tmp_path)
    assert found.pop("anp works") is True
    assert found.pop("grader.grade") is True
    ctypes = found.pop("ctypes")
    assert ctypes is ("numpy.linalg" not in forbidden)
    reached = sorted(name for name, value in found.items() if value)
    assert reached == []


@pytest.fixture(scope="module")
def whole_course(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    every = tuple(assignments(COURSE))
    course = build_demo_class(out, every, [complete(a) for a in every])
    worker = GradingWorker(out / "worker", Limits(cell_seconds=30), private=(course.root,))
    return course, Batch(course, out), worker


@pytest.mark.parametrize("assignment", assignments(COURSE))
def test_every_master_earns_every_automatic_point_in_its_grading_runs(whole_course, assignment):
    course, batch, worker = whole_course
    (job,) = [j for j in discover(course) if j.assignment == assignment]
    prepared = batch.prepare(job)
    execution = Execution(job.student, job.assignment)
    for run in prepared.task.grading_runs:
        worker._grading_run(prepared.task, run, execution)
    key = fingerprint(job.path)
    result = decide(course.assignment(assignment), execution, prepared.submitted, batch.secret, key)
    lost = {
        i.check: [r.problem for r in i.verdict.results if not r.passed][:2]
        for i in result.items
        if i.check and i.points != i.max_points
    }
    assert lost == {}, execution.problems
    assert execution.problems == []
    assert nbformat.reads(prepared.task.submission, as_version=4).cells


COMPILED_AT_IMPORT = """
import importlib._bootstrap_external as external, json, sys
compiled = []
source_to_code = external.SourceLoader.source_to_code
def counting(self, data, path, *, _optimize=-1):
    compiled.append(path)
    return source_to_code(self, data, path, _optimize=_optimize)
external.SourceLoader.source_to_code = counting
import autodiff.numpy, autodiff.transforms, grader, grader.sandboxed.grading_run
print(json.dumps({"compiled": compiled, "file": autodiff.numpy.__file__}))
"""


def test_a_build_is_imported_from_its_bytecode_without_compiling(builds, tmp_path):
    """Each grading run is a new interpreter that cannot write beside the read-only build:
    the build carries its bytecode, and the code's file names stay the build's."""
    library = builds.library(("autodiff.grad",))
    done = subprocess.run(
        [sys.executable, "-s", "-c", COMPILED_AT_IMPORT],
        env={"PYTHONPATH": str(library), "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    assert [p for p in found["compiled"] if p.startswith(str(library))] == []
    assert found["file"].startswith(str(library))
