"""The LoRA training loop (MLX, fp32), run in-process by the worker.

    report = train(model_dir, dataset_dir, run_dir, out_dir, TrainConfig())

Reads top to bottom: load the converted base and freeze it, add LoRA layers, encode the
dataset, then step. Everything a step depends on is a pure function of (seed, step) or is
in the checkpoint (adapter weights, Adam state, loss history), so a run killed at any
moment and restarted on the same run dir ends with bit-identical weights. Output: an
mlx-lm adapter directory (`adapters.safetensors` + `adapter_config.json`).
"""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from personal.adapters.formats import write_mlx_adapter
from personal.engine.prompt import ChatFormat
from personal.learn.config import TrainConfig
from personal.learn.examples import Encoded, batch_indices, encode_file
from personal.learn.train import anchor, events
from personal.learn.train.checkpoint import load_checkpoint, load_parent, save_checkpoint
from personal.learn.train.events import TrainReport
from personal.learn.train.prefix import MIN_SHARED, Trunk, common_prefix, forward
from personal.models.convert import read_conversion
from personal.models.gguf_tokenizer import quiet_transformers

Emit = Callable[[events.Event], None]
WEIGHTS, CONFIG = "adapters.safetensors", "adapter_config.json"


class Stopped(Exception):
    """Training stopped on request after checkpointing; the run dir resumes it."""

    def __init__(self, step: int):
        super().__init__(f"stopped at step {step}")
        self.step = step


