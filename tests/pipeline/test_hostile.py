"""Hostile submissions written by someone who has read the code, graded through the real
pipeline with the sandbox on.

- Escape: from inside a graded notebook and inside a grading run, every attempt to gain
  privileges (uid 0, capabilities, mount, umount, unshare), to read what is not the job's
  (the course, another student's work, the gradebook, the secret, the repository and its
  masters and ``.git``, the trusted grader, other installed packages), to write outside the
  scratch folder, or to reach the network fails; and nothing one student leaves (files,
  processes) reaches the next.
- Forgery: writing the records, replacing the kernel's ``grade``, walking the stack,
  answering cases guessed from the published code: a blank notebook still scores 0.
- Reference routes: a task to implement oneself answered through the reference, by any of
  the routes below, scores 0 for that task -- though each route gives full marks in an
  ordinary environment, which the tests check first.
- Honest answers keep their points: float32, nested lists, warnings, standard error and
  megabytes of output.
"""

from __future__ import annotations

import json
import marshal
import pickle
import sys
from pathlib import Path

import nbformat
import pytest

import autodiff
import autodiff.transforms
from grader.checks import get_check
from grader.demo.classroom import build_demo_class
from grader.demo.submissions import TWO_LAYER, Scripted, complete
from grader.judge import answers, judge
from grader.pipeline.autograde import Batch, autograde
from grader.pipeline.course import Course
from grader.pipeline.intake.discover import discover
from grader.pipeline.judging.secret import SECRET_FILE, course_secret
from grader.pipeline.sandbox import bubblewrap
from grader.pipeline.sandbox.grading_worker import GradingWorker
from grader.pipeline.sandbox.limits import Limits
from grader.seeds import hidden_cases

pytestmark = pytest.mark.skipif(
    bubblewrap.bubblewrap() is None, reason="bubblewrap is not installed (make sandbox)"
)

ROOT = Path(__file__).resolve().parents[2]
HESSIAN = "05_hessian"
LIMITS = Limits(cell_seconds=20, job_seconds=240, grading_run_seconds=120)
BACKPROP_CELL = "backprop_solution"

# -- Escape -------------------------------------------------------------------------------

PROBE = """\
import json
import os
import signal
import socket
import subprocess

PATHS = {paths!r}
WRITES = {writes!r}
INTERPRETER_UNDER_ROOT = {under_root!r}
ENVIRONMENT_UNDER_REPOSITORY = {under_repository!r}


def _runs(*command):
    try:
        return subprocess.run(list(command), capture_output=True, timeout=20).returncode == 0
    except Exception:
        return False


def _probe():
    found = {{}}
    status = open("/proc/self/status").read()
    found["uid 0"] = os.getuid() == 0
    found["capabilities"] = int(status.split("CapEff:")[1].split()[0], 16) != 0
    os.makedirs("/tmp/probe-mount", exist_ok=True)
    found["mount"] = _runs("mount", "-t", "tmpfs", "none", "/tmp/probe-mount")
    found["umount"] = _runs("umount", "/tmp")
    found["unshare -m"] = _runs("unshare", "-m", "true")
    found["unshare -Ur"] = _runs("unshare", "-Ur", "true")
    for label, path in PATHS.items():
        try:
            if os.path.isdir(path):
                found["read " + label] = bool(os.listdir(path))
            else:
                with open(path, "rb") as stream:
                    stream.read(1)
                found["read " + label] = True
        except OSError:
            found["read " + label] = False
    found["read /home"] = os.path.isdir("/home") and bool(os.listdir("/home"))
    repository = PATHS["the repository"]
    listed = os.listdir(repository) if os.path.isdir(repository) else []
    found["read the repository"] = bool(set(listed) - set(ENVIRONMENT_UNDER_REPOSITORY))
    beyond = [e for e in os.listdir("/root")] if os.path.isdir("/root") else []
    found["read /root"] = bool(set(beyond) - set(INTERPRETER_UNDER_ROOT))
    for label, path in WRITES.items():
        try:
            with open(path, "w") as stream:
                stream.write("x")
            found["write " + label] = True
        except OSError:
            found["write " + label] = False
    try:
        socket.create_connection(("192.0.2.1", 80), timeout=2).close()
        found["network"] = True
    except OSError:
        found["network"] = False
    try:
        with open(f"/proc/{{os.getppid()}}/mem", "rb") as stream:
            stream.read(1)
        found["parent's memory"] = True
    except OSError:
        found["parent's memory"] = False
    found["leftovers of an earlier student"] = any(os.path.exists(p) for p in LEFTOVERS) or any(
        "probe-leftover" in _command_line(pid) for pid in os.listdir("/proc") if pid.isdigit()
    )
    return found


def _command_line(pid):
    try:
        with open(f"/proc/{{pid}}/cmdline", "rb") as stream:
            return stream.read().decode(errors="replace")
    except OSError:
        return ""


LEFTOVERS = ["/tmp/leftover", "/dev/shm/leftover", os.path.expanduser("~/leftover"),
             "/scratch/leftover"]


def _leave_traces():
    for path in LEFTOVERS:
        try:
            with open(path, "w") as stream:
                stream.write("left for the next student")
        except OSError:
            pass
    subprocess.Popen(["sleep", "600", "probe-leftover"], start_new_session=True)


def _encoded(found):
    return [float(ord(c)) for c in json.dumps(found, sort_keys=True)]


print("PROBE " + json.dumps(_probe(), sort_keys=True))
_leave_traces()
"""

