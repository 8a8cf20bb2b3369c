"""The cost of a method, measured by the trusted side's clock: a grading run that measures
cost gets a check's cases only when its graded call asks for them, and the check's time runs
from when this side sent them to its last records.

- The bookkeeping, without a sandbox: each check is served once and only on request,
  records sent before the cases do not count, the last records do, a check that sends
  none ran out of time, and the run's deadline is the window of the check that waits.
- The pipes: the trusted side never waits for the sandbox to read its cases, and the run
  picks its cases out of whatever else arrives on its standard input.
- Through the pipeline, with the sandbox on: a slow method that switches off the timer
  inside the sandbox (the red team's central differences), or that forges a request or
  records to gain time, fails the cost case with its usual feedback; the honest solution
  keeps its points (``test_builds`` grades every master's runs).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time

import pytest

from grader.demo.classroom import build_demo_class
from grader.demo.submissions import JACOBIAN, Scripted, complete
from grader.pipeline.autograde import Batch
from grader.pipeline.intake.discover import discover, fingerprint
from grader.pipeline.judging.verdicts import decide
from grader.pipeline.results import Execution, GradingRun
from grader.pipeline.sandbox import bubblewrap
from grader.pipeline.sandbox.grading_worker import GradingWorker
from grader.pipeline.sandbox.limits import Limits
from grader.pipeline.sandbox.processor_time import tree_seconds
from grader.pipeline.sandbox.readback import STOPPED_AT_WINDOW, CostClock, read_back
from grader.pipeline.sandbox.streams import Read, converse
from grader.sandboxed import channel
from grader.sandboxed.grading_run import Cases

# -- the bookkeeping ---------------------------------------------------------------------------

WINDOW = 5.0


def cost_run(*checks: str, ordinary: str = "") -> GradingRun:
    """A run of ``checks`` whose cases all measure cost (one graded call and one case, named
    after it, each), and of the ``ordinary`` check, whose case is in the program."""
    cases = {
        channel.cost_key(c): {
            "caller": "positional",
            "cases": [{"name": f"{c} case", "args": [], "seconds": 1.0}],
        }
        for c in checks
    }
    if ordinary:
        cases = {ordinary: {"caller": "positional", "cases": [{"name": "plain", "args": []}]}}
        cases |= {k: v for k, v in cost_run(*checks).cases.items()}
    graded = [c for c in dict.fromkeys((*checks, ordinary)) if c]
    steps = [{"grade": c, "function": f"f_{c}"} for c in graded]
    windows = {channel.cost_key(c): WINDOW for c in checks}
    return GradingRun((), graded, steps, cases, cost_windows=windows)


A, B = channel.cost_key("a"), channel.cost_key("b")


class Ticks:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def request(check: str) -> bytes:
    """The run's request for the cost cases of ``check``."""
    return channel.request_message(channel.cost_key(check)).encode().strip()


def records(check: str, answer: float = 1.0, key: str = "") -> bytes:
    """Records of the cost case of ``check`` (under ``key``, when given)."""
    case = [{"case": f"{check} case", "answer": answer}]
    return channel.records_message(key or channel.cost_key(check), case).encode().strip()


def test_each_check_gets_its_cases_once_and_only_when_it_asks():
    clock = CostClock(cost_run("a", "b"), Ticks())
    assert clock.hear(b"not a message") == b""
    assert clock.hear(request("unknown")) == b""
    answer = clock.hear(request("a"))
    assert channel.read_cases(answer) == (A, [{"name": "a case", "args": [], "seconds": 1.0}])
    assert clock.hear(request("a")) == b""  # served: the sandbox keeps what it got
    assert set(clock.sent) == {A}


def test_records_sent_before_the_cases_are_dropped():
    ticks = Ticks()
    clock = CostClock(cost_run("a"), ticks)
    clock.hear(records("a", answer=2.0))  # forged: the cases were not sent yet
    ticks.now = 10.0
    clock.hear(request("a"))
    ticks.now = 11.0
    clock.hear(records("a"))
    assert clock.arrived == {A: [11.0]} and clock.too_slow() == {}
    found, failed = clock.read([])
    assert found == {A: [[{"case": "a case", "answer": 1.0}]]} and failed == []


