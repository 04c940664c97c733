"""Training checkpoints: everything a step depends on, so a killed run resumes exactly.

    run_dir/checkpoint.json            {"latest": "step-000010"}: replaced atomically
    run_dir/checkpoints/step-000010/   adapters.safetensors (LoRA weights),
                                       optimizer.safetensors (Adam m, v, step, lr),
                                       state.json (step, loss history, token counts, and
                                       the run's identity: config, base, dataset, parent)

`load_parent` warm-starts a run from a parent revision's adapter of the same shape.
Data order and dropout are pure functions of (seed, step), so no RNG state needs saving.
A checkpoint directory is complete before the pointer names it: SIGKILL at any moment
leaves the previous checkpoint in force.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from personal.errors import TrainingError
from personal.learn.config import TrainConfig

POINTER = "checkpoint.json"


def save_checkpoint(
    run_dir: Path, model: Any, optimizer: Any, identity: dict[str, Any], state: dict[str, Any]
) -> Path:
    import mlx.core as mx
    from mlx.utils import tree_flatten

    root = run_dir / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{state['step']:06d}"
    tmp = root / f".{name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    mx.save_safetensors(str(tmp / "adapters.safetensors"),
                        dict(tree_flatten(model.trainable_parameters())))  # fmt: skip
    mx.save_safetensors(str(tmp / "optimizer.safetensors"), dict(tree_flatten(optimizer.state)))
    record = {"identity": identity, "state": state,
              "order": "data: numpy default_rng([seed, epoch]).permutation per epoch; "
                       "dropout: mx.random.seed(seed * 1000003 + step)"}  # fmt: skip
    (tmp / "state.json").write_text(json.dumps(record, indent=1))
    for f in tmp.iterdir():
        _fsync(f)
    final = root / name
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    pointer = run_dir / f".{POINTER}.tmp"
    pointer.write_text(json.dumps({"latest": name}))
    _fsync(pointer)
    os.replace(pointer, run_dir / POINTER)  # the commit point
    for old in root.iterdir():  # older checkpoints and debris of killed writes
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(
    run_dir: Path, model: Any, optimizer: Any, identity: dict[str, Any]
) -> dict[str, Any] | None:
    """Restore model and optimizer from the latest checkpoint; its state, or None if the
    run dir has none. A checkpoint of a different run is an error, not silently reused."""
    import mlx.core as mx
    from mlx.utils import tree_flatten, tree_map_with_path

    pointer = run_dir / POINTER
    if not pointer.is_file():
        return None
    try:
        ckpt = run_dir / "checkpoints" / json.loads(pointer.read_text())["latest"]
        record = json.loads((ckpt / "state.json").read_text())
        weights = mx.load(str(ckpt / "adapters.safetensors"))
        opt_state = mx.load(str(ckpt / "optimizer.safetensors"))
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise TrainingError(
            f"the checkpoint in {run_dir} cannot be read: {e}",
            hint="delete the run directory to start this training run over",
        ) from None
    differs = [k for k in identity if record["identity"].get(k) != identity[k]]
    if differs:
        raise TrainingError(
            f"{run_dir} holds a checkpoint of a different run ({', '.join(differs)} changed)",
            hint="use a fresh run directory, or delete this one to start over",
        )
    ours = dict(tree_flatten(model.trainable_parameters()))
    if set(weights) != set(ours) or set(opt_state) != set(dict(tree_flatten(optimizer.state))):
        raise TrainingError(f"the checkpoint in {run_dir} does not match this model",
                            hint="delete the run directory to start over")  # fmt: skip
    model.load_weights(list(weights.items()), strict=False)
    optimizer.state = tree_map_with_path(lambda path, _: opt_state[path], optimizer.state)
    mx.eval(model.trainable_parameters(), optimizer.state)
    return record["state"]


def load_parent(model: Any, parent: Path, config: TrainConfig, n_layers: int) -> None:
    """Start from a parent revision's weights; its shape of adapter must be ours."""
    import mlx.core as mx
    from mlx.utils import tree_flatten

    try:
        parent_config = json.loads((parent / "adapter_config.json").read_text())
        weights = mx.load(str(parent / "adapters.safetensors"))
    except (OSError, ValueError, RuntimeError) as e:
        raise TrainingError(f"cannot read the parent adapter at {parent}: {e}") from None
    lora = parent_config.get("lora_parameters", {})
    problems = []
    if lora.get("rank") != config.rank:
        problems.append(f"rank {lora.get('rank')} (this run: {config.rank})")
    if sorted(lora.get("keys") or []) != sorted(config.targets):
        problems.append(f"targets {lora.get('keys')} (this run: {list(config.targets)})")
    if parent_config.get("num_layers") != n_layers:
        problems.append(f"{parent_config.get('num_layers')} layers (this run: {n_layers})")
    ours = dict(tree_flatten(model.trainable_parameters()))
    if not problems and {k: tuple(v.shape) for k, v in weights.items()} != {
        k: tuple(v.shape) for k, v in ours.items()
    }:
        problems.append("tensor names or shapes that differ from this model's")
    if problems:
        raise TrainingError(
            f"cannot warm-start from {parent}: the parent adapter has " + "; ".join(problems),
            hint="train with the parent's rank/targets/layers, or start fresh (no warm start)",
        )
    model.load_weights([(k, v.astype(mx.float32)) for k, v in weights.items()], strict=False)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
