"""Shared fixtures of the notebook tests: the masters (paths and readers are in
``notebook_files``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_files import MASTERS


@pytest.fixture(params=MASTERS, ids=[p.stem for p in MASTERS])
def master(request) -> Path:
    return request.param
