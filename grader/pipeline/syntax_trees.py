"""``ast.parse`` for the trusted side, one thread at a time.

CPython 3.11 keeps the depth counter of its tree conversion in the interpreter, not in the
call: while one thread turns a parse into Python objects, a collection that runs Python code
can switch to another thread parsing too, and either then fails with ``SystemError: AST
constructor recursion depth mismatch`` (python/cpython#106905).  The trusted side parses in
several threads at once (a grading worker building a library without what a task forbids,
the main process reading the next submission's cells), so every parse of it goes through
this lock.  Code the lock cannot reach compiles too (an import of a module not yet compiled,
in a thread of a Dask worker), so a parse that meets the error is made again: the error says
nothing of the source, only that another thread was converting at the same moment.
"""

from __future__ import annotations

import ast
import threading

_ONE_AT_A_TIME = threading.Lock()
ATTEMPTS = 10
RACE = "AST constructor recursion depth mismatch"


def parse(source: str, mode: str = "exec") -> ast.AST:
    """``ast.parse(source, mode=mode)``, never at the same time as another thread's."""
    with _ONE_AT_A_TIME:
        for attempt in range(ATTEMPTS):
            try:
                return ast.parse(source, mode=mode)
            except SystemError as error:
                if RACE not in str(error) or attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")
