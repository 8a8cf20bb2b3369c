"""Plain data: what crosses from the student's side to the judge.

Answers are reduced to float64 arrays (with shape), or nested lists of them; nothing of
the student's objects survives.  The JSON encoding carries no code, so decoding it cannot
run anything the student wrote (unlike pickle).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from autodiff import Scalar
from autodiff.core import value_of


class NotPlainError(TypeError):
    """A student's answer that cannot be read as numbers."""


def to_plain(value: Any, depth: int = 0) -> Any:
    """``value`` as a float64 ndarray, or a list of such (for tuples and lists of arrays).

    Objects from ``autodiff`` (``Tensor``, ``Scalar``) give their values.  Anything that is
    not numbers raises ``NotPlainError`` with what was received.
    """
    if depth > 4:
        raise NotPlainError("the answer is nested too deeply")
    if isinstance(value, (tuple, list)) and value and not _is_number_list(value):
        return [to_plain(v, depth + 1) for v in value]
    value = _unwrap(value)
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise NotPlainError(
            f"expected numbers or an array, got {type(value).__name__} ({error})"
        ) from None
    if array.dtype != np.float64:
        raise NotPlainError(f"expected numbers, got dtype {array.dtype}")
    return array.copy()


def _is_number_list(value) -> bool:
    return all(isinstance(v, (int, float, np.number)) for v in value)


def _unwrap(value: Any) -> Any:
    """The numbers inside ``autodiff`` objects (``Scalar``, ``Tensor``, traced values)."""
    if isinstance(value, Scalar):
        return value.data
    return value_of(value)


def encode(value: Any) -> Any:
    """JSON-ready form of plain data (arrays become shape, flat values)."""
    if isinstance(value, np.ndarray):
        flat = [_encode_float(x) for x in value.ravel().tolist()]
        return {"shape": list(value.shape), "data": flat}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    return value


def decode(value: Any) -> Any:
    """Inverse of ``encode``: only float64 arrays, lists, dicts and scalars come back."""
    if isinstance(value, dict) and set(value) == {"shape", "data"}:
        shape = tuple(int(n) for n in value["shape"])
        data = [_decode_float(x) for x in value["data"]]
        if math.prod(shape) != len(data):
            raise ValueError(f"array of shape {shape} with {len(data)} values")
        return np.array(data, dtype=np.float64).reshape(shape)
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): decode(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"unexpected value of type {type(value).__name__} in plain data")


def _encode_float(x: float) -> Any:
    return x if math.isfinite(x) else repr(x)


def _decode_float(x: Any) -> float:
    if isinstance(x, str) and x in ("nan", "inf", "-inf"):
        return float(x)
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    raise ValueError(f"not a number in plain data: {x!r}")


def dumps(value: Any) -> str:
    return json.dumps(encode(value))


def loads(text: str) -> Any:
    return decode(json.loads(text))
