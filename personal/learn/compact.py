"""Is a compact (quantized-delta) reconstruction of a revision as good as the revision?

    exact, compact = heldout_losses(base, exact_weights, compact_weights, adapter_config, dataset)
    acceptable(exact, compact)              # compact ≤ 1.01 × exact

The held-out loss is the trainer's own measure (`trainer.evaluate`: weighted mean loss per
target token, MLX, fp32) on the revision's held-out data: the dataset's test split, else
its validation split. Both weight files run on one loaded base, one after the other, so the
only difference is the weights. The sync client sends a compact revision only after this.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from personal.errors import TrainingError
from personal.learn.config import TrainConfig
from personal.models.catalog import BaseModel

TOLERANCE = 1.01  # a compact reconstruction may lose 1% of held-out loss


def acceptable(exact: float, compact: float) -> bool:
    return compact <= TOLERANCE * exact


def heldout_losses(base: BaseModel, exact: bytes, compact: bytes, adapter_config: bytes,
                   dataset_dir: Path) -> tuple[float, float]:  # fmt: skip
    """(held-out loss with the exact weights, with the compact ones) on `dataset_dir`."""
    import mlx.core as mx
    from mlx_lm.tuner.utils import linear_to_lora_layers

    from personal.learn.examples import encode_file
    from personal.learn.train.trainer import _load_base, evaluate
    from personal.models.convert import mlx_dir_for

    config = json.loads(adapter_config)
    lora = config["lora_parameters"]
    train = TrainConfig(rank=int(lora["rank"]), scale=float(lora["scale"]),
                        targets=tuple(lora["keys"]), val_batches=0)  # fmt: skip
    model, fmt, tokenize = _load_base(mlx_dir_for(base.path, base.fingerprint))
    held = []
    for split in ("test", "valid"):
        held = encode_file(Path(dataset_dir) / f"{split}.jsonl", fmt, tokenize,
                           train.max_seq_len, required=False)  # fmt: skip
        held = [e for e in held if e.weight > 0]
        if held:
            break
    if not held:
        raise TrainingError("the revision's dataset has no held-out examples to check a "
                            "compact form on", hint="push it lossless (without --compact)")  # fmt: skip
    linear_to_lora_layers(model, int(config["num_layers"]), train.lora_parameters())
    losses = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in (("exact", exact), ("compact", compact)):
            path = Path(tmp) / f"{name}.safetensors"
            path.write_bytes(data)
            weights = mx.load(str(path))
            model.load_weights([(k, v.astype(mx.float32)) for k, v in weights.items()],
                               strict=False)  # fmt: skip
            losses.append(evaluate(model, held, train))
    return losses[0], losses[1]
