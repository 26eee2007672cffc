"""Model loading on small checkpoints made here in DeepSeekMath's layout, and its errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from model_server.errors import ModelLoadError
from model_server.loading import EMBEDDED_DIR, load_model


def test_local_checkpoint_loads_as_float32_on_cpu(tiny_checkpoint: Path) -> None:
    loaded = load_model(str(tiny_checkpoint))
    assert (loaded.device, loaded.dtype, loaded.context_length) == ("cpu", "float32", 4096)
    assert type(loaded.model).__name__ == "LlamaForCausalLM"
    assert next(loaded.model.parameters()).dtype.__str__() == "torch.float32"
    assert loaded.tokenizer("Compute $12$")["input_ids"][0] == loaded.tokenizer.bos_token_id


def test_dtype_flag_is_honoured(tiny_checkpoint: Path) -> None:
    loaded = load_model(str(tiny_checkpoint), dtype="bfloat16")
    assert str(next(loaded.model.parameters()).dtype) == "torch.bfloat16"


def test_embedded_model_is_a_hub_layout_checkpoint() -> None:
    names = {p.name for p in EMBEDDED_DIR.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"} <= names
    assert json.loads((EMBEDDED_DIR / "config.json").read_text())["architectures"] == ["LlamaForCausalLM"]


def test_a_folder_without_config_is_not_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"no config\.json"):
        load_model(str(tmp_path))


def test_a_folder_without_weights_says_so(tmp_path: Path, tiny_checkpoint: Path) -> None:
    shutil.copy(tiny_checkpoint / "config.json", tmp_path / "config.json")
    with pytest.raises(ModelLoadError, match="no weights"):
        load_model(str(tmp_path))


def test_uncached_hub_model_offline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(ModelLoadError, match="not in the Hugging Face cache"):
        load_model("deepseek-ai/deepseek-math-7b-rl")


def test_nonsense_spec_names_the_accepted_forms() -> None:
    with pytest.raises(ModelLoadError, match=r"auto, embedded, a hub id or a path"):
        load_model("no such model")


def test_cuda_without_gpu_says_what_to_use() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ModelLoadError, match="--device cpu"):
        load_model("embedded", device="cuda")
