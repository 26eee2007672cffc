"""Speculative decoding by prompt lookup, side by side in one run: the same requests through two
engines over one loaded model, one drafting from the text at hand and one not (in-process, so
nothing but the drafts differs), alternating which goes first:

- step-by-step solutions (`training.families` problems, a held-out seed): tokens/s, single stream
  (goal: at least 2x);
- derivation continuations, the time until a whole inline suggestion is ready, with the document
  already cached by the previous keystroke as while typing: the held-out set of `bench.derivations`
  (one or two rows above the cursor) and worksheets (several derivations in one document, the
  cursor at a row that continues the one above) (goal: at least 1.7x shorter);
- prose (proofs, and honest refusals of questions outside the model's families): tokens/s (goal:
  no slower than 0.95x);
- throughput of 1, 2, 4, 6, 8 and 16 solutions at once, every row drafting (off, on, on, off over
  two sets of problems), to find the batch size where checking drafts stops paying (the engine
  steps aside above `SPECULATE_ROWS`).

Greedy decoding throughout; every pair of outputs must be identical (speculation is lossless).
Beside the tokens each step gave (`t/step`), `bound` is what prompt lookup could give at best on
the same outputs: at every step, of all earlier occurrences of the last 1 to 3 tokens, the one
whose continuation matches longest (an oracle); the speed-up cannot exceed it.
Each ratio is given twice: by wall-clock time, what a user waits, and by the process's CPU time,
which another job on a shared machine disturbs far less (the two engines never run at once, so
each request's CPU time is its own). One torch thread by default: with two threads on two cores
that another job also uses, a step's time varies tenfold (the threads wait for each other).

    python -m bench.speculative [--drafts N] [--threads T] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from mathcore.prompts import continuation_prompt, solve_prompt
from mathcore.sampling import SamplingParams

BATCHES = (1, 2, 4, 6, 8, 16)


@dataclass(frozen=True)
class Case:
    prompt: str
    stop: tuple[str, ...]
    max_tokens: int
    warm: str = ""  # typed before: prefilled (and cached) untimed first


@dataclass
class Tally:
    seconds: list[float] = field(default_factory=lambda: [0.0, 0.0])  # off, on: wall clock
    cpu: list[float] = field(default_factory=lambda: [0.0, 0.0])  # off, on: the process's CPU time
    tokens: int = 0
    drafted: int = 0
    accepted: int = 0
    same: int = 0
    cases: int = 0
    bound_steps: int = 0  # steps an oracle choosing the best earlier occurrence would need


def solutions(n: int, seed: int = 2027) -> list[Case]:
    from training.families import FAMILIES

    rng, names = random.Random(seed), list(FAMILIES)
    return [Case(solve_prompt(FAMILIES[names[i % len(names)]](rng).problem, "instruct").text, ("\nUser:",), 400) for i in range(n)]


def held_out_derivations(n: int) -> list[Case]:
    from bench.derivations import cases

    out = []
    for c in cases(n):
        p = continuation_prompt(c.text, (), None)
        out.append(Case(p.text, p.stop, 48, warm=p.text[:-1]))
    return out


def worksheets(n: int, seed: int = 2028) -> list[Case]:
    """Documents of a few derivations; the cursor after `&=` of a row that continues the one above."""
    from training.corpus import derivation_rows

    rng, out = random.Random(seed), []
    while len(out) < n:
        before = ["\\begin{align*}\n" + " \\\\\n".join(f"{a} &= {b}".lstrip() for a, b in derivation_rows(rng)[1]) + "\n\\end{align*}"
                  for _ in range(rng.randint(1, 3))]
        sentence, rows = derivation_rows(rng)
        if len(rows) < 2:
            continue
        lines = [f"{a} &= {b}".lstrip() for a, b in rows]
        k = rng.randint(1, len(lines) - 1)
        head = lines[k][: lines[k].index("&=") + 2]
        doc = "\n\n".join([*before, sentence + "\n\\begin{align*}\n" + " \\\\\n".join(lines[:k]) + " \\\\\n" + head])
        p = continuation_prompt(doc, (), None)
        out.append(Case(p.text, p.stop, 48, warm=p.text[:-1]))
    return out


def prose(n: int, seed: int = 2029) -> list[Case]:
    from training.corpus import proof_document
    from training.phrasing import out_of_scope

    rng, out = random.Random(seed), []
    for i in range(n):
        if i % 2:
            out.append(Case(solve_prompt(out_of_scope(rng, "held_out"), "instruct").text, ("\nUser:",), 160))
        else:
            doc = proof_document(rng)
            out.append(Case(doc[: doc.index("\\begin{proof}\n") + 14], ("\\end{proof}",), 160))
    return out


def lookup_bound(prompt: list[int], out: tuple[int, ...], k: int, max_n: int = 3) -> int:
    """Steps needed if every step took the longest run of `out` that follows any earlier occurrence
    of the last 1..max_n tokens (at most `k` drafts, as the engine takes), plus the model's own token."""
    history, t, steps = list(prompt), 0, 0
    while t < len(out):
        limit, best = min(k, len(out) - t - 1), 0
        for n in range(1, max_n + 1):
            suffix = history[-n:]
            for end in range(n - 1, len(history) - 1):
                if history[end - n + 1 : end + 1] == suffix:
                    a = 0
                    while a < limit and end + 1 + a < len(history) and history[end + 1 + a] == out[t + a]:
                        a += 1
                    best = max(best, a)
        history += out[t : t + best + 1]
        t += best + 1
        steps += 1
    return steps


