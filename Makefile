# The two commands a new user runs: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STORE ?= .vectortrainer/store
# A stamp per dependency set: reinstall only when pyproject.toml or the pins change.
APP_STAMP := $(VENV)/.installed-app
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test install install-dev seed bench clean

run: $(APP_STAMP)
	$(PY) -m vectortrainer demo seed --store $(STORE) --if-empty
	$(PY) -m vectortrainer --store $(STORE)

test: $(DEV_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(APP_STAMP)
install-dev: $(DEV_STAMP)

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(APP_STAMP): pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

$(DEV_STAMP): pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet -c constraints.txt -e ".[dev,local,distributed]"
	touch $(APP_STAMP) $@

seed: $(APP_STAMP)
	$(PY) -m vectortrainer demo seed --store $(STORE)

bench: $(DEV_STAMP)
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
