"""Delta containers: lossless ones rebuild the file bit for bit, compact ones rebuild the
same approximation on both sides, and a damaged or mismatched one is refused, never
silently wrong."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save

from personal.sync import delta


def tensors_file(arrays: dict[str, np.ndarray], meta: dict[str, str] | None = None) -> bytes:
    return save(arrays, metadata=meta)


@st.composite
def revision_pair(draw):
    """(base file, new file): some tensors kept and nudged, some new, some dropped."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    names = draw(st.lists(st.sampled_from([f"model.layers.{i}.q.lora_{ab}" for i in range(4)
                                           for ab in "ab"]), min_size=1, unique=True))  # fmt: skip
    dtypes = {n: draw(st.sampled_from([np.float32, np.float16, np.int8])) for n in names}
    base = {n: rng.normal(0, 1, (draw(st.integers(1, 9)), 3)).astype(dtypes[n]) for n in names}
    new = {}
    for n, v in base.items():
        fate = draw(st.sampled_from(["nudge", "same", "reshape", "drop"]))
        if fate == "nudge":
            new[n] = (v + rng.normal(0, 0.01, v.shape)).astype(v.dtype)
        elif fate == "same":
            new[n] = v.copy()
        elif fate == "reshape":
            new[n] = rng.normal(0, 1, (v.shape[0] + 1, 3)).astype(np.float32)
    if draw(st.booleans()) or not new:
        new["model.layers.9.q.lora_a"] = rng.normal(0, 1, (2, 5)).astype(np.float32)
    meta = {"format": "mlx"} if draw(st.booleans()) else None
    return tensors_file(base, meta), tensors_file(new, meta)


@given(revision_pair())
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_lossless_rebuilds_every_byte(pair):
    base, new = pair
    assert delta.decode(delta.encode(new, base), base) == new
    assert delta.decode(delta.encode(new)) == new  # whole (no base)


@given(revision_pair(), st.integers(0, 10**9), st.integers(1, 255))
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_damaged_container_is_refused_or_still_exact(pair, where, flip):
    base, new = pair
    container = bytearray(delta.encode(new, base))
    container[where % len(container)] ^= flip
    try:
        out = delta.decode(bytes(container), base)
    except delta.DeltaError:
        return
    assert out == new  # a flip the checks did not need to see (e.g. in JSON whitespace)


@given(revision_pair(), st.sampled_from([4, 8]))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_compact_decodes_to_its_own_target_everywhere(pair, bits):
    base, new = pair
    container, target = delta.encode_compact(new, base, bits)
    assert delta.decode(container, base) == target
    assert delta.read_header(container)["sha256"] == hashlib.sha256(target).hexdigest()
    _, want = delta.tensors(new)
    _, got = delta.tensors(target)
    assert [(t.name, t.dtype, t.shape) for t in want] == [(t.name, t.dtype, t.shape) for t in got]


def test_compact_is_close_and_small():
    rng = np.random.default_rng(0)
    old = {f"w{i}": rng.normal(0, 1, (256, 8)).astype(np.float32) for i in range(4)}
    new = {k: v + rng.normal(0, 0.02, v.shape).astype(np.float32) for k, v in old.items()}
    base, file = tensors_file(old), tensors_file(new)
    exact = delta.encode(file, base)
    for bits, limit in ((8, 0.002), (4, 0.02)):
        container, target = delta.encode_compact(file, base, bits)
        assert len(container) < len(exact) / 2
        got = delta.tensors(target)[1]
        for t in got:
            a = np.frombuffer(target[t.start : t.end], "<f4")
            b = new[t.name].reshape(-1)
            assert np.abs(a - b).max() < limit


def test_the_wrong_base_or_a_bomb_is_refused():
    rng = np.random.default_rng(1)
    base = tensors_file({"a": rng.normal(0, 1, (8, 8)).astype(np.float32)})
    other = tensors_file({"a": rng.normal(0, 1, (8, 8)).astype(np.float32)})
    new = tensors_file({"a": rng.normal(0, 1, (8, 8)).astype(np.float32)})
    container = delta.encode(new, base)
    with pytest.raises(delta.DeltaError, match="another base"):
        delta.decode(container, other)
    with pytest.raises(delta.DeltaError, match="another base"):
        delta.decode(container, None)
    with pytest.raises(delta.DeltaError, match="magic"):
        delta.decode(b"PK\x03\x04" + container[4:], base)
    import json
    import struct

    import zstandard

    bomb = zstandard.ZstdCompressor().compress(b"\0" * (64 << 20))
    header = json.dumps({"format": delta.FORMAT, "size": 8, "raw": 8, "segments": [],
                         "sha256": "0" * 64, "against": None}).encode()  # fmt: skip
    with pytest.raises(delta.DeltaError):
        delta.decode(delta.MAGIC + struct.pack("<I", len(header)) + header + bomb)
    with pytest.raises(delta.DeltaError, match="not a safetensors"):
        delta.encode(b"\xff" * 16, base)


def test_byte_planes_round_trip():
    raw = np.arange(40, dtype=np.float32).tobytes()
    assert delta.unshuffle(delta.shuffle(raw, 4), 4) == raw
    assert delta.shuffle(raw, 4)[:10] == raw[0::4][:10]
