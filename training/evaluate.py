"""Evaluate the served model on held-out problems, through the real model process.

    python -m training.evaluate --per-family 50 --seed 12345

Every problem is new twice over: drawn with another seed than the corpus, and asked in a
phrasing from the templates that training never uses (`training.phrasing`'s held-out half), so
the score says how the model does on questions as a new user types them. Measured, as a user
meets it:

- **solve**: each problem solved greedily with `assist.solve` (the `mathassist solve --json`
  path), its final answer checked with sympy (`checker.answers_equal`), per family; how many
  got an answer at all (not declined), and whether answers in a letter other than x kept it;
- **tools**: multi-operation arithmetic with `--tools`; right, and right with the answer backed
  by a program run whose output is that answer;
- **declined**: held-out questions outside the model's families; declined means no answer and a
  reason (`answer` null and `declined` set in `--json`);
- **align next**: an `align*` derivation as people write it (no lead sentence), cut at a row
  with its left side typed (`2x &= `): the suggestion the language server's own suggester gives
  with its checker filter off, judged by the derivation checker against the rows above;
- **proof steps**: unseen proofs cut after a step: how often the suggester (as shipped, filter
  on) offers at least two candidates; and held-out statements beyond the model: how often it
  offers none (it declines rather than fabricate a step).

Requests run 8 at a time, so the engine batches them. `--min-accuracy` makes it a check (CI);
`--record DIR` adds the figures to the last leg in DIR/training.json.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import re
import shlex
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from assist import Connection, ConnectionState, Cursor, Settings, Suggester, solve
from checker import answers_equal, check_suggestion, verdict_of
from mathcore.languages import Language
from mathcore.sampling import SamplingParams
from model_server.client import Client
from training.corpus import derivation_rows, proof_document
from training.families import FAMILIES, Worked
from training.phrasing import out_of_scope, out_of_scope_theorem, phrase

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


def _letters(answer: str) -> set[str]:
    """The variable letters of an answer (LaTeX commands such as \\frac left out)."""
    return set(re.findall(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", " ", answer)))


@dataclass(frozen=True)
class Solved:
    """One held-out problem through `mathassist solve`: right, answered at all (not declined),
    and, where the answer is an expression in a letter other than x, whether it kept that letter."""

    family: str
    right: bool
    answered: bool
    own_variable: bool | None


def solve_problems(client: Client, problems: list[tuple[str, str, Worked]]) -> list[Solved]:
    """Each problem solved greedily, chain of thought, as `mathassist solve --json` does."""
    params = SamplingParams(max_new_tokens=900)

    def check(item: tuple[str, str, Worked]) -> Solved:
        name, question, w = item
        answer = solve(client, question, params, check=False).answer
        own = None
        if w.var != "x" and w.var in _letters(w.answer):
            own = answer is not None and _letters(answer) == _letters(w.answer)
        return Solved(name, _right(answer, w.answer), answer is not None, own)

    return _parallel(check, problems)


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
    """Held-out out-of-scope questions that get no answer and a reason (`declined` in --json)."""
    rng = random.Random(seed)
    questions = [out_of_scope(rng, "held_out") for _ in range(count)]
    params = SamplingParams(max_new_tokens=200)
    results = _parallel(lambda q: solve(client, q, params, check=False), questions)
    return sum(r.answer is None and r.declined is not None for r in results), len(results)


def align_cases(count: int, seed: int) -> list[str]:
    """`align*` derivations without a lead sentence, cut at a row after the first, its left side typed."""
    rng = random.Random(seed)
    cases: list[str] = []
    while len(cases) < count:
        _, rows = derivation_rows(rng)
        k = rng.randrange(1, len(rows))
        lines = [f"{left} &= {right}".lstrip() for left, right in rows[:k]]
        typed = f"{rows[k][0]} &= ".lstrip()
        cases.append("\\begin{align*}\n" + " \\\\\n".join(lines) + " \\\\\n" + typed)
    return cases


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


def unprovable_cases(count: int, seed: int) -> list[str]:
    """Held-out statements beyond the model's proofs, the cursor at the start of their proof."""
    rng = random.Random(seed)
    return [f"\\begin{{theorem}}\n{out_of_scope_theorem(rng, 'held_out')}\n\\end{{theorem}}\n\\begin{{proof}}\n" for _ in range(count)]


class _Quiet:
    """The evaluation's connection listener: the process is already running; failures raise."""

    def state_changed(self, state: ConnectionState, detail: str) -> None:
        pass

    def unreachable(self, message: str, first: bool) -> None:
        pass

    def note(self, message: str) -> None:
        pass


