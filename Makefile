# igngen developer entry points. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench venv deps clean compile templates dracut-check e2e bench-boot

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,lint]'
	touch $(STAMP)

# Byte-compile so cold starts measure igngen, not the compiler (PYTHONDONTWRITEBYTECODE may be set).
compile: $(STAMP)
	$(PY) -m compileall -q igngen

venv: $(STAMP)

# A clone without root still runs what it can (tests needing a missing tool are skipped);
# under CI=true a failed install stops here, and tests/support/consumers.py fails any
# test whose tool is missing.
deps:
	@tools/install-deps || { [ "$${CI:-}" != true ] && \
	    echo "make: continuing without them (their tests are skipped; CI=true fails them)" >&2; }

demo: compile
	@for ovf in examples/*/ovf-env.xml; do \
	    dir=$$(dirname $$ovf); \
	    echo "### $$dir"; \
	    args="--ovf $$ovf"; \
	    [ -f $$dir/imds.json ] && args="$$args --imds $$dir/imds.json"; \
	    [ -f $$dir/igngen.yaml ] && args="$$args --config $$dir/igngen.yaml"; \
	    [ -d $$dir/templates ] && args="$$args --templates $$dir/templates"; \
	    $(VENV)/bin/igngen render $$args --pretty || exit $$?; \
	done

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
