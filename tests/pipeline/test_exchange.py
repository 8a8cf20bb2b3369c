"""The term through nbgrader's exchange, on one account: ``grader release`` releases to it,
students fetch and submit with nbgrader's own exchange code, ``grader collect`` takes the
latest genuine submission of each (and nothing a student could plant), ``grader feedback``
releases the project's pages through it and each student fetches their own.  Also: the course
a command works on (found as nbgrader finds it), the students' names in the gradebook, and
the student's summary page after a hand grade and nbgrader's "Generate Feedback".

The exchange is the one a hub names (``COURSE_EXCHANGE``), in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeFetchFeedback, ExchangeSubmit
from traitlets.config import Config

from grader import authoring, cli
from grader.checks import get_check
from grader.judge import answers, judge
from grader.pipeline.course import Course
from grader.pipeline.intake.exchange import exchange_of, nbgrader_config
from grader.pipeline.intake.files import submitted_at
from grader.pipeline.intake.lms import STUDENT_ID
from grader.pipeline.outputs import gradebook
from grader.pipeline.outputs.feedback import feedback_path
from grader.pipeline.results import SubmissionResult
from grader.seeds import hidden_cases

ROOT = Path(__file__).resolve().parents[2]
CHECK = "linear_model_gradient"
COURSE_ID = "backprop-chapter8"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # nbgrader's exchange


def correct(W, X, T):
    return (X @ W.T - T).T @ X


def master() -> list:
    return [
        authoring.markdown("# Assignment a1"),
        authoring.solution(
            """def gradient(W, X, T):
                ### BEGIN SOLUTION
                return (X @ W.T - T).T @ X
                ### END SOLUTION""",
            "a1_solution",
        ),
        authoring.tests(
            f"""from grader import grade
            ### BEGIN HIDDEN TESTS
            grade("{CHECK}", gradient)
            ### END HIDDEN TESTS""",
            "a1_tests",
            points=2,
        ),
        authoring.written("A sum over points.", "a1_written", 1),
    ]


def make_course(root: Path) -> Course:
    root.mkdir(parents=True)
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    authoring.save(root / "source" / "a1" / "a1.ipynb", master())
    return Course(root)


@pytest.fixture
def exchange(tmp_path, monkeypatch) -> Path:
    """The exchange folder a hub would share, named as the hub names it."""
    folder = tmp_path / "exchange"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    monkeypatch.setenv("COURSE_EXCHANGE", str(folder))
    return folder


@pytest.fixture
def course(tmp_path, exchange) -> Course:
    """A one-assignment course, released with ``grader release``."""
    course = make_course(tmp_path / "course")
    assert cli.main(["release", "--course", str(course.root)]) == cli.EXIT_OK
    return course


def student_config(home: Path, exchange: Path, student: str) -> Config:
    """nbgrader as a student's server has it: the course id and the exchange."""
    config = Config()
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.root = str(home)
    config.CourseDirectory.student_id = student
    config.Exchange.root = str(exchange)
    config.Exchange.assignment_dir = str(home)
    config.Exchange.cache = str(home / ".cache")
    return config


def as_student(kind, home: Path, exchange: Path, student: str, assignment: str = "a1"):
    """Run nbgrader's own fetch, submit or fetch-feedback for ``student``."""
    config = student_config(home, exchange, student)
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    app = kind(coursedir=coursedir, authenticator=Authenticator(config=config), config=config)
    app.start()


def submit(home: Path, exchange: Path, student: str, mark: str = "") -> bytes:
    """Fetch a1 (once), answer it, submit it; the notebook submitted (``mark`` tells one
    submission from another)."""
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "a1").exists():
        as_student(ExchangeFetchAssignment, home, exchange, student)
    notebook = home / "a1" / "a1.ipynb"
    data = json.loads(notebook.read_text())
    data["metadata"]["mark"] = mark
    notebook.write_text(json.dumps(data))
    as_student(ExchangeSubmit, home, exchange, student)
    return notebook.read_bytes()