PROBING_FORWARD = '''\
def forward(W1, b1, W2, b2, X):
    """Reports what the grading run could reach, in place of Z (and leaves traces)."""
    report = _encoded(_probe())
    _leave_traces()
    return report, report
'''


def probe_source(course: Course) -> str:
    other = course.submitted / "complete" / TWO_LAYER / f"{TWO_LAYER}.ipynb"
    prefix = Path(sys.base_prefix).resolve()
    under_root = prefix.relative_to("/root").parts[:1] if prefix.is_relative_to("/root") else ()
    site = next(p for p in sys.path if p.endswith("site-packages"))
    paths = {
        "the course": str(course.root),
        "another student's submission": str(other),
        "the gradebook": str(course.root / "gradebook.db"),
        "the course secret": str(course.root / SECRET_FILE),
        "a master with its solutions": str(ROOT / "course" / "source" / TWO_LAYER),
        "the repository's .git": str(ROOT / ".git" / "HEAD"),
        "the trusted checks": str(ROOT / "grader" / "checks" / "__init__.py"),
        "the project's own installation": str(ROOT / "autodiff" / "transforms.py"),
        "a package not needed (pytest)": str(Path(site) / "pytest"),
    }
    writes = {
        "the system": "/usr/probe",
        "the environment": str(Path(site) / "probe.py"),
        "the sandbox's library": "/sandbox/lib/probe.py",
        "the root folder": "/probe",
    }
    paths["the repository"] = str(ROOT)
    venv = Path(sys.prefix).resolve()
    under_repository = venv.relative_to(ROOT).parts[:1] if venv.is_relative_to(ROOT) else ()
    return PROBE.format(
        paths=paths,
        writes=writes,
        under_root=list(under_root),
        under_repository=list(under_repository),
    )


@pytest.fixture(scope="module")
def probed(tmp_path_factory) -> dict:
    """Two students graded one after the other by one sandboxed worker: the prober (whose
    notebook and grading run report what they reach, and leave traces) and the next one,
    whose identical probe looks for the traces."""
    out = tmp_path_factory.mktemp("probe")
    course = build_demo_class(out, (TWO_LAYER,), [complete(TWO_LAYER)])
    source = probe_source(course)
    specs = [
        Scripted(
            student,
            TWO_LAYER,
            "probes the sandbox",
            answers={"forward_solution": PROBING_FORWARD},
            extra=(("forward_solution", source),),
            honest=False,
        )
        for student in ("prober", "next")
    ]
    course = build_demo_class(out, (TWO_LAYER,), [complete(TWO_LAYER), *specs])
    batch = Batch(course, out)
    jobs = {j.student: j for j in discover(course)}
    worker = GradingWorker(out / "worker", LIMITS, label="probe", private=(course.root,))
    try:
        found = {}
        for student in ("prober", "next"):
            execution = worker.grade(batch.prepare(jobs[student]).task)
            found[student] = (_notebook_report(execution.notebook), _run_report(execution))
        return found
    finally:
        worker.stop()


