"""The course on JupyterHub, end to end, in headless Chromium.

The test starts a course hub as ``make hub`` does (``grader.hub``), on free ports of
127.0.0.1, with accounts of its own: an instructor and two students.  Each student logs in,
fetches 02 from the Assignment List, answers it (one right, one with a typical mistake: the
notebook is saved through the student's own Jupyter server, as JupyterLab saves it, with the
student's session) and submits it there.  The instructor collects from the exchange, grades
in the sandbox and releases the feedback with the ``grader`` commands, as the instructor's
account.  Each student then fetches the feedback from the Assignment List and reads their own
result with its diagnosis.  Checked besides: the grades equal what ``grader autograde`` gives
the same notebooks locally; what a student can and cannot reach, as the students' accounts;
Formgrader as the instructor meets it (names, the maths of the manual-grading view rendered
from the server itself).  Everything made (accounts, processes, folders; the hub's
environment when the test made it) is removed afterwards.

Needs root (accounts), Node.js (the proxy), bubblewrap and Chromium: skipped with the reason
otherwise.  About three minutes on two cores (``build/browser/hub-*.png``).
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from browser_lab import ROOT, SCREENSHOTS

from grader.demo.classroom import scripted_notebook
from grader.demo.submissions import BACKPROP_WITHOUT_TANH_DERIVATIVE, Scripted, complete
from grader.hub.accounts import remove_account
from grader.hub.course import as_instructor
from grader.hub.environment import PYTHON, proxy_command
from grader.hub.process import Hub
from grader.hub.settings import Account, HubSettings
from grader.hub.setup import prepare
from grader.pipeline.course import Course

pytestmark = pytest.mark.browser

ASSIGNMENT = "02_two_layer_network"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
INSTRUCTOR = Account("hubtest-teacher", "Tess Teacher")
RIGHT = Account("hubtest-alice", "Alice Liddell")
WRONG = Account("hubtest-bob", "Bob Cratchit")
STUDENTS = (RIGHT, WRONG)
PREFIX = Path(os.environ.get("COURSE_HUB_PREFIX", "/opt/backprop-hub"))
LOCK = Path(tempfile.gettempdir()) / "backprop-hub-test.lock"
"""One run at a time on a machine: the runs share the accounts' names and the environment."""


def _missing() -> str:
    """Why the test cannot run here ("" when it can)."""
    if os.geteuid() != 0:
        return "the hub test needs root: it makes Unix accounts and starts servers as them"
    if not shutil.which("node"):
        return "Node.js is missing (the hub's proxy runs on it): apt-get install nodejs npm"
    if not proxy_command(PREFIX).exists() and not shutil.which("npm"):
        return "npm is missing (it installs the hub's proxy): apt-get install npm"
    if not Path(PYTHON).exists():
        return f"{PYTHON} is missing (the hub's environment is made with it)"
    if not shutil.which("bwrap"):
        return "bubblewrap is missing (grading runs in its sandbox): apt-get install bubblewrap"
    return ""


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_of(names: list[str]) -> list[int]:
    """The processes running as the accounts ``names`` (the test's own)."""
    uids = set()
    for name in names:
        try:
            uids.add(pwd.getpwnam(name).pw_uid)
        except KeyError:
            pass
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    found.append(int(entry.name))
            except FileNotFoundError:
                pass
    return found


def _remove_accounts(names: list[str]) -> None:
    for pid in _processes_of(names):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(0.5)
    for name in names:
        remove_account(name)


@dataclass
class RunningHub:
    settings: HubSettings
    passwords: dict[str, str]
    seconds: float  # to prepare and start it

    def user_url(self, account: Account) -> str:
        return f"{self.settings.url}/user/{account.name}"


