"""Graded checks for the course notebooks, and the grading pipeline.

Notebook cells call ``self_check(name, function)`` under each task (visible cases, messages
that say what to fix), ``ready(task, *functions)`` before a worked example that needs a
student's function, ``summary()`` at the end, and, in the masters' hidden tests,
``grade(name, function)``.  See ``grader.notebook``; inside a grading sandbox the same
names come from ``grader.sandboxed``.

The four names are loaded when first used: importing a part of the pipeline
(``grader.pipeline...``) does not load the notebook side and the checks with it.
"""

from __future__ import annotations

__all__ = ["grade", "ready", "self_check", "summary"]


def __getattr__(name: str):
    if name in __all__:
        from grader import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
