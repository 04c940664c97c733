"""Random LoRA adapters and revisions that fit a base (test helper).

    weights = random_weights(base, seed=1)                     # mlx naming, float32
    nudged = nudge(weights, seed=2)                            # a "nightly update" of them
    mlx_dir = write_adapter(tmp / "a", base, weights)          # an mlx-lm adapter dir
    rev = import_revision(registry, base, weights, tmp)        # a registered revision
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from personal.adapters.formats import GGUF_PROJ, write_mlx_adapter

TARGETS = ("self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj")


def random_weights(base, *, seed: int = 0, rank: int = 4, layers: int = 2, std: float = 0.05,
                   targets: tuple[str, ...] = TARGETS) -> dict[str, np.ndarray]:  # fmt: skip
    dims = {t.name: t.shape for t in base.header.tensors}  # GGUF order: (in, out)
    n_layers = int(base.header.arch_get("block_count"))
    rng = np.random.default_rng(seed)
    out = {}
    for layer in range(n_layers - layers, n_layers):
        for target in targets:
            n_in, n_out = dims[f"blk.{layer}.{GGUF_PROJ[target]}.weight"][:2]
            stem = f"model.layers.{layer}.{target}"
            out[f"{stem}.lora_a"] = rng.normal(0, n_in**-0.5, (n_in, rank)).astype(np.float32)
            out[f"{stem}.lora_b"] = rng.normal(0, std, (rank, n_out)).astype(np.float32)
    return out


def nudge(weights: dict[str, np.ndarray], *, seed: int = 1,
          amount: float = 0.05) -> dict[str, np.ndarray]:  # fmt: skip
    """What a night of training does to them, roughly: every value moves a little."""
    rng = np.random.default_rng(seed)
    return {k: (v + rng.normal(0, amount, v.shape) * np.abs(v)).astype(np.float32)
            for k, v in weights.items()}  # fmt: skip


def write_adapter(out: Path, base, weights: dict[str, np.ndarray], scale: float = 4.0) -> Path:
    layers = sorted({int(k.split(".")[2]) for k in weights})
    targets = sorted({".".join(k.split(".")[3:5]) for k in weights})
    rank = next(w.shape[1] for k, w in weights.items() if k.endswith("lora_a"))
    lora = {"rank": rank, "scale": scale, "dropout": 0.0, "keys": targets}
    n_layers = int(base.header.arch_get("block_count")) - layers[0]
    write_mlx_adapter(out, weights, lora, n_layers,
                      {"base_fingerprint": base.fingerprint, "dataset_sha256": None})  # fmt: skip
    return Path(out)


def import_revision(registry, base, weights: dict[str, np.ndarray], tmp: Path, scale=4.0):
    from personal.adapters.importer import import_adapter

    src = write_adapter(Path(tmp) / f"src-{len(list(Path(tmp).glob('src-*')))}", base, weights,
                        scale)  # fmt: skip
    return import_adapter(src, base, registry)