@pytest.fixture(scope="module")
def hub(browser):
    """A course hub of the test's own accounts, started as ``make hub`` starts one."""
    missing = _missing()
    if missing:
        pytest.skip(missing)
    lock = open(LOCK, "w")  # noqa: SIM115 - held until the hub and its accounts are gone
    fcntl.flock(lock, fcntl.LOCK_EX)  # another run of this test on this machine goes first
    names = [a.name for a in (INSTRUCTOR, RIGHT, WRONG)]
    _remove_accounts(names)  # left by an interrupted run
    made_environment = not PREFIX.exists()
    state = Path(tempfile.mkdtemp(prefix="backprop-hub-test-", dir="/srv"))
    settings = HubSettings(
        prefix=PREFIX,
        state=state,
        port=_free_port(),
        hub_port=_free_port(),
        proxy_api_port=_free_port(),
        instructor=INSTRUCTOR,
        students=STUDENTS,
        assignments=(ASSIGNMENT,),
    )
    running = None
    try:
        started = time.monotonic()
        passwords = prepare(settings, ROOT, log=io.StringIO())
        running = Hub(settings, state / "hub" / "jupyterhub.log")
        running.wait_ready()
        yield RunningHub(settings, passwords, round(time.monotonic() - started, 1))
    finally:
        if running is not None:
            log = running.tail(200)
            running.stop()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            (SCREENSHOTS / "hub-jupyterhub.log").write_text(log)
        _remove_accounts(names)
        shutil.rmtree(state, ignore_errors=True)
        if made_environment:
            shutil.rmtree(PREFIX, ignore_errors=True)
        lock.close()


# -- A user in the browser ----------------------------------------------------------------

SAVE = """async ([url, notebook]) => {
    const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || '';
    const response = await fetch(url, {
        method: 'PUT',
        headers: {'Content-Type': 'application/json', 'X-XSRFToken': decodeURIComponent(xsrf)},
        body: JSON.stringify({type: 'notebook', format: 'json', content: notebook}),
    });
    return response.status;
}"""


def log_in(browser, hub: RunningHub, account: Account):
    """A page of ``account``'s JupyterLab, logged in through the hub's login form."""
    browser.clear_cookies()
    page = browser.new_page()
    page.goto(f"{hub.settings.url}/hub/login")
    page.fill("#username_input", account.name)
    page.fill("#password_input", hub.passwords[account.name])
    page.click("#login_submit")
    page.wait_for_url("**/lab**", timeout=180_000)
    page.wait_for_selector(".lm-MenuBar-itemLabel", timeout=120_000)
    return page


