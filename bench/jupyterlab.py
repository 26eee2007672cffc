"""Keystroke to ghost text in JupyterLab, beside the same request through the language server, in one run.

One embedded-model process serves both front ends. For each of TRIALS derivations (a different
product each time, so neither the suggestion cache nor typing along answers), the same document
is asked for at the end of its unfinished row `&=` after a typed space:

- language server (`mathassist lsp`, as VS Code drives it): `didChange` (the space) and
  `textDocument/inlineCompletion`, timed until the answer arrives;
- JupyterLab (real JupyterLab in headless Chromium, the prebuilt extension): the space typed into
  a Markdown cell, timed in the page from the keydown event until `.jp-GhostText` shows text.

Both sides use debounce 0 and the checker filter (`verify` = `filter`, the default). The order of
the two front ends alternates (ABBA), since whichever asks second finds the prompt's prefix in
the model's cache and the steps in the checker's. Prints the medians and the ratio JupyterLab /
language server (goal: at most 1.2).

    python -m bench.jupyterlab [--trials 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import client_capabilities
from pytest_lsp.client import make_test_lsp_client

from bench._server import Server, model_process
from tests.jupyter_ext.conftest import start_jupyter, stop_jupyter

CHROMIUM = "/usr/bin/chromium"
PAIRS = [(3, 5), (2, 7), (4, 6), (1, 9), (5, 8), (2, 3), (6, 7), (3, 4), (1, 5), (4, 9), (2, 5), (3, 8)]


def derivation(a: int, b: int) -> str:
    """A product expanded one row, the next row begun (`&=`, the cursor after it)."""
    return f"We expand the product.\n\n$$\n\\begin{{aligned}}\n(x + {a})(x + {b}) &= x^2 + {b}x + {a}x + {a * b} \\\\\n&="


TAIL = "\n\\end{aligned}\n$$"
MEASURE = """() => new Promise((resolve) => {
  let t0 = null;
  document.addEventListener('keydown', () => { t0 = performance.now(); }, { capture: true, once: true });
  const seen = () => {
    const ghost = document.querySelector('.jp-GhostText');
    if (t0 !== null && ghost && ghost.textContent.trim()) { obs.disconnect(); resolve([performance.now() - t0, ghost.textContent]); }
  };
  const obs = new MutationObserver(seen);
  obs.observe(document.body, { childList: true, subtree: true, characterData: true });
  window.__mathassistArmed = true;
})"""
SET_CELL = """([source, line]) => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const cell = nb.widgets[0];
  nb.mode = 'command';
  cell.model.sharedModel.setSource(source);
  nb.activeCellIndex = 0;
  nb.mode = 'edit';
  cell.editor.setCursorPosition({ line, column: 2 });
  cell.editor.focus();
}"""


async def lsp_client(server: Server) -> Any:
    client = make_test_lsp_client()
    client.feature("mathassist/status")(lambda params: None)  # the status bar's notifications: not measured
    await client.start_io(sys.executable, "-m", "mathassist", "lsp", env={**os.environ, "MATHASSIST_RUNTIME_DIR": str(server.runtime_dir)})
    await client.initialize_session(types.InitializeParams(capabilities=client_capabilities("visual-studio-code"),
                                                           initialization_options={"inline": {"debounceMs": 0}}))
    return client


async def lsp_once(client: Any, n: int, source: str) -> tuple[float, str]:
    """Open the document without the space, then the keystroke: the change and the request together."""
    uri = f"file:///bench/d{n}.md"
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "markdown", 1, source + TAIL)))
    line = source.count("\n")
    started = time.perf_counter()
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(types.Position(line, 2), types.Position(line, 2)), text=" ")]))
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, 3)))
    elapsed = time.perf_counter() - started
    text = result.items[0].insert_text if result and result.items else ""
    return elapsed * 1000, str(text)


async def lab_once(page: Any, source: str) -> tuple[float, str]:
    await page.keyboard.press("Escape")  # dismiss the last ghost text; the cell stays in edit mode
    await page.evaluate(SET_CELL, [source + TAIL, source.count("\n")])
    await page.wait_for_timeout(400)  # whatever setting the source asked for is answered or dropped
    measured = asyncio.ensure_future(page.evaluate(MEASURE))
    await page.wait_for_function("window.__mathassistArmed === true")
    await page.evaluate("window.__mathassistArmed = false")
    await page.keyboard.type(" ")
    ms, text = await asyncio.wait_for(measured, 120)
    return float(ms), str(text)


async def run(trials: int) -> None:
    from playwright.async_api import async_playwright

    with model_process() as server, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "MATHASSIST_RUNTIME_DIR": str(server.runtime_dir)}
        quiet = root / "jupyter-home/config/lab/user-settings/@jupyterlab/apputils-extension"
        quiet.mkdir(parents=True)
        (quiet / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
        lab = start_jupyter("lab", root, env, "--LabApp.expose_app_in_browser=True")
        notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                    "cells": [{"cell_type": "markdown", "id": "c0", "metadata": {}, "source": derivation(1, 1) + TAIL}]}
        (root / "jupyter-home/work/bench.ipynb").write_text(json.dumps(notebook))
        client = await lsp_client(server)
        rows: dict[str, list[float]] = {"language server": [], "JupyterLab (keystroke to ghost text)": []}
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                page = await browser.new_page(viewport={"width": 1200, "height": 800})
                await page.goto(f"{lab.url}/lab/tree/bench.ipynb?token={lab.token}")
                await page.locator("#jp-main-statusbar", has_text="mathassist ✓").wait_for(timeout=180_000)
                lab.request("PUT", "settings", json={"inline": {"debounceMs": 0}})
                # warm both paths (and the checker's workers) on a derivation not measured
                await lsp_once(client, 999, derivation(7, 9))
                await lab_once(page, derivation(8, 9))
                for n, (a, b) in enumerate(PAIRS[:trials]):
                    source = derivation(a, b)
                    first_lsp = n % 4 in (0, 3)  # ABBA
                    for side in (("lsp", "lab") if first_lsp else ("lab", "lsp")):
                        if side == "lsp":
                            ms, text = await lsp_once(client, n, source)
                            rows["language server"].append(ms)
                        else:
                            ms, text = await lab_once(page, source)
                            rows["JupyterLab (keystroke to ghost text)"].append(ms)
                        print(f"  (x + {a})(x + {b}) {side}: {ms:7.0f} ms  {text!r}", flush=True)
                await browser.close()
        finally:
            await client.shutdown_session()
            stop_jupyter(lab)
        medians = {k: statistics.median(v) for k, v in rows.items()}
        print(f"\nkeystroke to suggestion, median of {trials} (ms):")
        for name, value in medians.items():
            print(f"  {name:40s} {value:7.0f}")
        ratio = medians["JupyterLab (keystroke to ghost text)"] / medians["language server"]
        print(f"JupyterLab / language server: {ratio:.2f}x (goal: at most 1.2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(run(min(args.trials, len(PAIRS))))


if __name__ == "__main__":
    main()
