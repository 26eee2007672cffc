#!/usr/bin/env bash
# Unpacks Neovim 0.12 from Debian forky into .cache/neovim (git-ignored), for the Neovim end-to-end
# test (tests/e2e/test_neovim.py); prints the path of a `nvim` wrapper. Debian 12's neovim is 0.7
# (no vim.lsp.inline_completion), and forky's needs glibc 2.42, so it cannot be installed
# system-wide here: the packages and their libraries (glibc included) are unpacked into one
# folder with a private apt configuration, and the wrapper starts nvim through that folder's own
# dynamic loader. The language server nvim starts uses the system's libraries as usual.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD/.cache/neovim"
WRAPPER="$ROOT/nvim"
if [ -x "$WRAPPER" ] && "$WRAPPER" --version 2>/dev/null | grep -q "^NVIM v0\.1[2-9]"; then
  echo "$WRAPPER"; exit 0
fi
rm -rf "$ROOT"
mkdir -p "$ROOT/apt/lists/partial" "$ROOT/apt/cache/archives/partial" "$ROOT/debs" "$ROOT/root"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian forky main" > "$ROOT/apt/sources.list"
APT=(-o "Dir::Etc::SourceList=$ROOT/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$ROOT/apt/lists"
     -o Dir::State::status=/dev/null -o "Dir::Cache=$ROOT/apt/cache" -o APT::Architecture=amd64 -o Debug::NoLocking=1)
apt-get "${APT[@]}" -qq update >&2
# neovim and everything it needs at run time, as forky builds them (with an empty status file,
# apt resolves the whole closure, libc included)
PKGS=$(apt-get "${APT[@]}" -qq --print-uris -y --no-install-recommends install neovim 2>/dev/null | sed -n "s/^'[^']*' \([^_]*\)_.*/\1/p")
[ -n "$PKGS" ] || { echo "could not resolve neovim in Debian forky" >&2; exit 1; }
# (root downloads unsandboxed here, and apt says so: that note is kept out of the output)
(cd "$ROOT/debs" && apt-get "${APT[@]}" -qq download $PKGS 2>"$ROOT/download.log") || { cat "$ROOT/download.log" >&2; exit 1; }
for deb in "$ROOT"/debs/*.deb; do dpkg-deb -x "$deb" "$ROOT/root"; done
LIBS="$ROOT/root/usr/lib/x86_64-linux-gnu"
# nvim derives its library folder (the tree-sitter parsers: the markdown ftplugin needs one) from
# $VIMRUNTIME as usr/lib/lib/nvim when it does not live in /usr
mkdir -p "$ROOT/root/usr/lib/lib" && ln -sfn ../nvim "$ROOT/root/usr/lib/lib/nvim"
cat > "$WRAPPER" <<WRAP
#!/bin/sh
# nvim from Debian forky, with its own glibc (scripts/neovim-setup.sh)
export VIMRUNTIME="$ROOT/root/usr/share/nvim/runtime"
exec "$ROOT/root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$LIBS" "$ROOT/root/usr/bin/nvim" "\$@"
WRAP
chmod +x "$WRAPPER"
"$WRAPPER" --version | head -1 >&2
echo "$WRAPPER"
