"""The engine on a GPU, beside plain `model.generate`, in one run of a few minutes.

A model with deepseek-math-7b's exact configuration and random weights, in bfloat16, has the real
model's speed (the weights' values do not change the work). Each line prints the engine's figure
beside `model.generate`'s (transformers' own loop, DynamicCache, greedy) on the same prompts:

- single-stream decode tokens/s (goal on an H200: at least 250; the memory-bandwidth floor is ~330);
- aggregate tokens/s of 8 and of 32 concurrent streams;
- time to first token of a 1,000- and a 3,500-token prompt, fresh and after a prompt sharing all
  but its last few tokens (the engine's prefix cache; `generate` has none);
- peak GPU memory of each phase;
- the engine again with every decode step eager (`MATHASSIST_CUDA_GRAPHS=0`), to show what the
  replayed CUDA graphs (`model_server.graphs`) bring.

The engine runs in-process (no HTTP; `bench.overhead` measures that layer). The tokenizer is a
word-level one with the model's 102,400-token vocabulary, so detokenisation costs what it costs.

    python -m bench.gpu                 # on the GPU machine
    python -m bench.gpu --config tiny   # the same code on a CPU, a small model, as a smoke test
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

from mathcore.sampling import SamplingParams

DEEPSEEK_MATH_7B = {  # config.json of deepseek-ai/deepseek-math-7b-base/-instruct/-rl
    "vocab_size": 102400, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 30,
    "num_attention_heads": 32, "num_key_value_heads": 32, "max_position_embeddings": 4096, "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0, "bos_token_id": 100000, "eos_token_id": 100001, "tie_word_embeddings": False,
}
TINY = {**DEEPSEEK_MATH_7B, "vocab_size": 2048, "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 4, "bos_token_id": 2046, "eos_token_id": 2047}


def build(config: dict[str, Any], device: str, dtype: str) -> Any:
    """A LoadedModel of random weights and a word-level tokenizer of the same vocabulary."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from model_server.loading import LoadedModel

    vocab = {f"w{i}": i for i in range(config["vocab_size"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="w0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=f"w{config['bos_token_id']}",
                                        eos_token=f"w{config['eos_token_id']}", unk_token="w0")
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(LlamaConfig(**config)).to(getattr(torch, dtype)).eval()
    return LoadedModel("random-deepseek-math-7b", model, tokenizer, device, dtype, config["max_position_embeddings"])


def prompt(seed: int, length: int, vocab: int) -> list[int]:
    import torch

    g = torch.Generator().manual_seed(seed)
    return torch.randint(10, vocab - 10, (length,), generator=g).tolist()


class Measure:
    """Times and peak memory, synchronised with the device."""

    def __init__(self, device: str) -> None:
        import torch

        self.cuda = device.startswith("cuda")
        self.torch = torch

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def reset_peak(self) -> None:
        if self.cuda:
            self.torch.cuda.reset_peak_memory_stats()

    def peak_gib(self) -> float:
        return self.torch.cuda.max_memory_allocated() / 2**30 if self.cuda else float("nan")


def run_generate(loaded: Any, m: Measure, tokens: int, lengths: dict[str, int]) -> dict[str, float]:
    import torch

    model, dev, vocab = loaded.model, loaded.device, loaded.model.config.vocab_size
    out: dict[str, float] = {}

    def gen(ids: list[list[int]], n: int) -> float:
        batch = torch.tensor(ids, device=dev)
        m.sync()
        t = time.perf_counter()
        with torch.inference_mode():
            model.generate(batch, attention_mask=torch.ones_like(batch), max_new_tokens=n, min_new_tokens=n, do_sample=False,
                           pad_token_id=0)
        m.sync()
        return time.perf_counter() - t

    gen([prompt(0, 64, vocab)], 4)  # warm-up
    for streams in (1, 8, 32):
        ids = [prompt(100 + i, 128, vocab) for i in range(streams)]
        m.reset_peak()
        first = gen(ids, 1)
        total = gen(ids, tokens)
        out[f"decode{streams}"] = streams * (tokens - 1) / (total - first)
        out[f"peak{streams}"] = m.peak_gib()
    for name, length in lengths.items():
        m.reset_peak()
        out[f"ttft{name}"] = statistics.median(gen([prompt(200 + length + k, length, vocab)], 1) for k in range(3))
        out[f"ttft{name}_shared"] = out[f"ttft{name}"]  # generate keeps nothing between calls
        out[f"peak{name}"] = m.peak_gib()
    return out


def run_engine(loaded: Any, m: Measure, tokens: int, lengths: dict[str, int], max_batch: int) -> dict[str, float]:
    from model_server.engine import Engine

    vocab = loaded.model.config.vocab_size
    engine = Engine(loaded, max_batch=max_batch, max_queue=64)
    engine.start()
    out: dict[str, float] = {}

    async def one(ids: list[int], n: int) -> tuple[float, float]:
        """(time to first token, time to last) of one greedy request."""
        t = time.perf_counter()
        req = engine.submit(ids, SamplingParams(max_new_tokens=n), ignore_eos=True)
        first = None
        async for _ in req.events():
            first = first or time.perf_counter() - t
        return first or 0.0, time.perf_counter() - t

    async def scenario() -> None:
        await one(prompt(0, 64, vocab), 4)  # warm-up
        for streams in (1, 8, 32):
            ids = [prompt(100 + i, 128, vocab) for i in range(streams)]
            m.reset_peak()
            t = time.perf_counter()
            results = await asyncio.gather(*(one(i, tokens) for i in ids))
            wall = time.perf_counter() - t
            if streams == 1:
                out["decode1"] = (tokens - 1) / (results[0][1] - results[0][0])
            else:
                out[f"decode{streams}"] = streams * tokens / wall
            out[f"peak{streams}"] = m.peak_gib()
        for name, length in lengths.items():
            m.reset_peak()
            fresh, shared = [], []
            for k in range(3):
                ids = prompt(200 + length + k, length, vocab)
                fresh.append((await one(ids, 1))[0])
                shared.append((await one(ids[:-4] + prompt(9 + k, 6, vocab), 1))[0])  # the next keystroke
            out[f"ttft{name}"], out[f"ttft{name}_shared"] = statistics.median(fresh), statistics.median(shared)
            out[f"peak{name}"] = m.peak_gib()

    try:
        asyncio.run(scenario())
    finally:
        engine.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=["deepseek-math-7b", "tiny"], default="deepseek-math-7b")
    parser.add_argument("--device", default=None, help="default: cuda when present, else cpu")
    parser.add_argument("--tokens", type=int, default=256, help="decoded tokens per stream")
    args = parser.parse_args()
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = "bfloat16" if device.startswith("cuda") else "float32"
    config = DEEPSEEK_MATH_7B if args.config == "deepseek-math-7b" else TINY
    t = time.perf_counter()
    loaded = build(config, device, dtype)
    print(f"{args.config} (random weights) on {device} in {dtype}, built in {time.perf_counter() - t:.0f} s"
          + (f": {torch.cuda.get_device_name()}" if device.startswith("cuda") else ""))
    m = Measure(device)
    lengths = {"1000": 1000, "3500": 3500}
    eng = run_engine(loaded, m, args.tokens, lengths, max_batch=32)
    os.environ["MATHASSIST_CUDA_GRAPHS"] = "0"  # the same engine with every decode step eager
    eager = run_engine(loaded, m, args.tokens, lengths, max_batch=32)
    del os.environ["MATHASSIST_CUDA_GRAPHS"]
    gen = run_generate(loaded, m, args.tokens, lengths)
    print(f"{'':34} {'engine':>10} {'no graphs':>10} {'generate':>10}")
    for key, label, unit in (
        ("decode1", "single stream", "tok/s"), ("decode8", "8 streams, aggregate", "tok/s"),
        ("decode32", "32 streams, aggregate", "tok/s"),
        ("ttft1000", "first token, 1,000-token prompt", "ms"), ("ttft1000_shared", "  ...sharing all but its end", "ms"),
        ("ttft3500", "first token, 3,500-token prompt", "ms"), ("ttft3500_shared", "  ...sharing all but its end", "ms"),
        ("peak1", "peak memory, 1 stream", "GiB"), ("peak32", "peak memory, 32 streams", "GiB"),
        ("peak3500", "peak memory, 3,500-token prompts", "GiB"),
    ):
        scale = 1000 if unit == "ms" else 1
        print(f"{label:34} {eng[key] * scale:10.1f} {eager[key] * scale:10.1f} {gen[key] * scale:10.1f}  {unit}")
    print(f"single stream goal on an H200: >= 250 tok/s (engine {eng['decode1']:.0f})")


if __name__ == "__main__":
    main()
