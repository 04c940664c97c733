"""Bring an adapter made elsewhere (MLX or PEFT, safetensors only) into the registry.

It is checked against the base (every tensor's name and shape), converted to all three
formats, and registered as a revision that is NOT current: it has not been evaluated.
`personal adapters eval REV` measures it; `personal adapters rollback REV` puts it to use.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path

from personal.adapters.formats import export_all, find_weights, load_adapter, write_mlx_adapter
from personal.adapters.identity import base_identity
from personal.adapters.manifest import Imported, Manifest, Verdict
from personal.adapters.registry import Registry, Revision, file_sha256
from personal.errors import AdapterFormatError
from personal.models.catalog import BaseModel

MAX_SCALE = 1e4  # alpha / r of real adapters is 0.5 to a few hundred
SCALE_HINT = "pass --scale (PEFT: lora_alpha / r; mlx-lm: lora_parameters.scale)"


def _source_scale(path: Path) -> float | None:
    """The LoRA multiplier from the adapter's own config (PEFT: alpha / r; MLX: scale);
    AdapterFormatError when the config is there but malformed."""
    config = (path if path.is_dir() else path.parent) / "adapter_config.json"
    if not config.exists():
        return None

    def bad(why: str) -> AdapterFormatError:
        return AdapterFormatError(f"{config}: {why}", hint=SCALE_HINT)

    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise bad(f"not readable JSON ({e})") from None
    if not isinstance(data, dict):
        raise bad("not a JSON object")
    try:
        if "lora_alpha" in data and data.get("r"):
            return float(data["lora_alpha"]) / float(data["r"])
        lora = data.get("lora_parameters") or {}
        value = lora.get("scale") if isinstance(lora, dict) else None
        return None if value is None else float(value)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        raise bad("lora_alpha, r or lora_parameters.scale is not a number") from None


def _checked_scale(scale: float | None, path: Path) -> float:
    if scale is None:
        raise AdapterFormatError(
            f"{path} has no adapter_config.json saying how strongly to apply it", hint=SCALE_HINT
        )
    if isinstance(scale, bool) or not math.isfinite(scale) or not 0 < scale <= MAX_SCALE:
        raise AdapterFormatError(f"{path}: the LoRA scale {scale!r} is not a positive number "
                                 f"up to {MAX_SCALE:g}", hint=SCALE_HINT)  # fmt: skip
    return float(scale)


def import_adapter(path: Path, base: BaseModel, registry: Registry,
                   scale: float | None = None) -> Revision:  # fmt: skip
    path = Path(path)
    weights = load_adapter(path, base)  # refuses pickles; checks every tensor against base
    scale = _checked_scale(scale if scale is not None else _source_scale(path), path)
    rank = next(w.shape[1] for k, w in weights.items() if k.endswith("lora_a"))
    layers = sorted({int(k.split(".")[2]) for k in weights})
    targets = sorted({".".join(k.split(".")[3:5]) for k in weights})
    n_layers = int(base.header.arch_get("block_count")) - layers[0]
    lora = {"rank": rank, "scale": float(scale), "dropout": 0.0, "keys": targets}
    config = {"rank": rank, "scale": float(scale), "layers": n_layers, "targets": targets}
    with tempfile.TemporaryDirectory() as tmp:
        mlx_dir = Path(tmp) / "mlx"
        write_mlx_adapter(mlx_dir, weights, lora, n_layers,
                          {"base_fingerprint": base.fingerprint, "dataset_sha256": None,
                           "train_config": config})  # fmt: skip
        staged = registry.stage()
        try:
            formats = export_all(mlx_dir, base, staged)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
    source = path if path.is_file() else find_weights(path)
    manifest = Manifest(
        base=base_identity(base),
        config=config,
        imported=Imported(sha256=file_sha256(source), source=str(source)),
        verdict=Verdict(False, ("imported: not evaluated (personal adapters eval REV; "
                                "rollback REV to use it)",)),
        formats=formats,
    )  # fmt: skip
    return registry.commit(staged, manifest)