async def _through_the_editor(align: list[str], proofs: list[str], seed: int) -> tuple[list[str], list[int]]:
    """What the language server's own suggester gives: the raw next row of each `align*` case (the
    checker's filter off, so that the model is judged, not the filter) with the checker's verdict
    on it, and how many proof-step candidates it offers at each proof cut (filter on, as shipped)."""
    defaults = Settings()
    raw = dataclasses.replace(defaults, verify="off", debounce_ms=0)
    shipped = dataclasses.replace(defaults, proof=defaults.proof.replace(seed=seed))
    connection = Connection(_Quiet())
    rows, steps = Suggester(lambda: raw, connection), Suggester(lambda: shipped, connection)
    gate = asyncio.Semaphore(8)  # as many at once as the engine batches well

    async def row(i: int, text: str) -> str:
        async with gate:
            got = await rows.next_step(f"align{i}", 0, Cursor(text + "\n\\end{align*}\n", len(text), Language.LATEX), explicit=True)
        if got is None:
            return "none"
        return verdict_of(await asyncio.to_thread(check_suggestion, text + "\n\\end{align*}\n", "latex", len(text), got))

    async def proof(text: str) -> int:
        async with gate:
            return len(await steps.proof_steps(Cursor(text + "\\end{proof}\n", len(text), Language.LATEX)))

    verdicts = await asyncio.gather(*(row(i, t) for i, t in enumerate(align)))
    counts = await asyncio.gather(*(proof(t) for t in proofs))
    client = await connection.client()
    await client.aclose()
    return list(verdicts), list(counts)


def _row(label: str, right: int, total: int) -> str:
    return f"{label:<14}{right:>4}/{total:<4}{right / max(total, 1):6.0%}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-family", type=int, default=50, help="held-out problems per family")
    parser.add_argument("--tools", type=int, default=50, help="held-out multi-operation problems solved with --tools")
    parser.add_argument("--declines", type=int, default=100, help="held-out out-of-scope questions")
    parser.add_argument("--align", type=int, default=100, help="held-out align* rows")
    parser.add_argument("--proofs", type=int, default=50, help="held-out proofs cut after a step (and as many unprovable statements)")
    parser.add_argument("--seed", type=int, default=12345, help="not the training seed")
    parser.add_argument("--min-accuracy", type=float, default=None, help="exit 1 if overall solve accuracy is below this")
    parser.add_argument("--record", metavar="DIR", help="write the figures into DIR/training.json, on its last leg")
    args = parser.parse_args()
    start = time.monotonic()
    rows: dict[str, list[int]] = {}  # label: [count, total]

    def row(label: str, count: int, total: int, note: str = "") -> None:
        rows[label] = [count, total]
        print(f"{label:<16}{count:>4}/{total:<4}{count / max(total, 1):6.0%}" + (f"  ({note})" if note else ""), flush=True)

    with Client.connect() as client:
        model = client.model()
        print(f"model: {model}  (held-out phrasings, seed {args.seed})")
        solved = solve_problems(client, held_out_problems(args.per_family, args.seed))
        for name in dict.fromkeys(s.family for s in solved):
            mine = [s for s in solved if s.family == name]
            row(name, sum(s.right for s in mine), len(mine))
        row("overall", sum(s.right for s in solved), len(solved))
        row("answered", sum(s.answered for s in solved), len(solved), "in-scope problems not declined")
        owned = [s.own_variable for s in solved if s.own_variable is not None]
        row("own variable", sum(owned), len(owned), "answers in the problem's letter, where it is not x")
        if args.tools:
            r, backed, t = tools_accuracy(client, held_out_problems(args.tools, args.seed + 1, ["multi"]))
            row("tools multi", backed, t, f"right and backed by a program run; {r} right")
        if args.declines:
            row("declined", *decline_rate(client, args.declines, args.seed + 2))
    if args.align or args.proofs:
        verdicts, counts = asyncio.run(_through_the_editor(
            align_cases(args.align, args.seed + 3), proof_cases(args.proofs, args.seed + 4) + unprovable_cases(args.proofs, args.seed + 5),
            args.seed))
        if args.align:
            tally = ", ".join(f"{v} {verdicts.count(v)}" for v in ("verified", "wrong", "unknown", "none"))
            row("align next", verdicts.count("verified"), len(verdicts), tally)
        if args.proofs:
            provable, unprovable = counts[: args.proofs], counts[args.proofs:]
            row("proof >= 2", sum(c >= 2 for c in provable), len(provable), f"mean {sum(provable) / max(len(provable), 1):.1f} candidates")
            row("proof declined", sum(c == 0 for c in unprovable), len(unprovable), "no step offered for a statement beyond the model")
    minutes = (time.monotonic() - start) / 60
    print(f"({minutes * 60:.0f} s)")
    if args.record:
        record(Path(args.record), {"model": model, "seed": args.seed, "command": "python -m training.evaluate " + shlex.join(sys.argv[1:]),
                                   "minutes": round(minutes, 1), "rows": rows})
    overall = rows["overall"]
    if args.min_accuracy is not None and overall[0] / max(overall[1], 1) < args.min_accuracy:
        print(f"overall accuracy {overall[0] / max(overall[1], 1):.0%} is below the floor {args.min_accuracy:.0%}", file=sys.stderr)
        return 1
    return 0


def record(folder: Path, evaluation: dict[str, Any]) -> None:
    """Add the evaluation to the last leg of the chain in `folder/training.json`."""
    path = folder / "training.json"
    data = json.loads(path.read_text())
    data["legs"][-1].setdefault("evaluations", []).append(evaluation)
    path.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
