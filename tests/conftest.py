"""Shared pytest configuration: a deterministic, fast hypothesis profile, and the longest
test files first.

``derandomize`` makes every run draw the same examples (no flaky CI), ``database=None``
keeps the working tree clean, and no deadline applies because the first call of a test
pays for imports.  Set ``HYPOTHESIS_PROFILE=thorough`` for a longer search.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# The files that take longest, longest first: ``pytest -n N --dist loadfile
# --no-loadscope-reorder`` hands files to its workers in this order, and a long file started
# last keeps one worker busy while the others have finished.  The hub's test spends minutes
# installing its environment and the browser's wait on pages, so they go first, beside the
# files that compute.
LONGEST_FIRST = (
    "tests/browser/test_hub.py",
    "tests/browser/test_browser.py",
    "tests/pipeline/test_mistakes_report.py",
    "tests/pipeline/test_cost_clock.py",
    "tests/browser/test_student_lab.py",
    "tests/pipeline/test_exchange.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: place for place, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
