"""One trained adapter, three formats; and the checked way back in.

    formats = export_all(mlx_dir, base, revision_dir)
    # {"mlx": "mlx", "gguf": "adapter.gguf", "peft": "peft"}

- `mlx/`: the mlx-lm adapter directory, copied byte for byte (its hash is the revision id).
- `adapter.gguf`: GGUF-LoRA for llama.cpp (FACTS.md): `blk.{i}.{proj}.weight.lora_a` (r, in)
  and `.lora_b` (out, r), F32, alpha = scale × rank; llama-architecture bases store Q/K rows
  permuted, so lora_b of q and k gets the same row permutation.
- `peft/`: PEFT/Hugging Face LoRA (vLLM and transformers load it), in HF row order.

mlx-lm stores A as (in, r) and B as (r, out) with y = xWᵀ + scale·(x@A)@B; GGUF and PEFT
store the transposes and an alpha with scale = alpha / r.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from personal.adapters.manifest import BaseIdentity
from personal.adapters.safetensors_check import check_safetensors, refuse_pickle
from personal.errors import AdapterFormatError, NonFiniteWeights
from personal.models.catalog import BaseModel

MLX_WEIGHTS, MLX_CONFIG = "adapters.safetensors", "adapter_config.json"
PEFT_WEIGHTS, PEFT_CONFIG = "adapter_model.safetensors", "adapter_config.json"
GGUF_PROJ = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}  # fmt: skip


def export_all(mlx_dir: Path, base: BaseModel, out_dir: Path, *,
               stamp: BaseIdentity | None = None) -> dict[str, str]:  # fmt: skip
    """Write every format into `out_dir`; returns {format: path relative to out_dir}.

    `stamp`: the base identity whose name, source and fingerprint the files record (by
    default `base`'s own). A host exporting a device's revision for its own copy of the
    base passes the revision's identity, so its files are byte for byte the device's."""
    out_dir = Path(out_dir)
    export_mlx(mlx_dir, out_dir / "mlx")
    export_gguf(mlx_dir, base, out_dir / "adapter.gguf", stamp=stamp)
    export_peft(mlx_dir, base, out_dir / "peft", stamp=stamp)
    return {"mlx": "mlx", "gguf": "adapter.gguf", "peft": "peft"}


def export_mlx(mlx_dir: Path, out_dir: Path) -> Path:
    """The canonical format: copied unchanged, so its hash stays the trained weights' hash."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (MLX_WEIGHTS, MLX_CONFIG):
        shutil.copyfile(Path(mlx_dir) / name, out_dir / name)
    return out_dir


def export_gguf(mlx_dir: Path, base: BaseModel, out: Path, *, permute_qk: bool = True,
                stamp: BaseIdentity | None = None) -> Path:  # fmt: skip
    """GGUF-LoRA for llama.cpp. `permute_qk=False` writes the classic silent bug (HF row
    order for a llama base); it exists only so tests can show the equivalence check fails."""
    import gguf

    config, weights = read_mlx_adapter(Path(mlx_dir))
    rank, scale = _rank_scale(config)
    arch = base.architecture
    heads = {"self_attn.q_proj": int(base.header.arch_get("attention.head_count"))}
    heads["self_attn.k_proj"] = int(base.header.arch_get("attention.head_count_kv", heads["self_attn.q_proj"]))  # fmt: skip
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    writer = gguf.GGUFWriter(str(tmp), arch)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(scale * rank))
    writer.add_string("general.name", f"personal adapter for {(stamp or base).name}")
    for layer, target, a, b in _pairs(weights):
        lora_b = b.T  # (out, r), HF row order
        if arch == "llama" and target in heads and permute_qk:
            lora_b = _permute_rows(lora_b, heads[target])  # as llama.cpp permuted W_q/W_k
        name = f"blk.{layer}.{GGUF_PROJ[target]}.weight"
        writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(a.T, np.float32))
        writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(lora_b, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, out)
    return out


def export_peft(mlx_dir: Path, base: BaseModel, out_dir: Path, *,
                stamp: BaseIdentity | None = None) -> Path:  # fmt: skip
    """PEFT LoRA: `adapter_config.json` + `adapter_model.safetensors` (lora_A (r, in),
    lora_B (out, r)); HF checkpoints hold un-permuted Q/K, as MLX does."""
    import mlx.core as mx

    config, weights = read_mlx_adapter(Path(mlx_dir))
    rank, scale = _rank_scale(config)
    tensors, layers, targets = {}, set(), set()
    for layer, target, a, b in _pairs(weights):
        prefix = f"base_model.model.model.layers.{layer}.{target}"
        tensors[f"{prefix}.lora_A.weight"] = mx.array(np.ascontiguousarray(a.T, np.float32))
        tensors[f"{prefix}.lora_B.weight"] = mx.array(np.ascontiguousarray(b.T, np.float32))
        layers.add(layer)
        targets.add(target.split(".")[-1])
    peft_config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": scale * rank,
        "lora_dropout": float(config.get("lora_parameters", {}).get("dropout", 0.0)),
        "target_modules": sorted(targets), "layers_to_transform": sorted(layers),
        "layers_pattern": "layers", "bias": "none", "fan_in_fan_out": False,
        "use_rslora": False, "use_dora": False, "modules_to_save": None, "inference_mode": True,
        "base_model_name_or_path": (stamp or base).source or (stamp or base).name,
    }  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / PEFT_CONFIG).write_text(json.dumps(peft_config, indent=2))
    meta = {"format": "pt", "base_fingerprint": (stamp or base).fingerprint}
    mx.save_safetensors(str(out_dir / PEFT_WEIGHTS), tensors, metadata=meta)
    return out_dir


