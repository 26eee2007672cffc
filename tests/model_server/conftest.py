"""Fixtures of the model process's tests: a small checkpoint in DeepSeekMath's layout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from model_server.loading import EMBEDDED_DIR


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random LlamaForCausalLM saved like deepseek-math-7b-rl: config.json, safetensors, tokenizer files."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    path = tmp_path_factory.mktemp("ckpt") / "deepseek-math-tiny-rl"
    torch.manual_seed(0)
    tok_cfg = json.loads((EMBEDDED_DIR / "tokenizer_config.json").read_text())
    vocab = len(json.loads((EMBEDDED_DIR / "tokenizer.json").read_text())["model"]["vocab"]) + 2
    config = LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         max_position_embeddings=4096, bos_token_id=vocab - 2, eos_token_id=vocab - 1, torch_dtype="bfloat16")
    LlamaForCausalLM(config).to(torch.bfloat16).save_pretrained(path, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(EMBEDDED_DIR / name, path / name)
    assert tok_cfg["bos_token"]
    return path
