"""What notebook cells call, in the full environment (a student's JupyterLab, an instructor
running a master): ``self_check`` under each task, ``grade`` in the masters' hidden tests,
``ready`` in worked examples, ``summary`` at the end.

- ``self_check(name, function, task="Task 2")`` runs the visible cases and prints one
  message: what passed, what did not and the likely cause, and a last line that says how
  many cases pass.  It never raises, so Run All goes through a fresh notebook: a task not
  attempted yet says so in one line, and a task whose solution cell failed to run says
  that.  The outcome of a task not passed yet (and the warning when the function uses what
  its task forbids, ``grader.checks.forbidden``, which grading would score 0) is written to
  standard error: nbgrader reads a graded cell that writes there as failed, so that
  nbgrader's Validate lists the task and quotes that line as its error.  A passed task
  writes nothing there.
- ``grade(name, function)`` judges the hidden cases here and returns the points (an
  instructor's check of a master; under nbgrader's own ``autograde``, each submission's own
  cases, drawn as the pipeline draws them: ``grader.seeds.local_submission``).  In a grading
  sandbox the sandboxed side's ``grade`` runs instead (``grader.sandboxed``): it records answers and
  judges nothing.  A cell that ran ``grade`` keeps the hidden points as its value, and its
  self-check writes nothing to standard error (nbgrader would score it 0).
- ``summary()`` closes a notebook: it lists the tasks whose self-check has not passed, by the
  name ``self_check`` was given (``task``), as an error that shows its message only.
"""

from __future__ import annotations

import ast
import linecache
import os
import re
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import autodiff
from grader import messages
from grader.checks import get_check
from grader.checks.forbidden import forbidden
from grader.judge import Verdict, answers, judge
from grader.messages import verdict_text
from grader.sandboxed.stubs import is_stub, ready
from grader.seeds import hidden_cases, local_secret, local_submission, visible_cases

NOT_ATTEMPTED, CELL_FAILED, FAILING, FORBIDDEN, PASSED = (
    "not attempted",
    "cell failed",
    "failing",
    "forbidden",
    "passed",
)

# Points of hidden checks that have run in this kernel and whose visible self-check has not:
# a graded cell of a master runs ``grade`` (hidden) and then ``self_check`` (visible), and
# the cell's value must be the hidden points even when a visible case fails.
_hidden_points: dict[str, float] = {}
# What each self-check of this kernel found, for ``summary``: name -> (task, state, in words).
_progress: dict[str, tuple[str, str, str]] = {}