async def generate(engine: object, ids: list[int], case: Case) -> tuple[float, float, tuple[int, ...]]:
    """Wall and CPU seconds from submission to the last token, and the tokens."""
    t0, c0 = time.perf_counter(), time.process_time()
    req = engine.submit(ids, SamplingParams(max_new_tokens=case.max_tokens, stop=list(case.stop)))  # type: ignore[attr-defined]
    final: tuple[int, ...] = ()
    async for ev in req.events():
        if ev.finish_reason:
            final = ev.token_ids
    return time.perf_counter() - t0, time.process_time() - c0, final


async def side_by_side(engines: tuple[object, object], tok: object, cases: list[Case], drafts: int) -> Tally:
    """Each case through both engines, alternating which goes first."""
    tally, on = Tally(), engines[1]
    drafted0, accepted0 = on.metrics.draft_tokens, on.metrics.accepted_tokens  # type: ignore[attr-defined]
    for i, case in enumerate(cases):
        ids = tok(case.prompt)["input_ids"]  # type: ignore[operator]
        outs: list[tuple[int, ...]] = [(), ()]
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            if case.warm:
                await generate(engines[which], tok(case.warm)["input_ids"], Case(case.warm, (), 1))  # type: ignore[operator]
            seconds, cpu, outs[which] = await generate(engines[which], ids, case)
            tally.seconds[which] += seconds
            tally.cpu[which] += cpu
        tally.tokens += len(outs[1])
        tally.bound_steps += lookup_bound(ids, outs[0], drafts)
        tally.same += outs[0] == outs[1]
        tally.cases += 1
    tally.drafted = on.metrics.draft_tokens - drafted0  # type: ignore[attr-defined]
    tally.accepted = on.metrics.accepted_tokens - accepted0  # type: ignore[attr-defined]
    return tally


async def throughput(engine: object, tok: object, cases: list[Case]) -> tuple[float, float]:
    """Tokens per wall-clock and per CPU second of `cases` submitted at once."""
    t0, c0 = time.perf_counter(), time.process_time()
    outs = await asyncio.gather(*(generate(engine, tok(c.prompt)["input_ids"], c) for c in cases))  # type: ignore[operator]
    tokens = sum(len(o) for _, _, o in outs)
    return tokens / (time.perf_counter() - t0), tokens / (time.process_time() - c0)


