"""Graded checks for the course notebooks, and the grading pipeline.

Notebook cells call ``self_check(name, function)`` (visible tests: the same kind of
message, on cases students can see) and ``grade(name, function)`` (hidden tests: seeded
cases they cannot, returning the points as the cell's value).
"""

from grader.api import grade, self_check

__all__ = ["grade", "self_check"]
