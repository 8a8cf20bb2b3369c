"""What a grading run sent back, read on the trusted side: the records of each check (as many
graded calls as its program makes), the cost of each graded call of a run that measures it
(``CostClock``, this side's clock: code in the sandbox can stop any clock there), the
statements that failed, and how the run ended if not well, in words a student can read and
no number or text the student's code chose."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable

from grader.pipeline.results import GradingRun
from grader.pipeline.sandbox.streams import Read
from grader.sandboxed import channel

MAX_LOG_LINES = 3
PROCESSOR_READS_APART = 0.2  # seconds between two readings of a sandbox's processor time
RUN_ERROR = "the grading run of your functions"


class CostClock:
    """This side's clock of a grading run that measures the cost of a method, and its reader
    of what the run sends.

    The run asks for the cases of a cost key (``channel.cost_key``) at its check's graded
    call: the first request of each cost key of the run is answered, once, and the time
    noted (``sent``; requests for other names go unanswered).  The key's time runs from
    then to the arrival of its last records (``arrived``); records of a cost key that come
    before its cases were sent are not its graded call's, and are dropped.  A key whose time
    passes its window (``cost_windows``), or that got its cases and sent no records, ran out
    of time; while one waits for its records, the run must end by the end of its window.
    The records of the run's other cases pass as they come.  ``now`` is the clock.

    ``processor``, once the run has started, reads the processor time its sandbox has used
    (its cgroup's count where it has one, ``ResourceCap.processor_seconds``, else
    ``processor_time.tree_clock``): a key's time is the larger of the two, so that a method
    spread over many processes or threads on a machine of many idle cores costs what it
    would on one.  It is read at most every ``PROCESSOR_READS_APART`` seconds (a run that
    sends thousands of records lines would otherwise have this side scan ``/proc`` for each)."""

    def __init__(self, run: GradingRun, now: Callable[[], float] = time.monotonic) -> None:
        self.windows, self.now = run.cost_windows, now
        self.processor: Callable[[], float] | None = None
        self.cases = {key: run.cases[key] for key in run.cost_windows}
        self.calls = {key: _calls_made(run, key) for key in self.cases}
        self.messages = channel.Messages()
        self.sent: dict[str, float] = {}
        self.arrived: dict[str, list[float]] = {}
        self.used: dict[str, list[float]] = {}  # processor time at sending, then at arrivals
        self._last_read: tuple[float, float] | None = None  # (when, processor time read)

    def hear(self, line: bytes) -> bytes:
        """Take one line the run sent, as it arrives; what to send back (the cases it asks
        for, or nothing)."""
        now = self.now()
        read = self.messages.parse(line)
        if read is None:
            return b""
        kind, value = read
        if kind == channel.REQUEST:
            if value not in self.cases or value in self.sent:
                return b""
            self.sent[value] = now
            self.used[value] = [self._processor()]
            return channel.cases_message(value, self.cases[value]["cases"])
        if kind == channel.RECORDS and value[0] in self.cases:
            key = value[0]
            if key not in self.sent:
                return b""
            self.arrived.setdefault(key, []).append(now)
            self.used[key].append(self._processor())
        self.messages.keep(kind, value)
        return b""

    def deadline(self, overall: float) -> float:
        """When the run must end: at ``overall``, or sooner while a cost key that got its
        cases still waits for records (the end of its window)."""
        waiting = [
            self.sent[key] + self.windows[key]
            for key in self.sent
            if len(self.arrived.get(key, ())) < self.calls[key]
        ]
        return min(overall, max(waiting)) if waiting else overall

    def too_slow(self) -> dict[str, str]:
        """The cost keys that ran out of time, each with what happened."""
        slow = {}
        for check, sent in self.sent.items():
            window = self.windows[check]
            if check not in self.arrived:
                slow[check] = f"no records within {window:g} s of receiving the cases"
            elif self.arrived[check][-1] - sent > window:
                elapsed = self.arrived[check][-1] - sent
                slow[check] = f"records {elapsed:.1f} s after receiving the cases (of {window:g})"
            elif self.used[check][-1] - self.used[check][0] > window:
                used = self.used[check][-1] - self.used[check][0]
                slow[check] = (
                    f"{used:.1f} s of processor time after receiving the cases (of {window:g}), "
                    f"spread over several processes or threads"
                )
        return slow

    def _processor(self) -> float:
        if self.processor is None:
            return 0.0
        now = self.now()
        if self._last_read is None or now - self._last_read[0] >= PROCESSOR_READS_APART:
            self._last_read = (now, self.processor())
        return self._last_read[1]

    def read(self, problems: list[str]) -> tuple[dict[str, list[list[dict]]], list]:
        """The records and failed statements the run sent, as ``channel.read_messages``
        gives them (records before their cases left out)."""
        if self.messages.malformed:
            problems.append(channel.MALFORMED)
        return self.messages.records, self.messages.failed


COST_RUN = "the run that measures the cost of your method"
STOPPED_AT_WINDOW = "window"  # how a run stopped at the end of a cost case's window ended


def read_back(
    run: GradingRun,
    read: Read,
    exit_status: int,
    seconds: float,
    result,
    clock: CostClock | None = None,
) -> list[str]:
    """What a grading run sent back, into ``result``: its records by check (as many graded
    calls as the program made, the records of a check's cost key after its other cases, and
    under each key only the records of that key's cases; every case of a cost key that ran
    out of time by ``clock`` a timeout), the statements that failed, and how it ended if not
    well.  A run stopped at the end of a cost key's window (stopped ``STOPPED_AT_WINDOW``)
    has not run the cases after it: their keys (records incomplete, or a cost key never asked
    for) are returned, to be run again without the slow one, and nothing of them is kept from
    this run.  A run stopped at its own time limit gets no second run: its cases without a
    record ran out of time."""
    slow = clock.too_slow() if clock else {}
    cut = read.stopped == STOPPED_AT_WINDOW  # stopped at the end of a cost case's window
    if cut:
        result.problems.append(f"{COST_RUN} was stopped: it ran past the time its cases allow")
    elif read.stopped == "timeout" and slow:
        result.problems.append(f"{COST_RUN} was stopped: it ran past the time its cases allow")
    elif read.stopped == "timeout":
        result.problems.append(f"{RUN_ERROR} did not finish within {seconds:g} s and was stopped")
    elif read.stopped == "too large":
        result.problems.append(f"{RUN_ERROR} sent back too much data and was stopped")
    elif not read.complete:
        result.problems.append(f"{RUN_ERROR}: {read.stopped}; it was stopped")
    elif exit_status:
        result.problems.append(f"{RUN_ERROR} {_ended(exit_status)}")
    if clock is None:
        records, failed = channel.read_messages(read.data, result.problems)
    else:
        records, failed = clock.read(result.problems)
    timed_out = read.stopped == "timeout" and not cut
    calls = _graded_calls(run, records, timed_out, slow)
    redo = []
    if cut:
        sent = clock.sent if clock else {}
        redo = [k for k in run.cases if k not in sent and not _complete(run, k, calls[k])]
    for key, found in calls.items():
        if key not in redo:
            _merge(result.records.setdefault(channel.graded_check(key), []), found)
    labels = {step["label"] for step in run.steps if "code" in step and "label" in step}
    result.problems.extend(_statement_problems(failed, labels))
    return redo


def _graded_calls(
    run: GradingRun,
    records: dict[str, list[list[dict]]],
    timed_out: bool,
    slow: dict[str, str] | None = None,
) -> dict[str, list[list[dict]]]:
    """The records of each key of ``run``: at most as many graded calls as its program
    makes (a submission may write more on the pipe: they are not judged), each holding only
    the records of the key's own cases; when the run was stopped at its time limit, its
    cases without a record ran out of time; every case of a key that is ``slow`` (by this
    side's clock: what happened) ran out of time."""
    slow = slow or {}
    calls = {}
    for key, entry in run.cases.items():
        names = [case["name"] for case in entry.get("cases", [])]
        own = set(names)
        found = [
            [r for r in call if r.get("case") in own]
            for call in records.get(key, [])[: _calls_made(run, key)]
        ]
        if key in slow:
            found = [[_ran_out(name, slow[key]) for name in names] for _ in found or [[]]]
        elif timed_out:
            found = found or [[]]
            for call in found:
                answered = {r.get("case") for r in call}
                call.extend(_ran_out(name) for name in names if name not in answered)
        calls[key] = found
    return calls


def _complete(run: GradingRun, key: str, calls: list[list[dict]]) -> bool:
    """Whether ``calls`` hold every graded call of ``key`` with a record of each case."""
    names = {case["name"] for case in run.cases[key].get("cases", [])}
    return len(calls) == _calls_made(run, key) and all(
        names <= {r.get("case") for r in call} for call in calls
    )


def _calls_made(run: GradingRun, key: str) -> int:
    """How many graded calls of the check of ``key`` the program of ``run`` makes."""
    check = channel.graded_check(key)
    return sum(1 for step in run.steps if step.get("grade") == check)


def _ran_out(case: str, message: str = "the run was stopped at its limit") -> dict:
    error = {"kind": channel.TIMEOUT, "type": "", "message": message}
    return {"case": case, "error": error, "warnings": [], "seconds": 0.0}


def _merge(calls: list[list[dict]], more: list[list[dict]]) -> None:
    """Add the records of graded calls to those of the same calls of the same check (its
    cost key's after its other cases'), call by call."""
    for i, call in enumerate(more):
        if i < len(calls):
            calls[i].extend(call)
        else:
            calls.append(call)


def _statement_problems(failed: list[tuple[str, str]], labels: set[str]) -> list[str]:
    """The first statements that failed in a grading run, for the student to read: the cell,
    when it is one the program named, and the kind of error, named only when it is one of
    Python's own (the rest of the text is the student code's, and a grading run holds the
    hidden cases)."""
    shown = []
    for label, kind in dict.fromkeys(f for f in failed if f[0] in labels):
        if len(shown) == MAX_LOG_LINES:
            shown.append(f"{RUN_ERROR}: other statements failed too")
            break
        if kind == "StatementTimeout":
            shown.append(f"{RUN_ERROR}: {label}: stopped after its time limit")
        else:
            shown.append(f"{RUN_ERROR}: {label}: {_builtin_error(kind)}")
    return shown


def _ended(status: int) -> str:
    """How a grading run that did not finish its work ended, in words (not its number: the
    student's code chooses it)."""
    if status < 0:
        return "was killed by a signal before it finished"
    return "ended early (the code called exit, or crashed)"


def _builtin_error(name: str) -> str:
    """``name`` when it is one of Python's own exceptions, else a description."""
    found = getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, BaseException):
        return f"{name} was raised"
    return "an exception of the notebook's own class was raised"
