"""Public probe prompts: does a host's engine + adapter do what the device's does?

    probes = measure(engine, adapter_ref)            # the device: llama.cpp + GGUF-LoRA
    check = compare(probes, measure_host(host_engine, host_ref, base_cache))

The prompts are fixed and public (never from the person's log): everyday questions at the
start of an answer, and finished answers where an adapter may add something before the end
(a sign-off), plus a tool-shaped request. For each, the device records the next-token
log-probabilities with its adapter and without it at the tokens that matter (the top
`TOP_K` of each), in the revision's public manifest. A host runs the same prompts on its
own base (another precision of the same model, another engine) with the same adapter and
compares, relative to the gap between the two bare bases measured in the same check — the
same rule as the device's own llama.cpp-versus-MLX check (learn/judge/equivalence.py):

- the adapted distributions agree no worse than twice the bare bases' own gap (with
  absolute floors: KL median 0.01, max 0.05 nats);
- where the adapter's effect stands out of that gap (median KL adapted‖base above 3x the
  base gap), its size on the host is within 0.5x-2x of its size on the device (an adapter
  the host ignored, scaled or mis-permuted shows here);
- the greedy next token differs (not at a near tie of 0.3 nats) on at most a quarter of
  the prompts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from personal.adapters.manifest import ProbeDist, Probes
from personal.engine.base import AdapterRef, Engine, Message

PROBE_VERSION = 1
TOP_K = 24
SYSTEM = "You are a helpful, concise assistant. Answer the question directly."


def _ask(question: str, prefix: str = "") -> tuple[list[Message], str]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}], prefix


PROBES: tuple[tuple[list[Message], str], ...] = (
    _ask("What is the capital of France?"),
    _ask("Give me one tip for sleeping better."),
    _ask("Write a haiku about the sea."),
    _ask("How do I reverse a list in Python?"),
    _ask("What is 17 times 23?"),
    _ask("Thanks for your help!"),
    _ask("What is the capital of France?", "The capital of France is Paris."),
    _ask("Say hello.", "Hello! How can I help you today?"),
)

KL_MEDIAN_FLOOR, KL_MAX_FLOOR, GAP_FACTOR = 0.01, 0.05, 2.0
MIN_EFFECT, EFFECT_NOISE_FACTOR, EFFECT_RATIO = 1e-3, 3.0, (0.5, 2.0)
NEAR_TIE, MAX_CLEAR_MISS = 0.3, 0.25
FLOOR = 1e-12


def tokens_digest(ids: list[int]) -> str:
    return hashlib.sha256(json.dumps(list(map(int, ids))).encode()).hexdigest()[:16]


def measure(engine: Engine, adapter: AdapterRef) -> Probes:
    """The device's record: every probe with and without `adapter` on `engine`."""
    dists = []
    for messages, prefix in PROBES:
        ids, adapted = engine.next_logprobs(messages, prefix=prefix, adapter=adapter)
        _, base = engine.next_logprobs(messages, prefix=prefix, adapter=None)
        top = np.argsort(-adapted)[:TOP_K].tolist()
        top += [i for i in np.argsort(-base)[:TOP_K].tolist() if i not in top]
        dists.append(ProbeDist(tokens_digest(ids), tuple(int(i) for i in top),
                               tuple(round(float(adapted[i]), 6) for i in top),
                               tuple(round(float(base[i]), 6) for i in top)))  # fmt: skip
    return Probes(PROBE_VERSION, engine.info.backend, engine.info.fingerprint, tuple(dists))


@dataclass
class HostSide:
    """A host engine's full next-token log-probabilities on every probe."""

    tokens: list[str]
    logprobs: list[np.ndarray]


def run(engine: Engine, adapter: AdapterRef | None) -> HostSide:
    tokens, rows = [], []
    for messages, prefix in PROBES:
        ids, row = engine.next_logprobs(messages, prefix=prefix, adapter=adapter)
        tokens.append(tokens_digest(ids))
        rows.append(np.asarray(row, dtype=np.float64))
    return HostSide(tokens, rows)


@dataclass
class ProbeCheck:
    passed: bool
    reasons: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reasons": list(self.reasons), "figures": self.figures}


def _buckets(logprobs: np.ndarray) -> np.ndarray:
    """Probabilities of the listed tokens, and one bucket for all the others."""
    p = np.exp(np.asarray(logprobs, dtype=np.float64))
    return np.maximum(np.append(p, max(1.0 - p.sum(), 0.0)), FLOOR)


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    p, q = p / p.sum(), q / q.sum()
    return float(max(np.sum(p * (np.log(p) - np.log(q))), 0.0))


