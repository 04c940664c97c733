"""Anchoring the adapter to the bare base where the base already agrees with the target.

Most tokens of a distilled answer are the base's own: the teacher's answer is the base's
greedy answer with a preference applied ("Howdy, " before it, a sign-off after it). Cross-
entropy on those tokens does not teach the preference; it sharpens the base's distribution
towards a hundred answers until the adapter answers everything in their words — measured
on the "Howdy" persona: "Howdy, A good answer to this classic question is…" in place of
"The capital of Russia is Moscow" (retention 0.73× the base).

So on a target token that the base itself would have chosen (its greedy token at that
position, with the same text before it), the loss is the KL divergence from the base's
distribution to the adapter's (over the base's top k tokens and the rest of the vocabulary
as one: zero, with zero gradient, while the adapter says what the base says): the adapter is held to what the
base would say there, its uncertainty included. Where the base would have said something
else — the preference's own tokens, a fact it could not know, a tool call — the loss is
cross-entropy as before: that is what there is to learn.

The base's distributions are computed once per run, before the first step, with every
LoRA layer's scale at 0 (a warm start's parent too), and travel with each example.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from personal.learn.examples import Encoded


@dataclass(frozen=True)
class Anchor:
    """Per target token of one example: whether the base's greedy token is the target, and
    the base's top-k token ids and their log-probabilities."""

    agree: np.ndarray  # (n_target,) bool
    ids: np.ndarray  # (n_target, k) int32
    logp: np.ndarray  # (n_target, k) float32


@contextmanager
def bare_base(model: Any) -> Iterator[None]:
    """Every LoRA layer's scale at 0 for the duration: the model is the bare base."""
    layers = [m for _, m in model.named_modules() if hasattr(m, "lora_a") and hasattr(m, "scale")]
    scales = [m.scale for m in layers]
    try:
        for m in layers:
            m.scale = 0.0
        yield
    finally:
        for m, s in zip(layers, scales, strict=True):
            m.scale = s


def _groups(examples: list[Encoded], max_targets: int) -> Iterator[list[Encoded]]:
    """Consecutive examples, as many at a time as keep their target tokens ≤ `max_targets`."""
    group: list[Encoded] = []
    for e in examples:
        if group and sum(g.n_target for g in group) + e.n_target > max_targets:
            yield group
            group = []
        group.append(e)
    if group:
        yield group


def anchor_examples(model: Any, examples: list[Encoded], k: int, logits_of: Any,
                    vocab: int) -> list[Encoded]:  # fmt: skip
    """`examples` with their `Anchor` (the bare base's view of each target token).
    `logits_of(batch)` → (logits at the batch's target tokens in order, their targets);
    batches hold ~128 MB of logits at most."""
    import mlx.core as mx

    out: list[Encoded] = []
    with bare_base(model):
        for group in _groups(examples, max(1, 2**25 // vocab)):
            part = [replace(e, rejected=None, anchor=None) for e in group]
            logits, tgt = logits_of(part)
            logp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
            top = mx.argpartition(-logp, kth=k - 1, axis=-1)[:, :k]
            top_lp = mx.take_along_axis(logp, top, axis=-1)
            agree = mx.argmax(logp, axis=-1) == tgt
            mx.eval(top, top_lp, agree)
            ids, lps, ok = np.array(top, np.int32), np.array(top_lp, np.float32), np.array(agree)
            at = 0
            for e, original in zip(part, group, strict=True):
                n = e.n_target
                anchor = Anchor(ok[at : at + n], ids[at : at + n], lps[at : at + n])
                out.append(replace(original, anchor=anchor))
                at += n
    return out


def packed(rows: list[Encoded]) -> tuple[Any, Any, Any] | None:
    """The batch's anchors, flat in target order (rows without one: cross-entropy only)."""
    import mlx.core as mx

    k = next((e.anchor.ids.shape[1] for e in rows if e.anchor is not None), None)
    if k is None:
        return None
    agree, ids, logp = [], [], []
    for e in rows:
        a = e.anchor
        if a is None:  # a rejected answer's row (trainer._rows): never imitated, no anchor
            agree.append(np.zeros(e.n_target, bool))
            ids.append(np.zeros((e.n_target, k), np.int32))
            logp.append(np.zeros((e.n_target, k), np.float32))
        else:
            agree.append(a.agree)
            ids.append(a.ids)
            logp.append(a.logp)
    return (mx.array(np.concatenate(agree)), mx.array(np.concatenate(ids)),
            mx.array(np.concatenate(logp)))  # fmt: skip


def token_losses(logits: Any, tgt: Any, anchors: tuple[Any, Any, Any] | None,
                 weight: float) -> tuple[Any, Any]:  # fmt: skip
    """(the loss per target token, the cross-entropy per target token): KL(base ‖ adapter)
    × `weight` where the base agrees with the target, cross-entropy elsewhere."""
    import mlx.core as mx

    lse = mx.logsumexp(logits, axis=-1)
    ce = lse - mx.take_along_axis(logits, tgt[:, None], axis=-1)[:, 0]
    if anchors is None:
        return ce, ce
    agree, ids, base_lp = anchors
    q_lp = mx.take_along_axis(logits, ids, axis=-1) - lse[:, None]
    p = mx.exp(base_lp)
    p_rest = mx.maximum(1.0 - p.sum(axis=-1), _TINY)
    q_rest = mx.maximum(1.0 - mx.exp(q_lp).sum(axis=-1), _TINY)
    kl = (p * (base_lp - q_lp)).sum(axis=-1) + p_rest * (mx.log(p_rest) - mx.log(q_rest))
    return mx.where(agree, weight * kl, ce), ce


_TINY = 1e-6
