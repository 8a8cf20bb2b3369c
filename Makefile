# Entry points (see README.md). Each builds its own virtual environment from nothing, so a
# fresh clone needs only Python 3 and make.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
JOBS ?= 2

# Jupyter refuses to run as root unless told to (a container, a CI machine).
AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: demo test lint lab formgrader release bench bench-grading clean sandbox

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $@

# Students' JupyterLab: nbgrader too, for its student tools (Validate, the Assignment List).
$(VENV)/.student-lab-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[course,lab]'
	touch $@

$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

$(VENV)/.hub-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[hub]'
	touch $@

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# bubblewrap sandboxes student code during grading; install it when we can (root, Debian).
sandbox:
	@command -v bwrap > /dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null \
		&& (apt-get install -y -qq bubblewrap > /dev/null 2>&1 \
		    || (apt-get update -qq > /dev/null 2>&1 && apt-get install -y -qq bubblewrap > /dev/null 2>&1)); } \
		|| echo "note: bubblewrap is not installed; grading will run without the sandbox"

# The main job: release, autograde the example class, grade table, feedback, export, report.
demo: $(VENV)/.test-installed sandbox
	$(BIN)/grader demo --out build/demo --jobs $(JOBS)

# The browser tests drive Debian's Chromium through Playwright (never a downloaded browser);
# install Chromium when we can (root, Debian), else the browser tests say how and are skipped.
.PHONY: browser
browser: $(VENV)/.test-installed
	@command -v chromium > /dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null \
		&& (apt-get install -y -qq chromium > /dev/null 2>&1 \
		    || (apt-get update -qq > /dev/null 2>&1 && apt-get install -y -qq chromium > /dev/null 2>&1)); } \
		|| echo "note: chromium is not installed (it needs root and apt-get); the browser tests will be skipped"

# The whole suite: lint, the package and grader tests, every master notebook under nbval (a
# graded cell must also earn its full points: conftest.py) and the browser tests, with files
# handed to the workers in the order tests/conftest.py gives them, the longest first (xdist
# would otherwise start the files with the most tests first, and the hub's test, minutes of
# installing, would end the run alone).  The sandboxed class gradings (each grades in
# parallel sandboxes, on local workers or Dask, against wall-clock limits) run after the
# rest, one at a time.
END_TO_END := tests/pipeline/test_end_to_end.py tests/pipeline/test_hostile.py \
	tests/pipeline/test_hostile_leftovers.py tests/pipeline/test_honest_styles.py \
	tests/pipeline/test_cluster.py tests/pipeline/test_formgrader_route.py \
	tests/pipeline/test_grader_errors.py
test: lint sandbox browser
	$(BIN)/pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder tests course/source \
		--nbval-lax $(addprefix --ignore ,$(END_TO_END))
	$(BIN)/pytest $(END_TO_END)

# Students: JupyterLab on the student edition, with nbgrader's student tools (Validate, the
# Assignment List) and not its instructor's (Formgrader, Create Assignment): its settings
# are in grader/student_lab/, first on the configuration path of this JupyterLab alone.
STUDENT_LAB := $(abspath grader/student_lab)
lab: $(VENV)/.student-lab-installed
	JUPYTER_CONFIG_PATH=$(STUDENT_LAB)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} \
		$(BIN)/jupyter lab $(AS_ROOT) notebooks/

# Instructors: JupyterLab on the course folder, with nbgrader's Formgrader (menu Nbgrader).
formgrader: $(VENV)/.test-installed
	cd course && $(abspath $(BIN))/jupyter lab $(AS_ROOT)

# The course on JupyterHub, on 127.0.0.1 (see README.md): run as root, it makes the hub's
# environment in HUB_PREFIX, accounts for an instructor and three students, the exchange in
# HUB_STATE, prints the address and the passwords, and runs until Ctrl-C.
HUB_PREFIX ?= /opt/backprop-hub
HUB_STATE ?= /srv/backprop-hub
HUB_PORT ?= 8000
.PHONY: hub
hub:
	@[ "$$(id -u)" = 0 ] || { echo "make hub: run it as root (sudo make hub): it makes Unix accounts and JupyterHub starts each user's JupyterLab as that user" >&2; exit 2; }
	@$(MAKE) --no-print-directory $(VENV)/.hub-installed
	$(BIN)/python -m grader.hub --prefix $(HUB_PREFIX) --state $(HUB_STATE) --port $(HUB_PORT)

# Instructors: regenerate the student edition (notebooks/) from the masters (course/source/).
release: $(VENV)/.test-installed
	$(BIN)/python -m grader.release

bench: $(VENV)/.bench-installed
	$(BIN)/python bench/bench_core.py
	$(BIN)/python bench/bench_algorithms.py

# The pipeline against sequential nbgrader, and the local pool against Dask (about 15 minutes).
bench-grading: $(VENV)/.test-installed sandbox
	$(BIN)/python bench/bench_grading.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