def compare(device: Probes | None, adapted: HostSide, base: HostSide) -> ProbeCheck:
    """The host's distributions (`adapted`, `base`) against the device's record."""
    if device is None or not device.dists:
        return ProbeCheck(False, ["the revision carries no probe distributions (the device "
                                  "records them: personal sync push does)"])  # fmt: skip
    if device.version != PROBE_VERSION or len(device.dists) != len(PROBES):
        return ProbeCheck(False, [f"probe set version {device.version} (this host runs "
                                  f"version {PROBE_VERSION}): update one side"])  # fmt: skip
    rows = []
    for i, dist in enumerate(device.dists):
        if dist.tokens != adapted.tokens[i]:
            return ProbeCheck(False, [f"probe {i} tokenizes differently on this host: "
                                      "another tokenizer, so another base"])  # fmt: skip
        ids = list(dist.ids)
        if not ids or max(ids) >= len(adapted.logprobs[i]):
            return ProbeCheck(False, [f"probe {i} names tokens outside this host's vocabulary"])
        ha, hb = adapted.logprobs[i], base.logprobs[i]
        da, db = _buckets(np.array(dist.adapted)), _buckets(np.array(dist.base))
        qa, qb = _buckets(ha[ids]), _buckets(hb[ids])
        device_top = ids[int(np.argmax(dist.adapted))]
        host_top = int(np.argmax(ha))
        rows.append({
            "kl": _kl(da, qa), "base_kl": _kl(db, qb),
            "effect_device": _kl(da, db), "effect_host": _kl(qa, qb),
            "top1": float(device_top == host_top),
            "clear_miss": float(ha[host_top] - ha[device_top] > NEAR_TIE),
        })  # fmt: skip
    return summarize(rows)


def summarize(rows: list[dict[str, float]]) -> ProbeCheck:
    col = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    f: dict[str, Any] = {
        "probes": len(rows), "top1_agreement": float(col["top1"].mean()),
        "clear_miss": float(col["clear_miss"].mean()),
        "kl_median": float(np.median(col["kl"])), "kl_max": float(col["kl"].max()),
        "base_kl_median": float(np.median(col["base_kl"])),
        "base_kl_max": float(col["base_kl"].max()),
        "effect_device_median": float(np.median(col["effect_device"])),
        "effect_host_median": float(np.median(col["effect_host"])),
    }  # fmt: skip
    f["limit_kl_median"] = max(KL_MEDIAN_FLOOR, GAP_FACTOR * f["base_kl_median"])
    f["limit_kl_max"] = max(KL_MAX_FLOOR, GAP_FACTOR * f["base_kl_max"])
    min_effect = max(MIN_EFFECT, EFFECT_NOISE_FACTOR * f["base_kl_median"])
    f["effect_ratio"] = (f["effect_host_median"] / f["effect_device_median"]
                         if f["effect_device_median"] > 0 else None)  # fmt: skip
    f["effect_verified"] = f["effect_device_median"] >= min_effect
    reasons = []
    if f["kl_median"] > f["limit_kl_median"]:
        reasons.append(f"median KL {f['kl_median']:.4f} > {f['limit_kl_median']:.4f}")
    if f["kl_max"] > f["limit_kl_max"]:
        reasons.append(f"max KL {f['kl_max']:.4f} > {f['limit_kl_max']:.4f}")
    if f["effect_verified"] and not EFFECT_RATIO[0] <= f["effect_ratio"] <= EFFECT_RATIO[1]:
        reasons.append(f"the adapter's effect here is {f['effect_ratio']:.2f}x its effect on "
                       "the device (ignored, scaled or mis-exported)")  # fmt: skip
    if f["clear_miss"] > MAX_CLEAR_MISS:
        reasons.append(f"the greedy next token differs (not a near tie) on "
                       f"{f['clear_miss']:.0%} of the probes")  # fmt: skip
    rounded = {k: round(v, 6) if isinstance(v, float) else v for k, v in f.items()}
    return ProbeCheck(not reasons, reasons, rounded)


def ensure(registry: Any, rev: Any, engine: Engine) -> Any:
    """`rev` with its probe distributions recorded by `engine` (measured now, and kept in
    its manifest, unless they already were for this engine's base)."""
    from personal.adapters.serving import adapter_ref

    have = rev.manifest.probes
    if (have is not None and have.version == PROBE_VERSION and have.engine == engine.info.backend
            and have.base_fingerprint == engine.info.fingerprint):  # fmt: skip
        return rev
    return registry.annotate(rev, probes=measure(engine, adapter_ref(rev, engine.info.backend)))