def test_the_last_records_are_the_ones_timed():
    ticks = Ticks()
    clock = CostClock(cost_run("a"), ticks)
    clock.hear(request("a"))
    ticks.now = 0.1
    clock.hear(records("a"))  # forged in the graded function, at once
    ticks.now = WINDOW + 3
    clock.hear(records("a"))  # the slow method's answer
    assert "8.0 s after receiving the cases" in clock.too_slow()[A]


def test_processor_time_spread_over_many_cores_counts_as_on_one():
    """A method that splits its work over processes finishes within the window on a
    machine of many idle cores, but not within the window of processor time."""
    ticks, used = Ticks(), Ticks()
    clock = CostClock(cost_run("a", "b"), ticks)
    clock.processor = used
    used.now = 3.0  # the replay before the graded call
    clock.hear(request("a"))
    ticks.now, used.now = 2.0, 3.0 + 8 * 1.9  # eight processes, 1.9 s each
    clock.hear(records("a"))
    clock.hear(request("b"))
    ticks.now, used.now = 3.0, 15.2 + 0.9  # one process, less than the window
    clock.hear(records("b"))
    assert set(clock.too_slow()) == {A}
    assert "15.2 s of processor time after receiving the cases (of 5)" in clock.too_slow()[A]


def test_a_flood_of_records_reads_the_processor_time_a_few_times():
    """Thousands of records lines within a moment cost one reading of ``/proc``."""
    ticks, reads = Ticks(), []
    clock = CostClock(cost_run("a"), ticks)
    clock.processor = lambda: reads.append(ticks.now) or 0.0
    clock.hear(request("a"))
    for i in range(5000):
        ticks.now = i * 1e-4
        clock.hear(records("a"))
    assert len(reads) == 3  # at the request, then 0.2 s and 0.4 s later


def test_the_processor_time_of_a_tree_counts_every_descendant(tmp_path):
    """Children that burn processor time and are collected by their parent count in the
    parent's tree; another process's do not."""
    burn = (
        "import os, time\n"
        "for _ in range(2):\n"
        "    if os.fork() == 0:\n"
        "        while time.process_time() < 0.3:\n"
        "            pass\n"
        "        os._exit(0)\n"
        "os.wait(); os.wait()\n"
        "print('done', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", burn], stdout=subprocess.PIPE)
    try:
        assert process.stdout.readline() == b"done\n"
        assert tree_seconds(process.pid) >= 0.55
        assert tree_seconds(os.getpid()) >= tree_seconds(process.pid)  # its parent's tree
    finally:
        process.kill()
        process.wait()
    assert tree_seconds(process.pid) == 0.0  # gone


def test_a_process_name_with_brackets_and_spaces_is_read(tmp_path):
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "stat").write_text("7 (a) b (c) S 1 " + "0 " * 9 + "100 50 25 25 0 0\n")
    (tmp_path / "8").mkdir()
    (tmp_path / "8" / "stat").write_text("8 (x) S 7 " + "0 " * 9 + "10 0 0 0 0 0\n")
    (tmp_path / "9").mkdir()
    (tmp_path / "9" / "stat").write_text("9 (y) S 1 " + "0 " * 9 + "999 0 0 0 0 0\n")
    ticks = os.sysconf("SC_CLK_TCK")
    assert tree_seconds(7, str(tmp_path)) == pytest.approx(210 / ticks)


def test_a_check_that_got_its_cases_and_sent_no_records_ran_out_of_time():
    clock = CostClock(cost_run("a", "b"), Ticks())
    clock.hear(request("a"))
    assert set(clock.too_slow()) == {A}  # b never asked: judged as not answered


