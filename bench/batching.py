"""Continuous batching: 8 concurrent sampled requests (temperature 0.7, 64 tokens) against the same
8 one after another, aggregate tokens/s, in one run.  Goal: at least 5x on this CPU.  For
reference, the same 8 prompts greedy through transformers' own continuous batching
(`generate_batch`, in-process, no HTTP).

    python -m bench.batching [--model embedded] [--tokens 64] [--temperature 0.7]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench._server import model_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--requests", type=int, default=8)
    args = parser.parse_args()
    bodies = [{"prompt": f"User: Compute ${100 + 37 * i} + {250 + 11 * i}$.\n\nAssistant:", "max_tokens": args.tokens,
               "temperature": args.temperature, "seed": i, "ignore_eos": True} for i in range(args.requests)]

    async def run(server_url: str, headers: dict[str, str], concurrent: bool) -> float:
        async with httpx.AsyncClient(timeout=600, headers=headers) as http:
            async def one(body: dict[str, object]) -> int:
                r = await http.post(f"{server_url}/v1/completions", json=body)
                r.raise_for_status()
                return int(r.json()["usage"]["completion_tokens"])

            t = time.perf_counter()
            if concurrent:
                counts = await asyncio.gather(*(one(b) for b in bodies))
            else:
                counts = [await one(b) for b in bodies]
            dt = time.perf_counter() - t
            assert sum(counts) == args.tokens * len(bodies)
            return sum(counts) / dt

    with model_process(args.model) as server:
        asyncio.run(run(server.url, server.headers, True))  # warm-up
        seq = asyncio.run(run(server.url, server.headers, False))
        conc = asyncio.run(run(server.url, server.headers, True))
    hf = transformers_continuous_batching(args.model, [str(b["prompt"]) for b in bodies], args.tokens)
    print(f"model {args.model}, {args.requests} requests x {args.tokens} tokens, temperature {args.temperature}")
    print(f"one after another: {seq:8.1f} tokens/s")
    print(f"concurrent:        {conc:8.1f} tokens/s")
    print(f"batching speed-up: {conc / seq:.2f}x  (goal >= 5x)")
    print(f"transformers generate_batch (in-process, greedy): {hf:8.1f} tokens/s  ({conc / hf:.2f}x of it over HTTP)")


def transformers_continuous_batching(model: str, prompts: list[str], tokens: int) -> float:
    """Aggregate tokens/s of transformers' continuous batching on the same prompts (after a warm-up)."""
    from transformers import GenerationConfig

    from model_server.loading import load_model

    loaded = load_model(model)
    ids = [loaded.tokenizer(p)["input_ids"] for p in prompts]
    config = GenerationConfig(max_new_tokens=tokens, do_sample=False, eos_token_id=-1, pad_token_id=0)
    loaded.model.generate_batch(inputs=ids, generation_config=config)
    t = time.perf_counter()
    out = loaded.model.generate_batch(inputs=ids, generation_config=config)
    dt = time.perf_counter() - t
    return sum(len(o.generated_tokens) for o in out.values()) / dt


if __name__ == "__main__":
    main()
