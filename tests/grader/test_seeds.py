"""The seeds of the cases are defined for every student folder name the file system can give,
one that is not UTF-8 too (Python holds its bytes as surrogate escapes), and the seed of every
UTF-8 name is the one it always was: a regrade meets the cases it met before."""

from __future__ import annotations

import os

import numpy as np

from grader.seeds import hidden_cases, seed

CHECK = "linear_model_gradient"
NOT_UTF8 = os.fsdecode(b"bad\xff")  # as os.listdir gives a folder named by the bytes b"bad\xff"


def test_the_seeds_of_utf8_names_are_unchanged():
    """The values the seeds had before names that are not UTF-8 were admitted."""
    assert seed("visible", CHECK) == 5477126328639546152
    key = "secret:a1:zoë:" + "0" * 64
    assert seed("hidden", CHECK, key) == 15217137540160125660


def test_a_name_that_is_not_utf8_has_a_seed_of_its_own():
    assert NOT_UTF8 == "bad\udcff"
    mine = seed("hidden", CHECK, f"secret:a1:{NOT_UTF8}:")
    assert mine == seed("hidden", CHECK, f"secret:a1:{NOT_UTF8}:")
    assert mine != seed("hidden", CHECK, "secret:a1:bad\\xff:")
    other = os.fsdecode(b"bad\xfe")
    assert mine != seed("hidden", CHECK, f"secret:a1:{other}:")


def test_the_hidden_cases_of_a_student_named_in_bytes_that_are_not_utf8_are_drawn():
    cases = hidden_cases(CHECK, "secret", "a1", NOT_UTF8, "0" * 64)
    again = hidden_cases(CHECK, "secret", "a1", NOT_UTF8, "0" * 64)
    assert cases and [c.name for c in cases] == [c.name for c in again]
    assert all(np.array_equal(a, b) for c, d in zip(cases, again) for a, b in zip(c.args, d.args))
