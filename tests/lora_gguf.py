"""Write a random GGUF-LoRA adapter for a llama-architecture base (test helper)."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

from personal.models.header import read_header

# A random adapter this strong changes the base's greedy answer from its first token (18 of 18
# prompts and seeds measured; at 0.08 one in 18 kept the base's answer): for the tests whose
# point is that an answer came from the adapter, on whatever CPU's kernels run them.
DISTINCT = 0.3
ALL = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


def write_random_lora(
    base_gguf: Path, out: Path, *, rank: int = 4, alpha: float = 8.0, std: float = 0.05,
    seed: int = 0, layers: int = 4, wrong_shape: bool = False,
    projections: tuple[str, ...] = ("attn_q", "attn_v", "ffn_down"),
) -> Path:  # fmt: skip
    header = read_header(base_gguf)
    arch = header.architecture
    shapes = {t.name: t.shape for t in header.tensors}
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(out), arch)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", alpha)
    n_layers = int(header.arch_get("block_count"))
    for i in range(n_layers - layers, n_layers):
        for proj in projections:
            n_in, n_out = shapes[f"blk.{i}.{proj}.weight"]  # GGUF order: (in, out)
            if wrong_shape:
                n_in += 1
            a = rng.normal(0, std, (rank, n_in)).astype(np.float32)
            b = rng.normal(0, std, (n_out, rank)).astype(np.float32)
            writer.add_tensor(f"blk.{i}.{proj}.weight.lora_a", a)
            writer.add_tensor(f"blk.{i}.{proj}.weight.lora_b", b)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
