"""Graded checks for the course notebooks, and the grading pipeline.

Notebook cells call ``self_check(name, function)`` under each task (visible cases, messages
that say what to fix), ``ready(task, *functions)`` before a worked example that needs a
student's function, ``summary()`` at the end, and, in the masters' hidden tests,
``grade(name, function)``.  See ``grader.notebook``; inside a grading sandbox the same
names come from ``grader.sandboxed``.
"""

from grader.notebook import grade, ready, self_check, summary

__all__ = ["grade", "ready", "self_check", "summary"]