def open_menu(page, menu: str) -> None:
    """Open the menu ``menu`` of JupyterLab's menu bar (closing whatever menu is open)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(5):
        page.keyboard.press("Escape")
        page.click(f".lm-MenuBar-itemLabel:text-is('{menu}')")
        try:
            page.wait_for_selector(".lm-Menu .lm-Menu-itemLabel", state="visible", timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the menu {menu} does not open")


def menu_items(page, menu: str) -> list[str]:
    open_menu(page, menu)
    labels = "nodes => nodes.map(n => n.textContent)"
    items = page.eval_on_selector_all(".lm-Menu .lm-Menu-itemLabel", labels)
    page.keyboard.press("Escape")
    return [item for item in items if item]


def assignment_list(page):
    open_menu(page, "Nbgrader")
    page.click(".lm-Menu .lm-Menu-itemLabel:text-is('Assignment List')")
    page.wait_for_selector("#released_assignments_list", timeout=30_000)


def press(page, section: str, button: str, then: str) -> None:
    """Press ``button`` on the row of the assignment in the Assignment List's ``section``
    and wait until the row appears in the section ``then``."""
    row = page.locator(f"#{section} .list_item", has_text=ASSIGNMENT).first
    row.get_by_role("button", name=button).click(timeout=60_000)
    page.locator(f"#{then} .list_item", has_text=ASSIGNMENT).first.wait_for(timeout=120_000)


def api(page, hub: RunningHub, account: Account, path: str):
    response = page.request.get(f"{hub.user_url(account)}/api/contents/{path}")
    assert response.ok, f"{path}: {response.status}"
    return response.json()


# -- The term -------------------------------------------------------------------------------


def answer(account: Account, fetched: dict) -> dict:
    """The notebook ``account`` hands in: the master's solutions, or backprop without the
    derivative of tanh (8.22)."""
    master = nbformat.read(str(ROOT / "course" / "source" / ASSIGNMENT / NOTEBOOK), as_version=4)
    release = nbformat.from_dict(fetched)
    if account == RIGHT:
        spec = complete(ASSIGNMENT, account.name)
    else:
        spec = Scripted(
            account.name,
            ASSIGNMENT,
            "backprop without the activation derivative",
            answers={"backprop_solution": BACKPROP_WITHOUT_TANH_DERIVATIVE},
        )
    return scripted_notebook(spec, master, release)


def student_submits(browser, hub: RunningHub, account: Account) -> dict:
    """Fetch, answer and submit as ``account``; what the student saw."""
    page = log_in(browser, hub, account)
    seen = {"menu": menu_items(page, "Nbgrader")}
    assignment_list(page)
    press(page, "released_assignments_list", "Fetch", "fetched_assignments_list")
    path = f"{ASSIGNMENT}/{NOTEBOOK}"
    fetched = api(page, hub, account, path)["content"]
    url = f"{hub.user_url(account)}/api/contents/{path}"
    assert page.evaluate(SAVE, [url, answer(account, fetched)]) == 200
    press(page, "fetched_assignments_list", "Submit", "submitted_assignments_list")
    page.screenshot(path=str(SCREENSHOTS / f"hub-{account.name}-submitted.png"))
    seen["formgrader"] = page.request.get(f"{hub.user_url(account)}/formgrader").status
    other = RIGHT if account == WRONG else WRONG
    seen["other_server"] = page.request.get(f"{hub.user_url(other)}/api/contents").status
    page.close()
    return seen


def student_reads_feedback(browser, hub: RunningHub, account: Account) -> str:
    """Fetch the feedback from the Assignment List as ``account``; the page fetched."""
    page = log_in(browser, hub, account)
    assignment_list(page)
    row = page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first
    row.get_by_role("button", name="Fetch Feedback").click(timeout=60_000)
    folder = f"{ASSIGNMENT}/feedback"
    deadline = time.monotonic() + 60
    while not _listing(page, hub, account, folder) and time.monotonic() < deadline:
        time.sleep(0.5)
    (stamp,) = _listing(page, hub, account, folder)
    path = f"{folder}/{stamp['name']}/{ASSIGNMENT}.html"
    text = api(page, hub, account, path)["content"]
    page.goto(f"{hub.user_url(account)}/files/{path}")
    page.screenshot(path=str(SCREENSHOTS / f"hub-{account.name}-feedback.png"), full_page=True)
    page.close()
    return text


def _listing(page, hub, account, folder) -> list[dict]:
    response = page.request.get(f"{hub.user_url(account)}/api/contents/{folder}")
    return response.json()["content"] if response.ok else []


def instructor_grades(hub: RunningHub) -> dict[str, str]:
    """The instructor's commands, as the instructor, in the course folder."""
    course = Path(pwd.getpwnam(INSTRUCTOR.name).pw_dir) / hub.settings.course_folder
    grader = str(hub.settings.prefix / "bin" / "grader")
    outputs = {}
    for step in (
        ["collect", "--assignment", ASSIGNMENT],
        ["autograde", "--assignment", ASSIGNMENT, "--jobs", "2"],
        ["feedback", "--assignment", ASSIGNMENT],
    ):
        done = as_instructor(hub.settings, [grader, *step], course, timeout=600)
        assert done.returncode in (0, 3), f"grader {step[0]}:\n{done.stdout}\n{done.stderr}"
        outputs[step[0]] = done.stdout + done.stderr
    return outputs


