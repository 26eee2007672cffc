"""The engine's depth, through the real model process (HTTP), side by side in one run:

- time to first token after a keystroke at the end of a ~3,000-token document, against a fresh
  document of the same length (prefix reuse; goal: at least 5x faster);
- the longest gap between tokens of 4 running streams while a 3,500-token prompt arrives,
  against their median gap (chunked prefill; goal: at most 3x);
- the per-token cost of 8 streams at context 3,000 against context 200 (a preallocated cache:
  no copy of the whole cache per token), beside the same ratio for `model.generate`, whose
  cache grows by concatenation.

    python -m bench.engine [--model embedded] [--repeats 5] [--only ttft,gaps,context]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time

import httpx

from bench._server import Server, model_process


def document(seed: int, tokens: int, tokenizer: object) -> str:
    """A derivation-like document of about `tokens` tokens whose first characters depend on `seed`."""
    lines, k = [f"% notes {seed}"], 0
    while True:
        a, b = 3 + (seed * 7 + k) % 17, 2 + (seed + 3 * k) % 11
        lines.append(f"Problem {k}: Solve ${a}x + {b} = {a * (k % 9 + 1) + b}$.\nSolution: ${a}x = {a * (k % 9 + 1)}$, so $x = {k % 9 + 1}$.")
        k += 1
        text = "\n".join(lines) + "\nWe expand the product.\n\\begin{align*}\n(x + 3)(x + 5) &= "
        if len(tokenizer(text)["input_ids"]) >= tokens:  # type: ignore[operator]
            return text


async def first_token_seconds(http: httpx.AsyncClient, server: Server, prompt: str) -> float:
    t = time.perf_counter()
    r = await http.post(f"{server.url}/v1/completions", json={"prompt": prompt, "max_tokens": 1, "temperature": 0, "ignore_eos": True})
    r.raise_for_status()
    return time.perf_counter() - t


async def stream_times(http: httpx.AsyncClient, server: Server, prompt: str, tokens: int, times: list[float]) -> None:
    body = {"prompt": prompt, "max_tokens": tokens, "temperature": 0, "ignore_eos": True, "stream": True}
    async with http.stream("POST", f"{server.url}/v1/completions", json=body) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if line.startswith("data: {") and json.loads(line[6:])["choices"][0]["text"]:
                times.append(time.perf_counter())


async def ttft(server: Server, tokenizer: object, repeats: int) -> None:
    async with httpx.AsyncClient(timeout=600, headers=server.headers) as http:
        await first_token_seconds(http, server, document(999, 300, tokenizer))  # warm-up
        fresh, typed = [], []
        for i in range(repeats):
            doc = document(i, 3000, tokenizer)
            fresh.append(await first_token_seconds(http, server, doc))
            typed.append(await first_token_seconds(http, server, doc + "x^2"))
    n = len(tokenizer(doc)["input_ids"])  # type: ignore[operator]
    f, k = statistics.median(fresh), statistics.median(typed)
    print(f"time to first token, {n}-token document, median of {repeats}:")
    print(f"  fresh document:             {f * 1000:7.1f} ms")
    print(f"  keystroke at its end:       {k * 1000:7.1f} ms")
    print(f"  keystroke speed-up: {f / k:.1f}x  (goal >= 5x)")


_SENDER = """
import json, sys, time, httpx
url, token = sys.argv[1], sys.argv[2]
body = {"prompt": json.loads(sys.stdin.readline()), "max_tokens": 1, "temperature": 0, "ignore_eos": True}
with httpx.Client(timeout=600, headers={"Authorization": "Bearer " + token}) as http:
    http.get(url + "/health")
    print("ready", flush=True)
    sys.stdin.readline()
    t = time.perf_counter()
    http.post(url + "/v1/completions", json=body).raise_for_status()
    print(time.perf_counter() - t, flush=True)
