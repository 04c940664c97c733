"""A hostile GGUF header fails as ModelCorrupt at once: no recursion, no huge loop, no
allocation sized by a forged count."""

from __future__ import annotations

import struct
import time

import pytest
from gguf import GGUF_MAGIC, GGUFValueType

from personal.errors import ModelCorrupt
from personal.models import catalog
from personal.models.header import read_header
from tests.tinymodel import write_tiny_llama_gguf

ARRAY, U32, STRING = GGUFValueType.ARRAY, GGUFValueType.UINT32, GGUFValueType.STRING


def text(s: str) -> bytes:
    return struct.pack("<Q", len(s)) + s.encode()


def gguf(n_tensors: int, n_kv: int, body: bytes) -> bytes:
    return struct.pack("<IIQQ", GGUF_MAGIC, 3, n_tensors, n_kv) + body


def nested(depth: int) -> bytes:
    """An array of an array of ... of one uint32, `depth` arrays deep."""
    level = struct.pack("<IQ", ARRAY, 1) * (depth - 1)
    return text("general.nested") + struct.pack("<I", ARRAY) + level + struct.pack("<IQI", U32, 1, 7)


HOSTILE = {
    "deeply nested arrays": (gguf(0, 1, nested(100_000)), "nests arrays"),
    "absurd metadata count": (gguf(0, 2**63, b""), "metadata entries"),
    "absurd tensor count": (gguf(2**62, 0, b""), "tensors"),
    "absurd array length": (gguf(0, 1, text("k") + struct.pack("<IIQ", ARRAY, STRING, 2**60)),
                            "array elements"),
    "absurd kept array": (gguf(0, 1, text("tokenizer.ggml.tokens")
                               + struct.pack("<IIQ", ARRAY, U32, 2**40)), "array elements"),
    "absurd string length": (gguf(0, 1, text("k") + struct.pack("<IQ", STRING, 2**40)),
                             "bytes of text"),
    "absurd dimensions": (gguf(1, 0, text("t") + struct.pack("<I", 2**31) + b"\0" * 64),
                          "dimensions"),
    "unknown value type": (gguf(0, 1, text("k") + struct.pack("<I", 99)), "GGUFValueType"),
    "truncated": (gguf(0, 1, text("key.name") + struct.pack("<I", U32)), "ends early"),
    "not a gguf": (b"PK\x03\x04" + b"\0" * 60, "magic"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_header_is_model_corrupt_at_once(tmp_path, name):
    data, reason = HOSTILE[name]
    path = tmp_path / "hostile.gguf"
    path.write_bytes(data)
    start = time.monotonic()
    with pytest.raises(ModelCorrupt, match=reason) as raised:
        read_header(path, keep_arrays=frozenset({"tokenizer.ggml.tokens"}))
    assert raised.value.hint
    assert time.monotonic() - start < 1


def test_moderate_nesting_is_read(tmp_path):
    path = tmp_path / "ok.gguf"
    path.write_bytes(gguf(0, 1, nested(3)))
    assert read_header(path).get("general.nested").length == 1


@pytest.mark.parametrize("value", [0, -1, 2**40, "many", 1.5])
def test_forged_numbers_are_refused_when_the_model_is_resolved(tmp_path, value):
    """A header that parses but whose numbers no model has: ModelCorrupt, not a TypeError
    later."""
    from gguf import GGUFWriter

    real = read_header(write_tiny_llama_gguf(tmp_path / "tiny.gguf"))
    writer = GGUFWriter(str(tmp_path / "forged.gguf"), "llama")
    for key in ("context_length", "embedding_length", "attention.head_count"):
        writer.add_uint32(f"llama.{key}", real.arch_get(key))
    if isinstance(value, str):
        writer.add_string("llama.block_count", value)
    elif isinstance(value, float):
        writer.add_float32("llama.block_count", value)
    else:
        writer.add_int64("llama.block_count", value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    with pytest.raises(ModelCorrupt, match="block_count"):
        catalog.resolve(str(tmp_path / "forged.gguf"))
