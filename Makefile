# igngen developer entry points. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Two installs into one .venv: RUNTIME (igngen and its runtime dependencies, all
# `make demo` needs) and STAMP (plus the test and lint extras, for test/lint).
STAMP  := $(VENV)/.installed
RUNTIME := $(VENV)/.installed-runtime

.PHONY: demo test lint bench venv deps clean compile templates dracut-check e2e bench-boot

# A .venv that already has the extras (STAMP newer than pyproject.toml) has the runtime too.
# -qq: pip's own warnings about this machine's index settings are not the demo's business;
# errors still show.
$(RUNTIME): pyproject.toml
	@if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ]; then touch $@; else \
	    [ -x $(PY) ] || $(PYTHON) -m venv $(VENV); \
	    echo "installing igngen into $(VENV) (runtime dependencies only)"; \
	    $(PY) -m pip install -qq -e . && touch $@; fi

$(STAMP): pyproject.toml
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,lint]'
	touch $(STAMP) $(RUNTIME)

# Byte-compile so cold starts measure igngen, not the compiler (PYTHONDONTWRITEBYTECODE may be set).
compile: $(RUNTIME)
	$(PY) -m compileall -q igngen

venv: $(STAMP)

# A clone without root still runs what it can (tests needing a missing tool are skipped);
# under CI=true a failed install stops here, and tests/support/consumers.py fails any
# test whose tool is missing.
deps:
	@tools/install-deps || { [ "$${CI:-}" != true ] && \
	    echo "make: continuing without them (their tests are skipped; CI=true fails them)" >&2; }

# The rendered config of every example and a short `igngen explain` of where its values came from.
demo: $(RUNTIME)
	@tools/demo $(VENV)/bin/igngen

# pytest exit 5 means "no tests collected": that is a failure here, never a pass.
test: deps $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no tests were collected" >&2; exit 1; fi; exit $$rc

templates: $(STAMP)
	$(PY) tools/compile-templates

lint: $(STAMP)
	$(PY) tools/compile-templates --check
	$(VENV)/bin/ruff check igngen tests e2e
	$(VENV)/bin/ruff format --check igngen tests e2e
	$(VENV)/bin/mypy --strict igngen e2e
	@# tests/ and tests/e2e/ each import their helpers as top-level modules (both have a
	@# conftest), so they are checked as two trees, each with its own cache.
	MYPYPATH=tests $(VENV)/bin/mypy --strict --explicit-package-bases \
	    --cache-dir .mypy_cache/tests --exclude '^tests/e2e/' tests
	MYPYPATH=tests/e2e:tests $(VENV)/bin/mypy --strict --explicit-package-bases \
	    --cache-dir .mypy_cache/tests-e2e tests/e2e

bench: deps compile
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# Build an initramfs with Debian's dracut and igngen's module; list its files and the size it adds.
dracut-check: deps
	tools/dracut-check

# End-to-end boot under QEMU (KVM if it really works here, TCG otherwise). Builds are
# cached under .cache/e2e keyed by their inputs; a failed boot keeps its console logs
# under .cache/e2e/artifacts. `make test` runs the same tests when QEMU can run.
e2e: deps $(STAMP)
	$(PY) -m e2e build
	$(PY) -m pytest -m e2e tests/e2e $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make e2e: no tests were collected" >&2; exit 1; fi; exit $$rc

# Boot timings (kernel start → igngen hand-off, igngen's time in the initrd) and the
# initramfs size with and without igngen's dracut module.
bench-boot: deps $(STAMP)
	$(PY) -m e2e bench
