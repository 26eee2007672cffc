#!/usr/bin/env bash
# Builds the prebuilt JupyterLab extension into jupyterlab-ext/prebuilt/ (what `make labextension`
# runs) with Node 20+ and npm: the settings schema from the parameter table, type check, compile,
# and JupyterLab's builder (webpack module federation), which reads the versions of the shared
# packages from the JupyterLab this venv has (its staging folder). The output is committed, so
# `pip install` needs no Node.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
command -v npm >/dev/null || { echo "make labextension needs Node.js 20 or newer and npm (https://nodejs.org, or your package manager)" >&2; exit 1; }
CORE="$("$PY" -c 'import jupyterlab, pathlib; print(pathlib.Path(jupyterlab.__file__).parent / "staging")')" \
  || { echo "make labextension needs JupyterLab in $PY (make .venv/.installed-dev installs it)" >&2; exit 1; }
"$PY" -m jupyter_ext.schema > jupyterlab-ext/schema/plugin.json
cd jupyterlab-ext
[ -d node_modules ] || npm ci --silent --no-audit --no-fund
npm run --silent typecheck
rm -rf lib tsconfig.tsbuildinfo prebuilt
npm run --silent build:lib
JUPYTERLAB_CORE="$CORE" npm run --silent build:labextension >/dev/null
rm -f prebuilt/static/*.map
cp install.json prebuilt/  # `jupyter labextension list` says which Python package ships it
echo "built $(cd prebuilt && pwd) ($(du -sh prebuilt | cut -f1))"
