# The two commands of the README: `make run` (the offline playground) and `make test`.
# Both create .venv with the project and its dev tools installed, on first use and whenever pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/dukabot playground

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q -n auto $(PYTEST_ARGS)

# Every test that is not already run per library (`every_channel`) on python-telegram-bot instead of aiogram: the
# journeys too. Slow, so not part of .ci/run; run it when the channel seam or bot/ptb changes.
.PHONY: test-ptb
test-ptb: $(BIN)/.installed
	DUKABOT_TEST_TELEGRAM_LIBRARY=ptb $(BIN)/python -m pytest -q -n auto $(PYTEST_ARGS) tests/integration tests/e2e

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# make bench: the hot paths through the real server over HTTP, each beside its baseline in the same run, as ratios
# (README, "Performance"); about 5-6 minutes on two busy cores, --quick
# about 2½ (most of it starting servers). BENCH_ARGS chooses paths and options:
# BENCH_ARGS='callbacks conversation --quick'.
# With TEST_DATABASE_URL (and TEST_REDIS_URL) it also runs two servers on PostgreSQL, whose schema it recreates.
bench: $(BIN)/.installed
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Mutation testing of the money state machine and the outbox (`[tool.mutmut]` in pyproject.toml says which files and
# which tests). Slow, so not part of .ci/run. One worker at low priority, on SQLite whatever the environment says;
# results are kept in mutants/, so a second run only checks what changed. `$(BIN)/mutmut results` lists survivors.
.PHONY: mutate
mutate: $(BIN)/.installed
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL -u CI nice -n 10 $(BIN)/mutmut run --max-children 1
	$(BIN)/mutmut export-cicd-stats
	cat mutants/mutmut-cicd-stats.json

# make fuzz: the hostile-input property suite (tests/property), long: 100,000 examples per test and backend
# (DUKABOT_FUZZ_EXAMPLES to change it; FUZZ_ARGS for pytest, e.g. FUZZ_ARGS='-k sqlite'). Failures found are kept
# in var/hypothesis and replayed first next time.
.PHONY: fuzz
fuzz: $(BIN)/.installed
	DUKABOT_HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -p no:cacheprovider --hypothesis-show-statistics \
		tests/property $(FUZZ_ARGS)
