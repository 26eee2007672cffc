"""Continuous batching: 8 concurrent requests against the same 8 one after another, aggregate
tokens/s, in one run.  Goal: at least 3x on this CPU.

    python -m bench.batching [--model embedded] [--tokens 128]
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
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--requests", type=int, default=8)
    args = parser.parse_args()
    bodies = [{"prompt": f"User: Compute ${100 + 37 * i} + {250 + 11 * i}$.\n\nAssistant:", "max_tokens": args.tokens,
               "temperature": 0.7 * (i % 2), "seed": i, "ignore_eos": True} for i in range(args.requests)]

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
    print(f"model {args.model}, {args.requests} requests x {args.tokens} tokens")
    print(f"one after another: {seq:8.1f} tokens/s")
    print(f"concurrent:        {conc:8.1f} tokens/s")
    print(f"batching speed-up: {conc / seq:.2f}x  (goal >= 3x)")


if __name__ == "__main__":
    main()