class TasksNotDone(Exception):
    """Raised by ``summary`` while tasks remain; shown as its message alone."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


def grade(name: str, function: Callable) -> float | None:
    """The hidden cases of check ``name``: judged here, points returned (in a grading
    sandbox ``grader.sandboxed``'s ``grade`` runs instead)."""
    check = get_check(name)
    cases = hidden_cases(check, local_secret(), *local_submission())
    verdict = judge(check, cases, answers(check, function, cases))
    print(verdict_text(verdict))
    _hidden_points[name] = float(verdict.points)
    return float(verdict.points)


def self_check(name: str, function: Callable, task: str | None = None) -> float | None:
    """Run the visible cases of check ``name`` on ``function`` and print the result.

    ``task`` is what the notebook calls the task ("Task 2"): the self-check and the closing
    summary name it so (default: the check's title)."""
    check = get_check(name)
    label = task or check.title
    fname = getattr(function, "__name__", None) or "your function"
    cases = visible_cases(check)
    with Tripwire(forbidden(name)) as tripwire:
        records = answers(check, function, cases, quiet=False)
    verdict = judge(check, cases, records)
    called = tripwire.called()
    state = _state(verdict, called)
    failed_run = _failed_definition(function)
    graded_here = name in _hidden_points or os.environ.get("NBGRADER_EXECUTION") == "autograde"
    out, err = [], []
    if state == NOT_ATTEMPTED and failed_run:
        state = CELL_FAILED
        err.append(messages.cell_failed_line(task or "", fname, failed_run))
    elif state == NOT_ATTEMPTED:
        err.append(messages.not_attempted_line(task or "", fname))
    else:
        out.append(verdict_text(verdict, visible=True, task=task or ""))
        if failed_run:
            out.append(messages.earlier_version_line(fname, failed_run))
        line = messages.outcome_line(task or "", verdict.passed, len(verdict.results))
        (out if state in (PASSED, FORBIDDEN) else err).append(line)
    if called:
        err.append(messages.forbidden_sentence(name, fname, called, tripwire.made))
    _progress[name] = (label, state, _progress_words(state, verdict, called))
    if graded_here:
        out, err = out + err, []  # nbgrader scores a cell that writes to stderr 0
    if out:
        print("\n".join(out))
    if err:
        sys.stdout.flush()
        print("\n".join(err), file=sys.stderr)
        sys.stderr.flush()
    if name in _hidden_points:
        return _hidden_points.pop(name)
    return None


def _state(verdict: Verdict, called: list[str]) -> str:
    problems = [r.problem for r in verdict.results if not r.passed]
    if problems and all(p.startswith("not implemented yet") for p in problems):
        return NOT_ATTEMPTED
    if problems:
        return FAILING
    return FORBIDDEN if called else PASSED


def _progress_words(state: str, verdict: Verdict, called: list[str]) -> str:
    """What the summary says of a task."""
    words = {
        NOT_ATTEMPTED: "not attempted yet",
        CELL_FAILED: "its solution cell failed to run",
        PASSED: "passed",
    }.get(state, f"{verdict.passed} of {len(verdict.results)} cases pass")
    if called:
        words += f"; it calls {', '.join(called)}, which the task forbids"
    return words


def summary() -> None:
    """Close a notebook: say which tasks' self-checks have not passed (raising, so that the
    notebook ends on what is left), or that all have."""
    if not _progress:
        print("No self-check has run in this session yet: run all cells (Run > Run All Cells).")
        return None
    left = [(task, words) for task, state, words in _progress.values() if state != PASSED]
    if not left:
        print(messages.all_done_line(len(_progress)))
        return None
    raise TasksNotDone("\n".join(messages.summary_lines(left, len(_progress))))


# -- the cells that ran ------------------------------------------------------------------------


@dataclass
class CellRun:
    """One run of a cell in this kernel: its source and, if it failed, the error in words."""

    source: str
    error: str


_runs: list[CellRun] = []
MAX_RUNS = 500  # the cell runs remembered


def _record_run(result: Any) -> None:
    """IPython's ``post_run_cell`` hook: remember what ran and whether it failed."""
    info = getattr(result, "info", None)
    source = getattr(info, "raw_cell", None)
    if not isinstance(source, str):
        return
    error = getattr(result, "error_before_exec", None) or getattr(result, "error_in_exec", None)
    _runs.append(CellRun(source, _error_words(error) if error is not None else ""))
    del _runs[:-MAX_RUNS]


def _error_words(error: BaseException) -> str:
    text = type(error).__name__
    message = getattr(error, "msg", None) if isinstance(error, SyntaxError) else str(error)
    if message:
        text += f": {str(message).splitlines()[0][:120]}"
    if isinstance(error, SyntaxError) and error.lineno:
        text += f", line {error.lineno}"
    return text


def _failed_definition(function: Callable) -> str:
    """The error of the last run of the cell that defines ``function`` (by its name), when
    that run failed and ``function`` does not come from it; else ''."""
    fname = getattr(function, "__name__", "")
    if not fname or not _runs:
        return ""
    defines = re.compile(rf"^[ \t]*(?:async[ \t]+)?def[ \t]+{re.escape(fname)}[ \t]*\(", re.M)
    for run in reversed(_runs):
        if defines.search(run.source):
            if not run.error:
                return ""
            if run.error.startswith(("SyntaxError", "IndentationError", "TabError")):
                return run.error  # nothing of that run was defined
            return run.error if is_stub(function) else ""
    return ""


def _install_cell_hooks() -> None:
    """Remember the cells this kernel runs, when it is IPython's (once, however often this
    module is imported or reloaded)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    for callback in list(shell.events.callbacks.get("post_run_cell", [])):
        if getattr(callback, "__qualname__", "") == _record_run.__qualname__ and (
            getattr(callback, "__module__", "") == __name__
        ):
            shell.events.unregister("post_run_cell", callback)
    shell.events.register("post_run_cell", _record_run)


_install_cell_hooks()


# -- what a function calls of what its task forbids --------------------------------------------


GRADER = os.path.join(str(Path(__file__).resolve().parent), "")


def _library_folders() -> tuple[str, ...]:
    """Folders of code that is not the student's: Python's, the environment's, and the
    course's own packages."""
    paths = sysconfig.get_paths()
    folders = {paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    folders |= {sys.prefix, sys.base_prefix, sys.exec_prefix}
    folders |= {str(Path(autodiff.__file__).parent), GRADER}
    return tuple(sorted(os.path.join(f, "") for f in folders if f))


LIBRARY = _library_folders()


def _is_library(filename: str) -> bool:
    return filename.startswith(LIBRARY) or filename.startswith("<frozen")


KEPT = frozenset({"numpy.linalg.norm", "numpy.linalg.matrix_power"})
"""What grading keeps of a package a task forbids (the ``numpy.linalg`` that a grading run
without a linear solver sees, ``grader.pipeline.sandbox.builds``): never reported."""


@dataclass
class Reach:
    """A call from the student's code into what the task forbids: where it was written
    (``site``: file, line and columns), the text of the callee there, the forbidden
    function it entered (its own name and its public name), whether that function was
    made by another (a closure, a lambda), and whether the student's code called it
    directly (not through library code)."""

    site: tuple
    written: str
    callee: str
    public: str
    closure: bool
    direct: bool

    def display(self) -> str:
        """How the message names it: as written, with the public name after an alias."""
        if not self.written or (self.closure and self.direct):
            return self.public
        last = re.split(r"[.\s]", self.written)[-1]
        if last == self.callee or self.callee.startswith("__") or not self.direct:
            return self.written
        return f"{self.written} ({self.public})"


class Tripwire:
    """Notes the calls from the student's code into ``names`` (dotted paths from
    ``grader.checks.forbidden``) while it is active: any Python function defined in one of
    the named modules, or one of the named functions, classes or methods, however it was
    reached, is traced back to the call the student's code made (the outermost forbidden
    call, from the nearest frame that is not library code), and named as the student wrote
    it there.  A hint for the student (code can switch it off); grading does not rely on
    it."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.modules: list[str] = []
        self.codes: dict[Any, str] = {}
        for name in names:
            self._resolve(name)
        self.reaches: list[Reach] = []
        self._kinds: dict[Any, str | None] = {}
        self._inside = 0
        self._previous = None

    def _resolve(self, name: str) -> None:
        if not name.startswith("autodiff."):  # another package: by its modules, unimported
            self.modules.append(name)
            return
        target = _lookup(name)
        if target is None or isinstance(target, type(sys)):
            self.modules.append(name)
            return
        functions = [target]
        if isinstance(target, type):
            functions = [v for v in vars(target).values() if callable(v)]
        for function in functions:
            code = getattr(getattr(function, "__func__", function), "__code__", None)
            if code is not None:
                self.codes[code] = name

    def __enter__(self) -> Tripwire:
        self._previous = sys.getprofile()
        sys.setprofile(self._watch)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(self._previous)

    def _forbidden(self, frame) -> str | None:
        """The forbidden name ``frame``'s code belongs to, or None (cached per code)."""
        code = frame.f_code
        try:
            return self._kinds[code]
        except KeyError:
            pass
        name = self.codes.get(code)
        if name is None and self.modules:
            module = frame.f_globals.get("__name__", "") or ""
            for prefix in self.modules:
                if module == prefix or module.startswith(prefix + "."):
                    name = module
                    break
        self._kinds[code] = name
        return name

    def _watch(self, frame, event, arg) -> None:
        if event == "call":
            if self._forbidden(frame) is None:
                return
            if not self._inside:
                self._note(frame)
            self._inside += 1
        elif event == "return" and self._inside and self._forbidden(frame) is not None:
            self._inside -= 1

    def _note(self, frame) -> None:
        """Record the call that entered ``frame``, a forbidden function, from outside."""
        code = frame.f_code
        if code.co_name.endswith("_dispatcher"):
            return  # NumPy's: it names the arguments, the function itself follows
        qualname = getattr(code, "co_qualname", code.co_name)
        public = _public_name(frame.f_globals.get("__name__", "") or "", qualname)
        if public in KEPT:
            return
        closure = "<locals>" in qualname or code.co_name.startswith("<")
        caller, direct = frame.f_back, True
        while caller is not None:
            filename = caller.f_code.co_filename
            if filename.startswith(GRADER):
                caller = None  # the student's function itself is a forbidden one
                break
            if not _is_library(filename):
                break
            caller, direct = caller.f_back, False
        site, written = (("", public), "") if caller is None else _call_site(caller)
        self.reaches.append(Reach(site, written, code.co_name, public, closure, direct))

    def called(self) -> list[str]:
        """What the student's code called of the forbidden names, once each, as it wrote
        them (``Reach.display``): at each call site the best-named of the functions
        entered there, and a function that a forbidden one made (the gradient
        ``autodiff.grad`` returns) only when its maker was not named already."""
        by_site: dict[tuple, list[Reach]] = {}
        for reach in self.reaches:
            by_site.setdefault(reach.site, []).append(reach)
        names: list[str] = []
        seen: set[str] = set()
        for reaches in by_site.values():
            named = [r for r in reaches if r.display() == r.written] or reaches
            reach = next((r for r in named if not r.closure), named[0])
            key = reach.public if reach.direct else reach.display()
            if key in seen or reach.display() in names:
                continue
            seen.add(key)
            names.append(reach.display())
        return names

    @property
    def made(self) -> bool:
        """Whether the function the self-check called is itself one of the forbidden ones
        (or one they made, as ``autodiff.grad(f)``)."""
        return any(reach.site[0] == "" for reach in self.reaches)


def _call_site(frame) -> tuple[tuple, str]:
    """Where ``frame`` is calling (file, line, columns) and the text of the called
    expression there, as written ('' when the source cannot be read)."""
    code = frame.f_code
    line = frame.f_lineno
    columns = None
    positions = getattr(code, "co_positions", None)
    if positions is not None:
        try:
            start, end, first, last = list(positions())[frame.f_lasti // 2]
            if start is not None and first is not None and end is not None:
                line, columns = start, (end, first, last)
        except (IndexError, ValueError):
            pass
    site = (code.co_filename, line, columns)
    lines = linecache.getlines(code.co_filename, frame.f_globals)
    if not lines:
        return site, ""
    if columns is not None:
        end, first, last = columns
        chunk = lines[line - 1 : end]
        if chunk:
            chunk[-1] = chunk[-1][:last]
            chunk[0] = chunk[0][first:]
            return site, _callee(" ".join(part.strip() for part in chunk))
    return site, ""


def _callee(text: str) -> str:
    """The called expression of the call ``text`` ("np.linalg.inv(A)" -> "np.linalg.inv",
    "autodiff.grad(f)(x)" -> "autodiff.grad"); '' when it is not a call."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return ""
    if not isinstance(node, ast.Call):
        return ""
    while isinstance(node, ast.Call):
        node = node.func
    return ast.unparse(node)


def _public_name(module: str, qualname: str) -> str:
    """The shortest importable name of a function: "autodiff.transforms.grad" ->
    "autodiff.grad", "numpy.linalg._linalg.inv" -> "numpy.linalg.inv"; a function
    defined inside another is named by the outer one."""
    head = qualname.split(".<locals>")[0].split(".")[0]
    full = f"{module}.{qualname.split('.<locals>')[0]}"
    target = getattr(sys.modules.get(module), head, None)
    if target is None:
        return full
    parts = module.split(".")
    for cut in range(1, len(parts) + 1):
        package = sys.modules.get(".".join(parts[:cut]))
        if package is not None and getattr(package, head, None) is target:
            rest = qualname.split(".<locals>")[0].split(".")[1:]
            return ".".join([*parts[:cut], head, *rest])
    return full


def _lookup(name: str) -> Any:
    """The object a dotted name of ``autodiff`` refers to, importing what it needs; None if
    it does not exist in this environment."""
    import importlib

    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute, None)
            if target is None:
                return None
        return target
    return None


__all__ = ["grade", "ready", "self_check", "summary"]
