"""A compact revision: the quantized-delta form of an exact one, a revision of its own.

    container, weights = encode(rev, against, bits=8)      # what would travel, and the file
    compact = register(registry, base, rev, against, weights, record)

The compact weights are `against` + the quantized difference, computed by the same code on
both sides (`delta.encode_compact` / `decode`), so the compact revision has the same id on
the device and on the host. Its manifest is the exact revision's, with `compact` saying
what it stands for and the held-out losses the device measured (the check itself needs the
learning code and runs in the layers above), and `against` as its parent: the revision
the host already has.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from personal.adapters.formats import export_all
from personal.adapters.manifest import Compact
from personal.adapters.registry import Registry, Revision
from personal.models.catalog import BaseModel
from personal.sync import delta, wire


def encode(rev: Revision, against: Revision, bits: int = 8) -> tuple[bytes, bytes]:
    new = (rev.path / wire.WEIGHTS).read_bytes()
    base = (against.path / wire.WEIGHTS).read_bytes()
    return delta.encode_compact(new, base, bits)


def register(registry: Registry, base: BaseModel, rev: Revision, against: Revision,
             weights: bytes, record: Compact) -> Revision:  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        mlx = Path(tmp) / "mlx"
        mlx.mkdir()
        (mlx / "adapters.safetensors").write_bytes(weights)
        shutil.copyfile(rev.path / wire.CANONICAL[1], mlx / "adapter_config.json")
        staged = registry.stage()
        try:
            formats = export_all(mlx, base, staged)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
    manifest = rev.manifest.with_(parent=against.id, compact=record, probes=None, formats=formats,
                                  created_at="", files={})  # fmt: skip
    return registry.commit(staged, manifest)
