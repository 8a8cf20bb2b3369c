"""The builds of the project that a sandbox sees: its whole view of ``grader`` and
``autodiff``, mounted read-only at ``/sandbox/lib``.

- ``grader``: the folder ``grader/sandboxed`` whole, with an ``__init__`` that exports the
  sandbox's ``grade``, ``self_check``, ``ready``, ``summary``; never a check, a reference, a
  seed or the judge.
- ``autodiff``: the package as it is, or, for a grading run of tasks that forbid some of it,
  a copy without what they forbid (``strip``).
- ``numpy.linalg``, where a task forbids it: a package that replaces NumPy's, in which
  every function says it is not available (no LAPACK module on disk in that run).

Builds depend on the code and on what is forbidden, never on a course or a secret, so a
worker on another machine makes the same ones from its own installation.  Each is compiled
to bytecode once, when it is made: a sandbox cannot write beside a read-only mount, and every
grading run is a new interpreter that would otherwise compile all of it again (a tenth of a
second of CPU per run, for about 12,000 lines).
"""

from __future__ import annotations

import compileall
import hashlib
import shutil
import threading
from pathlib import Path

import autodiff.core
import grader.sandboxed
from grader.pipeline.sandbox.strip import strip_package

SANDBOX_LIB = "/sandbox/lib"  # where the build is mounted inside the sandbox
LINALG_OVERLAY = "numpy_linalg"  # the folder that replaces numpy/linalg in the sandbox

SANDBOX_INIT = '''"""grader inside a grading sandbox: its own side only (see grader.sandboxed)."""

from grader.sandboxed.record import grade, self_check, summary
from grader.sandboxed.stubs import ready

__all__ = ["grade", "ready", "self_check", "summary"]
'''

LINALG_STUB = '''"""numpy.linalg is not available in this grading run: the task asks for its
result without matrix inversion or a linear solver.  (The vector norm stays.)"""

import numpy as _np

FORBIDDEN = "is not available in this task: it asks for the result without a linear solver"


class LinAlgError(ValueError):
    pass


def _unavailable(name):
    def function(*args, **kwargs):
        raise NotImplementedError(f"numpy.linalg.{name} {FORBIDDEN}")

    function.__name__ = name
    return function


for _name in %r:
    globals()[_name] = _unavailable(_name)


def norm(x, ord=None, axis=None, keepdims=False):
    """The 2-norm of vectors and the Frobenius norm of matrices; other norms are not here."""
    if ord not in (None, 2, "fro"):
        raise NotImplementedError(f"numpy.linalg.norm with ord={ord!r} {FORBIDDEN}")
    x = _np.asarray(x)
    return _np.sqrt(_np.sum(_np.abs(x) ** 2, axis=axis, keepdims=keepdims))


def matrix_power(a, n):
    """Integer powers n >= 0 by repeated products."""
    if n < 0:
        raise NotImplementedError(f"numpy.linalg.matrix_power with n < 0 {FORBIDDEN}")
    a = _np.asarray(a)
    result = _np.broadcast_to(_np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy()
    for _ in range(n):
        result = result @ a
    return result
'''


def _linalg_names() -> list[str]:
    import numpy.linalg

    names = set(numpy.linalg.__all__) | {"inv", "solve", "pinv", "lstsq", "eigvals", "det"}
    return sorted(names - {"LinAlgError", "norm", "matrix_power"})


def build_key(forbidden: tuple[str, ...]) -> str:
    text = "\n".join(sorted(forbidden))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Builds:
    """The builds of one worker, made on first use under ``root`` and kept."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._made: dict[str, Path] = {}

    def library(self, forbidden: tuple[str, ...] = ()) -> Path:
        """The folder to mount at ``/sandbox/lib`` for a run that forbids ``forbidden``."""
        key = build_key(forbidden)
        with self._lock:
            if key not in self._made:
                self._made[key] = self._build(key, forbidden)
            return self._made[key]

    def linalg_overlay(self) -> Path:
        """The folder that stands in for ``numpy/linalg`` where a task forbids it."""
        with self._lock:
            folder = self.root / LINALG_OVERLAY
            if not folder.exists():
                partial = self.root / f"{LINALG_OVERLAY}.partial"
                shutil.rmtree(partial, ignore_errors=True)
                partial.mkdir(parents=True)
                (partial / "__init__.py").write_text(LINALG_STUB % _linalg_names())
                partial.rename(folder)
            return folder

    def _build(self, key: str, forbidden: tuple[str, ...]) -> Path:
        folder = self.root / key
        partial = self.root / f"{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        target = partial / "grader"
        target.mkdir()
        (target / "__init__.py").write_text(SANDBOX_INIT)
        source = Path(grader.sandboxed.__file__).parent
        shutil.copytree(source, target / "sandboxed", ignore=shutil.ignore_patterns("__pycache__"))
        strip_package(Path(autodiff.core.__file__).parent, "autodiff", forbidden, partial)
        # Bytecode beside each source, checked against its time and size; an import reads
        # it wherever the folder is mounted (the code's file names follow the source's).
        if not compileall.compile_dir(partial, quiet=2):
            raise RuntimeError(f"the build of the sandbox's library in {partial} does not compile")
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
        return folder
