# `make run`: set up .venv and solve a sample problem on the embedded model (offline, CPU);
# PROBLEM is used as written ($(value ...)), so its $ signs reach the model untouched.
# `make test`: set up .venv with the dev tools and run the whole test suite; `make test-fast`: the unit tier.
# `make test-engines`: the same clients against llama.cpp's OpenAI-compatible server (built once into .cache/engines).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# On a machine without a GPU this takes the CPU wheel (on disk here); on a GPU machine PyPI's
# build of the same version is the CUDA one. A bare `torch` would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
export MATHASSIST_MODEL ?= embedded
PROBLEM ?= Solve for $x$: $3x + 5 = 20$.

.PHONY: run test test-fast test-engines check bench vsix labextension clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e .
	@# an editable install leaves out data files: put the labextension and the server extension's
	@# switch where a wheel install puts them (the link shows a `make labextension` at once)
	mkdir -p $(VENV)/share/jupyter/labextensions $(VENV)/etc/jupyter/jupyter_server_config.d
	ln -sfn $(CURDIR)/jupyterlab-ext/prebuilt $(VENV)/share/jupyter/labextensions/mathassist-jupyterlab
	cp jupyter-config/jupyter_server_config.d/mathassist.json $(VENV)/etc/jupyter/jupyter_server_config.d/
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/mathassist solve '$(value PROBLEM)'

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	scripts/vscode-e2e-setup.sh
	scripts/neovim-setup.sh >/dev/null || echo "Neovim 0.12 could not be unpacked: tests/e2e/test_neovim.py will be skipped"
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

# the unit tier: no model, no process started (under a minute)
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

# llama-cpp-python is built from source once (niced) into .cache/engines and reused; the embedded
# model is converted to GGUF there, once per version of its weights. Not part of `make test`: the
# build alone takes longer than CI's budget (README, "Other engines"); there tests/engines skips.
test-engines: $(VENV)/.installed-dev
	$(BIN)/python scripts/llama_cpp_engine.py install
	nice -n 5 $(BIN)/python scripts/llama_cpp_engine.py convert
	$(BIN)/python -m pytest -q -ra tests/engines $(PYTEST_ARGS)

check: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(VENV)/.installed-dev
	$(BIN)/pip install -q -e ".[dev,bench]"
	$(BIN)/python -m bench.overhead
	$(BIN)/python -m bench.batching
	$(BIN)/python -m bench.keystrokes
	$(BIN)/python -m bench.engine
	$(BIN)/python -m bench.speculative
	$(BIN)/python -m bench.hardening
	$(BIN)/python -m bench.sandbox
	$(BIN)/python -m bench.checking
	$(BIN)/python -m bench.jupyterlab
	$(BIN)/python -m bench.real_documents

# the VS Code extension, with Node and npm only
vsix:
	scripts/build-vsix.sh

# the prebuilt JupyterLab extension (jupyterlab-ext/prebuilt/, committed), with Node and npm; the
# builder reads the shared packages' versions from the venv's JupyterLab
labextension: $(VENV)/.installed-dev
	scripts/build-labextension.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