def test_the_deadline_is_the_window_of_the_check_waiting_for_its_records():
    ticks = Ticks()
    clock = CostClock(cost_run("a", "b"), ticks)
    assert clock.deadline(100.0) == 100.0  # start-up and replay: the run's own limit
    ticks.now = 10.0
    clock.hear(request("a"))
    assert clock.deadline(100.0) == 10.0 + WINDOW
    assert clock.deadline(12.0) == 12.0
    ticks.now = 11.0
    clock.hear(records("a"))
    assert clock.deadline(100.0) == 100.0  # the replay up to the next graded call
    ticks.now = 20.0
    clock.hear(request("b"))
    assert clock.deadline(100.0) == 20.0 + WINDOW


def test_every_case_of_a_slow_check_is_a_timeout():
    run = cost_run("a", "b")
    ticks = Ticks()
    clock = CostClock(run, ticks)
    clock.hear(request("a"))
    ticks.now = 1.0
    clock.hear(records("a"))
    clock.hear(request("b"))
    ticks.now = 1.0 + WINDOW + 0.5
    result = Execution("s", "x")
    read_back(run, Read(b"", "timeout"), -9, 60.0, result, clock)
    assert result.records["a"] == [[{"case": "a case", "answer": 1.0}]]
    ((timed_out,),) = result.records["b"]
    assert timed_out["case"] == "b case" and timed_out["error"]["kind"] == channel.TIMEOUT
    assert result.problems == [
        "the run that measures the cost of your method was stopped: it ran past the time its "
        "cases allow"
    ]


def test_the_other_cases_of_a_run_pass_as_they_come_and_are_not_timed():
    ticks = Ticks()
    run = cost_run("a", ordinary="p")
    clock = CostClock(run, ticks)
    plain = channel.records_message("p", [{"case": "plain", "answer": 3.0}]).encode().strip()
    clock.hear(plain)  # before any cost case was asked for: kept
    clock.hear(request("a"))
    ticks.now = 1.0
    clock.hear(records("a"))
    ticks.now = 100.0
    clock.hear(plain)  # a second graded call's, long after: kept, and never late
    assert clock.too_slow() == {} and clock.arrived == {A: [1.0]}
    result = Execution("s", "x")
    read_back(run, Read(b"", "end"), 0, 60.0, result, clock)
    assert result.records["p"] == [[{"case": "plain", "answer": 3.0}]]  # one graded call
    assert result.records["a"] == [[{"case": "a case", "answer": 1.0}]]
    assert result.problems == []


def test_a_checks_cost_records_follow_its_other_records_in_the_same_call():
    run = cost_run("a", ordinary="a")  # the check "a" has an ordinary case and a cost case
    ticks = Ticks()
    clock = CostClock(run, ticks)
    clock.hear(channel.records_message("a", [{"case": "plain", "answer": 3.0}]).encode())
    clock.hear(request("a"))
    clock.hear(records("a"))
    result = Execution("s", "x")
    read_back(run, Read(b"", "end"), 0, 60.0, result, clock)
    assert [[r["case"] for r in call] for call in result.records["a"]] == [["plain", "a case"]]


def test_records_under_a_key_count_only_for_that_keys_cases():
    run = cost_run("a", ordinary="a")
    ticks = Ticks()
    clock = CostClock(run, ticks)
    forged = [{"case": "plain", "answer": 3.0}, {"case": "a case", "answer": 9.0}]
    clock.hear(channel.records_message("a", forged).encode())  # the cost case, untimed
    clock.hear(request("a"))
    clock.hear(records("a"))
    result = Execution("s", "x")
    read_back(run, Read(b"", "end"), 0, 60.0, result, clock)
    assert result.records["a"] == [
        [{"case": "plain", "answer": 3.0}, {"case": "a case", "answer": 1.0}]
    ]


