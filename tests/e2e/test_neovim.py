"""Neovim 0.12 with the README's configuration, as a new user has it, against `mathassist lsp`.

`nvim --headless --listen SOCKET -u init.lua` runs the Lua block of README.md's Neovim section
unchanged; the test types through `nvim --server SOCKET --remote-send` and reads the editor with
`--remote-expr`: the wrong row of a Markdown file gets its diagnostic, and at the end of an
unfinished row of a LaTeX file `vim.lsp.inline_completion` shows ghost text that Tab accepts.
Neovim comes from `MATHASSIST_NVIM`, `.cache/neovim/nvim` (scripts/neovim-setup.sh, run by
`make test`) or PATH; without a 0.12 or newer the test is skipped and says why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, RunningServer

UNFINISHED = "We expand the product.\n\\begin{align*}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\\n&=\n\\end{align*}\n"
WRONG = "Another product:\n\n$$\n\\begin{aligned}\n(x + 4)(x + 2) &= x^2 + 2x + 4x + 8 \\\\\n&= x^2 + 6x + 9\n\\end{aligned}\n$$\n"


def find_nvim() -> tuple[str | None, str]:
    """An nvim >= 0.12 and its version line, or None and why not."""
    candidates = [os.environ.get("MATHASSIST_NVIM"), str(ROOT / ".cache/neovim/nvim"), shutil.which("nvim")]
    seen = []
    for path in filter(None, candidates):
        if not Path(path).exists():
            continue
        try:
            line = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout.partition("\n")[0]
        except (OSError, subprocess.TimeoutExpired):
            continue
        seen.append(f"{path}: {line or 'no version'}")
        match = re.match(r"NVIM v(\d+)\.(\d+)", line)
        if match and (int(match[1]), int(match[2])) >= (0, 12):
            return path, line
    return None, "needs Neovim 0.12 or newer (vim.lsp.inline_completion); run scripts/neovim-setup.sh" + (
        f"; found {'; '.join(seen)}" if seen else "")


NVIM, WHY = find_nvim()
pytestmark = pytest.mark.skipif(NVIM is None, reason=WHY)


def readme_config() -> str:
    """The Lua block of README.md's Neovim section, as a user would copy it."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("**Neovim 0.12**"):]
    return section[section.index("```lua\n") + len("```lua\n"): section.index("```\n", section.index("```lua"))]


class Nvim:
    """A headless nvim, typed into and read through its RPC socket."""

    def __init__(self, socket: Path, env: dict[str, str]) -> None:
        self.socket, self.env = str(socket), env

    def expr(self, expression: str) -> str:
        assert NVIM is not None
        r = subprocess.run([NVIM, "--headless", "--server", self.socket, "--remote-expr", expression], capture_output=True, text=True,
                           timeout=30, env=self.env)
        return r.stdout

    def lua(self, code: str) -> Any:
        """The JSON-encoded value of a Lua expression."""
        assert '"' not in code
        return json.loads(self.expr(f'luaeval("vim.json.encode({code})")') or "null")

    def send(self, keys: str) -> None:
        assert NVIM is not None
        subprocess.run([NVIM, "--headless", "--server", self.socket, "--remote-send", keys], check=True, timeout=30, env=self.env)

    def wait(self, what: str, condition: Callable[[], Any], timeout: float = 90) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(300)
def test_the_readme_configuration_gives_diagnostics_ghost_text_and_tab_in_neovim(use_server: RunningServer, tmp_path: Path) -> None:
    assert NVIM is not None
    (tmp_path / "init.lua").write_text(readme_config())
    (tmp_path / "expand.tex").write_text(UNFINISHED)
    (tmp_path / "wrong.md").write_text(WRONG)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "MATHASSIST_RUNTIME_DIR": str(use_server.runtime_dir), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("MATHASSIST_URL", None)
    socket = tmp_path / "nvim.sock"
    log = (tmp_path / "nvim.log").open("w")
    proc = subprocess.Popen([NVIM, "--headless", "--listen", str(socket), "-u", str(tmp_path / "init.lua"), str(tmp_path / "wrong.md")],
                            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    nvim = Nvim(socket, env)
    try:
        nvim.wait("nvim's socket", socket.exists, 30)
        # 1. the wrong row of the Markdown file: a diagnostic from mathassist with the counterexample
        diagnostics = nvim.wait("the wrong step's diagnostic", lambda: nvim.lua("vim.diagnostic.get(0)"))
        [wrong] = diagnostics
        assert wrong["source"] == "mathassist" and wrong["lnum"] == 5 and "x^2 + 6x + 9" in wrong["message"], wrong
        # 2. ghost text at the end of `&=` in the LaTeX file, and Tab takes it
        nvim.send(f"<Esc>:edit {tmp_path / 'expand.tex'}<CR>")
        nvim.wait("the server attached to the .tex buffer", lambda: nvim.lua("#vim.lsp.get_clients({bufnr = 0, name = 'mathassist'})"))
        ghost = ""
        for attempt in range(10):
            nvim.send("<Esc>4G$a " if attempt == 0 else "<BS> ")  # a space after `&=`, typed again until the model answers
            try:
                marks = nvim.wait("ghost text", lambda: nvim.lua(
                    "vim.api.nvim_buf_get_extmarks(0, vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion'], 0, -1, {details = true})"),
                    8)
            except AssertionError:
                continue
            ghost = "".join(chunk[0] for mark in marks for chunk in mark[3].get("virt_text", []))
            if ghost.strip():
                break
        print(f"neovim ghost text: {ghost!r}")
        assert ghost.strip(), "no ghost text"
        nvim.send("<Tab>")
        row = nvim.wait("the accepted suggestion", lambda: (line := nvim.expr("getline(4)")).strip() != "&=" and line)
        assert row.replace(" ", "") == ("&= " + ghost).replace(" ", ""), row
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        print((tmp_path / "nvim.log").read_text()[-2000:])
