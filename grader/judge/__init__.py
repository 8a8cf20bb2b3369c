"""The judging side: plain answers in, points and messages out.

``judge`` compares recorded answers with the references it computes on the cases the caller
generated (never taken from the records).  It never sees the student's code or objects, only
the plain records the kernel produced (``grader.sandboxed.calls``): no module that judges
calls student code.  An answer may come as nested lists instead of arrays, or in single
precision: lists are read as arrays, and a float32 or float16 answer is judged to the
precision of its type, with a note.

Everything in a record is the student's code's to choose, so ``judge`` reads it as hostile
data: any value the channel carries, anywhere, gives a verdict (a wrong answer scores 0 for
its case), never an exception.  A **hidden** verdict (``hidden=True``: graded feedback, which
the student sees and the pipeline stores) carries no text the record holds: no exception
message, no exception type but Python's built-in ones, no warning text, no expected or
received values (they would leak the hidden answers or echo the hidden inputs), and no
number the answer chose, which could carry what the student's code read from the hidden
inputs: no index of an entry, no count of entries, no digit of an error; it keeps the
expected shapes, the power of ten of the largest errors and the diagnosis, all the grader's
own words.  The student's self-check and an instructor's run of a master get the full detail,
except on a case that withholds its values (``Case.withhold_values``: one whose answer a
written exercise asks for): its verdict names the wrong entries (a hidden one does not) and
the diagnosis, and shows no number of the answer.

``answers`` runs a function on cases in this process, through the same plain channel as
grading: for the student's own self-check, the instructor's masters, and the tests.  It is
the one place of the package where student code runs (``run``).

The package, in the order a record is judged:

- ``judging``: ``judge``, each record taken for its case, the points;
- ``errors``: a case whose call met an error (time limits and cost budgets, exceptions,
  answers that are not numbers) and the warnings of every case;
- ``shape_hints``: the hint on a NumPy shape error, with the shapes of the case;
- ``compare``: a case that returned an answer, compared with the expected one (structure,
  shapes, tolerances, NaN, single precision);
- ``show``: expected and received values as the student reads them (arrays side by side,
  error sizes, the wrong entries of a case that withholds its values);
- ``diagnosis``: the one mistake that explains every wrong answer (the check's mistake
  models, generic slips of an output, slips of an input);
- ``results``: ``CaseResult``, ``Verdict``, ``Answered``, ``plain_case`` and ``sent_case``;
- ``common``: what they share (answers read as parts, comparison within tolerances,
  recorded texts, equations as they read after "Reread");
- ``run``: ``answers``, where the function given, the student's in a self-check, is called.
"""

from __future__ import annotations

# the names other modules and the tests import from ``grader.judge``, the private ones too
# (no ``__all__``: its strings would join the constants hypothesis draws from in the tests)
from grader.judge.common import LOW_PRECISION_RTOL as LOW_PRECISION_RTOL
from grader.judge.common import _equation as _equation
from grader.judge.common import _matches as _matches
from grader.judge.common import _parts as _parts
from grader.judge.diagnosis import _mistake_text as _mistake_text
from grader.judge.errors import NOT_IMPLEMENTED as NOT_IMPLEMENTED
from grader.judge.errors import OWN_WORDS as OWN_WORDS
from grader.judge.judging import judge as judge
from grader.judge.results import Answered as Answered
from grader.judge.results import CaseResult as CaseResult
from grader.judge.results import Verdict as Verdict
from grader.judge.results import plain_case as plain_case
from grader.judge.results import sent_case as sent_case
from grader.judge.run import answers as answers
from grader.judge.show import WITHHELD as WITHHELD