def _notebook_report(text: str | None) -> dict:
    assert text is not None, "the notebook did not run"
    for cell in nbformat.reads(text, as_version=4).cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith("PROBE "):
                    return json.loads(line[len("PROBE ") :])
    raise AssertionError("the notebook's probe printed nothing")


def _run_report(execution) -> dict:
    (records,) = execution.records["two_layer_forward"]
    answer = records[0]["answer"][0]
    return json.loads("".join(chr(int(c)) for c in answer))


@pytest.mark.parametrize("where", ["notebook", "grading run"])
def test_nothing_outside_the_job_is_reachable(probed, where):
    report = probed["prober"][0 if where == "notebook" else 1]
    reached = sorted(name for name, succeeded in report.items() if succeeded)
    assert reached == [], f"from the {where}: {reached}"
    assert len(report) >= 25


@pytest.mark.parametrize("where", ["notebook", "grading run"])
def test_nothing_reaches_the_next_student(probed, where):
    report = probed["next"][0 if where == "notebook" else 1]
    assert report["leftovers of an earlier student"] is False


# -- Forgery, reference routes, honest answers: a class graded by the pipeline ------------


def _error_source() -> str:
    return """\
import autodiff.numpy as anp


def _error(W1, b1, W2, b2, X, T):
    Z = anp.tanh(X @ anp.transpose(W1) + b1)
    return 0.5 * anp.sum((Z @ anp.transpose(W2) + b2 - T) ** 2)
"""


def _backprop(body: str, setup: str = "") -> str:
    return f"{setup}\n\ndef backprop(W1, b1, W2, b2, X, T):\n{body}\n"


PICKLED = pickle.dumps(autodiff.grad)
MARSHALLED = marshal.dumps(autodiff.transforms.grad.__code__)
DEFAULTS = autodiff.transforms.grad.__defaults__
TRANSFORMS_SOURCE = str(ROOT / "autodiff" / "transforms.py")

