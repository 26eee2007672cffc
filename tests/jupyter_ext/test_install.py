"""`pip install` of this source tree, in a new venv and with no Node on PATH, gives JupyterLab an
enabled mathassist extension: the prebuilt labextension and the server extension's switch land
where JupyterLab and the Jupyter server look (`share/jupyter/labextensions/`, `etc/jupyter/`).

The new venv borrows the dev venv's site-packages for the dependencies (a `.pth` line: the dev
venv's own `.pth` files, the editable install among them, are not run), so the test installs
mathassist alone (`--no-deps`), built from source as pip builds it for a user, in seconds rather
than the minutes torch would take.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from jupyter_ext import LABEXTENSION
from model_server import __version__
from tests.conftest import ROOT


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_pip_install_without_node_gives_an_enabled_jupyterlab_extension(tmp_path: Path) -> None:
    fresh = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True)
    site = next((fresh / "lib").glob("python3*/site-packages"))
    (site / "dev-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {"PATH": str(fresh / "bin"), "HOME": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data"), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           **{k: v for k, v in os.environ.items() if k.startswith(("PIP_", "http", "HTTP", "no_proxy", "NO_PROXY"))}}
    python = str(fresh / "bin" / "python")
    assert subprocess.run([python, "-c", "import shutil; assert shutil.which('node') is None"], env=env).returncode == 0
    install = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(ROOT)], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=540)
    assert install.returncode == 0, install.stderr[-3000:]
    shipped = fresh / "share/jupyter/labextensions" / LABEXTENSION
    assert (shipped / "package.json").exists() and list((shipped / "static").glob("remoteEntry.*.js"))

    labextensions = subprocess.run([python, "-m", "jupyterlab.labextensions", "list"], env=env, cwd=tmp_path, capture_output=True, text=True,
                                   timeout=120)
    listing = re.sub(r"\x1b\[[0-9;]*m", "", labextensions.stdout + labextensions.stderr)
    assert f"{LABEXTENSION} v{__version__} enabled OK (python, mathassist)" in listing, listing
    assert str(fresh / "share/jupyter/labextensions") in listing

    servers = subprocess.run([python, "-m", "jupyter_server.extension.serverextension", "list"], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=120)
    listing = re.sub(r"\x1b\[[0-9;]*m", "", servers.stdout + servers.stderr)
    assert re.search(r"jupyter_ext\s+enabled", listing) and re.search(r"jupyter_ext\s+OK", listing), listing
    assert str(fresh / "etc/jupyter") in listing
