"""GGUF → mlx-lm model directory, so MLX (the second engine, and the trainer) runs the
exact model llama.cpp runs.

    out = mlx_dir_for(gguf_path, fingerprint)   # cached under models/mlx/<fp[:16]>

The directory holds mlx-lm's `config.json` (`llama` or `gemma3_text`), `model.safetensors`,
`tokenizer.json`/`tokenizer_config.json` (rebuilt from the GGUF's vocabulary by transformers'
GGUF converters: no torch, llama.cpp's token ids; gguf_tokenizer.py) and `personal_conversion.json` (source,
converter version, chat template, special tokens). Weights are dequantized and stored as
**float32**: exactly the values the quantized weights stand for (fp16 would round again), and
what MLX computes in on CPU anyway (fp16/bf16 skip BLAS; training needs fp32). The cost is
disk: ~0.54 GB for SmolLM2-135M, ~1.1 GB for Gemma-3-270M.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from gguf.quants import dequantize

from personal import paths
from personal.errors import ModelCorrupt, UnsupportedArchitecture
from personal.fileio import sha256_file
from personal.models.gguf_tokenizer import (
    TOKENIZER_ARRAYS,
    unsupported,
    write_tokenizer,
)
from personal.models.header import GGUFHeader, read_header

CONVERTER_VERSION = 2  # bump whenever the output of a conversion changes (2: weight digests)
MARKER = "personal_conversion.json"
SUPPORTED = ("llama", "gemma3")
_GEMMA_NORMS = ("attn_norm", "ffn_norm", "post_attention_norm", "post_ffw_norm",
                "attn_q_norm", "attn_k_norm", "output_norm")  # fmt: skip
_NAMES = {
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "attn_norm": "input_layernorm",
    "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
    "post_attention_norm": "post_attention_layernorm",
    "post_ffw_norm": "post_feedforward_layernorm",
}  # fmt: skip
_FFN_NORM = {"llama": "post_attention_layernorm", "gemma3": "pre_feedforward_layernorm"}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class _Tensor:
    name: str
    shape: tuple[int, ...]  # GGUF order (fastest-varying first)
    type: GGMLQuantizationType
    start: int  # absolute byte offset in the file
    nbytes: int


# --- public API -------------------------------------------------------------------------
def mlx_dir_for(gguf_path: Path, fingerprint: str) -> Path:
    """The converted mlx-lm directory for this GGUF, converting it on first use."""
    root = paths.models_dir() / "mlx"
    root.mkdir(parents=True, exist_ok=True)
    out = root / fingerprint[:16]
    # One conversion at a time per model, across threads and processes; late comers wait
    # and then find the finished directory.
    with _cache_lock, _file_lock(root / f"{fingerprint[:16]}.lock"):
        if not is_current(out, Path(gguf_path), fingerprint):
            convert_gguf(gguf_path, out, fingerprint=fingerprint)
    return out


def is_current(out_dir: Path, gguf_path: Path, fingerprint: str) -> bool:
    """True if `out_dir` is a finished conversion of this file by this converter version."""
    try:
        record = json.loads((out_dir / MARKER).read_text())
        source = record["source"]
        return (
            record["converter_version"] == CONVERTER_VERSION
            and source["fingerprint"] == fingerprint
            and source["size"] == gguf_path.stat().st_size
            and (out_dir / "model.safetensors").is_file()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def convert_gguf(gguf_path: Path, out_dir: Path, *, fingerprint: str | None = None) -> Path:
    """Convert a llama or gemma3 GGUF into an mlx-lm directory at `out_dir`, atomically.

    Raises UnsupportedArchitecture, ModelCorrupt or ModelFileMissing.
    """
    started = time.perf_counter()
    gguf_path, out_dir = Path(gguf_path), Path(out_dir)
    header = read_header(gguf_path, keep_arrays=TOKENIZER_ARRAYS)
    arch = header.architecture
    if arch not in SUPPORTED or header.get("general.type", "model") != "model":
        raise UnsupportedArchitecture(
            f"{gguf_path.name}: cannot convert a {arch!r} "
            f"{header.get('general.type', 'model')} to MLX (supported: {', '.join(SUPPORTED)})",
            hint="use the llama.cpp engine for this model, or pick a llama/gemma3 base model",
        )
    tensors = _tensor_table(gguf_path, header)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        digests = _write_weights(gguf_path, header, tensors, tmp / "model.safetensors")
        chat = write_tokenizer(header, tmp)
        config = _model_config(header, tensors, chat["eog_token_ids"])
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        source = {"file": gguf_path.name, "size": gguf_path.stat().st_size,
                  "fingerprint": fingerprint or sha256_file(gguf_path)}  # fmt: skip
        record = {
            "converter_version": CONVERTER_VERSION, "source": source, "architecture": arch,
            "model_type": config["model_type"], "dtype": "float32", "chat": chat, **digests,
            "seconds": round(time.perf_counter() - started, 2),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }  # fmt: skip
        (tmp / MARKER).write_text(json.dumps(record, indent=2))  # written last: "finished"
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def read_conversion(out_dir: Path) -> dict[str, Any]:
    """The `personal_conversion.json` record of a converted directory."""
    return json.loads((Path(out_dir) / MARKER).read_text())


# --- tensors ----------------------------------------------------------------------------
def _tensor_table(path: Path, header: GGUFHeader) -> list[_Tensor]:
    """Tensor names, types and absolute offsets; gguf_meta skips offsets, GGUFReader is slow."""
    blob = np.memmap(path, dtype=np.uint8, mode="r")
    n_tensors, n_kv = struct.unpack_from("<QQ", blob, 8)
    pos = 24
    for _ in range(n_kv):
        pos = _skip_value(blob, pos, 8)  # the key
        (vtype,) = struct.unpack_from("<I", blob, pos)
        pos = _skip_value(blob, pos + 4, vtype)
    table = []
    for _ in range(n_tensors):
        (n,) = struct.unpack_from("<Q", blob, pos)
        name = bytes(blob[pos + 8 : pos + 8 + n]).decode()
        pos += 8 + n
        (n_dims,) = struct.unpack_from("<I", blob, pos)
        dims = struct.unpack_from(f"<{n_dims}Q", blob, pos + 4)
        ttype, offset = struct.unpack_from("<IQ", blob, pos + 4 + 8 * n_dims)
        pos += 4 + 8 * n_dims + 12
        table.append((name, dims, ttype, offset))
    align = int(header.get("general.alignment", 32))
    data_start = (pos + align - 1) // align * align
    out = []
    for name, dims, ttype, offset in table:
        if ttype not in GGMLQuantizationType._value2member_map_:
            raise unsupported(f"tensor {name} has the unknown ggml type {ttype}")
        qtype = GGMLQuantizationType(ttype)
        block, size = GGML_QUANT_SIZES[qtype]
        nbytes = int(np.prod(dims)) // block * size
        if data_start + offset + nbytes > blob.size:
            raise ModelCorrupt(
                f"{path} is not a readable GGUF model: the file ends early ({name} is cut off)",
                hint="re-install or re-download the model file",
            )
        out.append(_Tensor(name, tuple(dims), qtype, data_start + offset, nbytes))
    return out


_WIDTH = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def _skip_value(blob: np.ndarray, pos: int, vtype: int) -> int:
    if vtype in _WIDTH:
        return pos + _WIDTH[vtype]
    if vtype == 8:  # string
        return pos + 8 + struct.unpack_from("<Q", blob, pos)[0]
    etype, count = struct.unpack_from("<IQ", blob, pos)  # 9: array
    pos += 12
    if etype in _WIDTH:
        return pos + count * _WIDTH[etype]
    for _ in range(count):
        pos = _skip_value(blob, pos, etype)
    return pos


def _read_tensor(blob: np.ndarray, t: _Tensor) -> np.ndarray:
    """Dequantized float32, in HF (numpy, slowest-first) orientation."""
    raw = blob[t.start : t.start + t.nbytes]
    rows = int(np.prod(t.shape[1:]))
    try:
        values = dequantize(raw.reshape(rows, -1), t.type)
    except NotImplementedError:
        raise unsupported(f"tensor {t.name} is {t.type.name}-quantized") from None
    return np.asarray(values, dtype=np.float32).reshape(tuple(reversed(t.shape)))


def _unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    # llama GGUFs store Q/K rows interleaved for llama.cpp's rope; HF/MLX want halves.
    return (
        w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


def _hf_name(gguf_name: str, arch: str) -> str:
    base, _, suffix = gguf_name.rpartition(".")
    top = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
    if base in top:
        return f"{top[base]}.{suffix}"
    parts = base.split(".")
    if len(parts) == 3 and parts[0] == "blk":
        kind = parts[2]
        name = _FFN_NORM[arch] if kind == "ffn_norm" else _NAMES.get(kind)
        if name:
            return f"model.layers.{parts[1]}.{name}.{suffix}"
    raise unsupported(f"unexpected tensor {gguf_name!r} in a {arch} GGUF")


def _write_weights(
    path: Path, header: GGUFHeader, tensors: list[_Tensor], dest: Path
) -> dict[str, str]:
    """Write the float32 weights; returns their canonical digests (`weights_sha256`: every
    tensor's HF name, shape and little-endian float32 bytes in name order; `shapes_sha256`:
    names and shapes only), which identify the base off this machine (adapters.identity)."""
    import mlx.core as mx  # heavy import: only when converting

    arch = header.architecture
    n_head, n_kv = _n_head(header), _n_kv(header)
    blob = np.memmap(path, dtype=np.uint8, mode="r")
    weights, digest = {}, _Digest()
    for t in sorted(tensors, key=lambda t: _hf_name(t.name, arch)):
        if t.name == "rope_freqs.weight":
            raise unsupported("llama3-style rope frequency scaling")
        w = _read_tensor(blob, t)
        kind = t.name.rsplit(".", 2)[-2]
        if arch == "llama" and kind in ("attn_q", "attn_k"):
            w = _unpermute(w, n_head if kind == "attn_q" else n_kv)
        if arch == "gemma3" and kind in _GEMMA_NORMS:
            w = w - 1.0  # llama.cpp's gemma converter stores norm weights +1
        digest.add(_hf_name(t.name, arch), w)
        weights[_hf_name(t.name, arch)] = mx.array(w)
    mx.save_safetensors(str(dest), weights, metadata={"format": "mlx"})
    return digest.result()


class _Digest:
    """`weights_sha256` and `shapes_sha256` of HF-named tensors added in name order."""

    def __init__(self) -> None:
        self.values, self.shapes = hashlib.sha256(), hashlib.sha256()

    def add(self, name: str, w: np.ndarray) -> None:
        w = np.ascontiguousarray(w, dtype="<f4")
        head = f"{name}:{','.join(map(str, w.shape))};".encode()
        self.values.update(head)
        self.values.update(w.data)
        self.shapes.update(head)

    def result(self) -> dict[str, str]:
        return {"weights_sha256": self.values.hexdigest(), "shapes_sha256": self.shapes.hexdigest()}


def canonical_digests(weights: dict[str, np.ndarray]) -> dict[str, str]:
    """The digests of `_write_weights` for HF-named float32 tensors held elsewhere (a host's
    own copy of the base): equal digests mean equal weights."""
    digest = _Digest()
    for name in sorted(weights):
        digest.add(name, weights[name])
    return digest.result()


def _n_head(header: GGUFHeader) -> int:
    return int(header.arch_get("attention.head_count"))


def _n_kv(header: GGUFHeader) -> int:
    return int(header.arch_get("attention.head_count_kv", _n_head(header)))


# --- config -----------------------------------------------------------------------------
def _model_config(header: GGUFHeader, tensors: list[_Tensor], eog: list[int]) -> dict[str, Any]:
    arch = header.architecture
    names = {t.name: t for t in tensors}
    d, n_head = int(header.arch_get("embedding_length")), _n_head(header)
    head_dim = int(header.arch_get("attention.key_length", d // n_head))
    common = {
        "hidden_size": d,
        "num_hidden_layers": int(header.arch_get("block_count")),
        "intermediate_size": int(header.arch_get("feed_forward_length")),
        "num_attention_heads": n_head,
        "num_key_value_heads": _n_kv(header),
        "head_dim": head_dim,
        "rms_norm_eps": float(header.arch_get("attention.layer_norm_rms_epsilon")),
        "vocab_size": int(names["token_embd.weight"].shape[1]),
        "max_position_embeddings": int(header.arch_get("context_length", 2048)),
        "bos_token_id": header.get("tokenizer.ggml.bos_token_id"),
        "eos_token_id": eog,
        "torch_dtype": "float32",
    }
    scaling = header.arch_get("rope.scaling.type")
    if scaling not in (None, "none"):
        raise unsupported(f"rope scaling {scaling!r}")
    if arch == "llama":
        if int(header.arch_get("rope.dimension_count", head_dim)) != head_dim:
            raise unsupported("partial rotary embeddings")
        return {
            "model_type": "llama", **common,
            "rope_theta": float(header.arch_get("rope.freq_base", 10000.0)),
            "rope_traditional": False,
            "tie_word_embeddings": "output.weight" not in names,
            "architectures": ["LlamaForCausalLM"],
        }  # fmt: skip
    return {
        "model_type": "gemma3_text", **common,
        "rope_theta": float(header.arch_get("rope.freq_base", 1_000_000.0)),
        "rope_local_base_freq": 10_000.0,  # llama.cpp hard-codes both for gemma3
        "sliding_window_pattern": 6,
        "sliding_window": int(header.arch_get("attention.sliding_window", 512)),
        "query_pre_attn_scalar": head_dim,  # llama.cpp: 1/sqrt(head_dim) except 27B
        "architectures": ["Gemma3ForCausalLM"],
    }  # fmt: skip


# --- files ------------------------------------------------------------------------------
def _replace_dir(tmp: Path, out_dir: Path) -> None:
    """Move the finished `tmp` to `out_dir`; an older conversion there is moved aside first."""
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, old / "dir")
        os.replace(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out_dir)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)



