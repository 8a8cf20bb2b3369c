"""What a grading run executes of a submission: the statements its graded functions need,
in notebook order, with the graded calls where the notebook has its test cells.

A grading run does not replay the whole notebook (its figures, timings and training runs
cost seconds and grade nothing): of the statements before the last graded call, it keeps
every top-level one that binds or changes a name the graded functions need, and then what
those statements need in turn, wherever they stand before the call (a function finds its
globals when it is called).  The test cells themselves are never run (they are the
course's).  The submission's code is parsed here, never run.

The notebook is rebuilt the way IPython ran it:

- IPython syntax is turned into Python as IPython does; a cell magic that runs its body in
  the user namespace (``%%time``, ``%%capture``, ``%%prun``) gives the statements of its
  body, ``%time stmt`` gives ``stmt``; ``%%timeit`` (whose body runs in a function), other
  magics and shell commands are left out.  ``%%writefile name.py`` is kept as a module
  that a later ``import name`` (or ``%run name.py``) finds.
- a name is bound by assignments, definitions and imports; a statement also *changes* an
  object when it sets an item or attribute of it, calls one of its methods as a statement
  (``REGISTRY.update(...)``, ``funcs.append(f)``) or a method that mutates
  (``d.setdefault(...)`` anywhere), passes it to ``setattr``, or calls a function of the
  notebook that changes it (a registering decorator, a ``global`` assignment).  Star
  imports, ``globals()[...] = ...`` and ``exec`` bind names nobody spells: they are taken
  when a needed name is bound nowhere else.
  A method called on an imported module (``np.random.seed(0)``, ``plt.plot(...)``) changes
  nothing the selection follows.
- an import of several names becomes one statement per name, each with a ``fallback``:
  where the name cannot be imported (the task forbids it, or the module was a file the
  notebook wrote), the grading run binds a stand-in that fails, when used, saying why.

Names are read with ``symtable``: a function's parameters and locals are its own, a name
it reads from the module (now or when called) is a use, unless the statement binds it
before reading it (a loop variable, a ``with`` target).  A cell that cannot be parsed is a
problem; so is a needed name that only IPython syntax the grading run cannot replay binds.

The package, in the order a grading program is built:

- ``program``: ``grading_program``, the steps it returns and the choice of statements;
- ``cells``: a cell read into top-level statements the way IPython ran it (magics,
  ``%%writefile``, ``%run``, cells that do not parse);
- ``imports``: an import split into one statement per name, with the stand-in to bind
  when it fails, and what the tasks forbid (for the stand-ins' messages);
- ``names``: the names a statement binds and uses, read across the notebook;
- ``mutations``: the objects a statement changes without binding them (item and attribute
  sets, method calls, ``setattr``, the notebook's functions that change globals);
- ``common``: what they share (the statement records, the pseudo names of written
  modules, the magics the grading run cannot replay, the walk over what a statement runs).
"""

from __future__ import annotations

from grader.pipeline.judging.selection.common import Statement
from grader.pipeline.judging.selection.program import grading_program

__all__ = ["Statement", "grading_program"]