def report_kind(name: str, t: Tally, latency: bool, goal: str) -> str:
    off, on = t.seconds
    rate = f"{t.accepted / t.drafted:4.0%}" if t.drafted else "  - "
    per_step = t.tokens / max(t.tokens - t.accepted, 1)  # each row-step gives one token plus the drafts it confirmed
    cols = f"{off / t.cases * 1000:6.0f} ms {on / t.cases * 1000:6.0f} ms" if latency else f"{t.tokens / off:5.0f} t/s {t.tokens / on:5.0f} t/s"
    bound = t.tokens / max(t.bound_steps, 1)
    return (f"  {name:<24} {cols}  {off / on:5.2f}x  {t.cpu[0] / t.cpu[1]:5.2f}x  {goal:<8} {rate}  {per_step:4.2f}  {bound:4.2f}"
            f"   {t.same}/{t.cases}")


def batches(quick: bool) -> Iterator[int]:
    return iter(BATCHES[:3] if quick else BATCHES)


async def run(args: argparse.Namespace) -> None:
    import torch

    from model_server.engine import Engine
    from model_server.loading import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = load_model("embedded")
    tok = loaded.tokenizer
    engines = (Engine(loaded, max_batch=16, speculative_tokens=0), Engine(loaded, max_batch=16, speculative_tokens=args.drafts))
    engines[1].scheduler.speculate_rows = 16  # every row drafts, here: the sweep below finds where that stops paying
    for e in engines:
        e.start()
    n = 3 if args.quick else 1
    print(f"speculative decoding by prompt lookup: {args.drafts} drafts per step, embedded model on {loaded.device}, "
          f"{torch.get_num_threads()} torch threads, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("single stream, greedy, side by side (ratio: off/on time, by wall clock and by CPU; latency: per suggestion):")
    print(f"  {'kind':<24} {'off':>9} {'on':>9}  {'wall':>6}  {'cpu':>6}  {'goal':<8} accept t/step bound same")
    try:
        await side_by_side(engines, tok, solutions(2)[:1], args.drafts)  # warm-up
        kinds = (("step-by-step solutions", solutions(8 // n), False, ">= 2x"),
                 ("derivations (held out)", held_out_derivations(30 // n), True, ">= 1.7x"),
                 ("derivation worksheets", worksheets(30 // n), True, ">= 1.7x"),
                 ("prose", prose(10 // n), False, ">= 0.95x"))
        for name, cases, latency, goal in kinds:
            print(report_kind(name, await side_by_side(engines, tok, cases, args.drafts), latency, goal), flush=True)
        print("throughput, solutions at once (128 tokens each), every row drafting:")
        for b in batches(args.quick):
            sets = [[Case(c.prompt, c.stop, 128) for c in solutions(b, seed=3000 + 100 * i + b)] for i in range(2)]
            runs = [(0, sets[0]), (1, sets[0]), (1, sets[1]), (0, sets[1])]  # off, on, on, off: drift falls on both alike
            rates = [[0.0, 0.0], [0.0, 0.0]]  # per engine: seconds per token by wall clock, by CPU
            for which, cases in runs:
                wall, cpu = await throughput(engines[which], tok, cases)
                rates[which][0] += 1 / wall
                rates[which][1] += 1 / cpu
            (off, off_cpu), (on, on_cpu) = ((2 / w, 2 / c) for w, c in rates)
            print(f"  batch {b:2d}: off {off:6.1f} t/s, on {on:6.1f} t/s: {on / off:5.2f}x wall, {on_cpu / off_cpu:5.2f}x cpu", flush=True)
    finally:
        for e in engines:
            e.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    from model_server.drafter import CPU_SPECULATIVE_TOKENS

    parser.add_argument("--drafts", type=int, default=CPU_SPECULATIVE_TOKENS, help="drafts per step for the speculating engine")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1; 0: torch's own choice, as the model process)")
    parser.add_argument("--quick", action="store_true", help="a third of the cases, batches up to 4")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