ROUTES = {
    "direct": _backprop(
        "    return autodiff.grad(_error, argnums=(0, 1, 2, 3))(W1, b1, W2, b2, X, T)",
        "import autodiff",
    ),
    "alias from a submodule": _backprop(
        "    return g(_error, argnums=(0, 1, 2, 3))(W1, b1, W2, b2, X, T)",
        "from autodiff.transforms import grad as g",
    ),
    "pickle": _backprop(
        f"    g = pickle.loads({PICKLED!r})\n"
        "    return g(_error, argnums=(0, 1, 2, 3))(W1, b1, W2, b2, X, T)",
        "import pickle",
    ),
    "marshal": _backprop(
        f"    code = marshal.loads({MARSHALLED!r})\n"
        "    space = vars(importlib.import_module('autodiff.transforms'))\n"
        f"    g = types.FunctionType(code, space, None, {DEFAULTS!r})\n"
        "    return g(_error, argnums=(0, 1, 2, 3))(W1, b1, W2, b2, X, T)",
        "import importlib\nimport marshal\nimport types",
    ),
    "a builtin planted in another cell": _backprop(
        "    return PLANTED_GRAD(_error, argnums=(0, 1, 2, 3))(W1, b1, W2, b2, X, T)",
        "import builtins\nimport autodiff\nbuiltins.PLANTED_GRAD = autodiff.grad",
    ),
    "operator.attrgetter": _backprop(
        "    g = operator.attrgetter('grad')(importlib.import_module('autodiff'))\n"
        "    return g(_error, argnums=(0, 1, 2, 3))(W1, b1, W2, b2, X, T)",
        "import importlib\nimport operator",
    ),
    "pkgutil.resolve_name": _backprop(
        "    g = pkgutil.resolve_name('autodiff.transforms:grad')\n"
        "    return g(_error, argnums=(0, 1, 2, 3))(W1, b1, W2, b2, X, T)",
        "import pkgutil",
    ),
    "a module written at run time": _backprop(
        "    folder = tempfile.mkdtemp()\n"
        "    with open(os.path.join(folder, 'written_helper.py'), 'w') as stream:\n"
        "        stream.write('from autodiff import grad\\n')\n"
        "    sys.path.insert(0, folder)\n"
        "    g = importlib.import_module('written_helper').grad\n"
        "    return g(_error, argnums=(0, 1, 2, 3))(W1, b1, W2, b2, X, T)",
        "import importlib\nimport os\nimport sys\nimport tempfile",
    ),
    "exec": _backprop(
        "    space = {}\n"
        "    exec('from autodiff import grad as g', space)\n"
        "    return space['g'](_error, argnums=(0, 1, 2, 3))(W1, b1, W2, b2, X, T)",
    ),
    "__import__": _backprop(
        "    g = __import__('autodiff.transforms', fromlist=['grad']).grad\n"
        "    return g(_error, argnums=(0, 1, 2, 3))(W1, b1, W2, b2, X, T)",
    ),
    "Tensor.backward": _backprop(
        "    ps = [Tensor(p, requires_grad=True) for p in (W1, b1, W2, b2)]\n"
        "    _error(*ps, X, T).backward()\n"
        "    return tuple(p.grad for p in ps)",
        "from autodiff import Tensor",
    ),
    "Scalar.backward": _backprop(
        "    ps = [np.vectorize(Scalar, otypes=[object])(p) for p in (W1, b1, W2, b2)]\n"
        "    Z = np.vectorize(lambda s: s.tanh(), otypes=[object])(X @ ps[0].T + ps[1])\n"
        "    total = ((Z @ ps[2].T + ps[3] - T) ** 2).sum() * 0.5\n"
        "    total.backward()\n"
        "    return tuple(np.vectorize(lambda s: s.grad)(p) for p in ps)",
        "import numpy as np\nfrom autodiff import Scalar",
    ),
    "Scalar's recorded local derivatives, swept by hand": _backprop(
        "    ps = [np.vectorize(Scalar, otypes=[object])(p) for p in (W1, b1, W2, b2)]\n"
        "    Z = np.vectorize(lambda s: s.tanh(), otypes=[object])(X @ ps[0].T + ps[1])\n"
        "    total = ((Z @ ps[2].T + ps[3] - T) ** 2).sum() * 0.5\n"
        "    adjoint = {id(total): 1.0}\n"
        "    for node in total.graph():\n"
        "        for parent, local in zip(node._parents, node._local):\n"
        "            a = adjoint.get(id(node), 0.0)\n"
        "            adjoint[id(parent)] = adjoint.get(id(parent), 0.0) + local * a\n"
        "    return tuple(np.vectorize(lambda s: adjoint.get(id(s), 0.0))(p) for p in ps)",
        "import numpy as np\nfrom autodiff import Scalar",
    ),
    "the chapter's algorithm": _backprop(
        "    g = two_layer_backprop(TwoLayerNet(W1, b1, W2, b2), X, T)\n"
        "    return g.W1, g.b1, g.W2, g.b2",
        "from autodiff.algorithms.network import TwoLayerNet\n"
        "from autodiff.algorithms.two_layer import two_layer_backprop",
    ),
    "forward mode": _backprop(
        "    ps = (W1, b1, W2, b2)\n"
        "    out = []\n"
        "    for i, p in enumerate(ps):\n"
        "        flat = np.zeros(p.size)\n"
        "        for j in range(p.size):\n"
        "            e = [np.zeros_like(q) for q in ps]\n"
        "            e[i].flat[j] = 1.0\n"
        "            flat[j] = autodiff.jvp(lambda *q: _error(*q, X, T), ps, tuple(e))[1]\n"
        "        out.append(flat.reshape(p.shape))\n"
        "    return tuple(out)",
        "import numpy as np\nimport autodiff",
    ),
    "HIPS autograd": _backprop(
        "    def e(W1, b1, W2, b2):\n"
        "        Z = anp_.tanh(X @ W1.T + b1)\n"
        "        return 0.5 * anp_.sum((Z @ W2.T + b2 - T) ** 2)\n"
        "    return hips_grad(e, argnum=(0, 1, 2, 3))(W1, b1, W2, b2)",
        "import autograd.numpy as anp_\nfrom autograd import grad as hips_grad",
    ),
    "the reference's source read from disk": _backprop(
        "    space = {'__name__': 'autodiff.transforms'}\n"
        f"    exec(open({TRANSFORMS_SOURCE!r}).read(), space)\n"
        "    return space['grad'](_error, argnums=(0, 1, 2, 3))(W1, b1, W2, b2, X, T)",
    ),
}
ROUTES["central differences of the library"] = _backprop(
    "    shapes = [p.shape for p in (W1, b1, W2, b2)]\n"
    "    sizes = np.cumsum([0] + [int(np.prod(s)) for s in shapes])\n"
    "    split = lambda w: [w[a:b].reshape(s) for a, b, s in zip(sizes, sizes[1:], shapes)]\n"
    "    w = np.concatenate([p.ravel() for p in (W1, b1, W2, b2)])\n"
    "    g = central_difference(lambda v: _error(*split(v), X, T), w, 1e-6)\n"
    "    return tuple(split(g))",
    "import numpy as np\nfrom autodiff.numerical import central_difference",
)

