"""Train the embedded model: tokenizer, then a small LlamaForCausalLM, saved as a hub checkpoint.

From scratch (fixed seeds, CPU):

    python -m training.train --out model_server/embedded --minutes 55

or in legs, each resuming from the weights the previous one saved (the second edition):

    python -m training.train --resume model_server/embedded --out training/legs/embedded-leg1 --minutes 90

A leg saves its weights (half precision unless `--dtype float32`) every `--checkpoint-minutes`
and at its end, with `training.json` holding the whole chain of legs that led to them (command,
steps, minutes, loss; `training.evaluate --record` adds the evaluation), so a leg cut short by a
session's end still leaves weights the next leg resumes from, and the chain reproduces the model.

The output directory has exactly the layout of a DeepSeekMath checkpoint (config.json with
LlamaForCausalLM, model.safetensors, tokenizer.json, tokenizer_config.json,
generation_config.json), so `--model embedded` exercises the real loading path.

Why these choices:
- byte-level BPE with every digit its own token (the DeepSeek tokenizer splits digits too), so
  column arithmetic is a sequence of one-digit facts the model can learn;
- documents are packed into fixed windows separated by EOS/BOS, so no compute goes to padding;
- bf16 autocast only where the CPU has bf16 instructions (AMX/AVX512-BF16): on a plain AVX2 CPU
  torch emulates bf16 matrix products and a step is 20 times slower than in float32 (measured);
- training stops at a wall-clock budget, not a step count, and the schedule is laid out for it;
- the mixture leans towards the families whose solutions are long column arithmetic (linear
  equations, arithmetic, series): they need the most examples, the short ones are learnt early;
- windows of 768 tokens hold a whole worked solution (99% of documents are shorter), so every
  step sees the problem it solves.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FOCUS = "linear=2.5,arithmetic=2.2,multi=3,series=1.3,fractions=1.3,derivative=0.8,expand=0.6,factor=0.6,quadratic=0.6"
BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"


def train_tokenizer(seed: int, vocab_size: int, out: Path) -> None:
    """Byte-level BPE on a sample of the corpus, digits split one by one."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    from training.corpus import documents

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(itertools.islice(documents(seed + 1000), 25000), trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": BOS,
                "eos_token": EOS,
                "add_bos_token": True,
                "add_eos_token": False,
                "model_max_length": 4096,
                "clean_up_tokenization_spaces": False,
            },
            indent=2,
        )
    )


def batches(tokenizer, seed: int, batch: int, length: int, weights: dict[str, float] | None = None,  # type: ignore[no-untyped-def]
            mix: dict[str, float] | None = None):
    """Endless packed batches: [BOS doc EOS BOS doc EOS ...] cut into windows of `length`+1."""
    import torch

    from training.corpus import documents

    stream = documents(seed, weights, mix)
    eos = tokenizer.eos_token_id
    buf: list[int] = []
    while True:
        rows = []
        while len(rows) < batch:
            while len(buf) < length + 1:
                buf.extend(tokenizer(next(stream))["input_ids"] + [eos])
            rows.append(buf[: length + 1])
            buf = buf[length + 1 :]
        yield torch.tensor(rows)


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (else autocast to bf16 is much slower than float32)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _config(args: argparse.Namespace, tokenizer: Any) -> Any:
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=args.hidden,
        intermediate_size=args.hidden * 8 // 3 // 64 * 64 + 64,
        num_hidden_layers=args.layers,
        num_attention_heads=args.hidden // 64,
        num_key_value_heads=args.hidden // 64,
        max_position_embeddings=4096,  # as DeepSeekMath; RoPE needs no trained positions for short texts
        rope_theta=10000.0,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
        torch_dtype="float32",
    )