def test_a_run_stopped_at_a_cost_window_hands_back_the_cases_it_did_not_reach():
    run = cost_run("a", "b", ordinary="p")  # graded in that order: a, b, p
    ticks = Ticks()
    clock = CostClock(run, ticks)
    clock.hear(request("a"))
    ticks.now = WINDOW + 1  # a's slow method: the run is stopped at the end of its window
    result = Execution("s", "x")
    redo = read_back(run, Read(b"", STOPPED_AT_WINDOW), -9, 60.0, result, clock)
    assert sorted(redo) == [B, "p"]  # b's cost case was never asked for, p's cases never ran
    ((timed_out,),) = result.records["a"]
    assert timed_out["error"]["kind"] == channel.TIMEOUT
    assert set(result.records) == {"a"}  # nothing of b or p is judged from this run
    rest = run.only(redo)
    assert set(rest.cases) == {B, "p"} and rest.cost_windows == {B: WINDOW}


def test_a_run_stopped_at_its_own_limit_gets_no_second_run():
    run = cost_run("a", ordinary="p")
    clock = CostClock(run, Ticks())
    clock.hear(request("a"))  # asked for near the end of the run's own time
    result = Execution("s", "x")
    assert read_back(run, Read(b"", "timeout"), -9, 60.0, result, clock) == []
    ((ran_out,),) = result.records["p"]
    assert ran_out["error"]["kind"] == channel.TIMEOUT


def test_millions_of_items_in_a_runs_messages_are_not_parsed():
    flood = b'{"check": "a", "records": [{"case": "x", "answer": [' + b"1," * 2_100_000 + b"0]}]}"
    problems: list[str] = []
    records, _ = channel.read_messages(flood, problems)
    assert records == {} and problems == [channel.MALFORMED]


def test_a_record_that_does_not_name_its_case_in_text_is_dropped():
    line = channel.records_message("a", [{"case": ["x"], "answer": 1.0}, {"case": "a case"}])
    problems: list[str] = []
    records, _ = channel.read_messages(line.encode(), problems)
    assert records == {"a": [[{"case": "a case"}]]} and problems == []


# -- the pipes ---------------------------------------------------------------------------------


def test_the_trusted_side_never_waits_for_the_sandbox_to_read_its_cases():
    big = b"x" * (4 * 1024**2) + b"\n"  # far more than a pipe holds
    heard = []

    def hear(line: bytes) -> bytes:
        heard.append(line)
        return big

    messages_read, messages_write = os.pipe()
    answers_read, answers_write = os.pipe()
    os.write(messages_write, b'{"request": "a"}\n')
    start = time.monotonic()
    read = converse(messages_read, answers_write, 10**6, hear, lambda: start + 0.5)
    assert read.stopped == "timeout"  # nobody read its cases, and it did not wait
    assert time.monotonic() - start < 30  # a guard against a hang: blocked, it never returns
    assert heard == [b'{"request": "a"}']
    for fd in (messages_read, messages_write, answers_read, answers_write):
        os.close(fd)

    messages_read, messages_write = os.pipe()
    answers_read, answers_write = os.pipe()
    received = bytearray()

    def sandbox() -> None:  # reads its answer slowly, then says its last and ends
        time.sleep(0.3)
        while not received.endswith(b"\n"):
            received.extend(os.read(answers_read, 1024**2))
        os.write(messages_write, b"unfinished")
        os.close(messages_write)

    reader = threading.Thread(target=sandbox)
    reader.start()
    os.write(messages_write, b'{"request": "b"}\n')
    read = converse(messages_read, answers_write, 10**6, hear, lambda: time.monotonic() + 30)
    reader.join()
    assert read.stopped == "end" and heard[1:] == [b'{"request": "b"}', b"unfinished"]
    assert received == big
    for fd in (messages_read, answers_read, answers_write):
        os.close(fd)


