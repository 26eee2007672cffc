"""One forward pass for every running row's next token and pieces of new prompts: the packed batch.

A batch of `[rows, width]` makes a decode row that joins a prefill chunk pay for the chunk's
width, and running them as two passes pays the model's fixed cost twice (on a GPU, reading all
the weights twice; on a CPU, several milliseconds of module overhead). So, as in vLLM, every step is one
sequence of tokens `[1, T]`: each decode row's one token, then each prompt piece's tokens. The
linear layers and norms see `T` tokens at once; only attention needs to know whose token is
whose, and that is this module's attention function: it writes nothing (the cache's `update`
wrote the keys in place) and runs one attention call for the decode rows (a batch over their
slots, masked to each row's length) and one per prompt piece (causal over its staging slot).

It is registered as a transformers attention implementation (`AttentionInterface`), so the
model's own code runs unchanged; a forward without a plan (`model.generate` on the same model
object) falls back to SDPA with the usual masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ATTENTION", "Piece", "Plan", "decode_mask", "piece_mask", "use_packed_attention"]

ATTENTION = "mathassist_packed"


@dataclass(frozen=True)
class Piece:
    """Prompt tokens `[start, start + length)` of staging slot `slot`, at `offset` in the packed sequence."""

    slot: int
    offset: int
    start: int
    length: int
    mask: Any  # [1, 1, length, start + length] bool, or None from position 0 (plain causal)


@dataclass(frozen=True)
class Plan:
    """Which packed tokens belong to whom: the first `rows` are the decode rows (slots `first_row...`), then `pieces`."""

    first_row: int
    rows: int
    kv_length: int  # columns the decode rows attend to
    row_mask: Any  # [rows, 1, 1, kv_length] bool
    pieces: tuple[Piece, ...]


def decode_mask(positions: Any, columns: int) -> Any:
    """`[rows, 1, 1, columns]`: each decode row (its token at `positions[row]`) attends to columns up to its own."""
    import torch

    return (torch.arange(columns, device=positions.device)[None, :] <= positions[:, None])[:, None, None, :]


def piece_mask(start: int, length: int, device: Any) -> Any:
    """`[1, 1, length, start + length]`: causal over a slot that already holds `start` positions (None from 0: plain causal)."""
    import torch

    if start == 0:
        return None
    end = start + length
    return (torch.arange(end, device=device)[None, :] <= torch.arange(start, end, device=device)[:, None])[None, None]


def packed_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any, scaling: float | None = None,
                     dropout: float = 0.0, mathassist_plan: Plan | None = None, **kwargs: Any) -> tuple[Any, None]:
    """Attention for a packed step; `key`/`value` are the cache's whole slot tensors [slots, kv_heads, capacity, dim]."""
    import torch
    import torch.nn.functional as F

    if mathassist_plan is None:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    plan = mathassist_plan
    gqa = query.shape[1] != key.shape[1]
    q = query[0]  # [heads, T, dim]
    outs = []
    if plan.rows:
        n, kv, r = plan.rows, plan.kv_length, plan.first_row
        qd = q[:, :n].transpose(0, 1)[:, :, None]  # [rows, heads, 1, dim]
        od = F.scaled_dot_product_attention(qd, key[r : r + n, :, :kv], value[r : r + n, :, :kv], attn_mask=plan.row_mask,
                                            scale=scaling, enable_gqa=gqa)
        outs.append(od[:, :, 0].transpose(0, 1))  # [heads, rows, dim]
    for p in plan.pieces:
        qc = q[None, :, p.offset : p.offset + p.length]
        end = p.start + p.length
        kc, vc = key[p.slot : p.slot + 1, :, :end], value[p.slot : p.slot + 1, :, :end]
        oc = F.scaled_dot_product_attention(qc, kc, vc, attn_mask=p.mask, is_causal=p.mask is None, scale=scaling, enable_gqa=gqa)
        outs.append(oc[0])
    out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)  # [heads, T, dim]
    return out.transpose(0, 1)[None], None  # [1, T, heads, dim], as the model's attention expects


def use_packed_attention(model: Any) -> None:
    """Route the model's attention through `packed_attention` (SDPA and its masks when there is no plan)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    AttentionInterface.register(ATTENTION, packed_attention)
    AttentionMaskInterface.register(ATTENTION, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])
    model.set_attn_implementation(ATTENTION)
