# igngen developer entry points. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench venv deps clean compile templates dracut-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,lint]'
	touch $(STAMP)

# Byte-compile so cold starts measure igngen, not the compiler (PYTHONDONTWRITEBYTECODE may be set).
compile: $(STAMP)
	$(PY) -m compileall -q igngen

venv: $(STAMP)

deps:
	tools/install-deps

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
	$(VENV)/bin/ruff check igngen tests
	$(VENV)/bin/ruff format --check igngen tests
	$(VENV)/bin/mypy --strict igngen

bench: deps compile
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# Build an initramfs with Debian's dracut and igngen's module; list its files and the size it adds.
dracut-check: deps
	tools/dracut-check
