"""Fixtures of the browser tests: one headless Chromium, and JupyterLab servers started and
stopped here.  Without Chromium or Playwright the tests are skipped with the command that
installs them (``make browser``, as root).  Run them on their own with
``pytest -m browser tests/browser``.
"""

from __future__ import annotations

import shutil

import pytest
from browser_lab import CHROMIUM, CHROMIUM_FLAGS, INSTALL, ROOT, SCREENSHOTS, Lab, solved_copy

from grader.pipeline.course import GENERATED


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: JupyterLab in headless Chromium (slow; run with -m browser)"
    )


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """A headless Chromium with a fresh profile, shared by the tests."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}: {INSTALL}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(f"Playwright is not installed: {INSTALL}")
    profile = tmp_path_factory.mktemp("chromium-profile")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="session")
def course_lab(tmp_path_factory):
    """JupyterLab on a folder with two copies of every student notebook: ``fresh/`` as
    released, ``solved/`` with the masters' solutions in the solution cells."""
    home = tmp_path_factory.mktemp("lab")
    root = home / "course"
    for edition in ("fresh", "solved"):
        (root / edition).mkdir(parents=True)
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy(path, root / "fresh" / path.name)
        solved_copy(path, root / "solved" / path.name)
    lab = Lab(root, home)
    yield lab
    lab.stop()


@pytest.fixture(scope="session")
def formgrader_lab(tmp_path_factory):
    """JupyterLab started in a fresh copy of ``course/``: no gradebook, no release."""
    home = tmp_path_factory.mktemp("formgrader")
    course = home / "course"
    shutil.copytree(
        ROOT / "course",
        course,
        ignore=shutil.ignore_patterns(*GENERATED, "__pycache__"),
    )
    lab = Lab(course, home)
    yield lab
    lab.stop()