def instructor_in_formgrader(browser, hub: RunningHub) -> dict:
    """Formgrader as the instructor: the students' names, and the manual-grading view of
    the right answer with its maths."""
    page = log_in(browser, hub, INSTRUCTOR)
    seen = {"menu": menu_items(page, "Nbgrader")}
    base = f"{hub.user_url(INSTRUCTOR)}/formgrader"
    page.goto(f"{base}/manage_students")
    page.wait_for_selector(f"text={RIGHT.name}", timeout=60_000)
    seen["students"] = page.inner_text("table")
    submissions = page.request.get(
        f"{base}/api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}"
    ).json()
    (right,) = [s for s in submissions if s["student"] == RIGHT.name]
    outside = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(hub.settings.url) else None,
    )
    page.goto(f"{base}/submissions/{right['id']}/")
    page.wait_for_function(
        "() => document.querySelectorAll('.MathJax, .MathJax_Display').length > 0",
        timeout=60_000,
    )
    seen["maths"] = page.evaluate(
        "() => document.querySelectorAll('.MathJax, .MathJax_Display').length"
    )
    seen["outside"] = outside
    page.screenshot(path=str(SCREENSHOTS / "hub-formgrader-manual-grading.png"))
    page.close()
    return seen


def local_grades(hub: RunningHub, tmp_path: Path) -> dict[str, float]:
    """``grader autograde`` here on a copy of the hub's course as collected (its masters,
    release, submissions and secret), with nothing graded."""
    from grader import cli

    hub_course = Path(pwd.getpwnam(INSTRUCTOR.name).pw_dir) / hub.settings.course_folder
    local = tmp_path / "course"
    graded = ("gradebook.db", "autograded", "grading", "feedback", "reports", "exchange")
    shutil.copytree(hub_course, local, ignore=shutil.ignore_patterns(*graded, "__pycache__"))
    code = cli.main(["autograde", "--course", str(local), "--jobs", "2"])
    assert code in (cli.EXIT_OK, cli.EXIT_TROUBLE)
    return _grades(Course(local))


def _grades(course: Course) -> dict[str, float]:
    return {
        account.name: json.loads(course.result_path(account.name, ASSIGNMENT).read_text())[
            "auto_points"
        ]
        for account in STUDENTS
    }


@pytest.fixture(scope="module")
def term(browser, hub, tmp_path_factory):
    """The whole term through the hub; what everyone saw."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    seen, seconds = {}, {"hub": hub.seconds}

    def step(name, run):
        started = time.monotonic()
        seen[name] = run()
        seconds[name] = round(time.monotonic() - started, 1)

    step("students", lambda: {a.name: student_submits(browser, hub, a) for a in STUDENTS})
    step("commands", lambda: instructor_grades(hub))
    step("local_grades", lambda: local_grades(hub, tmp_path_factory.mktemp("local")))
    step(
        "feedback",
        lambda: {a.name: student_reads_feedback(browser, hub, a) for a in STUDENTS},
    )
    step("formgrader", lambda: instructor_in_formgrader(browser, hub))
    hub_course = Course(Path(pwd.getpwnam(INSTRUCTOR.name).pw_dir) / hub.settings.course_folder)
    seen["hub_grades"] = _grades(hub_course)
    seen["seconds"] = seconds
    (SCREENSHOTS / "hub-term.json").write_text(json.dumps(seen, indent=1))
    return seen


# -- What everyone saw ----------------------------------------------------------------------


def test_students_see_the_assignment_list_and_no_instructor_tool(term):
    for name, seen in term["students"].items():
        assert seen["menu"] == ["Assignment List"], name
        assert seen["formgrader"] == 404, name
        assert seen["other_server"] in (403, 404), f"{name} reached another student's server"


def test_each_student_fetches_their_own_feedback_with_its_diagnosis(term):
    full = _automatic_points()
    right, wrong = term["feedback"][RIGHT.name], term["feedback"][WRONG.name]
    assert f"Feedback for {RIGHT.name}" in right and WRONG.name not in right
    assert f"Feedback for {WRONG.name}" in wrong and RIGHT.name not in wrong
    assert f"<strong>{full:g}</strong> / " in right and "Likely cause" not in right
    assert f"<strong>{term['hub_grades'][WRONG.name]:g}</strong> / " in wrong
    assert "Likely cause" in wrong and "(8.22)" in wrong
    for page in (right, wrong):
        for test_code in ("grade(", "self_check", "BEGIN HIDDEN", "### BEGIN SOLUTION"):
            assert test_code not in page


def test_grades_on_the_hub_equal_grading_the_same_notebooks_locally(term):
    assert term["hub_grades"] == term["local_grades"]
    assert term["hub_grades"][RIGHT.name] == _automatic_points()
    assert term["hub_grades"][WRONG.name] < _automatic_points()


def test_the_instructor_collects_and_releases_through_the_exchange(term):
    for account in STUDENTS:
        assert f"took in {account.name}" in term["commands"]["collect"]
        assert f"released the feedback of {account.name}" in term["commands"]["feedback"]
    assert "graded 2 submissions" in term["commands"]["autograde"]


def test_formgrader_shows_names_and_renders_maths_from_the_server(term):
    seen = term["formgrader"]
    assert {"Formgrader", "Create assignment", "Assignment List"} <= set(seen["menu"])
    assert "Liddell, Alice" in seen["students"] and "Cratchit, Bob" in seen["students"]
    assert "None, None" not in seen["students"]
    assert seen["maths"] > 0
    assert seen["outside"] == [], "the manual-grading view loaded something from elsewhere"


PROBES = """
import glob, json, os, sys
tries = {}
for kind, path in json.loads(sys.argv[1]):
    try:
        if kind == "list":
            os.listdir(path)
        elif kind == "glob":
            if not glob.glob(path):
                raise PermissionError("nothing found")
        else:
            open(path, "rb").read(1)
        tries[path] = "allowed"
    except OSError as error:
        tries[path] = type(error).__name__
