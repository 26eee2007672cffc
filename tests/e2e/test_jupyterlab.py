"""The JupyterLab extension in real JupyterLab, driven in headless Chromium (Debian's, through playwright).

JupyterLab runs as a user starts it (`jupyter lab`), with the prebuilt labextension and the server
extension found where an install puts them, against the session's embedded-model process. In a
notebook, typing at the end of an unfinished derivation in a Markdown cell shows ghost text
(`.jp-GhostText`) that Tab accepts, and a wrong step in another Markdown cell is marked with its
counterexample. Screenshots land in test-artifacts/; the keystroke-to-ghost-text time is printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, RunningServer
from tests.jupyter_ext.conftest import start_jupyter, stop_jupyter

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
COUNTEREXAMPLE = r"at x = -?\d+ the left side is -?\d+ and the right side is -?\d+"  # the checker's words for one
UNFINISHED = "We expand the product.\n\n$$\n\\begin{aligned}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\\n&=\n\\end{aligned}\n$$"
WRONG = "Another product.\n\n$$\n\\begin{aligned}\n(x + 4)(x + 2) &= x^2 + 2x + 4x + 8 \\\\\n&= x^2 + 6x + 9\n\\end{aligned}\n$$"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (make test installs Debian's chromium)")


def notebook() -> dict[str, object]:
    cell = lambda kind, source: {"cell_type": kind, "id": f"cell-{kind}-{len(source)}", "metadata": {}, "source": source,  # noqa: E731
                                 **({"outputs": [], "execution_count": None} if kind == "code" else {})}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                                                              "language": "python"}},
            "cells": [cell("markdown", UNFINISHED), cell("code", "x = 1"), cell("markdown", WRONG)]}


@pytest.mark.timeout(600)
async def test_ghost_text_tab_and_a_marked_wrong_step_in_real_jupyterlab(use_server: RunningServer, tmp_path: Path) -> None:
    from playwright.async_api import TimeoutError as NotYet
    from playwright.async_api import async_playwright

    env = {**os.environ, "MATHASSIST_RUNTIME_DIR": str(use_server.runtime_dir)}
    quiet = tmp_path / "jupyter-home/config/lab/user-settings/@jupyterlab/apputils-extension"  # no "news?" toast over the cells
    quiet.mkdir(parents=True)
    (quiet / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    lab = start_jupyter("lab", tmp_path, env)
    (tmp_path / "jupyter-home" / "work" / "derivations.ipynb").write_text(json.dumps(notebook()))
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                                                             "--disable-background-networking", "--disable-sync"])
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            try:
                await page.goto(f"{lab.url}/lab/tree/derivations.ipynb?token={lab.token}")
                await page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
                # the run indicator says idle before the kernel exists: wait for the kernel's own status
                await page.locator("#jp-main-statusbar", has_text="Idle").wait_for(timeout=120_000)
                await page.locator("#jp-main-statusbar", has_text="mathassist ✓").wait_for(timeout=120_000)
                cells = page.locator(".jp-Notebook .jp-Cell")

                # 1. ghost text at the end of the unfinished row, accepted with Tab
                await cells.nth(0).click()
                await page.keyboard.press("Enter")  # edit mode, the cursor at the start of the cell
                await page.locator(".jp-mod-editMode").wait_for(timeout=10_000)
                for _ in range(5):
                    await page.keyboard.press("ArrowDown")
                await page.keyboard.press("End")
                ghost, waited = "", 0.0
                for attempt in range(10):
                    if attempt:
                        await page.keyboard.press("Backspace")
                    started = time.monotonic()
                    await page.keyboard.type(" ")
                    try:
                        await page.wait_for_selector(".jp-GhostText", timeout=8_000)
                        waited = time.monotonic() - started
                        ghost = await page.locator(".jp-GhostText").inner_text()
                    except NotYet:  # type the space again, as a user would
                        continue
                    if ghost.strip():
                        break
                await page.screenshot(path=str(ARTIFACTS / "jupyterlab-ghost-text.png"))
                print(f"ghost text {ghost!r} shown {waited * 1000:.0f} ms after the keystroke")
                assert ghost.strip(), "no ghost text in the Markdown cell"
                await page.keyboard.press("Tab")
                await page.wait_for_selector(".jp-GhostText", state="detached", timeout=5_000)
                text = await cells.nth(0).locator(".cm-content").inner_text()
                row = next(line for line in text.splitlines() if line.startswith("&="))
                assert row.replace(" ", "") == ("&=" + ghost).replace(" ", ""), f"Tab did not insert the suggestion: {text!r}"
                source = text.replace("\u00a0", " ")
                verdict = lab.request("POST", "check", json={"source": source}).json()
                assert verdict["marks"] == [], f"the checker refutes the accepted suggestion: {verdict}"

                # 2. the wrong step of the third cell: marked on the rendered cell, underlined in its editor, counterexample on hover
                wrong_cell = cells.nth(2)
                await page.wait_for_function("document.querySelectorAll('.jp-Cell')[2].classList.contains('jp-mathassist-wrong-cell')",
                                             timeout=60_000)
                title = await wrong_cell.get_attribute("title") or ""
                assert "x^2 + 6x + 9" in title and re.search(COUNTEREXAMPLE, title), title
                await wrong_cell.click()
                await page.keyboard.press("Enter")
                underline = wrong_cell.locator(".jp-mathassist-wrong")
                await underline.wait_for(timeout=10_000)
                await underline.hover()
                tooltip = page.locator(".jp-mathassist-tooltip")
                await tooltip.wait_for(timeout=10_000)
                shown = await tooltip.inner_text()
                await page.screenshot(path=str(ARTIFACTS / "jupyterlab-wrong-step.png"))
                print(f"wrong step tooltip: {shown!r}")
                assert re.search(COUNTEREXAMPLE, shown) and "x^2 + 6x + 9" in shown
            except BaseException:
                await page.screenshot(path=str(ARTIFACTS / "jupyterlab-failure.png"))
                raise
            finally:
                await browser.close()
    finally:
        stop_jupyter(lab)
        print(lab.log.read_text()[-3000:])
