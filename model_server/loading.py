"""Find, check and load a checkpoint: `auto`, `embedded`, a hub id, or a local directory.

Every spec ends in the same call, `AutoModelForCausalLM.from_pretrained` on a directory in the
Hugging Face layout (config.json, safetensors, tokenizer.json), which is how DeepSeekMath's
checkpoints load; the embedded model is just a directory inside this package. torch and
transformers are imported inside functions so that importing this module stays cheap.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model_server.errors import ModelLoadError

__all__ = ["EMBEDDED_DIR", "LoadedModel", "load_model", "resolve_device", "resolve_dtype", "resolve_model"]

log = logging.getLogger(__name__)

EMBEDDED_DIR = Path(__file__).parent / "embedded"
DEFAULT_GPU_MODEL = "deepseek-ai/deepseek-math-7b-base"


@dataclass
class LoadedModel:
    """What the engine needs: the model, its tokenizer, and how it is placed."""

    name: str
    model: Any
    tokenizer: Any
    device: str
    dtype: str
    context_length: int

    @property
    def vocab_size(self) -> int:
        """Token ids below this name a token of both the tokenizer and the embedding."""
        return min(len(self.tokenizer), int(self.model.config.vocab_size))


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def resolve_model(spec: str) -> str:
    """Map `auto` to a concrete model (saying which it picked), a local folder to its absolute path."""
    if spec == "auto":
        chosen = DEFAULT_GPU_MODEL if cuda_available() else "embedded"
        log.warning("--model auto picked %s (%s)", chosen, "a CUDA GPU is present" if chosen != "embedded" else "no CUDA GPU")
        return chosen
    if spec != "embedded" and Path(spec).expanduser().is_dir():
        return os.path.realpath(Path(spec).expanduser())
    return spec


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device == "cuda" and not cuda_available():
        raise ModelLoadError("--device cuda was asked for, but torch sees no CUDA GPU; use --device cpu or auto")
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    if dtype == "auto":
        return "bfloat16" if device.startswith("cuda") else "float32"
    return dtype


def _checkpoint_dir(spec: str) -> Path:
    """A local directory holding the checkpoint, downloading from the hub when allowed."""
    if spec == "embedded":
        path = EMBEDDED_DIR
    elif Path(spec).expanduser().exists():
        path = Path(spec).expanduser()
    else:
        return _from_hub(spec)
    if not path.is_dir() or not (path / "config.json").is_file():
        raise ModelLoadError(
            f"{path} is not a checkpoint directory: it has no config.json. Point --model at a folder "
            "in the Hugging Face layout (config.json, *.safetensors, tokenizer.json), or use --model embedded."
        )
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        raise ModelLoadError(f"{path} has a config.json but no weights (*.safetensors); copy the weights there or pick another --model")
    return path


def _from_hub(spec: str) -> Path:
    if spec.count("/") != 1:
        raise ModelLoadError(
            f"--model {spec!r} is neither a local directory nor a hub id like deepseek-ai/deepseek-math-7b-rl; "
            "use auto, embedded, a hub id or a path"
        )
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.safetensors", "tokenizer*", "*.model"]
    try:
        return Path(snapshot_download(spec, allow_patterns=patterns, local_files_only=True))
    except Exception:  # not cached: try the network below
        pass
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise ModelLoadError(f"{spec} is not in the Hugging Face cache and HF_HUB_OFFLINE=1; download it first or unset HF_HUB_OFFLINE")
    try:
        log.warning("downloading %s from the Hugging Face hub (progress below)", spec)
        return Path(snapshot_download(spec, allow_patterns=patterns))
    except Exception as exc:
        raise ModelLoadError(
            f"{spec} is not cached and could not be downloaded ({type(exc).__name__}: {str(exc)[:200]}). "
            "Check the name and your network, run `huggingface-cli download "
            f"{spec}` where there is a network, or use --model embedded."
        ) from exc


def _check_memory(path: Path, device: str, dtype: str) -> None:
    import torch

    if not device.startswith("cuda"):
        return
    weights = sum(f.stat().st_size for f in path.glob("*.safetensors"))
    if dtype == "float32":
        weights *= 2  # checkpoints are stored in 16 bits; float32 doubles them
    free, _ = torch.cuda.mem_get_info()
    if weights * 1.1 > free:
        raise ModelLoadError(
            f"the model needs about {weights / 2**30:.1f} GiB of GPU memory and {free / 2**30:.1f} GiB is free; "
            "free the GPU, use a smaller --dtype (bfloat16), or run on --device cpu"
        )


SMALL_MODEL_PARAMETERS = 50_000_000


def _threads_for(model: Any, device: str) -> None:
    """One CPU thread for a small model: its step is a few hundred tiny operations, and a second
    thread only adds waiting at every one of them; when another program holds a core, two threads
    wait on each other (the embedded model's decode step: 20 ms with one thread, 230 ms with two,
    on a loaded 2-core machine). A large model keeps torch's default (one thread per core)."""
    import torch

    if device == "cpu" and sum(p.numel() for p in model.parameters()) < SMALL_MODEL_PARAMETERS:
        torch.set_num_threads(1)


def load_model(spec: str, device: str = "auto", dtype: str = "auto") -> LoadedModel:
    """Load the model and tokenizer named by `spec` onto the chosen device, in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = resolve_model(spec)
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    path = _checkpoint_dir(name)
    _check_memory(path, dev, dt)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        placement = {} if dev == "cpu" else {"device_map": dev}  # straight to the GPU, no CPU copy
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dt), **placement)
    except torch.OutOfMemoryError as exc:
        raise ModelLoadError("the GPU ran out of memory while loading; use --dtype bfloat16, a smaller model, or --device cpu") from exc
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path} could not be loaded as a causal language model: {exc}") from exc
    model.eval()
    _threads_for(model, dev)
    context = int(getattr(model.config, "max_position_embeddings", 4096))
    shown = "embedded (mathassist's small demo model, not DeepSeekMath)" if name == "embedded" else name
    log.warning("loaded %s on %s (%s), context %d tokens", shown, dev, dt, context)
    return LoadedModel(name=name, model=model, tokenizer=tokenizer, device=dev, dtype=dt, context_length=context)