def test_the_run_picks_its_cases_out_of_what_arrives_and_keeps_them():
    answers = io.BytesIO(
        b"not the cases of a check\n"
        + channel.cases_message("b", [{"name": "b case"}])  # a request the run did not make
        + channel.cases_message("a", [{"name": "a case"}])
    )
    messages = io.StringIO()
    cases = Cases({"a": {"caller": "positional"}, "b": {"caller": "positional"}}, messages, answers)
    assert cases.of("a") == [{"name": "a case"}]
    assert cases.of("b") == [{"name": "b case"}]
    assert cases.of("a") == [{"name": "a case"}]
    assert cases.of("c") is None  # the stream ended
    asked = messages.getvalue()
    assert asked == channel.request_message("a") + channel.request_message("c")


# -- through the pipeline ----------------------------------------------------------------------

needs_bubblewrap = pytest.mark.skipif(
    bubblewrap.bubblewrap() is None, reason="bubblewrap is not installed (make sandbox)"
)

CELL = "softmax_network_jacobian_solution"
CHECK = "softmax_network_jacobian"
COST_KEY = channel.cost_key(CHECK)  # the name its cost case travels under
LIMITS = Limits(cell_seconds=30)
SLEEP = 8  # seconds: past the cost case's window of 3 x 1 s + 2 s
SALT = "cost clock"  # the course's secret: one whose hidden cases all these students can draw
# (about one draw in 25 of jacobian_forward_propagation's cases finds no informative case)

JACOBIAN_BY_BACKPROPAGATION = """\
def _jacobian(W1, b1, W2, b2, x):
    z = np.tanh(W1 @ x + b1)
    a_out = W2 @ z + b2
    y = np.exp(a_out - np.max(a_out))
    y = y / np.sum(y)
    return (np.diag(y) - np.outer(y, y)) @ (W2 * (1.0 - z**2)) @ W1
"""

# The red team's finding: central differences, with the timer of the sandbox switched off.
CENTRAL_DIFFERENCES = '''\
import signal as _signal
def softmax_network_jacobian(net, x):
    """Black-box central differences (D forward passes): what the cost case must fail."""
    _signal.setitimer(_signal.ITIMER_REAL, 0)   # switch off the per-case time limit
    def f(v):
        a_out = net.W2 @ np.tanh(net.W1 @ v + net.b1) + net.b2
        y = np.exp(a_out - np.max(a_out))
        return y / np.sum(y)
    x = np.array(x, dtype=float)
    D = x.size
    K = f(x).size
    J = np.empty((K, D))
    for i in range(D):
        h = 1e-6 * max(1.0, abs(x[i]))
        old = x[i]
        x[i] = old + h; fp = f(x)
        x[i] = old - h; fm = f(x)
        x[i] = old
        J[:, i] = (fp - fm) / (2 * h)
    return J
'''


def slowly(setup: str = "", at_once: str = "") -> str:
    """Right answers, slowly on the cost case, with the timer of the sandbox switched off;
    ``setup`` stands before the function, ``at_once`` starts its cost case."""
    return (
        f"import signal\nimport time\n\n{JACOBIAN_BY_BACKPROPAGATION}\n{setup}\n\n"
        "def softmax_network_jacobian(net, x):\n"
        "    if np.size(x) > 10_000:\n"
        f"{at_once}"
        "        signal.setitimer(signal.ITIMER_REAL, 0)\n"
        f"        time.sleep({SLEEP})\n"
        "    return _jacobian(net.W1, net.b1, net.W2, net.b2, x)\n"
    )


# Asks for the cases from a statement before the graded call, answers them there slowly.
FORGED_REQUEST = f"""\
import os
import signal
import sys
import time

{JACOBIAN_BY_BACKPROPAGATION}

def _ahead():
    if not sys.argv[0].endswith("grading_run.py"):
        return {{}}
    os.write(int(sys.argv[-1]), b'{{"request": "{COST_KEY}"}}\\n')
    try:
        from grader.sandboxed.channel import read_cases

        _, cases = read_cases(sys.stdin.buffer.readline())
    except Exception:
        return {{}}
    signal.setitimer(signal.ITIMER_REAL, 0)
    time.sleep({SLEEP})
    return {{int(np.size(c["args"][4])): _jacobian(*c["args"]) for c in cases}}


_answered = _ahead()


def softmax_network_jacobian(net, x):
    found = _answered.get(int(np.size(x)))
    return _jacobian(net.W1, net.b1, net.W2, net.b2, x) if found is None else found
"""

