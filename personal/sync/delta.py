"""A revision's weights file as a delta against a file the host already has.

    container = encode(new_bytes, base_bytes)             # lossless: decode gives new_bytes
    container, target = encode_compact(new, base, bits=8) # lossy: decode gives `target`
    decode(container, base_bytes) -> bytes                # checks size and SHA-256

The files are safetensors (the canonical MLX weights). The target is cut into segments
that cover it exactly: its header, then each tensor's bytes, then any gap. A tensor whose
name, dtype and shape the base file has too is sent as the XOR of its bytes with the base's
("xor": unchanged high bytes of floats that moved little become zeros); any other tensor
as it is ("raw"). Tensor bytes are then byte-plane shuffled (all first bytes of each value,
then all second bytes, ...), which puts those zeros together, and the whole payload is one
zstd frame. A compact container ("q") carries, per block of 64 values, a float32 scale and
signed 8- or 4-bit codes of (new - base); its target is base + codes x scale in float32,
computed the same way on both sides, so the compact revision is a file of its own with its
own hash. docs/sync.md specifies the bytes.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from personal.errors import PersonalError

MAGIC = b"PDELTA1\n"
FORMAT = "pdelta/1"
MAX_HEADER = 1 << 20  # bytes of container header JSON
MAX_TARGET = 256 << 20  # bytes a decoded file may have
BLOCK = 64  # values per scale in a compact container
LEVEL = 12  # zstd level (the benchmark measures others)
WIDTH = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I32": 4, "I64": 8, "I16": 2, "I8": 1,
         "U8": 1, "U16": 2, "U32": 4, "U64": 8, "BOOL": 1}  # fmt: skip


class DeltaError(PersonalError):
    """A delta container is malformed, or does not rebuild the file it promises."""


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int  # absolute byte offsets in the file
    end: int


def tensors(data: bytes) -> tuple[int, list[Tensor]]:
    """(length of the header part, tensors in file order) of a safetensors file."""
    if len(data) < 8:
        raise DeltaError("not a safetensors file: shorter than 8 bytes")
    n = int.from_bytes(data[:8], "little")
    if n > min(len(data) - 8, 100 << 20):
        raise DeltaError("not a safetensors file: its header runs past the end")
    try:
        header = json.loads(data[8 : 8 + n])
    except (ValueError, UnicodeDecodeError) as e:
        raise DeltaError(f"not a safetensors file: its header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise DeltaError("not a safetensors file: its header is not an object")
    out = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            s, e = (int(x) for x in info["data_offsets"])
            t = Tensor(name, str(info["dtype"]), tuple(int(x) for x in info["shape"]),
                       8 + n + s, 8 + n + e)  # fmt: skip
        except (KeyError, TypeError, ValueError):
            raise DeltaError(f"not a safetensors file: tensor {name!r} is malformed") from None
        if not 8 + n <= t.start <= t.end <= len(data):
            raise DeltaError(f"not a safetensors file: tensor {name!r} lies outside the file")
        out.append(t)
    return 8 + n, sorted(out, key=lambda t: t.start)


# --- byte planes ------------------------------------------------------------------------
def shuffle(raw: bytes, width: int) -> bytes:
    if width <= 1 or len(raw) % width:
        return raw
    return np.frombuffer(raw, np.uint8).reshape(-1, width).T.tobytes()


def unshuffle(raw: bytes, width: int) -> bytes:
    if width <= 1 or len(raw) % width:
        return raw
    return np.frombuffer(raw, np.uint8).reshape(width, -1).T.tobytes()


def _xor(a: bytes, b: bytes) -> bytes:
    return (np.frombuffer(a, np.uint8) ^ np.frombuffer(b, np.uint8)).tobytes()


# --- encoding -----------------------------------------------------------------------------
def _plan(new: bytes, base: bytes | None) -> tuple[list[dict[str, Any]], dict[str, Tensor]]:
    head, found = tensors(new)
    old = {t.name: t for t in tensors(base)[1]} if base is not None else {}
    segments: list[dict[str, Any]] = [{"start": 0, "end": head, "kind": "raw", "width": 1}]
    pos = head
    for t in found:
        if t.start < pos:
            raise DeltaError(f"tensor {t.name!r} overlaps another")
        if t.start > pos:
            segments.append({"start": pos, "end": t.start, "kind": "raw", "width": 1})
        ref = old.get(t.name)
        same = ref is not None and (ref.dtype, ref.shape, ref.end - ref.start) == (
            t.dtype, t.shape, t.end - t.start)  # fmt: skip
        segments.append({"start": t.start, "end": t.end, "kind": "xor" if same else "raw",
                         "tensor": t.name, "dtype": t.dtype, "width": WIDTH.get(t.dtype, 1),
                         "ref": [ref.start, ref.end] if same else None})  # fmt: skip
        pos = t.end
    if pos < len(new):
        segments.append({"start": pos, "end": len(new), "kind": "raw", "width": 1})
    return segments, old


def encode(new: bytes, base: bytes | None = None, level: int = LEVEL) -> bytes:
    """A lossless container for `new` (against `base`, or whole when None)."""
    segments, _ = _plan(new, base)
    parts = []
    for seg in segments:
        chunk = new[seg["start"] : seg["end"]]
        if seg["kind"] == "xor":
            r0, r1 = seg["ref"]
            chunk = _xor(chunk, base[r0:r1])  # type: ignore[index]
        parts.append(shuffle(chunk, seg["width"]))
    return _pack(segments, b"".join(parts), new, base, "lossless", level)


def encode_compact(new: bytes, base: bytes, bits: int = 8,
                   level: int = LEVEL) -> tuple[bytes, bytes]:  # fmt: skip
    """A lossy container: float32 tensors as quantized deltas against `base`. Returns
    (container, the file it decodes to)."""
    if bits not in (4, 8):
        raise DeltaError("a compact delta has 4 or 8 bits per value")
    segments, old = _plan(new, base)
    parts = []
    for seg in segments:
        chunk = new[seg["start"] : seg["end"]]
        if seg.get("dtype") == "F32" and seg["end"] > seg["start"]:
            values = np.frombuffer(chunk, "<f4")
            ref = (np.frombuffer(base[seg["ref"][0] : seg["ref"][1]], "<f4")
                   if seg["ref"] else np.zeros_like(values))  # fmt: skip
            scales, codes = _quantize(values.astype(np.float64) - ref, bits)
            seg.update(kind="q", bits=bits, width=1)
            parts.append(scales.astype("<f4").tobytes() + _pack_codes(codes, bits))
            continue
        if seg["kind"] == "xor":
            chunk = _xor(chunk, base[seg["ref"][0] : seg["ref"][1]])
        parts.append(shuffle(chunk, seg["width"]))
    payload = b"".join(parts)
    target = _rebuild(segments, payload, base, len(new))
    return _pack(segments, payload, target, base, "compact", level), target


def _quantize(delta: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    top = 2 ** (bits - 1) - 1
    n_blocks = -(-len(delta) // BLOCK)
    padded = np.zeros(n_blocks * BLOCK)
    padded[: len(delta)] = delta
    blocks = padded.reshape(n_blocks, BLOCK)
    scales = (np.abs(blocks).max(axis=1) / top).astype(np.float32)
    safe = np.where(scales > 0, scales, 1.0).astype(np.float64)
    codes = np.clip(np.rint(blocks / safe[:, None]), -top, top).astype(np.int8)
    return scales, codes.reshape(-1)[: len(delta)]


def _pack_codes(codes: np.ndarray, bits: int) -> bytes:
    if bits == 8:
        return codes.astype(np.int8).tobytes()
    nib = (codes.astype(np.int16) & 0xF).astype(np.uint8)
    if len(nib) % 2:
        nib = np.append(nib, np.uint8(0))
    return (nib[0::2] | (nib[1::2] << 4)).astype(np.uint8).tobytes()


def _unpack_codes(raw: bytes, n: int, bits: int) -> np.ndarray:
    if bits == 8:
        return np.frombuffer(raw, np.int8)[:n]
    packed = np.frombuffer(raw, np.uint8)
    nib = np.empty(len(packed) * 2, np.int16)
    nib[0::2], nib[1::2] = packed & 0xF, packed >> 4
    return np.where(nib > 7, nib - 16, nib)[:n].astype(np.int8)


def _pack(segments: list[dict[str, Any]], payload: bytes, target: bytes, base: bytes | None,
          mode: str, level: int) -> bytes:  # fmt: skip
    import zstandard

    header = {
        "format": FORMAT, "mode": mode, "size": len(target),
        "sha256": hashlib.sha256(target).hexdigest(),
        "against": hashlib.sha256(base).hexdigest() if base is not None else None,
        "codec": "zstd", "raw": len(payload), "segments": segments,
    }  # fmt: skip
    blob = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    body = zstandard.ZstdCompressor(level=level).compress(payload)
    return MAGIC + struct.pack("<I", len(blob)) + blob + body


# --- decoding -----------------------------------------------------------------------------
def read_header(container: bytes) -> dict[str, Any]:
    return _split(container)[0]


def _split(container: bytes) -> tuple[dict[str, Any], bytes]:
    if container[:8] != MAGIC or len(container) < 12:
        raise DeltaError("not a delta container (bad magic)")
    (n,) = struct.unpack_from("<I", container, 8)
    if n > MAX_HEADER or 12 + n > len(container):
        raise DeltaError("the container's header is too long or cut off")
    try:
        header = json.loads(container[12 : 12 + n])
    except (ValueError, UnicodeDecodeError):
        raise DeltaError("the container's header is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise DeltaError(f"not a {FORMAT} container")
    return header, container[12 + n :]


def decode(container: bytes, base: bytes | None = None) -> bytes:
    """The file `container` rebuilds; DeltaError if anything does not add up (its base, its
    segments, its size or its SHA-256)."""
    import zstandard

    header, body = _split(container)
    size, raw = header.get("size"), header.get("raw")
    if not all(isinstance(x, int) and 0 <= x <= MAX_TARGET for x in (size, raw)):
        raise DeltaError("the container declares an impossible size")
    want_base = header.get("against")
    if want_base is not None and (base is None or hashlib.sha256(base).hexdigest() != want_base):
        raise DeltaError("the container was made against another base file")
    try:
        payload = zstandard.ZstdDecompressor().decompress(body, max_output_size=raw)
    except zstandard.ZstdError as e:
        raise DeltaError(f"the container's payload does not decompress ({e})") from None
    if len(payload) != raw:
        raise DeltaError("the container's payload has the wrong length")
    out = _rebuild(header.get("segments"), payload, base, size)
    if hashlib.sha256(out).hexdigest() != header.get("sha256"):
        raise DeltaError("the rebuilt file does not have the SHA-256 the container promises")
    return out


def _rebuild(segments: Any, payload: bytes, base: bytes | None, size: int) -> bytes:
    if not isinstance(segments, list):
        raise DeltaError("the container lists no segments")
    out, pos, at = bytearray(), 0, 0
    for seg in segments:
        try:
            start, end, kind = int(seg["start"]), int(seg["end"]), seg["kind"]
            width = int(seg.get("width", 1))
        except (KeyError, TypeError, ValueError):
            raise DeltaError("a segment of the container is malformed") from None
        if start != pos or end < start or end > size or width not in (1, 2, 4, 8):
            raise DeltaError("the container's segments do not cover the file in order")
        n = end - start
        if kind == "q":
            chunk, used = _dequantize(seg, payload[at:], base, n)
        else:
            used = n
            if at + n > len(payload):
                raise DeltaError("the container's payload is shorter than its segments")
            chunk = unshuffle(payload[at : at + n], width)
            if kind == "xor":
                chunk = _xor(chunk, _ref(seg, base, n))
            elif kind != "raw":
                raise DeltaError(f"unknown segment kind {kind!r}")
        out += chunk
        pos, at = end, at + used
    if pos != size or at != len(payload):
        raise DeltaError("the container's segments do not add up to the file")
    return bytes(out)


def _ref(seg: dict[str, Any], base: bytes | None, n: int) -> bytes:
    ref = seg.get("ref")
    if base is None or not isinstance(ref, list) or len(ref) != 2:
        raise DeltaError("a delta segment without its base")
    r0, r1 = int(ref[0]), int(ref[1])
    if not 0 <= r0 <= r1 <= len(base) or r1 - r0 != n:
        raise DeltaError("a delta segment points outside its base")
    return base[r0:r1]


def _dequantize(seg: dict[str, Any], payload: bytes, base: bytes | None,
                n: int) -> tuple[bytes, int]:  # fmt: skip
    bits = seg.get("bits")
    if bits not in (4, 8) or n % 4:
        raise DeltaError("a compact segment is malformed")
    count = n // 4
    n_blocks = -(-count // BLOCK)
    code_bytes = count if bits == 8 else -(-count // 2)
    used = 4 * n_blocks + code_bytes
    if used > len(payload):
        raise DeltaError("the container's payload is shorter than its segments")
    scales = np.frombuffer(payload[: 4 * n_blocks], "<f4")
    codes = _unpack_codes(payload[4 * n_blocks : used], count, bits).astype(np.float32)
    ref = (np.frombuffer(_ref(seg, base, n), "<f4") if seg.get("ref")
           else np.zeros(count, np.float32))  # fmt: skip
    step = np.repeat(scales, BLOCK)[:count]
    values = ref + codes * step  # float32 throughout: the same bits on every machine
    if not np.all(np.isfinite(values)):
        raise DeltaError("a compact segment rebuilds non-finite values")
    return values.astype("<f4").tobytes(), used
