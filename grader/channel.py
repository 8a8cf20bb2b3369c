"""The one declaration of what crosses between the student's side and the trusted side.

Grading runs student code in a sandbox and judges it elsewhere.  Between the two only plain
data moves, as JSON (never pickle, so reading it runs nothing):

- into the sandbox, the **case inputs** of the checks a run grades (``cases.json``): per
  check, the name of the kernel's caller (how to call the student's function, see
  ``grader.kernel.callers``) and the cases as ``{"name", "args", "kwargs"}``;
- out of it, the **records** (``records.jsonl``, one line per ``grade`` call): per case the
  student's answer as plain numbers, or the error it raised, its warnings and its time.

Values are numbers, strings, booleans, None, lists, dicts with string keys, and arrays
tagged as ``{"__ndarray__": shape, "dtype": ..., "data": [...]}``.  Nothing else is
encoded, and decoding accepts nothing else.  The environment variables name the files
inside the sandbox; nothing here knows an answer.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

CASES_VARIABLE = "GRADER_CASES"  # path of cases.json, read by ``grade`` in the kernel
RECORDS_VARIABLE = "GRADER_RECORDS"  # path of records.jsonl, appended to by ``grade``
CASE_SECONDS_VARIABLE = "GRADER_CASE_SECONDS"  # time limit per case, in seconds
CASES_FILE = "cases.json"
RECORDS_FILE = "records.jsonl"
PROGRAM_FILE = "program.json"  # what a grading run executes (``grader.kernel.grading_run``)

ARRAY_TAG = "__ndarray__"
DTYPES = ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "bool")
MAX_RECORDS_BYTES = 20 * 1024**2


class ChannelError(ValueError):
    """Data that is not what the channel carries."""


def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-ready plain data (tuples become lists)."""
    if depth > 20:
        raise ChannelError("nested too deeply")
    if isinstance(value, np.ndarray):
        if value.dtype.name not in DTYPES:
            raise ChannelError(f"arrays of dtype {value.dtype} do not cross the channel")
        flat = [_encode_number(x) for x in value.ravel().tolist()]
        return {ARRAY_TAG: list(value.shape), "dtype": value.dtype.name, "data": flat}
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
    if depth > 20:
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
    if set(value) != {ARRAY_TAG, "dtype", "data"} or value["dtype"] not in DTYPES:
        raise ChannelError("a malformed array")
    shape = tuple(int(n) for n in value[ARRAY_TAG])
    data = value["data"]
    if not isinstance(data, list) or math.prod(shape) != len(data) or min(shape, default=1) < 0:
        raise ChannelError(f"an array of shape {shape} with the wrong number of values")
    numbers = [_decode_number(x) for x in data]
    return np.array(numbers, dtype=value["dtype"]).reshape(shape)


def _encode_number(x: Any) -> Any:
    if isinstance(x, bool):
        return x
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    return x


def _decode_number(x: Any) -> Any:
    if isinstance(x, str) and x in ("nan", "inf", "-inf"):
        return float(x)
    if isinstance(x, (bool, int, float)):
        return x
    raise ChannelError(f"not a number: {x!r:.40}")


# -- the case inputs ------------------------------------------------------------------------


def write_cases(path: Path, checks: dict[str, tuple[str, list[dict[str, Any]]]]) -> None:
    """Write the case inputs: ``{check: (caller, [{"name", "args", "kwargs"}, ...])}``."""
    plain = {
        name: {"caller": caller, "cases": [encode(case) for case in cases]}
        for name, (caller, cases) in checks.items()
    }
    Path(path).write_text(json.dumps(plain), encoding="utf-8")


def read_cases(path: Path) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """The case inputs written by ``write_cases``."""
    plain = json.loads(Path(path).read_text(encoding="utf-8"))
    return {
        name: (entry["caller"], [decode(case) for case in entry["cases"]])
        for name, entry in plain.items()
    }


# -- the records ----------------------------------------------------------------------------


def record_line(check: str, records: list[dict[str, Any]]) -> str:
    """One line of the records file: the records of one ``grade`` call."""
    return json.dumps({"check": check, "records": encode(records)}) + "\n"


def read_records(path: Path, problems: list[str]) -> dict[str, list[list[dict[str, Any]]]]:
    """The records in ``path`` by check, one list per ``grade`` call; what cannot be read
    is skipped and said in ``problems`` (the file was written where student code ran)."""
    found: dict[str, list[list[dict[str, Any]]]] = {}
    path = Path(path)
    if not path.exists():
        return found
    if path.stat().st_size > MAX_RECORDS_BYTES:
        problems.append("the answers recorded by the hidden tests are too large to read")
        return found
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
            check, records = entry["check"], decode(entry["records"])
        except (ValueError, KeyError, TypeError, RecursionError):
            problems.append("a malformed record of the hidden tests was ignored")
            continue
        if isinstance(check, str) and isinstance(records, list):
            found.setdefault(check, []).append([r for r in records if isinstance(r, dict)])
    return found
