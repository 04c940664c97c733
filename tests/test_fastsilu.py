"""The trainer's SiLU without MLX's scalar exp: same values, same gradients."""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from personal.learn.train import fastsilu


def test_values_match_mlx_within_float32_rounding():
    x = mx.concatenate([mx.random.normal((4096,)) * 6, mx.array([-100.0, -88.0, 0.0, 88.0, 100.0])])
    ref, got = np.array(x * mx.sigmoid(x)), np.array(fastsilu.silu(x))
    assert np.all(np.isfinite(got))
    assert np.max(np.abs(got - ref) / (np.abs(ref) + 1e-6)) < 5e-6


def test_gradients_match_mlx():
    x = mx.random.normal((64, 96)) * 4
    g_fast = mx.grad(lambda a: (fastsilu.silu(a) * a).sum())(x)
    g_ref = mx.grad(lambda a: (nn.silu(a) * a).sum())(x)
    assert float(mx.max(mx.abs(g_fast - g_ref)) / mx.max(mx.abs(g_ref))) < 1e-5


def test_install_swaps_the_llama_block_activation(monkeypatch):
    from mlx_lm.models import llama

    monkeypatch.setattr(llama, "swiglu", llama.swiglu)  # restored after the test
    assert fastsilu.install() and llama.swiglu is fastsilu.swiglu
    gate, x = mx.random.normal((3, 8)), mx.random.normal((3, 8))
    assert np.allclose(np.array(llama.swiglu(gate, x)), np.array(nn.silu(gate) * x), atol=1e-5)
