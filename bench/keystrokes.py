"""Keystroke storm: 20 inline-completion requests 50 ms apart while one formula is typed, against
the same final request sent alone, in one run (real `mathassist lsp` + model process). The
derivation checker's filter is off: it may resample, and this measures what the keystrokes cost.

The storm types the row the model suggests (`x^2 + 8x + 15`), ends it and starts the next, as a
person accepting a suggestion by typing it would: so it needs two suggestions where the lone
request needs one. Typing along a shown suggestion is answered without the model
(`lsp_server.following`).

Prints how many storm requests were superseded (answered empty), how many generations the model
was asked for, the model's busy time for the storm over the lone request (goal: under 2x with
the default debounce, at most 1.5x with none), and the time from the last keystroke to the
suggestion beside the lone request's.

    python -m bench.keystrokes [--gap-ms 50] [--debounce-ms 150]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from lsprotocol import types
from pytest_lsp import client_capabilities
from pytest_lsp.client import make_test_lsp_client

from bench._server import Server, model_process

HEAD = "We expand the product.\n\\begin{align*}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\\n&= "
TYPED = "x^2 + 8x + 15 \\\\\n&= (x+"


def inline(uri: str, line: int, character: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character))


def end(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines) - 1, len(lines[-1])


async def session(server: Server, gap: float, debounce_ms: int) -> dict[str, float]:
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "mathassist", "lsp", env={**os.environ, "MATHASSIST_RUNTIME_DIR": str(server.runtime_dir)})
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={"inline": {"debounceMs": debounce_ms, "maxNewTokens": 48, "verify": "off"}}))
    try:
        warm = "file:///bench/warm.tex"
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(warm, "latex", 1, HEAD)))
        await client.text_document_inline_completion_async(inline(warm, *end(HEAD)))

        uri = "file:///bench/storm.tex"
        text = HEAD
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "latex", 1, text)))
        busy0, cancelled0 = server.metric("mathassist_engine_busy_seconds_total"), server.metric("mathassist_requests_cancelled_total")
        asked0 = model_requests(server)
        futures = []
        steps = TYPED[:20]
        for i, ch in enumerate(steps):
            line, col = end(text)
            text += ch
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=i + 2),
                content_changes=[types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=line, character=col), end=types.Position(line=line, character=col)),
                    text=ch)]))
            # sent now: the client's *_async methods are coroutines, which send only when run
            futures.append(asyncio.ensure_future(client.text_document_inline_completion_async(inline(uri, *end(text)))))
            last_key = time.perf_counter()
            await asyncio.sleep(gap)
        results = await asyncio.gather(*futures)
        storm_latency = time.perf_counter() - last_key
        await asyncio.sleep(0.3)
        storm_busy = server.metric("mathassist_engine_busy_seconds_total") - busy0
        model_cancelled = server.metric("mathassist_requests_cancelled_total") - cancelled0
        model_asked = model_requests(server) - asked0
        superseded = sum(1 for r in results[:-1] if r is None)

        alone_uri = "file:///bench/alone.tex"
        alone_text = "\n" + text  # the same document, one line lower: nothing of it is cached
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(alone_uri, "latex", 1, alone_text)))
        busy1 = server.metric("mathassist_engine_busy_seconds_total")
        t = time.perf_counter()
        alone = await client.text_document_inline_completion_async(inline(alone_uri, *end(alone_text)))
        alone_latency = time.perf_counter() - t
        await asyncio.sleep(0.3)
        alone_busy = server.metric("mathassist_engine_busy_seconds_total") - busy1
        assert results[-1] is not None and alone is not None
        return {"superseded": superseded, "requests": len(results), "model_cancelled": model_cancelled, "model_asked": model_asked,
                "storm_busy": storm_busy, "alone_busy": alone_busy, "storm_latency": storm_latency, "alone_latency": alone_latency}
    finally:
        await client.shutdown_session()


def model_requests(server: Server) -> float:
    """Generations the model process has been asked for (each ends finished, cancelled or failed)."""
    return sum(server.metric(f"mathassist_requests_{k}_total") for k in ("finished", "cancelled", "failed"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gap-ms", type=float, default=50)
    parser.add_argument("--debounce-ms", type=int, nargs="*", default=[150, 0])
    args = parser.parse_args()
    with model_process() as server:
        for debounce in args.debounce_ms:
            r = asyncio.run(session(server, args.gap_ms / 1000, debounce))
            print(f"debounce {debounce} ms, {r['requests']} requests {args.gap_ms:.0f} ms apart:")
            print(f"  superseded (answered empty): {r['superseded']:.0f} of {r['requests'] - 1}; "
                  f"generations asked of the model process: {r['model_asked']:.0f}, of which cancelled: {r['model_cancelled']:.0f}")
            print(f"  model busy: storm {r['storm_busy'] * 1000:.1f} ms, lone request {r['alone_busy'] * 1000:.1f} ms, "
                  f"ratio {r['storm_busy'] / max(r['alone_busy'], 1e-9):.2f}x (goal {'<= 1.5x' if debounce == 0 else '< 2x'})")
            print(f"  last keystroke to suggestion: {r['storm_latency'] * 1000:.0f} ms; lone request: {r['alone_latency'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
