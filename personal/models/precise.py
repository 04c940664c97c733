"""The same base model at a higher precision: a GGUF a host serves instead of the Q4 file.

    digests = write_precise(base, out_path, "F32")

The weights are the conversion's (`convert.py`: the values the quantized weights stand for,
dequantized exactly), written in the GGUF's own layout (Q/K rows stay permuted for
llama.cpp) with every metadata key copied (tokenizer, chat template, ...). The canonical
digests of what was written are computed on the way, the same way the conversion computes
them: for F32 they equal the conversion's `weights_sha256`, so a host serving this file can
show "same weights" to a device running the Q4 file. F16 rounds the matrices once more
(norms stay F32): the same model, not the same weights.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from personal.errors import ModelError
from personal.models.catalog import BaseModel
from personal.models.convert import (
    _GEMMA_NORMS,
    _Digest,
    _hf_name,
    _n_head,
    _n_kv,
    _read_tensor,
    _tensor_table,
    _unpermute,
)

PRECISIONS = ("F32", "F16")


def write_precise(base: BaseModel, out: Path, precision: str = "F32") -> dict[str, str]:
    """Write `base` at `precision` to `out` (atomically); returns its canonical digests
    (`weights_sha256`, `shapes_sha256`)."""
    import gguf

    precision = precision.upper()
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}", hint=f"use one of {PRECISIONS}")
    reader = gguf.GGUFReader(str(base.path))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    writer = gguf.GGUFWriter(str(tmp), base.architecture)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.file_type"):
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32 if precision == "F32"
                         else gguf.LlamaFileType.MOSTLY_F16)  # fmt: skip
    canonical: dict[str, np.ndarray] = {}
    for name, w, hf_name, hf in _tensors(base, precision):
        writer.add_tensor(name, w)
        canonical[hf_name] = hf
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return _digests(canonical)


def digests(base: BaseModel) -> dict[str, str]:
    """The canonical digests of `base` as it is (what its conversion would record), without
    converting or writing anything."""
    return _digests({hf_name: hf for _, _, hf_name, hf in _tensors(base, None)})


def _tensors(base: BaseModel, precision: str | None):
    """(GGUF name, values as the file stores them, HF name, canonical float32 values)."""
    header, arch = base.header, base.architecture
    n_head, n_kv = _n_head(header), _n_kv(header)
    blob = np.memmap(base.path, dtype=np.uint8, mode="r")
    for t in _tensor_table(base.path, header):
        w = _read_tensor(blob, t)  # float32, numpy (slowest-first) order
        if precision == "F16" and w.ndim >= 2:
            w = w.astype(np.float16)
        hf = w.astype(np.float32)
        kind = t.name.rsplit(".", 2)[-2]
        if arch == "llama" and kind in ("attn_q", "attn_k"):
            hf = _unpermute(hf, n_head if kind == "attn_q" else n_kv)
        if arch == "gemma3" and kind in _GEMMA_NORMS:
            hf = hf - 1.0
        yield t.name, w, _hf_name(t.name, arch), hf


def _digests(canonical: dict[str, np.ndarray]) -> dict[str, str]:
    digest = _Digest()
    for name in sorted(canonical):
        digest.add(name, canonical[name])
    return digest.result()