def train(
    model_dir: Path, dataset_dir: Path, run_dir: Path, out_dir: Path, config: TrainConfig, *,
    warm_start: Path | None = None, on_event: Emit | None = None,
    should_stop: Callable[[], bool] = lambda: False, report_extra: dict[str, Any] | None = None,
) -> TrainReport:  # fmt: skip
    """Train, checkpointing into `run_dir`, and write the adapter to `out_dir`.

    Returns the report (also written to `run_dir/report.json`). Raises Stopped when
    `should_stop()` turned true (after checkpointing), TrainingError / NotEnoughData."""
    quiet_transformers()
    import mlx.core as mx
    import mlx.optimizers as optim
    from mlx.utils import tree_flatten

    started = time.perf_counter()
    emit = on_event or (lambda event: None)
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    model, fmt, tokenize = _load_base(Path(model_dir))
    n_layers = min(config.layers, len(model.layers))
    data = Path(dataset_dir)
    train_set = encode_file(data / "train.jsonl", fmt, tokenize, config.max_seq_len, required=True)
    val_set = encode_file(data / "valid.jsonl", fmt, tokenize, config.max_seq_len, required=False)

    from mlx_lm.tuner.utils import linear_to_lora_layers

    mx.random.seed(config.seed)  # LoRA A init
    linear_to_lora_layers(model, n_layers, config.lora_parameters())
    identity = {
        "config": config.to_dict(),
        "base": read_conversion(Path(model_dir))["source"]["fingerprint"],
        "dataset": _digest(Path(dataset_dir) / "train.jsonl", Path(dataset_dir) / "valid.jsonl"),
        "warm_start": _digest(Path(warm_start) / WEIGHTS) if warm_start else None,
    }
    optimizer = optim.Adam(learning_rate=config.learning_rate)
    optimizer.init(model.trainable_parameters())
    state = load_checkpoint(run_dir, model, optimizer, identity)
    if state is None:
        if warm_start is not None:
            load_parent(model, Path(warm_start), config, n_layers)
        state = {"step": 0, "train": [], "val": [], "trained_tokens": 0, "seen_tokens": 0}
    resumed_from = state["step"]
    emit(events.Started(config.iters, resumed_from, len(train_set), len(val_set)))

    trunk = Trunk()  # the frozen blocks' share of each shared prefix, computed once
    if config.anchor_weight > 0:  # the bare base's view of every target token, once per run
        vocab = model.model.embed_tokens.weight.shape[0]
        train_set = anchor.anchor_examples(model, train_set, config.anchor_top_k,
                                           lambda part: _target_logits(model, part), vocab)  # fmt: skip
    step_fn = _make_step(model, config, trunk)
    step_seconds, tokens_here, seen_here = 0.0, 0, 0
    for step in range(state["step"], config.iters):
        t0 = time.perf_counter()
        batch = [
            train_set[i]
            for i in batch_indices(step, len(train_set), config.batch_size, config.seed)
        ]
        mx.random.seed(config.seed * 1_000_003 + step)  # dropout: a function of the step
        loss = step_fn(batch, optimizer)
        step_seconds += time.perf_counter() - t0
        n_target = sum(e.n_target for e in batch)
        tokens_here += n_target
        state["step"] = step + 1
        state["trained_tokens"] += n_target
        seen = sum(len(e.ids) - 1 for e in batch)
        seen_here += seen
        state["seen_tokens"] += seen
        state["train"].append([step + 1, loss])
        emit(events.Step(step + 1, config.iters, loss, state["trained_tokens"],
                         state["seen_tokens"], round(tokens_here / step_seconds, 2)))  # fmt: skip
        last = step + 1 == config.iters
        if val_set and (last or (config.val_every and (step + 1) % config.val_every == 0)):
            val = evaluate(model, val_set, config, trunk)
            state["val"].append([step + 1, val])
            emit(events.Validated(step + 1, val))
        stop = should_stop()
        if last or stop or (step + 1) % config.save_every == 0:
            save_checkpoint(run_dir, model, optimizer, identity, state)
            emit(events.Checkpointed(step + 1))
        if stop and not last:
            raise Stopped(step + 1)

    weights = dict(tree_flatten(model.trainable_parameters()))
    write_mlx_adapter(out_dir, weights, config.lora_parameters(), n_layers,
                      {"base_fingerprint": identity["base"], "dataset_sha256": identity["dataset"],
                       "train_config": config.to_dict()})  # fmt: skip
    (run_dir / "loss.json").write_text(json.dumps({"train": state["train"], "val": state["val"]}))
    trained_here = config.iters - resumed_from
    extra = {"config": config.to_dict(), **(report_extra or {})}
    report = TrainReport(
        steps=config.iters, resumed_from=resumed_from, steps_this_run=trained_here,
        trained_tokens=state["trained_tokens"], seen_tokens=state["seen_tokens"],
        tokens_per_s=round(tokens_here / step_seconds, 2) if step_seconds else None,
        seen_tokens_per_s=round(seen_here / step_seconds, 2) if step_seconds else None,
        train_seconds=round(step_seconds, 3),
        seconds_per_step=round(step_seconds / trained_here, 3) if trained_here else None,
        wall_s=round(time.perf_counter() - started, 2), peak_rss_mb=peak_rss_mb(),
        blas=str(extra.pop("blas", "unknown")),
        final_train_loss=state["train"][-1][1] if state["train"] else None,
        final_val_loss=state["val"][-1][1] if state["val"] else None,
        examples=len(train_set), val_examples=len(val_set),
        truncated_examples=sum(e.truncated for e in train_set), extra=extra,
    )  # fmt: skip
    (run_dir / "report.json").write_text(json.dumps(asdict(report), indent=2))
    emit(events.Done(report))
    return report


# --- the model ------------------------------------------------------------------------
def _load_base(model_dir: Path) -> tuple[Any, ChatFormat, Callable[[str, bool], list[int]]]:
    import mlx.core as mx
    from mlx_lm.utils import load_model
    from tokenizers import Tokenizer

    model, _ = load_model(model_dir)
    model.set_dtype(mx.float32)  # fp32: CPU BLAS; bf16/fp16 bypass it and are ~20x slower
    model.freeze()
    chat = read_conversion(model_dir)["chat"]
    fmt = ChatFormat.from_metadata(chat["template"], chat["bos_token"], chat["eos_token"])
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    bos, add_bos = chat["bos_token"], bool(chat["add_bos_token"])

    def tokenize(text: str, first: bool) -> list[int]:
        # As MLXEngine.tokenize / llama.cpp: BOS once, only at the start of the prompt.
        with_bos = first and add_bos and not (bos and text.startswith(bos))
        return tok.encode(text, add_special_tokens=with_bos).ids

    return model, fmt, tokenize


