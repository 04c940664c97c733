"""Fast, read-only GGUF header scan.

`gguf.GGUFReader` parses every array element into numpy (~6 s for SmolLM2's vocabulary,
~12 s for Gemma's); the app only needs the scalar metadata and the tensor table to
identify and validate a model, so this walks the header and skips large arrays. The
format's type codes come from the `gguf` package.

A model file may be hostile: every count is checked against the bytes left in the file
before anything is read or allocated, arrays nest at most `MAX_DEPTH` deep and tensors
have at most `MAX_DIMS` dimensions, so a forged header fails as ModelCorrupt at once.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from gguf import GGUF_MAGIC, GGUFValueType

from personal.errors import ModelCorrupt, ModelFileMissing

_SCALAR = {
    GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b",
    GGUFValueType.UINT16: "<H", GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i",
    GGUFValueType.UINT64: "<Q", GGUFValueType.INT64: "<q",
    GGUFValueType.FLOAT32: "<f", GGUFValueType.FLOAT64: "<d",
    GGUFValueType.BOOL: "<?",
}  # fmt: skip
MAX_DEPTH = 3  # arrays of arrays of arrays: more than any real GGUF uses
MAX_DIMS = 8  # ggml tensors have at most 4
# the fewest bytes one element of each kind can take in the file
_MIN_SIZE = {**{t: struct.calcsize(f) for t, f in _SCALAR.items()},
             GGUFValueType.STRING: 8, GGUFValueType.ARRAY: 12}  # fmt: skip


@dataclass(frozen=True)
class ArrayInfo:
    """A metadata array that was skipped: its element type and length."""

    type: GGUFValueType
    length: int


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]  # GGUF order (fastest-varying first)
    type: int


@dataclass(frozen=True)
class GGUFHeader:
    version: int
    metadata: dict[str, Any]
    tensors: list[TensorInfo]

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    def arch_get(self, key: str, default: Any = None) -> Any:
        """`{arch}.{key}`, e.g. arch_get("block_count")."""
        return self.metadata.get(f"{self.architecture}.{key}", default)


class _Reader:
    def __init__(self, f: BinaryIO, size: int):
        self.f = f
        self.size = size

    def left(self) -> int:
        return self.size - self.f.tell()

    def count(self, n: int, each: int, what: str) -> int:
        """`n` items of at least `each` bytes, refused if the file cannot hold them."""
        if n * each > self.left():
            raise ValueError(f"the file ends early: it claims {n:,} {what}, more than the "
                             "rest of the file can hold")  # fmt: skip
        return n

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        data = self.f.read(size)
        if len(data) != size:
            raise EOFError
        return struct.unpack(fmt, data)[0]

    def string(self) -> str:
        n = self.count(self.unpack("<Q"), 1, "bytes of text")
        data = self.f.read(n)
        if len(data) != n:
            raise EOFError
        return data.decode("utf-8", errors="replace")

    def value(self, vtype: GGUFValueType, keep_array: bool, depth: int = 0) -> Any:
        if vtype == GGUFValueType.STRING:
            return self.string()
        if vtype in _SCALAR:
            return self.unpack(_SCALAR[vtype])
        if vtype == GGUFValueType.ARRAY:
            if depth >= MAX_DEPTH:
                raise ValueError(f"its metadata nests arrays more than {MAX_DEPTH} deep")
            etype = GGUFValueType(self.unpack("<I"))
            n = self.count(self.unpack("<Q"), _MIN_SIZE[etype], "array elements")
            if keep_array:
                return [self.value(etype, True, depth + 1) for _ in range(n)]
            if etype in _SCALAR:
                self.f.seek(n * _MIN_SIZE[etype], 1)
            else:
                for _ in range(n):
                    self.value(etype, False, depth + 1)
            return ArrayInfo(etype, n)
        raise ValueError(f"unknown metadata type {vtype}")


def read_header(path: str | Path, keep_arrays: frozenset[str] = frozenset()) -> GGUFHeader:
    """Read metadata and the tensor table of a GGUF file; arrays not named are skipped.

    Raises ModelFileMissing or ModelCorrupt (not a GGUF, truncated, garbled).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileMissing(
            f"model file not found: {path}", hint="check the path, or run `personal models list`"
        )
    try:
        with path.open("rb") as f:
            r = _Reader(f, path.stat().st_size)
            if r.unpack("<I") != GGUF_MAGIC:
                raise ValueError("it does not start with the GGUF magic number")
            version = r.unpack("<I")
            if version not in (2, 3):
                raise ValueError(f"GGUF version {version} is not supported (expected 3)")
            n_tensors = r.count(r.unpack("<Q"), 32, "tensors")  # name, dims, type, offset
            n_kv = r.count(r.unpack("<Q"), 13, "metadata entries")  # key, type, a value
            metadata: dict[str, Any] = {}
            for _ in range(n_kv):
                key = r.string()
                metadata[key] = r.value(GGUFValueType(r.unpack("<I")), key in keep_arrays)
            tensors = []
            for _ in range(n_tensors):
                name = r.string()
                n_dims = r.unpack("<I")
                if n_dims > MAX_DIMS:
                    raise ValueError(f"tensor {name!r} claims {n_dims} dimensions")
                dims = tuple(r.unpack("<Q") for _ in range(n_dims))
                ttype = r.unpack("<I")
                r.unpack("<Q")  # offset
                tensors.append(TensorInfo(name, dims, ttype))
    except (EOFError, ValueError, UnicodeDecodeError, struct.error, OverflowError,
            MemoryError, RecursionError) as e:  # fmt: skip
        reason = "the file ends early" if isinstance(e, EOFError) else str(e) or type(e).__name__
        raise ModelCorrupt(
            f"{path} is not a readable GGUF model: {reason}",
            hint="re-install or re-download the model file; `personal models list` shows "
            "the models that ship with personal",
        ) from None
    return GGUFHeader(version=version, metadata=metadata, tensors=tensors)
