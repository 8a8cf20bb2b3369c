"""Whether a student's function is still the stub of the released notebook.

Worked examples that use a student's function run only once it is written:
``if ready("Task 2", backprop): ...`` says which task the example waits for instead of
failing with ``NotImplementedError``, so that Run All goes through a fresh notebook.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable


def is_stub(function: Callable) -> bool:
    """True when ``function``'s body ends in an unconditional ``raise NotImplementedError``:
    the released stub (whatever lines the notebook put before it), not yet replaced."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
        node = ast.parse(source).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return False
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    last = node.body[-1]
    if not isinstance(last, ast.Raise) or last.exc is None:
        return False
    raised = last.exc
    if isinstance(raised, ast.Call):
        raised = raised.func
    return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"


def ready(task: str, *functions: Callable) -> bool:
    """True when every one of ``functions`` is implemented; otherwise print which task the
    cell waits for (one line) and return False."""
    waiting = [getattr(f, "__name__", repr(f)) for f in functions if is_stub(f)]
    if waiting:
        names = ", ".join(f"`{name}`" for name in waiting)
        verb = "is" if len(waiting) == 1 else "are"
        print(f"This example waits for {task}: {names} {verb} not implemented yet.")
        return False
    return True
