"""Executing a submission's statements in a grading run, as the notebook ran them.

One statement (or a group of them) at a time, in one namespace, with a time limit each; a
failing one is reported by the kind of its error and the run goes on, as in a notebook.
``from __future__`` imports hold for the statements after them, as IPython keeps them.

The steps (``grader.pipeline.judging.selection``) are:

- ``{"forbidden": [...]}``: what the tasks of the run forbid (for the messages below);
- ``{"code", "label"[, "fallback"]}``: statements; an import's ``fallback`` lists
  ``[name, path, mention]``: when the import fails, ``name`` is bound to what ``path``
  imports, or to a stand-in that raises ``NotAvailableError`` (an ``ImportError``) when it
  is used (called, an attribute read), saying that ``mention`` is not available where the
  task is graded, and why; such an import is not reported (the notebook may never rely on
  it).  A ``from`` import anywhere else (in a ``try``, in a function) of names the run's
  build leaves out binds such stand-ins too (``lenient_import``);
- ``{"module", "source", "append", "label"}``: a file ``module.py`` that ``%%writefile``
  wrote: kept in memory (nothing is written), and imported from there;
- ``{"run", "label"}``: ``%run module.py`` of such a file, in the namespace.
"""

from __future__ import annotations
import __future__

import builtins
import importlib
import importlib.abc
import importlib.util
import os
import signal
import sys
from typing import Any

TASK_VARIABLE = "GRADER_TASK"  # the tasks being graded, comma-separated (for the messages)


class StatementTimeout(BaseException):
    """A statement that ran past its time limit (a ``BaseException``, so that a student's
    ``except Exception`` cannot swallow it)."""


TIMED_OUT = "StatementTimeout"


class NotAvailableError(ImportError):
    """What a grading run does not have (a forbidden name, a module the notebook wrote or
    had), used where the notebook used it.  It goes by the name of its built-in base (graded
    feedback names only Python's own errors), and is told from it by ``grader_unavailable``."""

    grader_unavailable = True
    grader_forbidden = True  # False: the notebook had it, the grading run lacks it


NotAvailableError.__name__ = NotAvailableError.__qualname__ = "ImportError"


def unavailable_message(path: str, forbidden: bool) -> str:
    """Why ``path`` cannot be used here, naming the task being graded."""
    if not forbidden:
        return (
            f"{path} could not be imported where this task is graded (it was there when "
            f"the notebook ran: a package the grading does not have, or a file the notebook "
            f"wrote)"
        )
    tasks = [t for t in os.environ.get(TASK_VARIABLE, "").split(",") if t]
    if len(tasks) == 1:
        why = f"Task `{tasks[0]}` asks you to work without it"
    elif tasks:
        why = "Tasks " + ", ".join(f"`{t}`" for t in tasks) + " ask you to work without it"
    else:
        why = "the task graded here asks you to work without it"
    return f"{path} is not available where this task is graded: {why}"


class Unavailable:
    """A stand-in for a name an import could not bind: fails when it is used (called, an
    attribute read, an item taken) with ``NotAvailableError``, an ``ImportError``."""

    __slots__ = ("_grader_path", "_grader_forbidden")

    def __init__(self, path: str, forbidden: bool) -> None:
        object.__setattr__(self, "_grader_path", path)
        object.__setattr__(self, "_grader_forbidden", forbidden)

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        path = object.__getattribute__(self, "_grader_path")
        forbidden = object.__getattribute__(self, "_grader_forbidden")
        error = NotAvailableError(unavailable_message(path, forbidden))
        error.grader_forbidden = forbidden
        raise error

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._fail()

    __call__ = __getitem__ = __setitem__ = __iter__ = __setattr__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __matmul__ = _fail
    __rmatmul__ = __truediv__ = __rtruediv__ = __pow__ = __neg__ = _fail

    def __repr__(self) -> str:
        path = object.__getattribute__(self, "_grader_path")
        return f"<{path}: not available in this grading run>"


class _WithStandIns:
    """A module as a ``from`` import sees it, with stand-ins for the names it lacks."""

    def __init__(self, module: Any, stand_ins: dict[str, Unavailable]) -> None:
        self._module = module
        self._stand_ins = stand_ins

    def __getattr__(self, name: str) -> Any:
        if name in self._stand_ins:
            return self._stand_ins[name]
        return getattr(self._module, name)


