"""Expected and received answers as the student reads them, in a verdict with full
detail: the two arrays of the first failing output side by side (small ones whole, larger
ones cut to their first and last rows and columns, one of three or more axes by the matrix
that holds the largest error), the sizes and place of the largest error, the wrong entries
by index where a case withholds its values (``WITHHELD``), and what a received part that is
not numbers is, in words.  A hidden verdict names no index and no digit of an error: where
and how large the error is are the student's code's to choose, so they could carry what the
code read from the hidden inputs; it gives an error's size as a power of ten
(``_decade``).  No student code runs here."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _describe(value: Any) -> str:
    """What a received part that is not numbers is, in words (never its contents)."""
    if isinstance(value, list):
        return "a list that is not an array of numbers"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a dict"
    if value is None:
        return "None"
    return "something that is not numbers"


def _error_sizes(want: np.ndarray, got: np.ndarray, atol: float, hidden: bool) -> str:
    """The largest absolute and relative errors and where the largest is; in a hidden
    verdict each error's power of ten (``_decade``) and no index."""
    with np.errstate(all="ignore"):
        abs_err = np.abs(got - want)
        abs_err = np.where(np.isnan(abs_err), np.inf, abs_err)
        rel_err = abs_err / np.maximum(np.abs(want), max(atol, np.finfo(np.float64).tiny))
    largest_abs, largest_rel = float(np.max(abs_err)), float(np.max(rel_err))
    if hidden:
        return f"max abs error {_decade(largest_abs)}, max rel error {_decade(largest_rel)}"
    where = _at_index(abs_err == largest_abs)
    return f"max abs error {largest_abs:.3g}, max rel error {largest_rel:.3g}" + (
        f" (largest{where})" if where else ""
    )


HIDDEN_DECADES = (-12, 12)
"""The powers of ten within which a hidden verdict says which decade an error lies in
(beyond them: "below 1e-12", "above 1e+12")."""


def _decade(size: float) -> str:
    """The power of ten ``size`` lies in, as a hidden verdict says it: "between 1e+06 and
    1e+07"; "below" or "above" the ends of ``HIDDEN_DECADES`` outside them (NaN above)."""
    low, high = HIDDEN_DECADES
    if not size < 10.0**high:
        return f"above {10.0**high:.0e}"
    if size < 10.0**low:
        return f"below {10.0**low:.0e}"
    exponent = min(math.floor(math.log10(size)), high - 1)
    return f"between {10.0**exponent:.0e} and {10.0 ** (exponent + 1):.0e}"


MAX_WRONG_LISTED = 8  # wrong entries named one by one in a verdict that withholds values
WITHHELD = "the values of this case are not shown: they are the answer of a written exercise"


def _wrong_entries(
    want: np.ndarray, got: np.ndarray, tolerance: tuple[float, float], hidden: bool
) -> str:
    """Which entries of ``got`` are wrong, by index (up to ``MAX_WRONG_LISTED``, else how
    many; neither in a hidden verdict), and that the values are withheld: no number of the
    answer."""
    if hidden or not want.ndim:
        return f"({WITHHELD})"
    with np.errstate(all="ignore"):
        wrong = ~np.isclose(got, want, rtol=tolerance[0], atol=tolerance[1])
    count, size = int(np.count_nonzero(wrong)), int(want.size)
    places = [tuple(int(i) for i in index) for index in np.argwhere(wrong)]
    if count and count <= MAX_WRONG_LISTED:
        at = ", ".join(str(place[0] if len(place) == 1 else place) for place in places)
        noun = "index" if count == 1 else "indices"
        return f"at {noun} {at} ({count} of {size} entries; {WITHHELD})"
    return f"in {count} of {size} entries ({WITHHELD})"


def _at_index(mask: np.ndarray) -> str:
    """' at index (i, j)' of the first true entry of ``mask`` ('' for a number)."""
    if not mask.ndim:
        return ""
    index = np.unravel_index(int(np.argmax(mask)), mask.shape)
    return f" at index {tuple(int(i) for i in index)}"


# -- expected and received, as the student reads them ---------------------------------------

ONE_LINE = 8  # a vector of at most this many numbers is shown on one line
SHOWN_INDENT = "  "  # the rows of an array shown under its label


def _side_by_side(want: np.ndarray, got: np.ndarray) -> list[str]:
    """The expected and the received array of one output (same shape), as lines: small ones
    whole, a matrix row by row (long axes cut to their first and last three entries), and
    an array of three or more axes by the matrix that holds its largest error, the same one
    of both."""
    where = None
    if want.ndim > 2:
        with np.errstate(all="ignore"):
            error = np.abs(got - want)
        error = np.where(np.isnan(error), np.inf, error)
        where = np.unravel_index(int(np.argmax(error)), error.shape)[:-2]
    return [*_shown("expected", want, where), *_shown("received", got, where)]


def _shown(label: str, a: np.ndarray, where: tuple | None = None) -> list[str]:
    """``label`` and the array ``a`` as lines, the first "label: ..." (see
    ``_side_by_side``); ``where`` picks the matrix of an array of three or more axes
    (default: the first)."""
    if a.ndim == 0 or (a.ndim == 1 and a.size <= ONE_LINE):
        return [f"{label}: {_array_text(a)}"]
    if a.ndim == 1:
        return [f"{label}: {a.size} numbers, {_array_text(a)}"]
    if a.ndim == 2:
        return [f"{label}: shape {a.shape}", *_rows(a)]
    if 0 in a.shape:
        return [f"{label}: an empty array of shape {a.shape}"]
    index = tuple(int(i) for i in (where if where is not None else (0,) * (a.ndim - 2)))
    at = ", ".join(map(str, index))
    which = ", the one with the largest error" if where is not None else ""
    return [f"{label}: the matrix [{at}, :, :] of shape {a.shape}{which}", *_rows(a[index])]


def _rows(matrix: np.ndarray) -> list[str]:
    return [SHOWN_INDENT + line for line in _array_text(matrix).splitlines()]


def _array_text(a: np.ndarray) -> str:
    """NumPy's text of ``a`` with five digits (fixed-point unless every entry is tiny), each
    axis longer than six entries cut to its first and last three."""
    with np.errstate(all="ignore"):
        finite = np.abs(a[np.isfinite(a)])
    fixed = bool(finite.size) and float(finite.max()) >= 1e-3
    return np.array2string(
        a,
        precision=5,
        threshold=0,
        edgeitems=3,
        separator=", ",
        max_line_width=100,
        suppress_small=fixed,
    )