print(json.dumps(tries))
"""


def probe(account: Account, tries: list[tuple[str, str]]) -> dict[str, str]:
    """Which of ``tries`` (``("list" | "glob" | "read", path)``) ``account`` can do."""
    runuser = shutil.which("runuser", path="/usr/sbin:/usr/bin:/sbin:/bin")
    command = [runuser, "-u", account.name, "--", PYTHON, "-c", PROBES, json.dumps(tries)]
    done = subprocess.run(command, capture_output=True, text=True, cwd="/", timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_student_reaches_nothing_of_another_student_or_the_instructor(hub, term):
    """As the wrong answer's account: the exchange's inbound and feedback cannot be listed
    (nbgrader names each submission and each feedback page unguessably), the other
    student's home and the instructor's course (submissions, gradebook, masters, grading
    secret, feedback) cannot be read; the student's own feedback can."""
    course = Path(pwd.getpwnam(INSTRUCTOR.name).pw_dir) / hub.settings.course_folder
    other = Path(pwd.getpwnam(RIGHT.name).pw_dir)
    exchange = hub.settings.exchange / "backprop-chapter8"
    forbidden = [
        ("list", str(exchange / "inbound")),
        ("glob", str(exchange / "inbound" / f"{RIGHT.name}+*")),
        ("list", str(exchange / "feedback")),
        ("list", str(other)),
        ("read", str(other / ASSIGNMENT / NOTEBOOK)),
        ("list", str(course)),
        ("read", str(course / "gradebook.db")),
        ("read", str(course / ".grader" / "secret")),
        ("read", str(course / "source" / ASSIGNMENT / NOTEBOOK)),
        ("read", str(course / "submitted" / RIGHT.name / ASSIGNMENT / NOTEBOOK)),
        ("read", str(course / "feedback" / RIGHT.name / ASSIGNMENT / f"{ASSIGNMENT}.html")),
    ]
    own = Path(pwd.getpwnam(WRONG.name).pw_dir) / ASSIGNMENT / "feedback"
    allowed = [("glob", str(own / "*" / f"{ASSIGNMENT}.html"))]
    outcome = probe(WRONG, forbidden + allowed)
    assert {path: outcome[path] for _, path in forbidden if outcome[path] == "allowed"} == {}
    assert outcome[allowed[0][1]] == "allowed"


def _automatic_points() -> float:
    master = Course(ROOT / "course").assignment(ASSIGNMENT)
    return sum(item.points for item in master.items if not item.written)