INVERSE_ROUTES = {
    "numpy.linalg.inv": (
        "import numpy as np\n\n\ndef sequential_inverse(B, alpha):\n"
        "    return np.linalg.inv(alpha * np.eye(B.shape[1]) + B.T @ B)\n"
    ),
    "LAPACK through ctypes": (
        "import ctypes\nimport glob\nimport os\nimport numpy as np\n\n\n"
        "def sequential_inverse(B, alpha):\n"
        "    H = alpha * np.eye(B.shape[1]) + B.T @ B\n"
        "    folder = os.path.dirname(np.__file__) + '.libs'\n"
        "    lapack = ctypes.CDLL(glob.glob(os.path.join(folder, '*openblas*'))[0])\n"
        "    names = ('scipy_dgesv_64_', 'dgesv_64_', 'dgesv_')\n"
        "    dgesv = getattr(lapack, next(n for n in names if hasattr(lapack, n)))\n"
        "    n = ctypes.c_int64(H.shape[0])\n"
        "    info = ctypes.c_int64(0)\n"
        "    A = np.asfortranarray(H.copy())\n"
        "    inverse = np.asfortranarray(np.eye(H.shape[0]))\n"
        "    pivots = np.zeros(H.shape[0], dtype=np.int64)\n"
        "    pointer = lambda a: a.ctypes.data_as(ctypes.c_void_p)\n"
        "    dgesv(ctypes.byref(n), ctypes.byref(n), pointer(A), ctypes.byref(n),\n"
        "          pointer(pivots), pointer(inverse), ctypes.byref(n), ctypes.byref(info))\n"
        "    return inverse\n"
    ),
}

FORGERIES = {
    "writes on the records pipe": """\
import gc
import json
import os
import sys


def _forge():
    if not sys.argv[0].endswith("grading_run.py"):
        return
    program = next(o for o in gc.get_objects() if isinstance(o, dict) and "checks" in o)
    for name, entry in program["checks"].items():
        records = [{"case": c["name"], "answer": 1.0, "warnings": [], "seconds": 0.0}
                   for c in entry["cases"]]
        line = json.dumps({"check": name, "records": records}) + "\\n"
        os.write(int(sys.argv[-1]), line.encode())
""",
    "replaces the kernel's grade": """\
import grader
import grader.sandboxed.record


def _forge():
    def claim(name, function):
        return 3.0
    grader.grade = grader.sandboxed.record.grade = claim
""",
    "walks the stack for a check": """\
import sys


def _forge():
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):
            if hasattr(value, "reference"):
                raise SystemExit("found a check")
        frame = frame.f_back
""",
    "answers the cases of the published seeds": """\
def _forge():
    import grader.seeds  # the trusted side, with the checks: not in the sandbox
""",
}

FORGING_BACKPROP = """\
def backprop(W1, b1, W2, b2, X, T):
    _forge()
    raise NotImplementedError()
"""

