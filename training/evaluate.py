"""Evaluate the served model on a held-out set, through the real model process.

    python -m training.evaluate --per-family 50 --seed 12345

Problems come from the same generators as the training corpus with another seed. Each is solved
greedily with `model_server.client.solve` (the `mathassist solve --json` path) and its final
answer checked with sympy (`checker.answers_equal`). Inline continuation is measured the way the
language server does it: an `align*` derivation cut after its first step, the prompt built by
`continuation_prompt`, the suggestion post-processed, and the next line compared by value.
Requests run 8 at a time, so the engine batches them. `--min-accuracy` makes it a check (CI).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from checker import answers_equal
from mathcore.context import extract_context
from mathcore.postprocess import postprocess
from mathcore.prompts import continuation_prompt
from mathcore.sampling import SamplingParams
from model_server.client import Client, solve
from training.corpus import align_document
from training.families import FAMILIES


def solve_accuracy(client: Client, per_family: int, seed: int) -> dict[str, tuple[int, int]]:
    rng = random.Random(seed)
    problems = [(name, gen(rng)) for name, gen in FAMILIES.items() for _ in range(per_family)]
    params = SamplingParams(max_new_tokens=640)

    def check(item: tuple[str, object]) -> tuple[str, bool]:
        name, w = item
        result = solve(client, w.problem, params)  # type: ignore[attr-defined]
        return name, result.answer is not None and answers_equal(result.answer, w.answer)  # type: ignore[attr-defined]

    scores: dict[str, tuple[int, int]] = {}
    with ThreadPoolExecutor(8) as pool:
        for name, ok in pool.map(check, problems):
            right, total = scores.get(name, (0, 0))
            scores[name] = (right + ok, total + 1)
    return scores


def align_accuracy(client: Client, count: int, seed: int) -> tuple[int, int]:
    """Cut held-out align* derivations after their first line; is the suggested next line right?"""
    rng = random.Random(seed)
    cases = []
    while len(cases) < count:
        doc = align_document(rng)
        lines = doc.split("\n")
        if len(lines) < 5:
            continue
        # lines: sentence, \begin{align*}, step 1, step 2 (the target), ..., \end{align*}
        target = lines[3]
        left, _, right = target.partition("&=")
        text = "\n".join([*lines[:3], left + "&= "])
        cases.append((text, right.removesuffix("\\\\").strip()))
    params = SamplingParams(max_new_tokens=48)

    def check(case: tuple[str, str]) -> bool:
        text, want = case
        line = text.count("\n")
        ctx = extract_context(text, line, len(text.split("\n")[-1]), "latex")
        prompt = continuation_prompt(ctx.prefix, ctx.definitions, ctx.environment)
        got = client.complete(prompt.text, params.replace(stop=list(prompt.stop))).choices[0].text
        got = postprocess(got, ctx)
        return got is not None and (got.strip() == want or answers_equal(got, want))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(check, cases))
    return sum(results), len(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-family", type=int, default=50)
    parser.add_argument("--align", type=int, default=100, help="held-out align* continuations")
    parser.add_argument("--seed", type=int, default=12345, help="not the training seed")
    parser.add_argument("--min-accuracy", type=float, default=None, help="exit 1 if overall solve accuracy is below this")
    args = parser.parse_args()
    start = time.monotonic()
    with Client.connect() as client:
        print(f"model: {client.model()}")
        scores = solve_accuracy(client, args.per_family, args.seed)
        right = sum(r for r, _ in scores.values())
        total = sum(t for _, t in scores.values())
        for name, (r, t) in scores.items():
            print(f"{name:<12}{r:>4}/{t:<4}{r / t:6.0%}")
        print(f"{'overall':<12}{right:>4}/{total:<4}{right / total:6.0%}")
        if args.align:
            a, n = align_accuracy(client, args.align, args.seed + 1)
            print(f"{'align next':<12}{a:>4}/{n:<4}{a / n:6.0%}")
    print(f"({time.monotonic() - start:.0f} s)")
    if args.min_accuracy is not None and right / total < args.min_accuracy:
        print(f"overall accuracy {right / total:.0%} is below the floor {args.min_accuracy:.0%}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