class ThreadTuner:
    """Picks the number of threads by measured step time, since the machine is shared.

    On an idle machine two threads make a step nearly twice as fast as one; when other work takes
    a core, the two threads wait on each other at every parallel region and a step becomes several
    times slower than with one thread (measured here: 0.6 s idle, 4 to 50 s under load, against
    1.4 to 13 s with one thread). So now and then one step is taken with the other count, and the
    faster (by a running mean of step times) is kept. A probe that loses doubles the wait before
    the next one (up to `longest` steps), since under load a losing probe costs many good steps;
    a probe that wins switches at once; and a count that became slower than the other was when
    last tried is probed against it at once. Every step computes the same shape, so their times compare.
    """

    def __init__(self, max_threads: int, every: int = 20, longest: int = 160) -> None:
        self.choices = sorted({1, max_threads})
        self.mean: dict[int, float] = {}
        self.current = max_threads
        self.every, self.first, self.longest = every, every, longest
        self.until = 1  # steps to the next probe: the other count is tried once early on
        self.probing = False

    def observe(self, threads: int, seconds: float) -> int:
        """Record a step's time (taken with `threads`); the thread count for the next step."""
        old = self.mean.get(threads)
        self.mean[threads] = seconds if old is None or self.probing else 0.7 * old + 0.3 * seconds
        if len(self.choices) == 1:
            return threads
        if self.probing:  # a probe's one step decides: switch, or wait longer before the next
            self.probing = False
            if self.mean[threads] < self.mean[self.current]:
                self.current, self.every = threads, self.first
            else:
                self.every = min(2 * self.every, self.longest)
            self.until = self.every
            return self.current
        self.until -= 1
        other = next(n for n in self.choices if n != self.current)
        # probe when it is time, or at once when the current count got slower than the other last was
        if self.until <= 0 or self.mean[self.current] > self.mean.get(other, 0.0):
            self.probing = True
            return other
        return self.current


def _commit() -> str | None:
    """The code's commit (the corpus is code: a leg reproduces with the same commit)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def chain_of(resume: str | None) -> list[dict[str, Any]]:
    """The legs that made the checkpoint at `resume`: its `training.json` chain, or its one
    from-scratch run (the first edition's file predates legs) as leg 0."""
    if not resume:
        return []
    path = Path(resume) / "training.json"
    if not path.exists():
        return []
    record = json.loads(path.read_text())
    if "legs" in record:
        return list(record["legs"])
    return [{"leg": 0, "from_scratch": True, "command": None, **record}]


def save(model: Any, tokenizer: Any, out: Path, dtype: str, legs: list[dict[str, Any]]) -> None:
    """Weights (in `dtype`), generation config and the chain of legs, written to `out`.

    Written to a temporary folder and renamed into place, so a checkpoint is never half written.
    """
    import torch
    from transformers import GenerationConfig

    tmp = out.with_name(out.name + ".saving")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state = {k: v.detach().to(getattr(torch, dtype)).contiguous() for k, v in model.state_dict().items()}
    model.save_pretrained(tmp, state_dict=state, safe_serialization=True)
    config = json.loads((tmp / "config.json").read_text())
    config["dtype"] = dtype
    (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    GenerationConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, do_sample=False).save_pretrained(tmp)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(out / name, tmp / name)
    n_params = sum(p.numel() for p in model.parameters())
    (tmp / "training.json").write_text(json.dumps({"parameters": n_params, "legs": legs}, indent=2) + "\n")
    for f in tmp.iterdir():
        f.replace(out / f.name)
    tmp.rmdir()


def _pairs(text: str | None) -> dict[str, float] | None:
    """`a=1,b=2.5` as a dict (the --focus and --mix flags)."""
    return {k: float(v) for k, v in (kv.split("=") for kv in text.split(",") if kv)} if text else None


def _start(args: argparse.Namespace, out: Path) -> tuple[Any, Any]:
    """The tokenizer and model a run begins with: the last leg's (resumed), or new ones."""
    import torch
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

    if not args.resume:
        train_tokenizer(args.seed, args.vocab, out)
        tokenizer = PreTrainedTokenizerFast.from_pretrained(out)
        return tokenizer, LlamaForCausalLM(_config(args, tokenizer))
    # a further leg: same tokenizer, the weights the last leg saved, a new data seed and schedule
    if Path(args.resume).resolve() != out.resolve():
        for name in ("tokenizer.json", "tokenizer_config.json"):  # as written by the first run, byte for byte
            shutil.copy(Path(args.resume) / name, out / name)
    return PreTrainedTokenizerFast.from_pretrained(args.resume), LlamaForCausalLM.from_pretrained(args.resume, dtype=torch.float32)


def _learning_rate(args: argparse.Namespace, step: int, progress: float) -> float:
    """Linear warm-up over this run's first steps, then a cosine from `lr` down to a tenth of it
    over the leg's wall-clock budget (`progress` is the share of it spent)."""
    return float(args.lr * min(1.0, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))))


