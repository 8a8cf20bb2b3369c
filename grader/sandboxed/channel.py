"""The one declaration of what crosses between the student's side and the trusted side.

Grading runs student code in a sandbox and judges it elsewhere.  Between the two only plain
data moves, as JSON (never pickle, so reading it runs nothing), through pipes the trusted
side holds (never through a file in a folder the sandbox can write):

- into a grading run, on its standard input, the **program** (``program_message``), one
  line: the statements to execute, the graded calls, and per check the name of the sandboxed side's
  caller (how to call the student's function, see ``grader.sandboxed.callers``) and the case
  inputs as ``{"name", "args", "kwargs"[, "seconds"]}``;
- out of it, on a descriptor it is given (a pipe), one JSON message per line: the **records**
  of a graded call (per case the student's answer as plain numbers, or the error it met,
  its warnings and its time), and the statements that failed (their labels and the kind of
  error only).

A run that measures the cost of a method gets no case in its program: at each graded call
it sends a **request** for the check's cases on its pipe, and the trusted side, which keeps
its standard input open, answers the first request of each check with the **cases**, one
line (``cases_message``), and times the check from then on with its own clock.

Values are numbers, strings, booleans, None, lists, dicts with string keys, and arrays
tagged as ``{"__ndarray__": shape, "dtype": ..., "bytes": base64 of the little-endian
values}``.  Nothing else is encoded, and decoding accepts nothing else.  The channel also
owns the kinds of error a case can meet (``ERROR_KINDS``): the trusted side reads a kind,
never the prefix of a message.  Nothing here knows an answer.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

import numpy as np

CASE_SECONDS_VARIABLE = "GRADER_CASE_SECONDS"  # time limit per case, in seconds

ARRAY_TAG = "__ndarray__"
DTYPES = ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "bool")
MAX_DEPTH = 20
MAX_ARRAY_BYTES = 256 * 1024**2
MAX_CONTAINERS = 100_000  # lists and dicts in all of a run's messages (an array is a string)
MAX_ITEMS = 2_000_000
"""Items of lists and dicts (commas) in all of a run's messages: an honest list answer of a
cost case holds a few hundred thousand numbers; millions of them take the trusted side's
parser seconds, holding the interpreter lock that the other grading workers' clocks need."""

# The kinds of error a case can meet, as the kernel records them (``error["kind"]``).
RAISED = "raised"  # the function raised an exception (its type and message are recorded)
TIMEOUT = "timeout"  # the call ran past the case's time limit
NOT_RUN = "not_run"  # not called: an earlier case ran past its time limit
NOT_NUMBERS = "not_numbers"  # the answer cannot be read as numbers (the message says why)
UNDEFINED = "undefined"  # the function did not exist when its graded cell ran
NOT_CALLABLE = "not_callable"  # the name of the function holds something else
MISSING_HERE = "missing_here"  # it used what the notebook had and the grading run lacks
ERROR_KINDS = (RAISED, TIMEOUT, NOT_RUN, NOT_NUMBERS, UNDEFINED, NOT_CALLABLE, MISSING_HERE)


class ChannelError(ValueError):
    """Data that is not what the channel carries."""