def write_mlx_adapter(
    out_dir: Path, weights: dict[str, Any], lora_parameters: dict[str, Any], n_layers: int,
    provenance: dict[str, Any],
) -> None:  # fmt: skip
    """An mlx-lm adapter directory (`adapters.safetensors` + `adapter_config.json`, with
    `provenance` keys beside mlx-lm's own), written whole into place, never half-written.
    `weights` are MLX or numpy arrays in mlx-lm naming and orientation."""
    import mlx.core as mx

    out_dir = Path(out_dir)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    arrays = {k: v if isinstance(v, mx.array) else mx.array(v) for k, v in sorted(weights.items())}
    mx.save_safetensors(str(tmp / MLX_WEIGHTS), arrays, metadata={"format": "mlx"})
    adapter_config = {"fine_tune_type": "lora", "num_layers": n_layers,
                      "lora_parameters": lora_parameters, **provenance}  # fmt: skip
    (tmp / MLX_CONFIG).write_text(json.dumps(adapter_config, indent=2))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)


# --- reading --------------------------------------------------------------------------
def read_mlx_adapter(mlx_dir: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(adapter_config, float32 weights) of an mlx-lm adapter directory."""
    try:
        config = json.loads((mlx_dir / MLX_CONFIG).read_text())
    except (OSError, ValueError) as e:
        raise AdapterFormatError(f"cannot read {mlx_dir / MLX_CONFIG}: {e}") from None
    return config, _load_tensors(mlx_dir / MLX_WEIGHTS)


def load_adapter(path: Path, base: BaseModel) -> dict[str, np.ndarray]:
    """Import an MLX or PEFT safetensors adapter (a directory or the weights file) as
    float32 arrays in mlx-lm naming and orientation, checked against `base`.

    Refuses pickles (.bin/.pt), corrupt or truncated files; checks every tensor's name,
    shape, dtype and size from the file's header before loading any (every problem listed
    in one AdapterFormatError), then refuses NaN or infinite weights."""
    path = Path(path)
    weights_file = find_weights(path)
    refuse_pickle(weights_file)
    header = check_safetensors(weights_file)
    peft = any(".lora_A." in k or ".lora_B." in k for k in header)
    names, shapes, problems = {}, {}, []
    for key, (dtype, shape) in header.items():
        name = _from_peft(key) if peft else key
        if dtype not in FLOAT_DTYPES:
            problems.append(f"{key}: dtype {dtype}, expected one of {', '.join(FLOAT_DTYPES)}")
        if name is None:
            problems.append(f"{key}: not a LoRA tensor name this importer knows")
            continue
        names[key], shapes[name] = name, tuple(reversed(shape)) if peft else shape
    problems += check_shapes(shapes, base)
    if problems:
        raise AdapterFormatError(
            f"{weights_file.name} does not fit {base.name} ({len(problems)} problems):\n  "
            + "\n  ".join(problems[:40]),
            hint="it was made for another base model or architecture",
        )
    raw = _load_tensors(weights_file)
    weights = {names[k]: (v.T if peft else v) for k, v in raw.items()}
    broken = sorted(n for n, w in weights.items() if not np.isfinite(w).all())
    if broken:
        raise NonFiniteWeights(
            f"{weights_file.name}: {len(broken)} tensors hold NaN or infinite values "
            f"({', '.join(broken[:3])}{', ...' if len(broken) > 3 else ''})",
            hint="the adapter was damaged in training or in transit; export it again",
        )
    return weights


LAYER = re.compile(r"[0-9]+")  # ASCII digits: "١" and "²" are digits to str.isdigit
FLOAT_DTYPES = ("F32", "F16", "BF16")
MAX_RANK = 512  # vLLM's largest; a larger "rank" is a way to make the loader allocate


def check_shapes(shapes: dict[str, tuple[int, ...]], base: BaseModel) -> list[str]:
    """Every way mlx-named LoRA tensors of these shapes fail to fit `base` (empty: they
    fit). Works from shapes alone, so a file is judged before its tensors are loaded."""
    dims = {t.name: t.shape for t in base.header.tensors}  # GGUF order: (in, out)
    n_layers = int(base.header.arch_get("block_count"))
    problems, ranks, seen = [], set(), set()
    for name, shape in sorted(shapes.items()):
        parts = name.split(".")
        if len(parts) != 6 or parts[:2] != ["model", "layers"] or not LAYER.fullmatch(parts[2]) \
                or f"{parts[3]}.{parts[4]}" not in GGUF_PROJ or parts[5] not in ("lora_a", "lora_b"):  # fmt: skip
            problems.append(f"{name}: not a LoRA parameter of a {base.architecture} model")
            continue
        layer, target, which = int(parts[2]), f"{parts[3]}.{parts[4]}", parts[5]
        if layer >= n_layers:
            problems.append(f"{name}: layer {layer}, but {base.name} has {n_layers} layers")
            continue
        key = f"blk.{layer}.{GGUF_PROJ[target]}.weight"
        if key not in dims or len(dims[key]) < 2:
            problems.append(f"{name}: {base.name} has no {key} to adapt")
            continue
        n_in, n_out = dims[key][:2]
        if len(shape) != 2:
            problems.append(f"{name}: {len(shape)}-D tensor, expected a matrix")
            continue
        rank = shape[1] if which == "lora_a" else shape[0]
        if not 0 < rank <= MAX_RANK:
            problems.append(f"{name}: rank {rank}, expected 1 to {MAX_RANK}")
            continue
        expected = (n_in, rank) if which == "lora_a" else (rank, n_out)
        ranks.add(rank)
        seen.add((layer, target, which))
        if tuple(shape) != expected:
            problems.append(f"{name}: shape {tuple(shape)}, expected {expected} for {base.name}")
    for layer, target, which in sorted(seen):
        other = "lora_b" if which == "lora_a" else "lora_a"
        if (layer, target, other) not in seen:
            problems.append(f"model.layers.{layer}.{target}.{other}: missing ({which} is there)")
    if len(ranks) > 1:
        problems.append(f"mixed LoRA ranks {sorted(ranks)}")
    if not shapes:
        problems.append("no LoRA tensors at all")
    return problems


def find_weights(path: Path) -> Path:
    if path.is_dir():
        for name in (MLX_WEIGHTS, PEFT_WEIGHTS):
            if (path / name).is_file():
                return path / name
        for other in sorted(path.iterdir()):
            refuse_pickle(other)  # adapter_model.bin and friends: say why, not "not found"
        raise AdapterFormatError(f"no {MLX_WEIGHTS} or {PEFT_WEIGHTS} in {path}",
                                 hint="point at an MLX or PEFT adapter directory")  # fmt: skip
    if not path.is_file():
        raise AdapterFormatError(f"no such adapter: {path}")
    return path


def _load_tensors(path: Path) -> dict[str, np.ndarray]:
    import mlx.core as mx

    refuse_pickle(path)
    check_safetensors(path)  # clear errors for truncation/corruption before mx.load
    try:
        loaded = mx.load(str(path))
    except (OSError, ValueError, RuntimeError) as e:
        raise AdapterFormatError(f"{path} is not a readable safetensors file: {e}") from None
    return {k: np.array(v.astype(mx.float32)) for k, v in loaded.items()}


def _from_peft(key: str) -> str | None:
    """`base_model.model.model.layers.3.self_attn.q_proj.lora_A[.default].weight` →
    `model.layers.3.self_attn.q_proj.lora_a`."""
    key = key.removeprefix("base_model.model.").replace(".default.", ".")
    for peft_name, ours in ((".lora_A.weight", ".lora_a"), (".lora_B.weight", ".lora_b")):
        if key.endswith(peft_name):
            return key[: -len(peft_name)] + ours
    return None


def _pairs(weights: dict[str, np.ndarray]) -> list[tuple[int, str, np.ndarray, np.ndarray]]:
    """(layer, target, A (in, r), B (r, out)) in layer/target order."""
    out = []
    for name in sorted(weights):
        if name.endswith(".lora_a"):
            stem = name[: -len(".lora_a")]
            _, _, layer, target = stem.split(".", 3)
            out.append((int(layer), target, weights[name], weights[f"{stem}.lora_b"]))
    order = list(GGUF_PROJ)
    return sorted(out, key=lambda p: (p[0], order.index(p[1])))


def _rank_scale(config: dict[str, Any]) -> tuple[int, float]:
    lora = config.get("lora_parameters") or {}
    if "rank" not in lora or "scale" not in lora:
        raise AdapterFormatError("adapter_config.json lacks lora_parameters.rank/scale")
    return int(lora["rank"]), float(lora["scale"])


def _permute_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF → llama.cpp row order (convert_hf_to_gguf.py's LlamaModel.permute)."""
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )
