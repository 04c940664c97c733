"""Comparing two adapters' weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.numpy import load_file


def weight_delta(mlx_a: Path, mlx_b: Path) -> float:
    """‖ΔW_b − ΔW_a‖ / ‖ΔW_a‖ over every adapted projection, with ΔW = A·B (the update each
    adapter adds to the base); 0 means identical effect, 1 a change as large as the adapter."""
    wa = load_file(str(Path(mlx_a) / "adapters.safetensors"))
    wb = load_file(str(Path(mlx_b) / "adapters.safetensors"))
    num = den = 0.0
    for key in sorted(k for k in wa if k.endswith("lora_a")):
        prefix = key[: -len("lora_a")]
        da = wa[key].astype(np.float64) @ wa[prefix + "lora_b"].astype(np.float64)
        if key in wb:
            db = wb[key].astype(np.float64) @ wb[prefix + "lora_b"].astype(np.float64)
        else:
            db = np.zeros_like(da)
        num += float(np.sum((db - da) ** 2))
        den += float(np.sum(da**2))
    return (num / den) ** 0.5 if den else float(num > 0)