NOISY_FORWARD = '''\
import sys
import warnings


def forward(W1, b1, W2, b2, X):
    """With a warning and a note on standard error."""
    print("forward: a batch", file=sys.stderr)
    warnings.warn("a warning on purpose", stacklevel=1)
    Z = np.tanh(X @ W1.T + b1)
    return Z, Z @ W2.T + b2
'''

SKIP_GRADIENTS = """\
    Z = np.tanh(X @ W1.T + b1)
    delta_out = Z @ W2.T + b2 + X @ Ws.T - T
    delta_hidden = (1.0 - Z**2) * (delta_out @ W2)
    grads = (
        delta_hidden.T @ X,
        delta_hidden.sum(0),
        delta_out.T @ Z,
        delta_out.sum(0),
        delta_out.T @ X,
    )
"""
SKIP_IN_FLOAT32 = (
    "def backprop_skip(W1, b1, W2, b2, Ws, X, T):\n"
    "    W1, b1, W2, b2, Ws, X, T = (a.astype(np.float32) for a in (W1, b1, W2, b2, Ws, X, T))\n"
    + SKIP_GRADIENTS
    + "    return grads\n"
)
SKIP_AS_LISTS = (
    "def backprop_skip(W1, b1, W2, b2, Ws, X, T):\n"
    + SKIP_GRADIENTS
    + "    return tuple(g.tolist() for g in grads)\n"
)
HONEST_VARIANTS = {
    "honest_float32": {"backprop_skip_solution": SKIP_IN_FLOAT32},
    "honest_lists": {"backprop_skip_solution": SKIP_AS_LISTS},
    "honest_noise": {"forward_solution": NOISY_FORWARD},
}
LONG_OUTPUT = 'for i in range(20000):\n    print(f"line {i}: " + "." * 60)\n'


def _inverse_cell(course: Course) -> str:
    assignment = course.assignment(HESSIAN)
    item = next(i for i in assignment.items if i.check == "sequential_inverse_hessian")
    for cell in assignment.master.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and f"def {item.function}(" in cell.source:
            return meta["grade_id"]
    raise AssertionError("no solution cell defines the sequential inverse")


def _hostile_class(out: Path) -> tuple[Course, dict[str, Scripted]]:
    probe = build_demo_class(out / "probe", (TWO_LAYER, HESSIAN), [])
    inverse_cell = _inverse_cell(probe)
    specs = [
        Scripted("control_blank", TWO_LAYER, "blank", "blank"),
        Scripted(
            "control_backprop",
            TWO_LAYER,
            "forward and backprop",
            "blank",
            solved=("forward_solution", BACKPROP_CELL),
        ),
        Scripted("control_inverse", HESSIAN, "the update only", "blank", solved=(inverse_cell,)),
    ]
    for student, edits in HONEST_VARIANTS.items():
        extra = (("train_solution", LONG_OUTPUT),) if student == "honest_noise" else ()
        specs.append(Scripted(student, TWO_LAYER, student, answers=edits, extra=extra))
    for i, (route, source) in enumerate(ROUTES.items()):
        specs.append(
            Scripted(
                f"route_{i:02d}",
                TWO_LAYER,
                route,
                "blank",
                answers={BACKPROP_CELL: source},
                extra=(("forward_solution", _error_source()),),
                honest=False,
            )
        )
    for i, (route, source) in enumerate(INVERSE_ROUTES.items()):
        specs.append(
            Scripted(
                f"inverse_route_{i}",
                HESSIAN,
                route,
                "blank",
                answers={inverse_cell: source},
                honest=False,
            )
        )
    for i, (forgery, source) in enumerate(FORGERIES.items()):
        specs.append(
            Scripted(
                f"forger_{i}",
                TWO_LAYER,
                forgery,
                "blank",
                answers={BACKPROP_CELL: FORGING_BACKPROP},
                extra=(("forward_solution", source),),
                honest=False,
            )
        )
    course = build_demo_class(out / "class", (TWO_LAYER, HESSIAN), specs)
    return course, {s.student: s for s in specs}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Course, dict[str, Scripted], dict]:
    course, specs = _hostile_class(tmp_path_factory.mktemp("hostile"))
    autograde(course, jobs=2, limits=LIMITS)
    results = {
        p.parent.parent.name: json.loads(p.read_text())
        for p in (course.root / "grading").glob("*/*/result.json")
    }
    return course, specs, results