def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-ready plain data (tuples become lists)."""
    if depth > MAX_DEPTH:
        raise ChannelError("nested too deeply")
    if isinstance(value, np.ndarray):
        if value.dtype.name not in DTYPES:
            raise ChannelError(f"arrays of dtype {value.dtype} do not cross the channel")
        data = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
        text = base64.b64encode(data).decode("ascii")
        return {ARRAY_TAG: list(value.shape), "dtype": value.dtype.name, "bytes": text}
    if isinstance(value, (list, tuple)):
        return [encode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v, depth + 1) for k, v in value.items()}
    if isinstance(value, np.generic):
        return encode(value.item(), depth)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return _encode_number(value)
    raise ChannelError(f"a value of type {type(value).__name__} does not cross the channel")


def decode(value: Any, depth: int = 0) -> Any:
    """Inverse of ``encode``: arrays, lists, dicts, numbers, strings, booleans, None."""
    if depth > MAX_DEPTH:
        raise ChannelError("nested too deeply")
    if isinstance(value, dict) and ARRAY_TAG in value:
        return _decode_array(value)
    if isinstance(value, list):
        return [decode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): decode(v, depth + 1) for k, v in value.items()}
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ChannelError(f"unexpected value of type {type(value).__name__}")


def _decode_array(value: dict) -> np.ndarray:
    if set(value) != {ARRAY_TAG, "dtype", "bytes"} or value["dtype"] not in DTYPES:
        raise ChannelError("a malformed array")
    shape = value[ARRAY_TAG]
    if not isinstance(shape, list) or len(shape) > 32:
        raise ChannelError("an array with a malformed shape")
    if not all(type(n) is int and 0 <= n < 2**40 for n in shape):
        raise ChannelError("an array with a malformed shape")
    dtype = np.dtype(value["dtype"]).newbyteorder("<")
    size = math.prod(shape) * dtype.itemsize
    text = value["bytes"]
    if not isinstance(text, str) or size > MAX_ARRAY_BYTES:
        raise ChannelError("an array that is too large or malformed")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ChannelError("an array whose values are not base64") from None
    if len(data) != size:
        raise ChannelError(f"an array of shape {tuple(shape)} with the wrong number of values")
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(array.dtype.newbyteorder("="), copy=True)


def _encode_number(x: Any) -> Any:
    if isinstance(x, bool):
        return x
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    return x


def dumps(value: Any) -> str:
    """``value`` encoded, as one line of JSON."""
    return json.dumps(encode(value), allow_nan=False)


def loads(text: str | bytes) -> Any:
    """One line of JSON, decoded (``ChannelError`` for anything else)."""
    try:
        return decode(json.loads(text))
    except (ValueError, RecursionError) as error:
        raise ChannelError(f"not channel data: {type(error).__name__}") from None


# -- the program of a grading run --------------------------------------------------------------


def program_message(
    steps: list[dict[str, str]],
    checks: dict[str, dict[str, Any]],
    statement_seconds: float,
    limits: dict[str, int],
    on_request: frozenset[str] | set[str] = frozenset(),
) -> bytes:
    """What a grading run reads on its standard input, one line: ``steps`` (``{"code",
    "label"}`` or ``{"grade", "function"}``), per check ``{"caller", "cases"}`` (cases
    already encoded), the time limit of a statement and the resource limits to set before
    any student code.  The checks named in ``on_request`` (``cost_key``) go without their
    cases, for the run to ask for them at their graded calls (``request_message``)."""
    checks = {
        check: {"caller": entry["caller"]} if check in on_request else entry
        for check, entry in checks.items()
    }
    program = {
        "steps": steps,
        "checks": checks,
        "statement_seconds": statement_seconds,
        "limits": limits,
        "on_request": bool(on_request),
    }
    return json.dumps(program, allow_nan=False).encode("utf-8") + b"\n"


def read_program(data: bytes) -> dict[str, Any]:
    """The program written by ``program_message``, its cases decoded."""
    program = json.loads(data.decode("utf-8"))
    for entry in program["checks"].values():
        if "cases" in entry:
            entry["cases"] = [decode(case) for case in entry["cases"]]
    return program


# -- the cases that measure cost --------------------------------------------------------------

COST = "#cost"


def cost_key(check: str) -> str:
    """The name under which the cases of ``check`` that measure the cost of its method
    travel: asked for at the check's graded call, after its other cases, and timed apart."""
    return check + COST


def graded_check(key: str) -> str:
    """The check a key of the channel belongs to (``cost_key`` undone)."""
    return key.removesuffix(COST)


def request_message(check: str) -> str:
    """A grading run's request for the cases of ``check``, as one line."""
    return json.dumps({"request": check}) + "\n"


def cases_message(check: str, cases: list[Any]) -> bytes:
    """The trusted side's answer to a request: the cases of ``check`` (already encoded), as
    one line."""
    return json.dumps({"check": check, "cases": cases}, allow_nan=False).encode("utf-8") + b"\n"