def _leg(args: argparse.Namespace, out: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The legs before this one, and this one's record: new, or the unfinished leg saved in `out`
    that this run continues (a leg cut short, say by the end of a session, resumes where it stopped,
    within the budget it was given)."""
    command = "python -m training.train " + shlex.join(sys.argv[1:])
    previous = chain_of(args.resume)
    if previous and not previous[-1].get("finished", True) and Path(args.resume).resolve() == out.resolve():
        leg = previous.pop()
        leg.setdefault("continued", []).append({"command": command, "commit": _commit(), "at_step": leg["steps"], "at_minutes": leg["minutes"]})
        return previous, leg
    return previous, {
        "leg": len(previous), "command": command, "commit": _commit(), "resumed_from": args.resume, "steps": 0, "minutes": 0.0,
        "first_loss": None, "final_loss": None, "finished": False, "args": vars(args),
    }


def train(args: argparse.Namespace) -> None:
    """Train within the wall-clock budget, saving a Hugging Face checkpoint as it goes and at the end."""
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer, model = _start(args, out)
    previous, leg = _leg(args, out)
    budget, spent = leg["args"]["minutes"] * 60, leg["minutes"] * 60  # a continued leg keeps its budget and schedule
    weights, mix = _pairs(args.focus), _pairs(args.mix)
    print(f"parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M, vocab {len(tokenizer)}, leg {leg['leg']}"
          + (f", continued at step {leg['steps']}" if leg.get("continued") else ""), flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    start = last_save = time.monotonic()
    data_seed = args.seed + (7 if args.resume else 0) + 1000 * len(leg.get("continued", []))  # a continuation sees new data
    data = batches(tokenizer, data_seed, args.batch, args.length, weights, mix)
    bf16 = cpu_has_bf16() and not args.float32
    print(f"bf16 autocast: {'on' if bf16 else 'off'}", flush=True)
    tuner = ThreadTuner(args.threads) if args.adapt_threads else None
    model.train()
    local = 0
    while (elapsed := spent + time.monotonic() - start) < budget:
        began = time.monotonic()
        lr = _learning_rate(args, local, elapsed / budget)
        for group in opt.param_groups:
            group["lr"] = lr
        x = next(data)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=x[:, :-1], labels=x[:, :-1]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        ema = loss.item() if leg["final_loss"] is None else 0.98 * leg["final_loss"] + 0.02 * loss.item()
        local += 1
        leg.update(steps=leg["steps"] + 1, final_loss=ema, first_loss=leg["first_loss"] or ema)
        if tuner is not None and (threads := tuner.observe(torch.get_num_threads(), time.monotonic() - began)) != torch.get_num_threads():
            torch.set_num_threads(threads)
        if leg["steps"] % 50 == 0:
            means = "" if tuner is None else " s/step " + " ".join(f"{n}t {m:.2f}" for n, m in sorted(tuner.mean.items()))
            print(f"step {leg['steps']} {elapsed / 60:.1f} min lr {lr:.2e} loss {ema:.4f}{means}", flush=True)
        if args.checkpoint_minutes and time.monotonic() - last_save > args.checkpoint_minutes * 60:
            _checkpoint(model, tokenizer, out, args.dtype, previous, leg, spent + time.monotonic() - start, finished=False)
            last_save = time.monotonic()
    _checkpoint(model, tokenizer, out, args.dtype, previous, leg, spent + time.monotonic() - start, finished=True)


def _checkpoint(model: Any, tokenizer: Any, out: Path, dtype: str, previous: list[dict[str, Any]], leg: dict[str, Any],
                seconds: float, finished: bool) -> None:
    """Save the weights with the chain of legs; `seconds`: the leg's time so far, continuations included."""
    model.eval()
    leg.update(minutes=round(seconds / 60, 1), finished=finished)
    save(model, tokenizer, out, dtype, [*previous, leg])
    model.train()
    print(f"saved {out} after {leg['steps']} steps{'' if finished else ' (checkpoint)'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="model_server/embedded")
    parser.add_argument("--minutes", type=float, default=55.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vocab", type=int, default=768)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--batch", type=int, default=6)
    parser.add_argument("--length", type=int, default=768)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=2, help="at most this many threads")
    parser.add_argument("--adapt-threads", action=argparse.BooleanOptionalAction, default=True,
                        help="use fewer threads while that is faster (a shared machine); default on")
    parser.add_argument("--resume", default=None, help="continue from this checkpoint (keeps its tokenizer)")
    parser.add_argument("--focus", default=FOCUS, help="family weights for solutions (default %(default)s)")
    parser.add_argument("--mix", default=None, help="shares of kinds of documents, over training.corpus.MIX (e.g. decline=0.12,tools=0.35)")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--checkpoint-minutes", type=float, default=10.0, help="save every so often (0: only at the end)")
    parser.add_argument("--dtype", choices=["float16", "bfloat16", "float32"], default="float16",
                        help="the saved weights' precision (training is float32 or bf16 autocast)")
    parser.add_argument("--float32", action="store_true", help="no bf16 autocast even where the CPU has bf16 instructions")
    train(parser.parse_args())


if __name__ == "__main__":
    main()
