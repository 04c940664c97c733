"""Does the exported GGUF-LoRA do in llama.cpp what the trained adapter does in MLX?

llama.cpp runs the quantized base + `adapter.gguf`; MLX runs the fp32 base + the MLX
adapter. Both see the same token ids. A prompt ending in an assistant message is scored at
every position of that answer (teacher forcing: a sign-off adapter acts at the end of an
answer, not on its first token); any other prompt at its next token.

Reported: top-1 agreement, KL(llama.cpp ‖ MLX) median/max, logprob correlation, the same
KL without the adapter (the quantization gap), and the adapter's effect in each engine
(KL adapted ‖ base). An ignored adapter shows as no effect in llama.cpp; a mis-permuted
Q/K shows as an engine gap that the base gap does not explain and as a llama.cpp effect
that does not match MLX's.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from personal.adapters.manifest import Equivalence
from personal.engine.base import AdapterRef
from personal.engine.blas import (
    blas_in_use,
    find_openblas,
    preload_openblas,
    reexec_with_openblas,
)
from personal.engine.llama import default_threads, import_llama_cpp
from personal.errors import TrainingError
from personal.learn.examples import render_example
from personal.models.catalog import BaseModel

# Thresholds, from measurements on SmolLM2-135M Q4_1 (6 prompts, 37 scored positions):
# - without the adapter the engines differ by KL median 0.003, max 0.027 (quantization);
# - a correct 10-step sign-off adapter: KL median 3e-5, max 0.010, effect 1.7 nats in
#   both engines (ratio 1.00); at user scale 0.05: KL max 0.019, effect ratio 1.49;
# - the same adapter with Q/K not permuted: KL max 1.63 (scale 0.05: 0.117);
# - on the tiny F32 llama the base gap is 1e-6 and an unpermuted export gives KL median 0.11.
# - the worst position grows with the number of positions scored and follows the base's
#   own gap there (correlation 0.67 over 387 positions of a persona adapter; with the
#   adapter's effect: -0.09): KL 0.063 where the base alone already differed by 0.022.
# So "agree" means: the median no worse than twice the base model's own gap (floor 0.01),
# and at every position the KL at most 0.05 over twice the base's gap at that position.
KL_MEDIAN_FLOOR = 0.01
KL_MAX_FLOOR = 0.05  # the most a position's KL may exceed GAP_FACTOR x its base gap
GAP_FACTOR = 2.0
NEAR_TIE = 0.3  # nats: a top-1 flip where llama.cpp itself rates both tokens this close is noise
MAX_CLEAR_MISS = 0.1  # fraction of positions whose top-1 differs and is not a near-tie
# Below ~3x the base gap, Q8 activation rounding in llama.cpp swamps the adapter's effect
# (at scale 0.01 the measured "effect ratio" was 4.1): too weak to verify either way.
MIN_EFFECT, EFFECT_NOISE_FACTOR = 1e-3, 3.0
EFFECT_RATIO = (0.5, 2.0)  # llama.cpp's adapter effect / MLX's: ignored adapter → ~0
MIN_DELTA_CORR = 0.8  # the logprob change the adapter causes, correlated engine to engine
OFFLOAD_BYTES = 32 << 20
MAX_POSITIONS = 48  # scored positions per prompt (an answer longer than this is cut)


def check_equivalence(
    base: BaseModel, gguf_lora: Path, mlx_adapter_dir: Path, prompts: list[list[dict[str, Any]]],
    *, scale: float = 1.0, n_threads: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Compare the engines on `prompts`; the result's `passed` says whether they agree."""
    ids, positions, mlx_base, mlx_adapted = _mlx_side(base, Path(mlx_adapter_dir), scale, prompts)
    llama_base, llama_adapted = _llama_logprobs(base, Path(gguf_lora), scale, ids, positions,
                                                n_threads or default_threads())  # fmt: skip
    if llama_adapted is None:
        why = "llama.cpp rejected the GGUF adapter"
        return {"passed": False, "reasons": [why], "reason": why}
    rows = [
        _compare(*parts)
        for parts in zip(
            _cat(llama_adapted), _cat(mlx_adapted), _cat(llama_base), _cat(mlx_base), strict=True
        )
    ]
    return summarize(rows, n_prompts=len(prompts))


def as_equivalence(result: dict[str, Any]) -> Equivalence:
    """The typed record of a `check_equivalence` result, as a manifest keeps it."""
    figures = {k: v for k, v in result.items()
               if isinstance(v, int | float) and not isinstance(v, bool)}  # fmt: skip
    return Equivalence(bool(result.get("passed")), tuple(result.get("reasons") or ()), figures)