"""


async def steady_prompts(server: Server, tokenizer: object, count: int, tokens: int) -> list[str]:
    """Prompts whose greedy continuations have text in every token: a token without text (an
    end-of-sequence under ignore_eos) sends no event, and the client would see two steps as one gap."""
    specials = set(tokenizer.all_special_tokens)  # type: ignore[attr-defined]
    found = []
    async with httpx.AsyncClient(timeout=600, headers=server.headers) as http:
        for i in range(40):
            prompt = f"Compute ${' + '.join(str(3 + i + 4 * k) for k in range(150))}"
            body = {"prompt": prompt, "max_tokens": tokens, "temperature": 0, "ignore_eos": True, "logprobs": 0}
            r = await http.post(f"{server.url}/v1/completions", json=body)
            r.raise_for_status()
            if not specials & set(r.json()["choices"][0]["logprobs"]["tokens"]):
                found.append(prompt)
            if len(found) == count:
                return found
    raise SystemExit("no prompt continues without special tokens; the gap measure would count two steps as one")


async def gaps(server: Server, tokenizer: object) -> None:
    """The long prompt comes from another process (as from another editor), so the readers of the
    streams measure the model process, not their own client sending it."""
    import subprocess
    import sys

    long_prompt = document(1234, 3500, tokenizer)
    short = await steady_prompts(server, tokenizer, 4, 400)
    sender = subprocess.Popen([sys.executable, "-c", _SENDER, server.url, server.token], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert sender.stdin is not None and sender.stdout is not None
    sender.stdin.write(json.dumps(long_prompt) + "\n")
    sender.stdin.flush()
    assert sender.stdout.readline().strip() == "ready"
    async with httpx.AsyncClient(timeout=600, headers=server.headers) as http:
        alone = await first_token_seconds(http, server, document(4321, 3500, tokenizer))
        times: list[list[float]] = [[] for _ in short]
        streams = [asyncio.ensure_future(stream_times(http, server, p, 400, t)) for p, t in zip(short, times, strict=True)]
        while min(len(t) for t in times) < 20:
            await asyncio.sleep(0.01)
        arrived = time.perf_counter()
        sender.stdin.write("go\n")
        sender.stdin.flush()
        during = float(await asyncio.to_thread(sender.stdout.readline))
        done = time.perf_counter()
        await asyncio.gather(*streams)
    sender.wait()
    all_gaps = [b - a for t in times for a, b in itertools.pairwise(t)]
    window = [b - a for t in times for a, b in itertools.pairwise(t) if b >= arrived and a <= done]
    med, worst = statistics.median(all_gaps), max(window)
    print(f"4 streams of 400 tokens; a {len(tokenizer(long_prompt)['input_ids'])}-token prompt arrives after 20 tokens:")  # type: ignore[operator]
    print(f"  median gap between tokens:  {med * 1000:7.1f} ms")
    print(f"  longest gap while it is prefilled: {worst * 1000:7.1f} ms  ({worst / med:.2f}x the median, goal <= 3x)")
    print(f"  its time to first token:    {during:7.2f} s meanwhile, {alone:.2f} s alone")


async def context_cost(server: Server, tokenizer: object, tokens: int = 64) -> tuple[float, float]:
    per_ctx = []
    async with httpx.AsyncClient(timeout=600, headers=server.headers) as http:
        for ctx in (200, 3000):
            prompts = [document(700 + 10 * ctx + i, ctx, tokenizer) for i in range(8)]
            await asyncio.gather(*(first_token_seconds(http, server, p) for p in prompts))  # prefilled and cached first
            times: list[list[float]] = [[] for _ in prompts]
            await asyncio.gather(*(stream_times(http, server, p, tokens, t) for p, t in zip(prompts, times, strict=True)))
            per_ctx.append(statistics.median(b - a for t in times for a, b in itertools.pairwise(t)))
    return per_ctx[0], per_ctx[1]


def generate_context_cost(model: str, tokens: int = 64) -> tuple[float, float]:
    """The same 8 x 64 greedy tokens through `model.generate` (a DynamicCache grown by torch.cat)."""
    import torch

    from model_server.loading import load_model

    loaded = load_model(model)
    out = []
    for ctx in (200, 3000):
        prompts = [document(700 + 10 * ctx + i, ctx, loaded.tokenizer) for i in range(8)]
        ids = [loaded.tokenizer(p)["input_ids"][-ctx:] for p in prompts]
        batch = torch.tensor(ids, device=loaded.device)
        with torch.inference_mode():
            loaded.model.generate(batch, max_new_tokens=2, min_new_tokens=2, do_sample=False)
            t0 = time.perf_counter()
            loaded.model.generate(batch, max_new_tokens=1, min_new_tokens=1, do_sample=False)
            prefill = time.perf_counter() - t0
            t0 = time.perf_counter()
            loaded.model.generate(batch, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False)
            out.append((time.perf_counter() - t0 - prefill) / (tokens - 1))
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default="ttft,gaps,context")
    args = parser.parse_args()
    from transformers import AutoTokenizer

    from model_server.loading import EMBEDDED_DIR

    parts = set(args.only.split(","))
    tokenizer = AutoTokenizer.from_pretrained(EMBEDDED_DIR if args.model == "embedded" else args.model)
    with model_process(args.model) as server:
        if "ttft" in parts:
            asyncio.run(ttft(server, tokenizer, args.repeats))
        if "gaps" in parts:
            asyncio.run(gaps(server, tokenizer))
        if "context" in parts:
            short, long = asyncio.run(context_cost(server, tokenizer))
    if "context" in parts:
        g_short, g_long = generate_context_cost(args.model)
        print("8 streams x 64 tokens, time per decode step (median gap between a stream's tokens):")
        print(f"  engine:         context 200 {short * 1000:6.1f} ms, context 3000 {long * 1000:6.1f} ms: {long / short:.2f}x")
        print(f"  model.generate: context 200 {g_short * 1000:6.1f} ms, context 3000 {g_long * 1000:6.1f} ms: {g_long / g_short:.2f}x")


if __name__ == "__main__":
    main()
