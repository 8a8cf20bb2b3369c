"""Everything of the project that runs inside a grading sandbox, in one folder.

The builds a sandbox sees copy this folder whole (``grader.pipeline.sandbox.builds``), with
``autodiff``: no check, reference, case generator, seed, judge or secret is here, and
nothing here imports the trusted side (a test checks it, with the project out of reach).

- ``channel``: the one declaration of the plain data that crosses, and the kinds of error;
- ``limits``: what a sandboxed process caps itself at before any student code runs;
- the notebook run: ``notebook_server`` (nbgrader in the sandbox, one job per line),
  ``fork_server`` and ``forked_kernels`` (kernels forked from a process that has imported
  the course's modules once), ``record`` (what ``grade`` does there: nothing but say so);
- a grading run: ``grading_run`` (the program in, the records out), ``replay`` (the
  submission's statements as the notebook ran them), ``calls`` (a function called on case
  inputs, its answers as plain data), ``callers`` and ``inputs`` (the arguments that are
  not numbers), ``stubs`` (a finished function told from the released stub).
"""