def lenient_import(original):  # noqa: ANN001, ANN201 - builtins.__import__'s signature
    """``__import__`` for a grading run: a ``from`` import of names that this run's build
    leaves out (where the module says so, with ``NotAvailableError``) binds stand-ins for
    them, wherever it stands (in a ``try``, in a function), as the notebook bound them."""

    def __import__(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        module = original(name, globals, locals, fromlist, level)
        if not fromlist or level:
            return module
        found = getattr(module, "__name__", None)
        if not isinstance(found, str) or f"{found.split('.')[0]}._unavailable" not in sys.modules:
            return module
        stand_ins = {}
        for item in fromlist:
            if not isinstance(item, str) or item == "*":
                continue
            try:
                getattr(module, item)
            except AttributeError as error:
                if _unavailable(error):
                    stand_ins[item] = Unavailable(f"{found}.{item}", True)
        return _WithStandIns(module, stand_ins) if stand_ins else module

    __import__.grader_lenient = True
    return __import__


class _WrittenFiles(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """The files ``%%writefile`` wrote, importable from memory (after every real module)."""

    def __init__(self) -> None:
        self.sources: dict[str, str] = {}

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001 - the finder protocol
        if path is None and name in self.sources:
            return importlib.util.spec_from_loader(name, self, origin=f"{name}.py")
        return None

    def create_module(self, spec):  # noqa: ANN001
        return None

    def exec_module(self, module) -> None:  # noqa: ANN001
        module.__file__ = f"{module.__name__}.py"
        code = compile(self.sources[module.__name__], module.__file__, "exec")
        exec(code, module.__dict__)  # noqa: S102 - the student's module, in the sandbox


class Replay:
    """The statements of one grading run, executed in ``namespace``."""

    def __init__(self, namespace: dict[str, Any], seconds: float) -> None:
        self.namespace = namespace
        self.seconds = seconds
        self.forbidden: tuple[str, ...] = ()
        self.flags = 0  # the __future__ features of the statements so far
        self.files = _WrittenFiles()
        sys.meta_path.append(self.files)
        if not getattr(builtins.__import__, "grader_lenient", False):
            builtins.__import__ = lenient_import(builtins.__import__)

    def perform(self, step: dict[str, Any]) -> str | None:
        """Do ``step``; None, or the kind of error it met (``TIMED_OUT`` when it ran past
        its time limit)."""
        label = str(step.get("label", "a cell"))
        if "forbidden" in step:
            self.forbidden = tuple(str(n) for n in step["forbidden"])
            return None
        if "module" in step:
            name, source = str(step["module"]), str(step.get("source", ""))
            old = self.files.sources.get(name, "") if step.get("append") else ""
            self.files.sources[name] = old + source
            return None
        if "run" in step:
            source = self.files.sources.get(str(step["run"]))
            if source is None:
                return "FileNotFoundError"
            return self._timed(lambda: self._exec(source, f"{step['run']}.py"))
        if "code" not in step:
            return None
        code = str(step["code"])
        fallback = step.get("fallback")
        failed = self._timed(lambda: self._exec(code, f"<{label}>"))
        if failed is None or not isinstance(fallback, list) or failed == TIMED_OUT:
            return failed
        return self._timed(lambda: self._bind(fallback))

    def _exec(self, source: str, filename: str) -> None:
        code = compile(source, filename, "exec", self.flags, True)
        for name in __future__.all_feature_names:
            flag = getattr(__future__, name).compiler_flag
            if code.co_flags & flag:
                self.flags |= flag
        exec(code, self.namespace)  # noqa: S102 - the point

    def _timed(self, action) -> str | None:  # noqa: ANN001
        def expire(signum, frame):
            raise StatementTimeout

        signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        try:
            action()
        except StatementTimeout:
            return TIMED_OUT
        except BaseException as error:  # noqa: BLE001 - a notebook goes on after a failing cell
            return error_kind(error)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        return None

    def _bind(self, fallback: list) -> None:
        for entry in fallback:
            if not (isinstance(entry, list) and len(entry) == 3):
                continue
            name, path, mention = (str(part) for part in entry)
            self.namespace[name] = self._resolve(path, mention)

    def _resolve(self, path: str, mention: str) -> Any:
        """What ``path`` names, imported; a stand-in if it cannot be."""
        parts = path.split(".")
        found: Any = None
        cut = len(parts)
        met_forbidden = False
        while cut > 0:
            try:
                found = importlib.import_module(".".join(parts[:cut]))
                break
            except Exception as error:  # noqa: BLE001 - any failure of an import
                met_forbidden |= _unavailable(error)
                cut -= 1
        if found is not None:
            try:
                for part in parts[cut:]:
                    found = getattr(found, part)
                return found
            except Exception as error:  # noqa: BLE001 - a module's __getattr__
                met_forbidden |= _unavailable(error)
        return Unavailable(mention, met_forbidden or self._forbidden(mention))

    def _forbidden(self, path: str) -> bool:
        if any(path == f or path.startswith(f + ".") for f in self.forbidden):
            return True
        return bool(self.forbidden) and path.split(".")[0] == "autodiff"


def _unavailable(error: BaseException) -> bool:
    """Whether the error says that something is left out of this run."""
    try:
        return getattr(type(error), "grader_unavailable", False) is True
    except Exception:  # noqa: BLE001 - a student's exception class with a strange metaclass
        return False


def error_kind(error: BaseException) -> str:
    """The name of the error's type (what says that a name is not available goes by the
    name of its built-in base)."""
    try:
        name = type(error).__name__
    except Exception:  # noqa: BLE001 - a student's exception class with a strange metaclass
        return "an exception"
    return name if isinstance(name, str) and name else "an exception"