def read_cases(line: bytes) -> tuple[str, list[dict[str, Any]]]:
    """The check and its decoded cases in a line written by ``cases_message``
    (``ChannelError`` for anything else)."""
    try:
        entry = json.loads(line)
        check, cases = entry["check"], [decode(case) for case in entry["cases"]]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise ChannelError("not the cases of a check") from None
    if not isinstance(check, str) or not all(isinstance(case, dict) for case in cases):
        raise ChannelError("not the cases of a check")
    return check, cases


# -- the messages of a grading run -------------------------------------------------------------


def records_message(check: str, records: list[dict[str, Any]]) -> str:
    """The records of one graded call, as one line."""
    return json.dumps({"check": check, "records": encode(records)}, allow_nan=False) + "\n"


def failed_statement_message(label: str, error_type: str) -> str:
    """A statement that failed in a grading run: its label and the kind of error only."""
    return json.dumps({"statement": label, "error_type": error_type}) + "\n"


STATEMENT, RECORDS, REQUEST = "statement", "records", "request"  # the kinds of message
MAX_CASE_NAME = 1000  # characters: a case's name is a short label
MALFORMED = "a malformed message of the grading run was ignored"


class Messages:
    """What a grading run sent, read one line at a time: the records by check (one list per
    graded call), the failed statements (``(label, error type)``), and whether something
    could not be read.  The lines were written where student code ran: reading one parses at
    most what is left of a budget of lists and dicts (``MAX_CONTAINERS`` in all) and of their
    items (``MAX_ITEMS``)."""

    def __init__(self) -> None:
        self.records: dict[str, list[list[dict[str, Any]]]] = {}
        self.failed: list[tuple[str, str]] = []
        self.malformed = False
        self.containers = self.items = 0

    def parse(self, line: bytes) -> tuple[str, Any] | None:
        """One line, read: ``(RECORDS, (check, records))``, ``(STATEMENT, (label, error
        type))`` or ``(REQUEST, check)``; None when it cannot be read or the budget is spent
        (then nothing more is read)."""
        self.containers += line.count(b"{") + line.count(b"[")
        self.items += line.count(b",")
        if self.containers > MAX_CONTAINERS or self.items > MAX_ITEMS:  # seconds, gigabytes
            self.malformed = True
            return None
        try:
            return _message(line)
        except ChannelError:
            self.malformed = True
            return None

    def keep(self, kind: str, value: Any) -> None:
        """Add a message that ``parse`` read (a request leaves nothing to keep)."""
        if kind == RECORDS:
            check, found = value
            self.records.setdefault(check, []).append(found)
        elif kind == STATEMENT:
            self.failed.append(value)


def _message(line: bytes) -> tuple[str, Any]:
    try:
        entry = json.loads(line)
        if not isinstance(entry, dict):
            raise ChannelError("not a message")
        if "statement" in entry:
            label, kind = entry["statement"], entry["error_type"]
            if not isinstance(label, str) or not isinstance(kind, str):
                raise ChannelError("a malformed statement")
            return STATEMENT, (label[:200], kind[:200])
        if "request" in entry:
            if not isinstance(entry["request"], str):
                raise ChannelError("a malformed request")
            return REQUEST, entry["request"]
        check, found = entry["check"], decode(entry["records"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise ChannelError("not a message of a grading run") from None
    if not isinstance(check, str) or not isinstance(found, list):
        raise ChannelError("malformed records")
    return RECORDS, (check, [r for r in found if isinstance(r, dict) and _named(r)])


def _named(record: dict) -> bool:
    """Whether a record names its case as cases are named (a short text)."""
    case = record.get("case")
    return isinstance(case, str) and len(case) <= MAX_CASE_NAME


def read_messages(
    data: bytes, problems: list[str]
) -> tuple[dict[str, list[list[dict[str, Any]]]], list[tuple[str, str]]]:
    """The records by check (one list per graded call) and the failed statements
    (``(label, error type)``) in ``data``, which was written where student code ran: what
    cannot be read is skipped and said once in ``problems``; a request is no record."""
    messages = Messages()
    for line in data.split(b"\n"):
        if line:
            read = messages.parse(line)
            if read is not None:
                messages.keep(*read)
    if messages.malformed:
        problems.append(MALFORMED)
    return messages.records, messages.failed
