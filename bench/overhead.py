"""Overhead of the model process: one greedy 64-token request over HTTP against `model.generate`
in-process, for the same tokens and model, alternating in one run.  Goal: at most 1.15x.

    python -m bench.overhead [--model embedded] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from bench._server import model_process
from model_server.loading import load_model

PROMPT = "User: Solve for $x$: $7x - 4 = 31$.\nPlease reason step by step, and put your final answer within \\boxed{}.\n\nAssistant:"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    import torch

    loaded = load_model(args.model)
    ids = loaded.tokenizer(PROMPT, return_tensors="pt")["input_ids"].to(loaded.device)

    def in_process() -> tuple[float, list[int]]:
        t = time.perf_counter()
        with torch.inference_mode():
            out = loaded.model.generate(ids, max_new_tokens=args.tokens, min_new_tokens=args.tokens, do_sample=False)
        return time.perf_counter() - t, out[0, ids.shape[1]:].tolist()

    with model_process(args.model) as server, httpx.Client(timeout=120) as http:
        body = {"prompt": PROMPT, "max_tokens": args.tokens, "temperature": 0, "ignore_eos": True, "logprobs": 0}

        def over_http() -> tuple[float, list[str]]:
            t = time.perf_counter()
            r = http.post(f"{server.url}/v1/completions", json=body, headers=server.headers)
            r.raise_for_status()
            return time.perf_counter() - t, r.json()["choices"][0]["logprobs"]["tokens"]

        over_http(), in_process()  # warm-up
        local, remote = [], []
        for _ in range(args.repeats):
            dt, gen_ids = in_process()
            local.append(dt)
            dt, tokens = over_http()
            remote.append(dt)
        same = loaded.tokenizer.convert_ids_to_tokens(gen_ids) == tokens
    lm, rm = statistics.median(local), statistics.median(remote)
    print(f"model {args.model} on {loaded.device}, {args.tokens} greedy tokens, median of {args.repeats}")
    print(f"model.generate in-process: {lm * 1000:8.1f} ms  ({args.tokens / lm:7.1f} tokens/s)")
    print(f"HTTP /v1/completions:      {rm * 1000:8.1f} ms  ({args.tokens / rm:7.1f} tokens/s)")
    print(f"same tokens: {same}")
    print(f"overhead ratio (HTTP / in-process): {rm / lm:.3f}x  (goal <= 1.15x)")


if __name__ == "__main__":
    main()
