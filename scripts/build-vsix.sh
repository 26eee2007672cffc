#!/usr/bin/env bash
# Builds vscode-client/mathassist.vsix with Node and npm only (what `make vsix` runs): the
# extension's npm dependencies, type check, lint, bundle, package. The end-to-end tooling
# (code-server, Chromium) is scripts/vscode-e2e-setup.sh's business, not this one's.
set -euo pipefail
cd "$(dirname "$0")/../vscode-client"
command -v npm >/dev/null || { echo "make vsix needs Node.js 20 or newer and npm (https://nodejs.org, or your package manager)" >&2; exit 1; }
[ -d node_modules ] || npm ci --silent
npm run --silent typecheck
npm run --silent lint
npm run --silent package >/dev/null
echo "built $(pwd)/mathassist.vsix"