def summarize(rows: list[dict[str, float]], n_prompts: int) -> dict[str, Any]:
    col = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    effect_mlx = float(np.median(col["effect_mlx"]))
    effect_llama = float(np.median(col["effect_llama"]))
    result = {
        "prompts": n_prompts, "positions": len(rows),
        "top1_agreement": round(float(col["top1"].mean()), 4),
        "top1_clear_miss": round(float(col["clear_miss"].mean()), 4),
        "kl_median": float(np.median(col["kl"])), "kl_max": float(col["kl"].max()),
        "kl_excess_max": float((col["kl"] - GAP_FACTOR * col["base_kl"]).max()),
        "corr_median": float(np.median(col["corr"])), "corr_min": float(col["corr"].min()),
        "base_kl_median": float(np.median(col["base_kl"])), "base_kl_max": float(col["base_kl"].max()),
        "effect_llama_median": effect_llama, "effect_mlx_median": effect_mlx,
        "effect_ratio": effect_llama / effect_mlx if effect_mlx > 0 else float("nan"),
        "delta_corr_median": float(np.median(col["delta_corr"])),
    }  # fmt: skip
    reasons = []
    if result["top1_clear_miss"] > MAX_CLEAR_MISS:
        reasons.append(f"top-1 differs (not a near-tie) at {result['top1_clear_miss']:.0%} "
                       "of positions")  # fmt: skip
    limit_median = max(KL_MEDIAN_FLOOR, GAP_FACTOR * result["base_kl_median"])
    min_effect = max(MIN_EFFECT, EFFECT_NOISE_FACTOR * result["base_kl_median"])
    result |= {"limit_kl_median": limit_median, "limit_kl_excess": KL_MAX_FLOOR}
    if result["kl_median"] > limit_median:
        reasons.append(f"median KL {result['kl_median']:.4f} > {limit_median:.4f}")
    if result["kl_excess_max"] > KL_MAX_FLOOR:
        reasons.append(f"at one position KL exceeds {GAP_FACTOR:g}x the base's own gap by "
                       f"{result['kl_excess_max']:.4f} > {KL_MAX_FLOOR:g}")  # fmt: skip
    if effect_mlx < min_effect:
        reasons.append(f"the adapter barely changes MLX's output (median KL {effect_mlx:.2e}): "
                       "too weak to verify")  # fmt: skip
    elif not EFFECT_RATIO[0] <= result["effect_ratio"] <= EFFECT_RATIO[1]:
        reasons.append(f"the adapter's effect in llama.cpp is {result['effect_ratio']:.2f}x "
                       "its effect in MLX (ignored, scaled or mis-exported)")  # fmt: skip
    elif result["delta_corr_median"] < MIN_DELTA_CORR:
        reasons.append(f"the adapter changes llama.cpp's output differently from MLX's "
                       f"(delta correlation {result['delta_corr_median']:.2f})")  # fmt: skip
    return {**{k: round(v, 6) if isinstance(v, float) else v for k, v in result.items()},
            "passed": not reasons, "reasons": reasons, "reason": "; ".join(reasons)}  # fmt: skip


def _compare(la: np.ndarray, ma: np.ndarray, lb: np.ndarray, mb: np.ndarray) -> dict[str, float]:
    def kl(p_log: np.ndarray, q_log: np.ndarray) -> float:
        return float(max(np.sum(np.exp(p_log) * (p_log - q_log)), 0.0))

    return {
        "kl": kl(la, ma), "base_kl": kl(lb, mb), "top1": float(la.argmax() == ma.argmax()),
        "clear_miss": float(la.max() - la[ma.argmax()] > NEAR_TIE),
        "corr": float(np.corrcoef(la, ma)[0, 1]),
        "effect_llama": kl(la, lb), "effect_mlx": kl(ma, mb),
        "delta_corr": float(np.corrcoef(la - lb, ma - mb)[0, 1]),
    }  # fmt: skip