# Writes records of the check's cost case on the pipe, in the run that measures cost (a
# forgery under the check's own name would cost it the other cases, before the clock is any
# matter).
FORGE = f"""\
import gc
import json
import os
import sys


def _forge():
    found = (o for o in gc.get_objects() if isinstance(o, dict) and "on_request" in o)
    if next(found, {{}}).get("on_request"):
        line = json.dumps({{"check": "{COST_KEY}", "records": []}}) + "\\n"
        os.write(int(sys.argv[-1]), line.encode())
    return True
"""

# Honest, and slow on its cost case (the right-to-left order, say, on a busy machine): a
# stop at the end of that window must cost this check's cost case alone, not the cases of
# the tasks graded after it in the same run.
SLOW_FIRST = f"""\
import signal
import time


def module_chain_gradient(dE_dy, dy_dz, dz_dw):
    if np.size(dE_dy) >= 8000:
        signal.setitimer(signal.ITIMER_REAL, 0)
        time.sleep({SLEEP})
    return (dE_dy @ dy_dz) @ dz_dw
"""

# The red team's: asks for the cost case from a statement, stops the clock at once with an
# empty record of the cost key, then computes every case (the others found in the program)
# by central differences with the timer off and sends them, the cost case among them, as
# the first records under the check's own name; the graded call then skips the cost key.
FORGED_UNDER_THE_CHECKS_NAME = '''\
import gc
import json
import os
import sys
import time

_forged = None


def softmax_network_jacobian(net, x):
    """Black-box central differences: D forward passes."""
    _ = _forged
    def f(v):
        a_out = net.W2 @ np.tanh(net.W1 @ v + net.b1) + net.b2
        y = np.exp(a_out - np.max(a_out))
        return y / np.sum(y)
    x = np.array(x, dtype=float)
    D = x.size
    K = f(x).size
    J = np.empty((K, D))
    for i in range(D):
        h = 1e-6 * max(1.0, abs(x[i]))
        old = x[i]
        x[i] = old + h; fp = f(x)
        x[i] = old - h; fm = f(x)
        x[i] = old
        J[:, i] = (fp - fm) / (2 * h)
    return J


def _forge():
    if not sys.argv[0].endswith("grading_run.py"):
        return None
    import signal
    from grader.sandboxed.callers import CALLERS
    from grader.sandboxed.calls import run_cases
    from grader.sandboxed.channel import read_cases, records_message
    check = "softmax_network_jacobian"
    key = check + "#cost"
    fd = int(sys.argv[-1])
    program = next(o for o in gc.get_objects()
                   if isinstance(o, dict) and "on_request" in o and "checks" in o)
    checks = program["checks"]
    if key not in checks or check not in checks:
        return None
    os.write(fd, (json.dumps({"request": key}) + "\\n").encode())
    while True:
        sent, cost = read_cases(sys.stdin.buffer.readline())
        if sent == key:
            break
    os.write(fd, records_message(key, []).encode())   # the trusted clock stops here
    t0 = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 0)             # the statement's own timer
    plain = [{k: v for k, v in c.items() if k != "seconds"} for c in cost]
    caller = CALLERS[checks[check]["caller"]]
    records = run_cases(caller, softmax_network_jacobian, checks[check]["cases"] + plain,
                        time_limit=10**6)
    for r in records:
        r["seconds"] = 0.001
    os.write(fd, records_message(check, records).encode())   # first records of the check
    del checks[key]                                            # the graded call skips it
    return time.monotonic() - t0


_forged = _forge()
'''