def _head(model: Any) -> Callable[[Any], Any]:
    inner = model.model
    tied = getattr(model, "tie_word_embeddings", getattr(model.args, "tie_word_embeddings", True))
    return inner.embed_tokens.as_linear if tied else model.lm_head


def _rows(batch: list[Encoded]) -> tuple[list[Encoded], list[tuple[int, int]]]:
    """The batch's sequences: each example, and after a correction (an example with a
    rejected answer) the rejected answer on the same prompt, weight 0 (never imitated);
    and the (chosen, rejected) row pairs."""
    rows, pairs = [], []
    for e in batch:
        rows.append(e)
        if e.rejected:
            pairs.append((len(rows) - 1, len(rows)))
            rows.append(Encoded(e.ids[: e.n_prompt] + e.rejected, e.n_prompt, 0.0))
    return rows, pairs


def _pack(batch: list[Encoded], share: bool = True) -> tuple[Any, ...]:
    """The batch's shared prefix (1, L) or None, the right-padded remainders, and the flat
    positions/targets/weights of trained tokens only: the LM head runs on those rows alone
    (it is 20% of SmolLM2's and 60% of Gemma's FLOPs); then the row of each target and the
    (chosen, rejected) row pairs of corrections (None without any)."""
    import mlx.core as mx

    batch, pairs = _rows(batch)
    # the prefix stops before each example's last prompt token, whose output predicts
    # the first answer token
    limit = min(e.n_prompt for e in batch) - 1
    shared = common_prefix([e.ids for e in batch], limit) if share else 0
    if shared < MIN_SHARED:
        shared = 0
    width = max(len(e.ids) for e in batch) - 1 - shared
    inputs = np.zeros((len(batch), width), np.int32)
    pos, tgt, wts, rows = [], [], [], []
    for b, e in enumerate(batch):
        ids = np.asarray(e.ids, np.int32)
        inputs[b, : len(ids) - 1 - shared] = ids[shared:-1]
        span = np.arange(e.n_prompt - 1, len(ids) - 1)
        pos.append(b * width + span - shared)
        tgt.append(ids[span + 1])
        wts.append(np.full(len(span), e.weight, np.float32))
        rows.append(np.full(len(span), b, np.int32))
    prefix = mx.array(np.asarray(batch[0].ids[:shared], np.int32)[None]) if shared else None
    paired = mx.array(np.asarray(pairs, np.int32)) if pairs else None
    return (prefix, mx.array(inputs), mx.array(np.concatenate(pos)),
            mx.array(np.concatenate(tgt)), mx.array(np.concatenate(wts)),
            mx.array(np.concatenate(rows)), paired, anchor.packed(batch))  # fmt: skip


def _logits(model: Any, prefix: Any, inputs: Any, pos: Any, trunk: Trunk | None = None) -> Any:
    """The logits at the flat target positions `pos` (the LM head on those rows only)."""
    import mlx.core as mx

    h = forward(model, prefix, inputs, trunk)
    return _head(model)(mx.take(h.reshape(-1, h.shape[-1]), pos, axis=0))


def _target_logits(model: Any, batch: list[Encoded]) -> tuple[Any, Any]:
    """The logits at `batch`'s target tokens, in order, and those targets."""
    prefix, inputs, pos, tgt = _pack(batch)[:4]
    return _logits(model, prefix, inputs, pos), tgt