def auto_points(result: dict) -> dict[str, float]:
    return {i["check"]: i["points"] for i in result["items"] if i["check"]}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_route_works_where_the_reference_exists(route):
    """Outside the grading sandbox every route is a full-marks answer on the cases that do
    not measure the cost of the method, so a 0 in grading is the sandbox's doing, not a
    broken route.  (Routes that cost W evaluations of the error run out of time on the
    cost case: that is the cost case's point.)"""
    check = get_check("two_layer_backprop")
    namespace: dict = {}
    exec(_error_source(), namespace)  # noqa: S102 - the test's own route
    exec(ROUTES[route], namespace)  # noqa: S102
    cases = [c for c in hidden_cases(check, "route check") if c.seconds is None]
    verdict = judge(check, cases, answers(check, namespace["backprop"], cases))
    assert verdict.points == check.points, [r.problem for r in verdict.results]


@pytest.mark.parametrize("route", sorted(INVERSE_ROUTES))
def test_each_inverse_route_works_where_linear_algebra_exists(route):
    check = get_check("sequential_inverse_hessian")
    namespace: dict = {}
    exec(INVERSE_ROUTES[route], namespace)  # noqa: S102
    cases = hidden_cases(check, "route check")
    verdict = judge(check, cases, answers(check, namespace["sequential_inverse"], cases))
    assert verdict.points == check.points, [r.problem for r in verdict.results]


def test_the_controls_earn_what_they_solved(hostile):
    _, _, results = hostile
    assert set(auto_points(results["control_blank"]).values()) == {0.0}
    backprop = auto_points(results["control_backprop"])
    assert backprop.pop("two_layer_backprop") == 3.0
    assert backprop.pop("two_layer_forward") == 1.0
    assert set(backprop.values()) == {0.0}
    inverse = auto_points(results["control_inverse"])
    assert inverse.pop("sequential_inverse_hessian") == 3.0
    assert set(inverse.values()) == {0.0}


def test_every_reference_route_scores_zero(hostile):
    _, specs, results = hostile
    routes = {s: r for s, r in results.items() if s.startswith(("route_", "inverse_route_"))}
    gained = {
        specs[student].story: auto_points(result)
        for student, result in routes.items()
        if any(auto_points(result).values())
    }
    assert gained == {}
    assert sum(s.startswith(("route_", "inverse_route_")) for s in results) >= 12


def test_the_reading_names_the_forbidden_route_where_it_can(hostile):
    _, specs, results = hostile
    direct = next(s for s, spec in specs.items() if spec.story == "direct")
    entry = next(i for i in results[direct]["items"] if i["check"] == "two_layer_backprop")
    assert "does not exist" in entry["note"]


def test_forgeries_score_nothing(hostile):
    _, _, results = hostile
    for student, result in results.items():
        if student.startswith("forger_"):
            assert set(auto_points(result).values()) == {0.0}, (student, auto_points(result))


@pytest.mark.parametrize("student", sorted(HONEST_VARIANTS))
def test_honest_answers_keep_every_point(hostile, student):
    _, _, results = hostile
    result = results[student]
    max_auto = sum(i["max_points"] for i in result["items"] if i["check"])
    assert result["auto_points"] == max_auto, auto_points(result)
    notes = [
        w
        for i in result["items"]
        if i["verdict"]
        for r in i["verdict"]["results"]
        for w in r["warnings"]
    ]
    if student == "honest_float32":
        assert any("float32" in w and "precision" in w for w in notes)
    if student == "honest_noise":
        assert any("standard error" in w for w in notes)
        assert any("UserWarning" in w for w in notes)
        assert not any("a warning on purpose" in w for w in notes)  # graded: no student text


def test_the_secret_never_left_the_course(hostile):
    course, _, _ = hostile
    secret = course_secret(course.root)
    for path in (course.root / "autograded").rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path
