"""Shared generators of random inputs for the checks (shapes vary from case to case)."""

from __future__ import annotations

import numpy as np


def sizes(rng: np.random.Generator, low: int = 1, high: int = 5, n: int = 1) -> list[int]:
    """``n`` random sizes in ``[low, high]``."""
    return [int(s) for s in rng.integers(low, high + 1, size=n)]


def normal(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    """Standard normal entries times ``scale``."""
    return rng.normal(0.0, scale, size=shape)