def _losses(model: Any, prefix: Any, inputs: Any, pos: Any, tgt: Any, wts: Any,
            rows: Any = None, pairs: Any = None, anchors: Any = None,
            trunk: Trunk | None = None, anchor_weight: float = 1.0,
            ) -> tuple[Any, Any]:  # fmt: skip
    """(weighted loss summed over target tokens — cross-entropy, or where the bare base
    agrees with the target its KL to the adapter (anchor.py) —, ORPO's odds-ratio term
    summed over the correction pairs — 0 without any). ORPO (Hong et al., 2024): with P(y)
    the geometric mean of a sequence's token probabilities, −log σ(log odds P(chosen) −
    log odds P(rejected)) pushes the rejected answer down relative to the chosen one."""
    import mlx.core as mx
    import mlx.nn as nn

    logits = _logits(model, prefix, inputs, pos, trunk)
    loss, ce = anchor.token_losses(logits, tgt, anchors, anchor_weight)
    nll = (loss * wts).sum()
    if pairs is None:
        return nll, mx.array(0.0)
    n_rows = inputs.shape[0]
    onehot = (rows[None, :] == mx.arange(n_rows)[:, None]).astype(mx.float32)
    mean_lp = -(onehot @ ce) / mx.maximum(onehot.sum(axis=1), 1.0)  # per row, ≤ 0
    mean_lp = mx.minimum(mean_lp, -1e-6)
    log_odds = mean_lp - mx.log1p(-mx.exp(mean_lp))
    margin = log_odds[pairs[:, 0]] - log_odds[pairs[:, 1]]
    return nll, nn.softplus(-margin).sum()


def _loss_sum(model: Any, prefix: Any, inputs: Any, pos: Any, tgt: Any, wts: Any,
              rows: Any = None, pairs: Any = None, anchors: Any = None,
              trunk: Trunk | None = None) -> Any:  # fmt: skip
    """The weighted loss summed over target tokens (validation, tests)."""
    return _losses(model, prefix, inputs, pos, tgt, wts, rows, pairs, anchors, trunk)[0]


def _make_step(model: Any, config: TrainConfig,
               trunk: Trunk | None = None) -> Callable[[list[Encoded], Any], float]:  # fmt: skip
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_map

    def scaled(prefix: Any, inputs: Any, pos: Any, tgt: Any, wts: Any, rows: Any, pairs: Any,
               anchors: Any, norm: Any, n_pairs: Any) -> Any:  # fmt: skip
        nll, orpo = _losses(model, prefix, inputs, pos, tgt, wts, rows, pairs, anchors, trunk,
                            config.anchor_weight)  # fmt: skip
        return nll / norm + config.orpo_weight * orpo / n_pairs

    loss_and_grad = nn.value_and_grad(model, scaled)

    def step(batch: list[Encoded], optimizer: Any) -> float:
        model.train()
        norm = mx.array(sum(e.weight * e.n_target for e in batch), mx.float32)
        n_pairs = mx.array(max(1, sum(bool(e.rejected) for e in batch)), mx.float32)
        per = len(batch) // config.grad_accumulation
        total, grads = None, None
        for k in range(config.grad_accumulation):  # micro-batches: same sum, less memory
            args = _pack(batch[k * per : (k + 1) * per])
            if trunk is not None and args[0] is not None:
                trunk.get(model, args[0])  # a new prefix's trunk, outside the gradient's trace
            loss, g = loss_and_grad(*args, norm, n_pairs)
            total = loss if total is None else total + loss
            grads = g if grads is None else tree_map(mx.add, grads, g)
            mx.eval(total, grads)
        optimizer.update(model, grads)
        mx.eval(model.trainable_parameters(), optimizer.state)
        return round(float(total), 6)

    return step


def evaluate(model: Any, examples: list[Encoded], config: TrainConfig,
             trunk: Trunk | None = None) -> float:  # fmt: skip
    """Weighted mean loss per target token on the first `val_batches` batches, in order."""
    import mlx.core as mx

    model.eval()
    n = len(examples) if not config.val_batches else config.val_batches * config.batch_size
    total, norm = 0.0, 0.0
    for i in range(0, min(n, len(examples)), config.batch_size):
        batch = examples[i : i + config.batch_size]
        total += float(mx.stop_gradient(_loss_sum(model, *_pack(batch), trunk=trunk)))
        norm += sum(e.weight * e.n_target for e in batch)
    return round(total / norm, 6) if norm else float("nan")


# --- output ----------------------------------------------------------------------------
def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes() if p.is_file() else b"\0missing")
    return h.hexdigest()


def peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)  # bytes vs KiB
