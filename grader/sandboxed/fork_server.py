"""A kernel fork server: ``python -m grader.sandboxed.fork_server [--label L] MODULE``.

Starting an IPython kernel costs about a second of CPU before the first cell runs: a fresh
interpreter imports ipykernel, then the notebook imports NumPy, Matplotlib and the course's
packages.  A notebook server starts one kernel per submission, so on a busy machine that
second is paid again and again.  The fork server pays it once: it imports ipykernel and the
given modules, then, for each request on standard input, forks a child that becomes the
kernel (same argument list, environment and working folder as the kernel command would
have had).  The child is a new process with a private copy of everything, so nothing of
one student reaches the next; it reseeds the random generators so that each kernel draws
fresh numbers, as a freshly started one would.

The fork server runs inside the notebook server's sandbox and answers each request with
the child's pid (one JSON line).  It is not dumpable, so student code, which runs in its
children, cannot read or write its memory or its file descriptors through ``/proc``.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import signal
import sys
import threading
from pathlib import Path

PR_SET_DUMPABLE = 4
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def undumpable() -> None:
    """Forbid other processes of the same user to trace this one or open its ``/proc``
    files (Linux; elsewhere nothing happens)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def preload(modules: list[str]) -> list[str]:
    """Import ipykernel and ``modules``; the ones that could not be imported."""
    # What ipykernel would set before the notebook imports Matplotlib, so that a module
    # imported here behaves as it would have in a freshly started kernel.
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    importlib.import_module("ipykernel.kernelapp")
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module the course imports may be missing here
            failed.append(name)
    gc.collect()
    gc.freeze()  # keep the imported objects out of the children's collections: fewer copies
    return failed


def become_kernel(request: dict) -> None:
    """In the forked child: turn into the kernel the request describes, then exit."""
    status = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(2, 1)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        import random
        import tempfile

        import numpy

        tempfile.tempdir = None
        random.seed()
        numpy.random.seed()  # noqa: NPY002 - the global state a fresh kernel starts with
        here = os.getcwd()
        sys.path[:] = [p for p in sys.path if p not in ("", here)]
        argv = list(request["argv"])
        if os.environ.get("JPY_PARENT_PID", "").isdigit():  # read by ipykernel at import
            argv.append(f"--IPKernelApp.parent_handle={os.environ['JPY_PARENT_PID']}")
        sys.argv = [sys.executable, *argv]
        gc.unfreeze()
        from ipykernel import kernelapp

        kernelapp.launch_new_instance(argv=argv[2:])
        status = 0
    except BaseException:  # noqa: BLE001 - the child must never return into the server loop
        import traceback

        traceback.print_exc()
    finally:
        os._exit(status)


def serve(modules: list[str]) -> int:
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # ``python -m`` put the working folder there: kernels get their own
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever the imports print goes to standard error
    undumpable()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    failed = preload(modules)
    if threading.active_count() > 1:  # a fork keeps only this thread: its locks may be held
        reason = f"importing {', '.join(modules)} started threads; kernels cannot be forked"
        replies.write(json.dumps({"ready": False, "reason": reason}) + "\n")
        replies.flush()
        return 1
    replies.write(json.dumps({"ready": True, "failed": failed}) + "\n")
    replies.flush()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            replies.close()
            become_kernel(request)
        replies.write(json.dumps({"pid": pid}) + "\n")
        replies.flush()
    return 0


def course_imports(notebooks: list[Path]) -> list[str]:
    """The modules the code cells of ``notebooks`` import, in order of first appearance."""
    import ast

    import nbformat

    found: dict[str, None] = {}
    for path in notebooks:
        for cell in nbformat.read(str(path), as_version=4).cells:
            if cell.cell_type != "code":
                continue
            source = "\n".join(
                "" if line.lstrip().startswith(("%", "!")) else line
                for line in cell.source.splitlines()
            )
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found.update(dict.fromkeys(alias.name for alias in node.names))
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found[node.module] = None
    return list(found)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m grader.sandboxed.fork_server")
    parser.add_argument("--label", help="which notebook server it serves (shown by ps)")
    parser.add_argument("modules", nargs="*", help="modules to import before forking")
    return serve(parser.parse_args(argv).modules)


if __name__ == "__main__":
    sys.exit(main())
