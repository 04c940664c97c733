"""Bring an adapter made elsewhere (MLX or PEFT, safetensors only) into the registry.

It is checked against the base (every tensor's name and shape), converted to all three
formats, and registered as a revision that is NOT current: it has not been evaluated.
`personal adapters eval REV` measures it; `personal adapters rollback REV` puts it to use.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from personal.adapters.formats import export_all, load_adapter, write_mlx_adapter
from personal.adapters.identity import base_identity
from personal.adapters.manifest import Imported, Manifest, Verdict
from personal.adapters.registry import Registry, Revision, file_sha256
from personal.errors import AdapterFormatError
from personal.models.catalog import BaseModel


def _source_scale(path: Path) -> float | None:
    """The LoRA multiplier from the adapter's own config (PEFT: alpha / r; MLX: scale)."""
    config = (path if path.is_dir() else path.parent) / "adapter_config.json"
    if not config.exists():
        return None
    data = json.loads(config.read_text())
    if "lora_alpha" in data and data.get("r"):
        return float(data["lora_alpha"]) / float(data["r"])
    return data.get("lora_parameters", {}).get("scale")


def import_adapter(path: Path, base: BaseModel, registry: Registry,
                   scale: float | None = None) -> Revision:  # fmt: skip
    path = Path(path)
    weights = load_adapter(path, base)  # refuses pickles; checks every tensor against base
    scale = scale if scale is not None else _source_scale(path)
    if scale is None:
        raise AdapterFormatError(
            f"{path} has no adapter_config.json saying how strongly to apply it",
            hint="pass --scale (PEFT: lora_alpha / r; mlx-lm: lora_parameters.scale)",
        )
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
    source = path if path.is_file() else next(p for p in path.iterdir() if p.suffix == ".safetensors")
    manifest = Manifest(
        base=base_identity(base),
        config=config,
        imported=Imported(sha256=file_sha256(source), source=str(source)),
        verdict=Verdict(False, ("imported: not evaluated (personal adapters eval REV; "
                                "rollback REV to use it)",)),
        formats=formats,
    )  # fmt: skip
    return registry.commit(staged, manifest)
