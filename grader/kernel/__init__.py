"""The student's side of grading: what runs in the kernel where student code runs.

This package, ``grader.channel`` and ``autodiff`` are all the sandbox holds of the project:
no check, reference, case generator, seed or secret.  It calls the student's functions on
case inputs it receives and records plain answers (``grader.kernel.record``), builds the
inputs that are not numbers (``inputs``, ``callers``), runs the statements of a submission
that a grading run needs (``grading_run``), and tells a finished function from a stub
(``stubs``).
"""

from grader.kernel.record import grade, self_check, summary
from grader.kernel.stubs import ready

__all__ = ["grade", "ready", "self_check", "summary"]