def _cat(per_prompt: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(per_prompt, axis=0)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


# --- the engines ------------------------------------------------------------------------
def _mlx_side(
    base: BaseModel, adapter_dir: Path, scale: float, prompts: list[list[dict[str, Any]]]
) -> tuple[list[list[int]], list[list[int]], list[np.ndarray], list[np.ndarray]]:
    """Token ids, scored positions, and MLX's log-probabilities there without and with the
    adapter. Where this process has the reference BLAS (~30x slower) and OpenBLAS exists,
    a child process preloading OpenBLAS does the work (70 s → ~10 s on SmolLM2)."""
    job = {"path": str(base.path), "fingerprint": base.fingerprint, "name": base.name,
           "adapter": str(adapter_dir), "scale": scale, "prompts": prompts}  # fmt: skip
    preload_openblas()  # in time where nothing in this process has loaded MLX yet
    small = base.path.stat().st_size < OFFLOAD_BYTES  # a child's start-up would cost more
    if small or blas_in_use() != "reference BLAS (slow)" or find_openblas() is None:
        return _mlx_side_here(job)
    with tempfile.TemporaryDirectory(prefix="personal-equivalence-") as tmp:
        (Path(tmp) / "job.json").write_text(json.dumps(job))
        done = subprocess.run([sys.executable, "-m", "personal.learn.judge.equivalence", tmp],
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            raise TrainingError(f"the MLX side of the equivalence check failed:\n"
                                f"{done.stderr.strip()[-2000:]}")  # fmt: skip
        meta = json.loads((Path(tmp) / "ids.json").read_text())
        arrays = np.load(Path(tmp) / "logprobs.npz")
        n = len(prompts)
        return (meta["ids"], meta["positions"], [arrays[f"plain{i}"] for i in range(n)],
                [arrays[f"adapted{i}"] for i in range(n)])  # fmt: skip


def _mlx_side_here(
    job: dict[str, Any],
) -> tuple[list[list[int]], list[list[int]], list[np.ndarray], list[np.ndarray]]:
    import mlx.core as mx

    from personal.engine.mlx_engine import MLXEngine

    engine = MLXEngine(Path(job["path"]), fingerprint=job["fingerprint"], model_name=job["name"])
    ids, positions = [], []
    for messages in job["prompts"]:
        if messages and messages[-1].get("role") == "assistant":
            prompt, completion = render_example(engine.format, {"messages": messages})
            seq = engine.tokenize(prompt + completion)
            first = len(engine.tokenize(prompt)) - 1
            pos = list(range(first, len(seq) - 1))[:MAX_POSITIONS]
        else:
            seq = engine.prompt_tokens(messages)
            pos = [len(seq) - 1]
        ids.append(seq)
        positions.append(pos)

    def run() -> list[np.ndarray]:
        out = []
        for seq, pos in zip(ids, positions, strict=True):
            logits = engine.model(mx.array(seq)[None])[0]
            out.append(_log_softmax(np.array(logits[mx.array(pos)].astype(mx.float32))))
        return out

    try:
        plain = run()
        engine.attach_adapter(AdapterRef("equivalence", Path(job["adapter"]), job["scale"]))
        return ids, positions, plain, run()
    finally:
        engine.close()


def _child(tmp: str) -> None:
    """`python -m personal.learn.judge.equivalence DIR`: the MLX side, with OpenBLAS."""
    reexec_with_openblas(["-m", "personal.learn.judge.equivalence", tmp])
    ids, positions, plain, adapted = _mlx_side_here(
        json.loads((Path(tmp) / "job.json").read_text())
    )
    (Path(tmp) / "ids.json").write_text(json.dumps({"ids": ids, "positions": positions}))
    arrays = {f"plain{i}": a for i, a in enumerate(plain)}
    arrays |= {f"adapted{i}": a for i, a in enumerate(adapted)}
    np.savez(Path(tmp) / "logprobs.npz", **arrays)


def _llama_logprobs(
    base: BaseModel, gguf_lora: Path, scale: float, ids: list, positions: list, n_threads: int
) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    lib = import_llama_cpp()
    n_ctx = (max(len(s) for s in ids) // 64 + 1) * 64  # logits_all keeps n_ctx × vocab floats
    llm = lib.Llama(str(base.path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
                    logits_all=True, verbose=False)  # fmt: skip

    def run() -> list[np.ndarray]:
        out = []
        for seq, pos in zip(ids, positions, strict=True):
            llm.reset()  # no prefix reuse: the adapter changed every cached value
            llm.eval(seq)
            out.append(_log_softmax(np.array(llm.scores[pos], dtype=np.float64)))
        return out

    handle = None
    try:
        plain = run()
        from llama_cpp._utils import suppress_stdout_stderr

        with suppress_stdout_stderr(disable=False):  # one log line per tensor otherwise
            handle = lib.llama_adapter_lora_init(llm._model.model, str(gguf_lora).encode())
        if not handle:
            return plain, None
        adapters = (lib.llama_adapter_lora_p_ctypes * 1)(handle)
        if lib.llama_set_adapters_lora(llm._ctx.ctx, adapters, 1, (ctypes.c_float * 1)(scale)):
            return plain, None
        return plain, run()
    finally:
        if handle:
            lib.llama_set_adapters_lora(llm._ctx.ctx, None, 0, None)
            lib.llama_adapter_lora_free(handle)
        llm.close()


if __name__ == "__main__":
    _child(sys.argv[1])
