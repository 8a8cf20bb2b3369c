"""Executing a submission's statements in a grading run, as the notebook ran them.

One statement (or a group of them) at a time, in one namespace, with a time limit each; a
failing one is reported by the kind of its error and the run goes on, as in a notebook.
"""

from __future__ import annotations

import signal
from typing import Any


class StatementTimeout(BaseException):
    """A statement that ran past its time limit (a ``BaseException``, so that a student's
    ``except Exception`` cannot swallow it)."""


TIMED_OUT = "StatementTimeout"


def execute(step: dict[str, Any], namespace: dict[str, Any], seconds: float) -> str | None:
    """Run the code of ``step`` in ``namespace``; None, or the name of the error's type
    when it failed (``TIMED_OUT`` when it ran past ``seconds``)."""

    def expire(signum, frame):
        raise StatementTimeout

    label = str(step.get("label", "a cell"))
    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        exec(compile(step["code"], f"<{label}>", "exec"), namespace)  # noqa: S102 - the point
    except StatementTimeout:
        return TIMED_OUT
    except BaseException as error:  # noqa: BLE001 - a notebook goes on after a failing cell
        name = getattr(type(error), "__name__", "")
        return name if isinstance(name, str) and name else "an exception"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return None