ATTACKS = {
    "central differences without the timer": CENTRAL_DIFFERENCES,
    "right answers, slowly, without the timer": slowly(),
    "a forged request from a statement": FORGED_REQUEST,
    "forged records from a statement": slowly(
        f"{FORGE}\n_forged = _forge()", "        assert _forged\n"
    ),
    "forged records from the graded function": slowly(FORGE, "        _forge()\n"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, tuple[Execution, object]]:
    """Every attacker's grading runs (and the honest student's), as the pipeline makes them
    after the notebook's run: what they sent back and the verdict of the cost check."""
    if bubblewrap.bubblewrap() is None:
        pytest.skip("bubblewrap is not installed (make sandbox)")
    out = tmp_path_factory.mktemp("cost")
    specs = [complete(JACOBIAN, "honest")]
    for i, (story, source) in enumerate(ATTACKS.items()):
        specs.append(Scripted(f"attack_{i}", JACOBIAN, story, answers={CELL: source}, honest=False))
    answer = {CELL: FORGED_UNDER_THE_CHECKS_NAME}
    specs.append(Scripted("forged_name", JACOBIAN, "forged", answers=answer, honest=False))
    answers = {"module_chain_gradient_solution": SLOW_FIRST}
    specs.append(Scripted("slow_first", JACOBIAN, "slow on a cost case", answers=answers))
    course = build_demo_class(out, (JACOBIAN,), specs)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADER_SALT", SALT)
        batch = Batch(course, out)
    worker = GradingWorker(out / "worker", LIMITS, private=(course.root,))
    found, results = {}, {}
    for job in discover(course):
        prepared = batch.prepare(job)
        execution = Execution(job.student, job.assignment)
        start = time.monotonic()
        for run in prepared.task.grading_runs:
            worker._grading_run(prepared.task, run, execution)
        execution.grading_run_seconds = time.monotonic() - start
        assignment = course.assignment(JACOBIAN)
        result = decide(
            assignment, execution, prepared.submitted, batch.secret, fingerprint(job.path)
        )
        (item,) = [i for i in result.items if i.check == CHECK]
        found[job.student] = (execution, item.verdict)
        results[job.student] = result
    found["results"] = results
    return found


@needs_bubblewrap
def test_the_honest_solution_passes_the_cost_case(graded):
    execution, verdict = graded["honest"]
    assert verdict.points == verdict.max_points, [r.problem for r in verdict.results]
    assert execution.problems == []


@needs_bubblewrap
@pytest.mark.parametrize("story", list(ATTACKS))
def test_a_slow_method_fails_the_cost_case_whatever_it_switches_off_or_forges(graded, story):
    student = f"attack_{list(ATTACKS).index(story)}"
    execution, verdict = graded[student]
    (cost,) = [r for r in verdict.results if r.case.startswith("cost:")]
    assert not cost.passed
    assert "too slow for this case's time budget of 1 s" in cost.problem
    assert "backward passes" in cost.problem  # what the budget allows, as the judge says it
    others = [r for r in verdict.results if r is not cost]
    assert all(r.passed for r in others), [r.problem for r in others]
    # stopped by the end of the check's window, not at the run's own limit
    assert not any("did not finish within" in p for p in execution.problems), execution.problems


@needs_bubblewrap
def test_a_slow_cost_case_costs_that_case_and_no_task_graded_after_it(graded):
    result = graded["results"]["slow_first"]
    by_check = {item.check: item for item in result.items if item.check}
    chain = by_check["module_chain_gradient"].verdict
    failed = [r for r in chain.results if not r.passed]
    assert [r.case.startswith("cost:") for r in failed] == [True]
    for check in ("softmax_network_jacobian", "jacobian_forward_propagation"):
        item = by_check[check]
        assert item.points == item.max_points, [r.problem for r in item.verdict.results]


@needs_bubblewrap
def test_the_cost_case_answered_under_the_checks_own_name_is_not_taken(graded):
    execution, verdict = graded["forged_name"]
    (cost,) = [r for r in verdict.results if r.case.startswith("cost:")]
    assert not cost.passed and verdict.points < verdict.max_points