def test_release_puts_every_assignment_in_the_exchange(course, exchange, capsys):
    released = exchange / COURSE_ID / "outbound" / "a1" / "a1.ipynb"
    assert released.read_bytes() == (course.root / "release" / "a1" / "a1.ipynb").read_bytes()
    inbound = exchange / COURSE_ID / "inbound"
    assert inbound.stat().st_mode & 0o7777 == 0o2733  # students write, only the course reads
    assert exchange_of(course).inbound == inbound
    # a second release replaces the first (students who fetched keep what they have)
    assert cli.main(["release", "--course", str(course.root)]) == cli.EXIT_OK
    assert f"released a1 to the exchange {exchange} ({COURSE_ID})" in capsys.readouterr().out


def test_without_the_hub_the_exchange_is_the_course_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_EXCHANGE", raising=False)
    course = make_course(tmp_path / "course")
    assert exchange_of(course).root == course.root / "exchange"
    assert nbgrader_config(course).CourseDirectory.course_id == COURSE_ID


def test_collect_takes_the_latest_submission_of_each_student(course, exchange, tmp_path, capsys):
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    submit(alice, exchange, "alice", "first")
    latest = submit(alice, exchange, "alice", "second")
    submit(bob, exchange, "bob")
    capsys.readouterr()
    assert cli.main(["collect", "--course", str(course.root)]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "took in alice" in out and "took in bob" in out and "2 new submissions" in out
    taken = course.submitted / "alice" / "a1"
    assert (taken / "a1.ipynb").read_bytes() == latest
    assert sorted(p.name for p in taken.iterdir()) == [
        "a1.ipynb",
        "submission_secret.txt",
        "timestamp.txt",
    ]
    assert submitted_at(taken) is not None  # nbgrader's due dates see this time
    assert cli.main(["collect", "--course", str(course.root)]) == cli.EXIT_OK
    assert "0 new submissions" in capsys.readouterr().out
    newer = submit(alice, exchange, "alice", "third")
    assert cli.main(["collect", "--course", str(course.root), "--assignment", "a1"]) == 0
    assert (taken / "a1.ipynb").read_bytes() == newer


def test_a_claimed_time_earlier_than_the_files_is_not_kept(course, exchange, tmp_path, capsys):
    """A student who rewrites the time of a late submission (its timestamp.txt and its
    folder's name) cannot move it before the time its files were written."""
    submit(tmp_path / "alice", exchange, "alice")
    inbound = exchange / COURSE_ID / "inbound"
    (folder,) = inbound.iterdir()
    claimed = "2020-01-01 09:00:00.000000 UTC"
    (folder / "timestamp.txt").write_text(claimed)
    folder.rename(inbound / f"alice+a1+{claimed}+backdated")
    capsys.readouterr()
    assert cli.main(["collect", "--course", str(course.root)]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "claims to be from 2020-01-01 09:00 UTC, but its files were written at" in out
    kept = submitted_at(course.submitted / "alice" / "a1")
    assert abs(kept - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(minutes=1)
    assert cli.main(["collect", "--course", str(course.root)]) == cli.EXIT_OK
    assert "0 new submissions" in capsys.readouterr().out  # the kept time is the later one


@pytest.mark.parametrize("stamp", [None, "submitted on time, honestly"])
def test_a_submission_without_a_readable_time_gets_its_files_time(
    course, exchange, tmp_path, capsys, stamp
):
    """Without a readable timestamp.txt nbgrader would count a submission as on time."""
    submit(tmp_path / "alice", exchange, "alice")
    (folder,) = (exchange / COURSE_ID / "inbound").iterdir()
    if stamp is None:
        (folder / "timestamp.txt").unlink()
    else:
        (folder / "timestamp.txt").write_text(stamp)
    capsys.readouterr()
    assert cli.main(["collect", "--course", str(course.root)]) == cli.EXIT_OK
    assert "has no readable time, but its files were written at" in capsys.readouterr().out
    kept = submitted_at(course.submitted / "alice" / "a1")
    assert abs(kept - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(minutes=1)


def test_an_honest_submissions_own_time_is_kept(course, exchange, tmp_path):
    submit(tmp_path / "bob", exchange, "bob")
    (folder,) = (exchange / COURSE_ID / "inbound").iterdir()
    claimed = (folder / "timestamp.txt").read_text()
    assert cli.main(["collect", "--course", str(course.root)]) == cli.EXIT_OK
    assert (course.submitted / "bob" / "a1" / "timestamp.txt").read_text() == claimed


def test_nbgraders_own_collect_takes_submissions_in_as_the_course_does(course, exchange, tmp_path):
    """``nbgrader collect`` and Formgrader's Collect button go through the course's intake:
    a planted link is not followed, and a backdated submission keeps its files' time."""
    submit(tmp_path / "alice", exchange, "alice")
    inbound = exchange / COURSE_ID / "inbound"
    (folder,) = inbound.iterdir()
    claimed = "2020-01-01 09:00:00.000000 UTC"
    (folder / "timestamp.txt").write_text(claimed)
    secret = tmp_path / "instructors-secret"
    secret.write_text('{"not": "for students"}')
    linked = inbound / f"dave+a1+{claimed}+linked"
    linked.mkdir()
    (linked / "a1.ipynb").symlink_to(secret)
    result = NbGraderAPI(config=nbgrader_config(course)).collect("a1")
    assert result["success"], result.get("log")
    assert "claims to be from 2020-01-01 09:00 UTC" in result["log"]
    assert "no notebook in the submission" in result["log"]
    assert course.students() == ["alice"]
    kept = submitted_at(course.submitted / "alice" / "a1")
    assert abs(kept - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(minutes=1)


def _other_account() -> str:
    """An account of this machine other than the one running the tests."""
    for entry in pwd.getpwall():
        if entry.pw_uid != os.getuid() and STUDENT_ID.match(entry.pw_name):
            return entry.pw_name
    pytest.skip("this machine has no other account")


def test_collect_takes_nothing_a_student_could_plant(course, exchange, tmp_path, capsys):
    inbound = exchange / COURSE_ID / "inbound"
    secret = tmp_path / "instructors-secret"
    secret.write_text("not for students")
    stamp = "2030-01-01 10:00:00.000000 UTC"
    (inbound / f"carol+a1+{stamp}+link").symlink_to(tmp_path)
    linked = inbound / f"dave+a1+{stamp}+linked"
    linked.mkdir()
    (linked / "a1.ipynb").symlink_to(secret)
    piped = inbound / f"erin+a1+{stamp}+fifo"
    piped.mkdir()
    os.mkfifo(piped / "a1.ipynb")
    forged = inbound / f"{_other_account()}+a1+{stamp}+forged"
    forged.mkdir()
    (forged / "a1.ipynb").write_text("{}")
    assert cli.main(["collect", "--course", str(course.root)]) == cli.EXIT_TROUBLE
    err = capsys.readouterr().err
    assert "not a folder" in err
    assert err.count("no notebook in the submission") == 2
    assert f"claims to be by {forged.name.split('+')[0]} but belongs to" in err
    assert course.students() == []


def test_feedback_is_released_through_the_exchange_to_its_student(
    course, exchange, tmp_path, capsys
):
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    submit(alice, exchange, "alice")
    submit(bob, exchange, "bob")
    assert cli.main(["collect", "--course", str(course.root)]) == cli.EXIT_OK
    for student in ("alice", "bob"):
        record_result(course, student)
    capsys.readouterr()
    assert cli.main(["feedback", "--course", str(course.root)]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "released the feedback of alice on a1 to the exchange" in out
    for student, home in (("alice", alice), ("bob", bob)):
        as_student(ExchangeFetchFeedback, home, exchange, student)
        (fetched,) = (home / "a1" / "feedback").glob("*/a1.html")
        page = feedback_path(course, student, "a1", "a1.ipynb").read_text()
        assert fetched.read_text() == page and f"Feedback for {student}" in page
        assert "grade(" not in page


def test_feedback_of_a_submission_not_from_the_exchange_stays_home(course, tmp_path, capsys):
    export = tmp_path / "export"
    export.mkdir()
    shutil.copy(course.root / "release" / "a1" / "a1.ipynb", export / "frank.ipynb")
    assert (
        cli.main(["collect", str(export), "--course", str(course.root), "--assignment", "a1"]) == 0
    )
    record_result(course, "frank")
    assert cli.main(["feedback", "--course", str(course.root)]) == cli.EXIT_OK
    assert "released" not in capsys.readouterr().out
    assert feedback_path(course, "frank", "a1", "a1.ipynb").is_file()


def record_result(course: Course, student: str) -> None:
    """What ``grader autograde`` records for a right answer to a1 (its verdict judged
    here), in the result file and the gradebook."""
    check = get_check(CHECK)
    cases = hidden_cases(check, "")
    verdict = judge(check, cases, answers(check, correct, cases)).to_dict()
    entry = {
        "student": student,
        "assignment": "a1",
        "notebook": "a1.ipynb",
        "status": "graded",
        "problems": [],
        "flags": [],
        "items": [
            {
                "grade_id": "a1_tests",
                "check": CHECK,
                "max_points": 2.0,
                "points": float(verdict["points"]),
                "verdict": verdict,
                "note": "",
            },
            {
                "grade_id": "a1_written",
                "check": "",
                "max_points": 1.0,
                "points": None,
                "verdict": None,
                "note": "graded by hand",
            },
        ],
        "auto_points": float(verdict["points"]),
        "max_points": 3.0,
        "seconds": 1.0,
        "version": 2,
        "submission_sha256": "0" * 64,
    }
    db_url = "sqlite:///" + str(course.root / "gradebook.db")
    gradebook.write(db_url, SubmissionResult.from_json(entry), None)
    path = course.result_path(student, "a1")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entry))


def test_the_summary_page_follows_a_hand_grade_and_generate_feedback(course, exchange, tmp_path):
    """Formgrader's "Generate Feedback" after a hand grade: the assignment's page and the
    student's summary page show the same new total."""
    submit(tmp_path / "alice", exchange, "alice")
    assert cli.main(["collect", "--course", str(course.root)]) == cli.EXIT_OK
    record_result(course, "alice")
    assert cli.main(["feedback", "--course", str(course.root), "--no-exchange"]) == 0
    index = course.root / "feedback" / "alice" / "index.html"
    before = index.read_text()
    with Gradebook("sqlite:///" + str(course.root / "gradebook.db")) as gb:
        gb.find_grade("a1_written", "a1", "a1", "alice").manual_score = 0.5
        gb.db.commit()
    autograded = course.root / "autograded" / "alice" / "a1"
    autograded.mkdir(parents=True)
    shutil.copy(course.submitted / "alice" / "a1" / "a1.ipynb", autograded)
    result = NbGraderAPI(config=nbgrader_config(course)).generate_feedback("a1", "alice")
    assert result["success"], result.get("log")
    page = feedback_path(course, "alice", "a1", "a1.ipynb").read_text()
    assert "Total so far: 2.5 / 3 points" in page
    assert index.read_text() != before and "2.5 / 3" in index.read_text()


def test_students_are_named_in_the_gradebook(course):
    record_result(course, "alice")
    with Gradebook("sqlite:///" + str(course.root / "gradebook.db")) as gb:
        student = gb.find_student("alice")
        assert (student.first_name, student.last_name) == gradebook.student_names("alice")
        assert student.last_name
    account = pwd.getpwuid(os.getuid())
    full = account.pw_gecos.split(",")[0].strip()
    assert " ".join(gradebook.student_names(account.pw_name)).strip() == (full or account.pw_name)
    assert gradebook.student_names("no-such-account-here") == ("", "no-such-account-here")


# -- The course a command works on --------------------------------------------------------


def test_the_working_folder_holding_a_course_is_the_course(course, tmp_path, monkeypatch):
    export = tmp_path / "export"
    export.mkdir()
    shutil.copy(course.root / "release" / "a1" / "a1.ipynb", export / "grace.ipynb")
    monkeypatch.chdir(course.root)
    assert cli.main(["collect", str(export), "--assignment", "a1"]) == cli.EXIT_OK
    assert (course.submitted / "grace" / "a1" / "a1.ipynb").is_file()
    assert not (ROOT / "course" / "submitted" / "grace").exists()


def test_course_given_explicitly_wins_over_the_working_folder(course, tmp_path, monkeypatch):
    other = make_course(tmp_path / "other")
    monkeypatch.chdir(course.root)
    assert cli._course(argparse.Namespace(course=str(other.root))).root == other.root
    assert cli._course(argparse.Namespace(course=None)).root == course.root


def test_a_configuration_naming_the_course_root_is_followed(course, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course.root)!r}\n"
    )
    monkeypatch.chdir(home)
    assert cli._course(argparse.Namespace(course=None)).root == course.root


def test_elsewhere_the_course_is_the_repositorys(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli._course(argparse.Namespace(course=None)).root == ROOT / "course"
