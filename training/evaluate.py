"""Evaluate the served model on held-out problems, through the real model process.

    python -m training.evaluate --per-family 50 --seed 12345

Every problem is new twice over: drawn with another seed than the corpus, and asked in a
phrasing from the templates that training never uses (`training.phrasing`'s held-out half), so
the score says how the model does on questions as a new user types them. Measured, as a user
meets it:

- **solve**: each problem solved greedily with `model_server.client.solve` (the `mathassist solve
  --json` path), its final answer checked with sympy (`checker.answers_equal`), per family;
- **tools**: multi-operation arithmetic with `--tools`; right, and right with the answer backed
  by a program run whose output is that answer;
- **declined**: held-out questions outside the model's families; declined means no answer at all
  (`answer` is null in `--json`);
- **align next**: an `align*` derivation as people write it (no lead sentence), cut at a row
  with its left side typed (`2x &= `): the suggestion the language server would show (its
  prompt, its post-processing), judged by the derivation checker against the rows above;
- **proof steps**: unseen proofs cut after a step; the candidates the language server would
  offer (its prompt, sampling settings and filtering); how often there are at least two.

Requests run 8 at a time, so the engine batches them. `--min-accuracy` makes it a check (CI).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from assist import Settings, solve
from assist.suggest import PROOF_STEP_FILTERS, ranked
from checker import answers_equal, check_suggestion, verdict_of
from mathcore.context import extract_context
from mathcore.postprocess import postprocess
from mathcore.prompts import continuation_prompt
from mathcore.sampling import SamplingParams
from model_server.client import Client
from training.corpus import derivation_rows, proof_document
from training.families import FAMILIES, Worked
from training.phrasing import out_of_scope, phrase

T = TypeVar("T")
R = TypeVar("R")


def _parallel(fn: Callable[[T], R], items: list[T]) -> list[R]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(fn, items))


def held_out_problems(per_family: int, seed: int, families: list[str] | None = None) -> list[tuple[str, str, Worked]]:
    """(family, question, worked problem): new numbers, asked in held-out phrasings."""
    rng = random.Random(seed)
    out = []
    for name in families or list(FAMILIES):
        for _ in range(per_family):
            w = FAMILIES[name](rng)
            out.append((name, phrase(w, rng, "held_out"), w))
    return out


def _right(answer: str | None, want: str) -> bool:
    return answer is not None and answers_equal(answer, want)


def solve_accuracy(client: Client, problems: list[tuple[str, str, Worked]]) -> dict[str, tuple[int, int]]:
    """Right answers per family, greedy, chain of thought."""
    params = SamplingParams(max_new_tokens=900)

    def check(item: tuple[str, str, Worked]) -> tuple[str, bool]:
        name, question, w = item
        return name, _right(solve(client, question, params, check=False).answer, w.answer)

    scores: dict[str, tuple[int, int]] = {}
    for name, ok in _parallel(check, problems):
        right, total = scores.get(name, (0, 0))
        scores[name] = (right + ok, total + 1)
    return scores


def tools_accuracy(client: Client, problems: list[tuple[str, str, Worked]]) -> tuple[int, int, int]:
    """(right, right and backed by a run printing that answer, total) with the tool instruction."""
    params = SamplingParams(max_new_tokens=400)

    def check(item: tuple[str, str, Worked]) -> tuple[bool, bool]:
        _, question, w = item
        result = solve(client, question, params, tools=True, check=False)
        right = _right(result.answer, w.answer)
        backed = right and any(r.error is None and _right(r.output.strip(), w.answer) for r in result.tool_runs)
        return right, backed

    results = _parallel(check, problems)
    return sum(r for r, _ in results), sum(b for _, b in results), len(results)


def decline_rate(client: Client, count: int, seed: int) -> tuple[int, int]:
    """Held-out out-of-scope questions that get no answer."""
    rng = random.Random(seed)
    questions = [out_of_scope(rng, "held_out") for _ in range(count)]
    params = SamplingParams(max_new_tokens=200)
    declined = _parallel(lambda q: solve(client, q, params, check=False).answer is None, questions)
    return sum(declined), len(declined)


def align_cases(count: int, seed: int) -> list[str]:
    """`align*` derivations without a lead sentence, cut at a row after the first, its left side typed."""
    rng = random.Random(seed)
    cases = []
    while len(cases) < count:
        _, rows = derivation_rows(rng)
        k = rng.randrange(1, len(rows))
        lines = [f"{left} &= {right}".lstrip() for left, right in rows[:k]]
        typed = f"{rows[k][0]} &= ".lstrip()
        cases.append("\\begin{align*}\n" + " \\\\\n".join(lines) + " \\\\\n" + typed)
    return cases


def align_accuracy(client: Client, count: int, seed: int) -> dict[str, int]:
    """The next row the editor would suggest, judged by the derivation checker: verdict counts."""
    params = SamplingParams(max_new_tokens=48)

    def check(text: str) -> str:
        line = text.count("\n")
        ctx = extract_context(text, line, len(text.split("\n")[-1]), "latex")
        prompt = continuation_prompt(ctx.prefix, ctx.definitions, ctx.environment)
        got = postprocess(client.complete(prompt.text, params.replace(stop=list(prompt.stop))).choices[0].text, ctx)
        if got is None:
            return "none"
        return verdict_of(check_suggestion(text + "\n\\end{align*}\n", "latex", len(text), got))

    verdicts = _parallel(check, align_cases(count, seed))
    return {v: verdicts.count(v) for v in ("verified", "wrong", "unknown", "none")}


def proof_cases(count: int, seed: int) -> list[str]:
    """Unseen proofs cut after a whole step (the cursor at the start of the next line)."""
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        doc = proof_document(rng)
        head, _, body = doc.partition("\\begin{proof}\n")
        steps = body.removesuffix("\n\\end{proof}").split("\n")
        k = rng.randrange(0, len(steps))
        cases.append(head + "\\begin{proof}\n" + "".join(s + "\n" for s in steps[:k]))
    return cases


def proof_candidates(client: Client, count: int, seed: int) -> list[int]:
    """How many distinct candidates the language server would offer at each cut (refuted ones dropped)."""
    settings = Settings()

    def check(text: str) -> int:
        lines = text.split("\n")
        ctx = extract_context(text + "\\end{proof}\n", len(lines) - 1, 0, "latex")
        prompt = continuation_prompt(ctx.prefix, ctx.definitions, ctx.environment, proof_step=True)
        params = settings.proof.replace(stop=list(prompt.stop), samples=2 * settings.candidates, seed=seed)
        steps = ranked(client.complete(prompt.text, params, logprobs=True).choices, ctx, PROOF_STEP_FILTERS)
        kept = [s for s in steps if verdict_of(check_suggestion(text, "latex", len(text), " " + s.text)) != "wrong"]
        return min(len(kept), settings.candidates)

    return _parallel(check, proof_cases(count, seed))


def _row(label: str, right: int, total: int) -> str:
    return f"{label:<14}{right:>4}/{total:<4}{right / max(total, 1):6.0%}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-family", type=int, default=50, help="held-out problems per family")
    parser.add_argument("--tools", type=int, default=50, help="held-out multi-operation problems solved with --tools")
    parser.add_argument("--declines", type=int, default=100, help="held-out out-of-scope questions")
    parser.add_argument("--align", type=int, default=100, help="held-out align* rows")
    parser.add_argument("--proofs", type=int, default=50, help="held-out proofs cut after a step")
    parser.add_argument("--seed", type=int, default=12345, help="not the training seed")
    parser.add_argument("--min-accuracy", type=float, default=None, help="exit 1 if overall solve accuracy is below this")
    args = parser.parse_args()
    start = time.monotonic()
    failed: list[str] = []
    with Client.connect() as client:
        print(f"model: {client.model()}  (held-out phrasings, seed {args.seed})")
        scores = solve_accuracy(client, held_out_problems(args.per_family, args.seed))
        right = sum(r for r, _ in scores.values())
        total = sum(t for _, t in scores.values())
        for name, (r, t) in scores.items():
            print(_row(name, r, t))
        print(_row("overall", right, total))
        if args.min_accuracy is not None and right / total < args.min_accuracy:
            failed.append(f"overall accuracy {right / total:.0%} is below the floor {args.min_accuracy:.0%}")
        if args.tools:
            r, backed, t = tools_accuracy(client, held_out_problems(args.tools, args.seed + 1, ["multi"]))
            print(_row("tools multi", r, t) + f"  ({backed} backed by a run)")
        if args.declines:
            print(_row("declined", *decline_rate(client, args.declines, args.seed + 2)))
        if args.align:
            verdicts: dict[str, Any] = align_accuracy(client, args.align, args.seed + 3)
            print(_row("align next", verdicts["verified"], args.align) + "  (" + ", ".join(f"{k} {v}" for k, v in verdicts.items()) + ")")
        if args.proofs:
            counts = proof_candidates(client, args.proofs, args.seed + 4)
            print(_row("proof >= 2", sum(c >= 2 for c in counts), len(counts)) + f"  (mean {sum(counts) / len(counts):.1f} candidates)")
    print(f"({time.monotonic() - start:.0f} s)")
    for message in failed:
        print(message, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
