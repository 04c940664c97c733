"""SiLU without MLX's scalar CPU `exp`, for the trainer.

On CPU, MLX computes exp, sigmoid and SiLU one element at a time (~16 ns each; numpy's
vectorised exp is ~20x faster), and SiLU is about a quarter of a training step's forward
pass on SmolLM2 (FACTS.md). Here exp is computed with MLX's fast vectorised ops: range
reduction y = n·ln2 + r (|r| ≤ ln2/2), a degree-7 polynomial for e^r, and 2^n built from
the float's exponent bits — compiled into one kernel. Its gradient is given explicitly
(`mx.view` has none): d/dy [y·σ(y)] = σ(y) + y·σ(y)·(1 − σ(y)).

`install()` makes mlx-lm's llama blocks (SmolLM2) use it; other architectures keep theirs.
Accuracy against `y * mx.sigmoid(y)`: max relative error ~1e-6 (tests/test_fastsilu.py);
speed: benchmarks/train_speed.py.
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx

LOG2E = 1.4426950408889634
LN2_HI, LN2_LO = 0.693145751953125, 1.428606765330187e-06  # ln 2 split for exact n·ln2
# 1/k! for k = 7..0 (Horner order)
_COEF = (1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1.0, 1.0)


def _exp(y: mx.array) -> mx.array:
    y = mx.clip(y, -87.0, 88.0)
    n = mx.round(y * LOG2E)
    r = (y - n * LN2_HI) - n * LN2_LO
    p = mx.full(r.shape, _COEF[0], dtype=mx.float32)
    for c in _COEF[1:]:
        p = p * r + c
    bits = mx.left_shift(n.astype(mx.int32) + 127, 23)
    return p * mx.view(bits, mx.float32)


def _sigmoid(y: mx.array) -> mx.array:
    return 1.0 / (1.0 + _exp(-y))


@mx.compile
def _silu_fwd(y: mx.array) -> mx.array:
    return y * _sigmoid(y)


@mx.compile
def _silu_grad(y: mx.array, cotangent: mx.array) -> mx.array:
    s = _sigmoid(y)
    return cotangent * (s + y * s * (1.0 - s))


@mx.custom_function
def silu(y: mx.array) -> mx.array:
    """x·σ(x), float32, differentiable."""
    return _silu_fwd(y)


@silu.vjp
def _silu_vjp(primals: Any, cotangent: mx.array, output: mx.array) -> mx.array:
    y = primals[0] if isinstance(primals, tuple | list) else primals  # one input: the array
    return _silu_grad(y, cotangent)


def swiglu(gate: mx.array, x: mx.array) -> mx.array:
    return silu(gate) * x


def install() -> bool:
    """Use the fast SiLU in mlx-lm's llama blocks (this process only); True if it did."""
    try:
        from mlx_lm.models import llama
    except ImportError:  # pragma: no cover - mlx-lm layout changed
        return False
    if not hasattr(llama, "swiglu"):
        return False
    llama.swiglu = swiglu
    return True
